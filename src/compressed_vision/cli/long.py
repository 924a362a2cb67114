"""`cvis long ...`: hour-long videos: the walking-tour demo, and streaming a long file into a
store (a thin layer over `long.demo` and `long.store`)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from .options import AmpOpt, CodecOpt, CvisTyper, DeviceOpt, JsonOpt, OptionalCodecOpt, write_json

long_app = CvisTyper(
    help="Hour-long videos: stream them into a store, train on them whole.", no_args_is_help=True
)


@long_app.command("demo")
def demo(
    minutes: Annotated[
        float, typer.Option(help="Length of each tour (e.g. 5 for a quick run).")
    ] = 60.0,
    size: Annotated[int, typer.Option(help="Frame size (square).")] = 64,
    codec: OptionalCodecOpt = None,
    out: Annotated[Path, typer.Option(help="Folder for the codec, store and results.")] = Path(
        "runs/long"
    ),
    steps: Annotated[int, typer.Option(help="Training steps per model (a whole tour each).")] = 150,
    codec_steps: Annotated[int, typer.Option(help="Steps of the tiny codec, if trained.")] = 200,
    districts: Annotated[int, typer.Option(help="Districts of the world (2-12).")] = 8,
    max_memory: Annotated[
        float | None, typer.Option(help="Memory budget in GB (default: what is available).")
    ] = None,
    seed: int = 0,
    device: DeviceOpt = "auto",
    amp: AmpOpt = False,
    json_out: JsonOpt = None,
) -> None:
    """Generate a training tour and a test tour (same world, other routes), encode them (with
    --codec; without, a tiny codec trained on the tour), train a long-context and a
    short-window model, evaluate; writes long_demo.{md,json,png}."""
    from ..long.demo import LongDemoConfig, run_long_demo
    from ..runtime import resolve_device

    cfg = LongDemoConfig(
        minutes=minutes,
        size=size,
        districts=districts,
        codec_steps=codec_steps,
        steps=steps,
        max_memory_gb=max_memory,
        amp=amp,
        seed=seed,
    )
    result = run_long_demo(cfg, out, resolve_device(device), codec)
    typer.echo(result["table"])
    typer.echo(f"written: {out / 'long_demo.json'}, {out / 'long_demo.md'}, {result['plot']}")
    write_json(json_out, result)


@long_app.command("encode")
def encode(
    video: Annotated[Path, typer.Argument(help="A (long) video file.")],
    codec: CodecOpt,
    out: Annotated[str, typer.Option(help="The store: a path or an fsspec URL.")],
    size: Annotated[int | None, typer.Option(help="Resize (cover + centre crop).")] = None,
    fps: Annotated[float | None, typer.Option(help="Resample to this frame rate.")] = None,
    keep_partial: Annotated[
        bool, typer.Option(help="Store what decodes of a truncated video (marked partial).")
    ] = False,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = None,
) -> None:
    """Stream one long video into a store, one encode window at a time (flat memory), with
    the time left."""
    from ..codec import load_codec
    from ..long.store import encode_long_file
    from ..runtime import resolve_device

    dev = resolve_device(device)
    model = load_codec(codec, dev)
    entry = encode_long_file(video, model, out, dev, size, fps, keep_partial=keep_partial)
    typer.echo(f"stored {entry.key}: {entry.attrs['frames']} frames, {entry.steps} code steps")
    if entry.attrs.get("partial"):
        typer.secho(
            f"{video}: truncated: {entry.attrs['decoded_frames']} of the "
            f"{entry.attrs['declared_frames']} declared frames decoded (marked partial)",
            fg="yellow",
        )
    write_json(json_out, {"store": out, "key": entry.key, "steps": entry.steps, **entry.attrs})
