"""The `cvis` command: the stages' command groups, `train`, `eval` and the demo; every
command is a thin layer over one library call."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .augment import augment_app
from .bench import bench_app
from .codec import codec_app
from .long import long_app
from .official import official_app
from .options import CvisTyper, DeviceOpt, JsonOpt, write_json
from .store import store_app
from .tasks import eval_command, train_command

app = CvisTyper(
    help="compressed_vision: train video networks on neural codes. Every error a user can "
    "cause (a bad path, file or setting) ends a command with exit code 2.",
    no_args_is_help=True,
)
app.add_typer(codec_app, name="codec")
app.add_typer(bench_app, name="bench")
app.add_typer(official_app, name="official")
app.add_typer(store_app, name="store")
app.add_typer(augment_app, name="augment")
app.add_typer(long_app, name="long")
app.command("train")(train_command)
app.command("eval")(eval_command)


@app.command()
def demo(
    preset: Annotated[
        str, typer.Option(help="small (default, a few minutes on a laptop CPU), full, or smoke.")
    ] = "small",
    out: Annotated[Path, typer.Option(help="Folder for the codec, codes and results.")] = Path(
        "runs/demo"
    ),
    device: DeviceOpt = "auto",
    json_out: JsonOpt = None,
) -> None:
    """Synthetic videos -> codec -> codes on disk -> classifier on codes and on RGB."""
    from ..bench.demo import DEMO_PRESETS, run_demo
    from ..runtime import resolve_device

    if preset not in DEMO_PRESETS:
        raise typer.BadParameter(f"choose from {sorted(DEMO_PRESETS)}", param_hint="--preset")
    result = run_demo(DEMO_PRESETS[preset], out, resolve_device(device))
    typer.echo(result["table"])
    typer.echo(f"written: {out / 'demo.json'}, {out / 'demo.md'}")
    write_json(json_out, result)


if __name__ == "__main__":
    app()
