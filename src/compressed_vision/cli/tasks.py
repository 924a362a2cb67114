"""The `cvis train` and `cvis eval` commands (mounted by `cli/main.py`).

Every flag is optional: a config file (JSON or TOML) gives the settings, flags override it;
without a file the flags alone describe the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from .options import (
    ConfigOpt,
    JsonOpt,
    OptionalCodecOpt,
    OptionalDeviceOpt,
    comma_list,
    parse_options,
    write_json,
)

Opt = typer.Option


def train_command(
    config: ConfigOpt = None,
    task: Annotated[str | None, Opt(help="video, frames, speed or arrow.")] = None,
    inputs: Annotated[str | None, Opt(help="codes, rgb, jpeg, h264, hevc or decoded.")] = None,
    store: Annotated[str | None, Opt(help="Code store (inputs=codes).")] = None,
    videos: Annotated[str | None, Opt(help="Folder, .csv or .json of videos (pixels).")] = None,
    root: Annotated[str | None, Opt(help="Where a .csv/.json source's videos are.")] = None,
    codec: OptionalCodecOpt = None,
    target_cr: Annotated[float | None, Opt(help="jpeg/h264/hevc rate (default: codec's).")] = None,
    size: Annotated[int | None, Opt(help="Pixel pipeline frame size.")] = None,
    decoder: Annotated[
        str | None, Opt(help="Pixel inputs' decoder: pyav or opencv (~2x faster, if installed).")
    ] = None,
    frames: Annotated[int | None, Opt(help="Frames per clip.")] = None,
    downsample: Annotated[
        int | None, Opt(help="Pixel stem's spatial factor (default 8; the codec's: same grid).")
    ] = None,
    backbone: Annotated[str | None, Opt(help="cnn3d, s3d, r2plus1d or vit.")] = None,
    option: Annotated[list[str] | None, Opt(help="Backbone option key=value; repeat.")] = None,
    code_input: Annotated[str | None, Opt(help="lookup (codec's codebooks) or embed.")] = None,
    augment: Annotated[str | None, Opt(help="Augmentation types, e.g. crop,brightness.")] = None,
    latent_augment: Annotated[
        str | None, Opt(help="Augmenter checkpoint or 'naive': augment codes in latent space.")
    ] = None,
    split_by: Annotated[str | None, Opt(help="video or time.")] = None,
    test_fraction: Annotated[float | None, Opt(help="Held out when no split is given.")] = None,
    test_stride: Annotated[
        int | None, Opt(help="Code steps between held-out clips (default: no overlap).")
    ] = None,
    steps: int | None = None,
    batch: Annotated[int | None, Opt(help="Global batch (over all processes).")] = None,
    lr: float | None = None,
    workers: Annotated[int | None, Opt(help="DataLoader worker processes.")] = None,
    checkpoint_every: int | None = None,
    out: Annotated[str | None, Opt(help="Run folder (checkpoint, log, result.json).")] = None,
    resume: Annotated[bool | None, Opt(help="Continue the run saved in --out.")] = None,
    seed: int | None = None,
    device: OptionalDeviceOpt = None,
    amp: Annotated[
        bool | None, Opt(help="bfloat16 autocast (CUDA, or a CPU with native bfloat16).")
    ] = None,
    json_out: JsonOpt = None,
) -> None:
    """Train a classifier on codes or pixels, then score it on the held-out split.
    Under torchrun each process takes its share of the global batch."""
    from ..tasks.config import load_config
    from ..tasks.train import run_training

    cfg = load_config(
        config,
        task=task,
        inputs=inputs,
        store=store,
        videos=videos,
        root=root,
        codec=codec,
        target_cr=target_cr,
        size=size,
        decoder=decoder,
        frames=frames,
        downsample=downsample,
        backbone=backbone,
        backbone_options=parse_options(option),
        code_input=code_input,
        augment_types=comma_list(augment),
        latent_augment=latent_augment,
        split_by=split_by,
        test_fraction=test_fraction,
        test_stride=test_stride,
        steps=steps,
        batch=batch,
        lr=lr,
        workers=workers,
        checkpoint_every=checkpoint_every,
        out=out,
        resume=resume,
        seed=seed,
        device=device,
        amp=amp,
    )
    result = run_training(cfg)
    if "metrics" in result:  # the main process
        scores = ", ".join(f"{k} {v:.1f}" for k, v in result["metrics"].items())
        typer.echo(
            f"{cfg.task} on {cfg.inputs}: {scores}; {result['clips_per_second']:.1f} clips/s; "
            f"written to {cfg.out}"
        )
        write_json(json_out, result)


def eval_command(
    checkpoint: Annotated[Path, typer.Argument(help="A model.safetensors from `cvis train`.")],
    store: Annotated[str | None, Opt(help="Score on this store instead.")] = None,
    videos: Annotated[str | None, Opt(help="Score on these videos instead.")] = None,
    root: Annotated[str | None, Opt(help="Where a .csv/.json source's videos are.")] = None,
    codec: OptionalCodecOpt = None,
    test_split: Annotated[str | None, Opt(help="Split to score.")] = None,
    batch: Annotated[int | None, Opt(help="Evaluation batch.")] = None,
    json_out: JsonOpt = None,
    device: OptionalDeviceOpt = None,
) -> None:
    """Score a trained classifier: top-1 / top-5 (per video too), or per-step accuracy."""
    from ..tasks.eval import run_eval

    result = run_eval(
        checkpoint,
        json_out,
        store=store,
        videos=videos,
        root=root,
        codec=codec,
        test_split=test_split,
        eval_batch=batch,
        device=device,
    )
    typer.echo(json.dumps(result["metrics"], indent=2))
