"""What every `cvis` sub-command shares: the one error handler (`CvisTyper`) and the option
types --codec, --device and --json."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer

from .. import report
from ..errors import CVError

DEVICE_HELP = "cpu, cuda, cuda:N or auto (CUDA when available)."
DeviceOpt = Annotated[str, typer.Option(help=DEVICE_HELP)]
OptionalDeviceOpt = Annotated[str | None, typer.Option(help=f"{DEVICE_HELP} Default: auto.")]

# Every command's --codec: whatever `codec.load_codec` opens.
CODEC_HELP = (
    "A codec: a shipped codec's name (see `cvis codec list`), one of our checkpoints "
    "(.safetensors), an official .pkl, or an official codec converted by `cvis official convert`."
)
CodecOpt = Annotated[str, typer.Option(help=CODEC_HELP)]
OptionalCodecOpt = Annotated[str | None, typer.Option(help=CODEC_HELP)]
CodecsOpt = Annotated[list[str], typer.Option("--codec", help=f"{CODEC_HELP} Repeatable.")]

# Every command that produces a result: --json PATH, the result for programs to read.
JsonOpt = Annotated[
    Path | None, typer.Option("--json", help="Also write the result here, as JSON.")
]
ConfigOpt = Annotated[
    Path | None,
    typer.Option(
        help="A TOML or JSON file of the recipe's settings; the options given override it."
    ),
]


AmpOpt = Annotated[
    bool, typer.Option(help="bfloat16 autocast (CUDA, or a CPU with native bfloat16).")
]


def report_training(
    out: Path, history: list[dict[str, float]], last_step: str, json_out: Path | None
) -> None:
    """Print where a training run wrote its checkpoint and log, with `last_step` (a format
    string over the last logged step's values), and write the --json summary."""
    last = {"psnr": float("nan"), "agree": float("nan"), **(history[-1] if history else {})}
    typer.echo(f"wrote {out} ({last_step.format(**last)}; log in {out}.log.json)")
    result = {"checkpoint": str(out), "log": f"{out}.log.json", "steps_run": len(history)}
    write_json(json_out, result | {"last_step": history[-1] if history else {}})


def write_json(path: Path | None, result: dict[str, Any]) -> None:
    """Write `result` to `path` (the --json option) when one is given."""
    if path is not None:
        report.write_json(path, result)


def friendly_errors(fn: Callable) -> Callable:
    """Our errors (bad path, corrupt video, wrong checkpoint) end the command with a clear
    message and exit code 2, not a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except CVError as e:
            typer.secho(f"error: {e}", fg="red", err=True)
            raise typer.Exit(code=2) from e

    return wrapper


class CvisTyper(typer.Typer):
    """A group of `cvis` commands: each one's errors go through `friendly_errors`."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[Callable], Callable]:
        register = super().command(*args, **kwargs)

        def decorator(fn: Callable) -> Callable:
            register(friendly_errors(fn))
            return fn

        return decorator


def given_fields(ctx: typer.Context, cls: type) -> dict[str, Any]:
    """The options given on the command line (not left at their defaults) that are fields of
    the dataclass `cls`, lists as tuples: what overrides a config file's settings."""
    names = {f.name for f in fields(cls)}
    return {
        name: tuple(value) if isinstance(value, list) else value
        for name, value in ctx.params.items()
        if name in names and ctx.get_parameter_source(name).name != "DEFAULT"
    }


def comma_list(text: str | None) -> tuple[str, ...] | None:
    """ "crop, brightness" -> ("crop", "brightness"); None stays None (not given)."""
    return None if text is None else tuple(t.strip() for t in text.split(",") if t.strip())


def parse_options(pairs: list[str] | None) -> dict[str, Any] | None:
    """["width=0.5", "depth=2"] -> {"width": 0.5, "depth": 2} (values read as JSON if they
    parse, else kept as text)."""
    if not pairs:
        return None
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise CVError(f"an option is key=value, got {pair!r}")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out
