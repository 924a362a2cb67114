"""`cvis augment ...`: train and evaluate latent augmenters (a thin layer over the API)."""

from __future__ import annotations

import os
import platform
import shlex
import sys
from pathlib import Path
from typing import Annotated

import typer

from .options import CodecOpt, DeviceOpt, friendly_errors

augment_app = typer.Typer(
    help="Augment in latent space: train an augmenter for a codec, and measure it.",
    no_args_is_help=True,
)

DataOpt = Annotated[
    list[str] | None,
    typer.Option(help="A folder of videos (recursive) or 'synthetic'; repeat to mix."),
]
TYPES_HELP = "Comma-separated: flip, crop, brightness, saturation, contrast, rotation."


@augment_app.command("train")
@friendly_errors
def train_cmd(
    codec: CodecOpt,
    out: Annotated[Path, typer.Option(help="Augmenter checkpoint to write (.safetensors).")],
    types: Annotated[
        str, typer.Option(help=TYPES_HELP)
    ] = "flip,crop,brightness,saturation,rotation",
    data: DataOpt = None,
    steps: int = 2000,
    batch: int = 8,
    frames: Annotated[
        int, typer.Option(help="Frames per training clip (the augmenter works per code step).")
    ] = 4,
    size: Annotated[int, typer.Option(help="Videos are centre-cropped to this size.")] = 64,
    crop: Annotated[int | None, typer.Option(help="Random crop size (default: size).")] = None,
    lr: float = 2e-3,
    width: Annotated[int, typer.Option(help="Channels of the correction network.")] = 48,
    blocks: Annotated[int, typer.Option(help="Residual blocks of the correction network.")] = 3,
    fine: Annotated[
        int, typer.Option(help="Also warp on a learned grid this many times finer (0: off).")
    ] = 0,
    per_type: Annotated[bool, typer.Option(help="One network per type, not one shared.")] = False,
    init: Annotated[
        Path | None,
        typer.Option(
            help="Start from this augmenter (its architecture, a new schedule); one trained "
            "for another codec with latents of the same size will do."
        ),
    ] = None,
    specialise: Annotated[
        str | None,
        typer.Option(
            help="With --init: train this type's network on this type alone, the others "
            "staying as they are (a type the shared network serves gets a copy of it first)."
        ),
    ] = None,
    pixel_weight: Annotated[float, typer.Option(help="Weight of the decoded-pixel loss.")] = 1.0,
    checkpoint_every: Annotated[
        int, typer.Option(help="Save every N steps (0: at the end).")
    ] = 500,
    seed: int = 0,
    device: DeviceOpt = "auto",
    amp: Annotated[
        bool, typer.Option(help="bfloat16 autocast (CUDA, or a CPU with native bfloat16).")
    ] = False,
) -> None:
    """Train an augmenter for --codec: targets are the codec's latents of the transformed
    clips, plus a loss on the decoded pixels."""
    from ..augment.network import AugmenterConfig, load_augmenter
    from ..augment.network import specialise as split_off
    from ..augment.params import parse_types
    from ..augment.train import train_augmenter
    from ..codec import load_codec
    from ..codec.data import training_clips
    from ..errors import CVError
    from ..runtime import resolve_device, seed_everything
    from ..train_loop import LoopConfig, infinite_batches

    seed_everything(seed)
    dev = resolve_device(device)
    model = load_codec(codec, dev)
    kinds = parse_types(types)
    cfg = AugmenterConfig(
        model.latent_dim, kinds, width, blocks, separate=kinds if per_type else (), fine=fine
    )
    start = load_augmenter(init, model, dev, warm_start=True) if init is not None else None
    if specialise is not None:
        if start is None:
            raise CVError("--specialise needs --init: the augmenter to split a type off")
        start = split_off(start, specialise)
    train_set, _ = training_clips(data or ["synthetic"], frames, size, crop, seed)
    loop = LoopConfig(steps=steps, lr=lr, checkpoint_every=checkpoint_every, amp=amp)
    batches = infinite_batches(train_set, batch, seed)
    _, history = train_augmenter(
        model,
        batches,
        loop,
        dev,
        cfg,
        out,
        pixel_weight,
        seed,
        init=start,
        kinds=(specialise,) if specialise else None,
    )
    last = history[-1] if history else {}
    typer.echo(
        f"wrote {out} (last step: decoded PSNR {last.get('psnr', float('nan')):.2f} dB, "
        f"code agreement {last.get('agree', float('nan')):.3f}; log in {out}.log.json)"
    )


@augment_app.command("eval")
@friendly_errors
def eval_cmd(
    codec: CodecOpt,
    aug: Annotated[Path, typer.Option(help="Augmenter checkpoint trained for that codec.")],
    types: Annotated[str | None, typer.Option(help=f"{TYPES_HELP} Default: all trained.")] = None,
    data: DataOpt = None,
    clips: Annotated[int, typer.Option(help="Held-out clips per data source.")] = 64,
    frames: int = 8,
    size: int = 64,
    batch: int = 16,
    bins: Annotated[int, typer.Option(help="Parameter-strength bins per type.")] = 3,
    speed_batch: Annotated[
        list[int] | None, typer.Option(help="Batch sizes of the speed test (repeatable).")
    ] = None,
    out_dir: Annotated[Path, typer.Option(help="Folder for the JSON, markdown and PNG.")] = Path(
        "results"
    ),
    name: Annotated[str, typer.Option(help="File name of the results.")] = "augment_eval",
    seed: int = 0,
    device: DeviceOpt = "auto",
) -> None:
    """PSNR per type and strength against (a) encode(transform(x)), (b) nothing, (c) the
    naive latent-grid op, (d) decode -> transform -> encode; latent error, code agreement,
    speed. Writes NAME.json, NAME.md and NAME.png under --out-dir."""
    import torch

    from ..augment.evaluate import evaluate_augmenter, evaluation_clips, save_figure, table_sections
    from ..augment.network import load_augmenter
    from ..augment.params import parse_types
    from ..codec import load_codec
    from ..report import markdown_table, write_report
    from ..runtime import resolve_device

    dev = resolve_device(device)
    model = load_codec(codec, dev)
    augmenter = load_augmenter(aug, model, dev)
    kinds = parse_types(types) if types else None
    videos = evaluation_clips(data or ["synthetic"], frames, size, clips, seed)
    result = evaluate_augmenter(
        model, augmenter, videos, dev, kinds, batch, bins, seed, tuple(speed_batch or (16, 64))
    )
    command = shlex.join(sys.argv)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {torch.get_num_threads()} threads"
    table = f"Command: `{command}`\n\nDevice: {dev} ({machine}); {len(videos)} clips\n\n"
    table += "".join(
        f"{title}\n\n{markdown_table(rows)}\n" for title, rows in table_sections(result)
    )
    payload = {"command": command, "codec": str(codec), "augmenter": str(aug), "machine": machine}
    json_path, md_path = write_report(out_dir, name, payload | result, table)
    png = save_figure(out_dir / f"{name}.png", model, augmenter, videos, kinds)
    typer.echo(table)
    typer.echo(f"written: {json_path}, {md_path}, {png}")
