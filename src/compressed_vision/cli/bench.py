"""`cvis bench ...`: the benchmarks (rate-distortion, downstream training), each a table
(markdown + JSON) and a plot."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .options import (
    CodecOpt,
    CodecsOpt,
    CvisTyper,
    DeviceOpt,
    JsonOpt,
    comma_list,
    parse_options,
    write_json,
)

bench_app = CvisTyper(help="Benchmarks: tables (markdown + JSON) and plots.", no_args_is_help=True)


@bench_app.command("rd")
def bench_rd(
    clips: Annotated[Path, typer.Argument(help="Folder of video clips (recursive).")],
    codec: CodecsOpt,
    out: Annotated[Path, typer.Option(help="Folder for rd.json, rd.md and rd.png.")] = Path(
        "results"
    ),
    frames: int = 32,
    size: int = 128,
    prior: Annotated[
        list[str] | None,
        typer.Option(
            help="A learned lossless prior (path or shipped codec name) for the codec it "
            "belongs to: its bound and bytes are reported, the rate is the smaller of zstd's "
            "and its bytes; repeat."
        ),
    ] = None,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = None,
) -> None:
    """PSNR and MS-SSIM vs rate for neural codecs, JPEG, H.264 and HEVC at the same bytes."""
    from ..bench.rd import run_rd
    from ..runtime import resolve_device

    command = "cvis " + " ".join(sys.argv[1:])
    dev = resolve_device(device)
    result, table = run_rd(clips, codec, out, dev, frames, size, command, list(prior or []))
    typer.echo(table)
    typer.echo(f"written: {out / 'rd.md'}, {out / 'rd.json'}, {out / 'rd.png'}")
    write_json(json_out, result)


@bench_app.command("downstream")
def downstream_command(
    codec: CodecOpt = "cr240",
    real_videos: Annotated[
        Path | None, typer.Option(help="Folder of real videos for the speed / arrow tasks.")
    ] = None,
    photos: Annotated[
        Path | None,
        typer.Option(help="Folder of photos for the camera-motion tasks (split by photo)."),
    ] = None,
    preset: Annotated[
        str, typer.Option(help="small (CPU, minutes), full (GPU) or smoke.")
    ] = "small",
    tasks: Annotated[
        str | None, typer.Option(help="Subset of video,frames,speed,arrow,camera,camera_frames.")
    ] = None,
    inputs: Annotated[
        str | None, typer.Option(help="Subset of rgb,rgb+aug,jpeg,h264,decoded,codes,codes+aug.")
    ] = None,
    latent_augment: Annotated[
        str | None,
        typer.Option(help="Augmenter checkpoint for the codec (default: naive grid op)."),
    ] = None,
    backbone: Annotated[str | None, typer.Option(help="cnn3d, s3d, r2plus1d or vit.")] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="Backbone option key=value; repeat.")
    ] = None,
    steps: Annotated[int | None, typer.Option(help="Training steps per run (all tasks).")] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Runs per task and input; top-1 is their mean.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the table, JSON and plot.")] = Path(
        "results"
    ),
    name: Annotated[str, typer.Option(help="Base name of the written files.")] = "downstream",
    device: DeviceOpt = "auto",
    json_out: JsonOpt = None,
) -> None:
    """Train the same backbone on raw RGB, JPEG, H.264, the codec's decoded frames and codes
    (with and without latent augmentation); write accuracy, clips/s, peak and activation
    memory, bytes per clip and dataset sizes."""
    from dataclasses import replace

    from ..bench.downstream import DOWNSTREAM_PRESETS, run_downstream

    if preset not in DOWNSTREAM_PRESETS:
        raise typer.BadParameter(f"choose from {sorted(DOWNSTREAM_PRESETS)}", param_hint="--preset")
    cfg = replace(
        DOWNSTREAM_PRESETS[preset],
        codec=codec,
        real_videos=None if real_videos is None else str(real_videos),
        photos=None if photos is None else str(photos),
        device=device,
    )
    changes = {
        "tasks": comma_list(tasks),
        "inputs": comma_list(inputs),
        "latent_augment": latent_augment,
        "backbone": backbone,
        "backbone_options": parse_options(option),
        "seeds": seeds,
    }
    if steps is not None:
        changes.update(steps=steps, real_steps=steps)
    cfg = replace(cfg, **{k: v for k, v in changes.items() if v is not None})
    result = run_downstream(cfg, out, name)
    typer.echo(result["table"])
    written = ", ".join(str(out / f"{name}.{ext}") for ext in ("json", "md", "png"))
    typer.echo(f"written: {written}")
    write_json(json_out, result)
