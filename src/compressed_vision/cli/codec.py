"""`cvis codec ...`: train a codec (one recipe, one library call), list, reproduce and export
the shipped ones, encode and decode files."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import typer

from .options import (
    CodecOpt,
    ConfigOpt,
    CvisTyper,
    DeviceOpt,
    JsonOpt,
    given_fields,
    parse_options,
    report_training,
    write_json,
)

codec_app = CvisTyper(
    help="Train a neural video codec; encode and decode files.", no_args_is_help=True
)


@codec_app.command("train")
def codec_train(
    ctx: typer.Context,
    out: Annotated[Path, typer.Option(help="Checkpoint to write (.safetensors).")],
    config: ConfigOpt = None,
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="'synthetic' (the default), a folder or file of videos, or a folder of photos "
            "(filmed by a moving virtual camera); repeat to mix."
        ),
    ] = None,
    val_data: Annotated[
        list[str] | None,
        typer.Option(help="A source for validation only (never trained on); repeat."),
    ] = None,
    preset: Annotated[str, typer.Option(help="Codec preset (see `cvis codec presets`).")] = "tiny",
    channels: Annotated[int | None, typer.Option(help="Override the preset's base width.")] = None,
    option: Annotated[
        list[str] | None,
        typer.Option(help="Override a codec config field, key=value (e.g. quantizer=fsq)."),
    ] = None,
    steps: int = 1000,
    minutes: Annotated[
        float | None,
        typer.Option(
            help="Instead of --steps: as many steps as fit in this many minutes (timed on a "
            "few steps first: CPU time on the CPU, wall time on a GPU)."
        ),
    ] = None,
    batch: int = 8,
    frames: Annotated[int, typer.Option(help="Frames per training clip.")] = 8,
    size: Annotated[int, typer.Option(help="Videos are centre-cropped to this size.")] = 128,
    crop: Annotated[int | None, typer.Option(help="Random crop size (default: size).")] = None,
    lr: float = 2e-3,
    checkpoint_every: Annotated[int, typer.Option(help="Save + validate every N steps.")] = 200,
    resume: Annotated[
        bool, typer.Option(help="Continue the run saved at --out (same recipe; more steps ok).")
    ] = False,
    ms_ssim: Annotated[float, typer.Option(help="Weight of a (1 - MS-SSIM) loss term.")] = 0.0,
    seed: int = 0,
    init: Annotated[
        str | None,
        typer.Option(help="Start from this codec's weights (a checkpoint or shipped name)."),
    ] = None,
    device: DeviceOpt = "auto",
    amp: Annotated[
        bool,
        typer.Option(
            help="bfloat16 autocast (CUDA; and CPUs with native bfloat16, where it is 1.5x "
            "faster per step). A run may resume with or without it."
        ),
    ] = False,
    json_out: JsonOpt = None,
) -> None:
    """Train a codec on videos, photos and/or the synthetic set, with held-out validation.

    The recipe (`codec.recipe.CodecRecipe`): the --config file's settings (preset, overrides:
    a table of codec config fields, data, val_data, steps, batch, frames, size, crop, lr,
    ms_ssim, seed, init, amp), with the options given on top."""
    from ..codec.recipe import CodecRecipe, load_recipe, run_recipe

    options = {**(parse_options(option) or {}), **({"channels": channels} if channels else {})}
    recipe = load_recipe(config, options, **given_fields(ctx, CodecRecipe))
    _, history = run_recipe(recipe, out, device, resume, checkpoint_every, minutes=minutes)
    report_training(out, history, "last training PSNR {psnr:.2f} dB", json_out)


@codec_app.command("prior")
def codec_prior(
    out: Annotated[Path, typer.Option(help="Prior to write (.safetensors).")],
    codec: CodecOpt = "cr240",
    data: Annotated[
        list[str] | None,
        typer.Option(help="A folder of photos (training split, filmed) or videos; repeat."),
    ] = None,
    clips: Annotated[int, typer.Option(help="Clips per source (and motion scale).")] = 500,
    frames: int = 32,
    size: int = 128,
    steps: Annotated[int, typer.Option(help="Training steps (batches of 4096 indices).")] = 8000,
    chunk_steps: Annotated[int, typer.Option(help="Code steps per coded chunk.")] = 32,
    seed: int = 0,
    device: DeviceOpt = "auto",
) -> None:
    """Train the learned lossless stage's prior for a codec (for `store build --lossless
    learned`)."""
    from tqdm.auto import tqdm

    from ..codec import load_codec
    from ..codec.lossless import save_prior
    from ..codec.lossless.fit import fit_prior, training_codes
    from ..runtime import resolve_device

    model = load_codec(codec, resolve_device(device))
    sources = list(data or [])
    if not sources:
        raise typer.BadParameter("give at least one --data source", param_hint="--data")
    clips_coded = tqdm(training_codes(model, sources, clips, frames, size, seed), "encoding")
    codes = list(clips_coded)
    info = {"sources": sources, "clips": len(codes), "frames": frames, "size": size}
    prior = fit_prior(
        model, codes, steps=steps, chunk_steps=chunk_steps, seed=seed, show_progress=True, **info
    )
    save_prior(out, prior)
    typer.echo(f"wrote {out} (prior {prior.fingerprint} of codec {prior.codec_fingerprint})")


@codec_app.command("list")
def codec_list(
    update_readme: Annotated[
        Path | None, typer.Option(help="Rewrite the table in this README's zoo block instead.")
    ] = None,
) -> None:
    """The shipped codecs: file, training recipe and measured figures."""
    from ..codec import zoo

    if update_readme is None:
        typer.echo(zoo.zoo_table())
        return
    zoo.update_readme(update_readme)
    typer.echo(f"updated the shipped codecs' table in {update_readme}")


@codec_app.command("reproduce")
def codec_reproduce(
    name: Annotated[str, typer.Argument(help="A shipped codec (see `cvis codec list`).")],
    out: Annotated[Path, typer.Option(help="Folder for the stages' checkpoints.")] = Path(
        "runs/weights"
    ),
    data_root: Annotated[
        Path, typer.Option(help="The folder the recipes' {data} paths point to.")
    ] = Path("../shared/data"),
    export: Annotated[
        Path | None, typer.Option(help="Write the result as float16 into this folder.")
    ] = None,
    device: DeviceOpt = "auto",
) -> None:
    """Train a shipped codec again from its recipe (resumes a killed run)."""
    from ..codec.zoo import ZOO, reproduce
    from ..runtime import resolve_device

    if name not in ZOO:
        raise typer.BadParameter(f"choose from {sorted(ZOO)}", param_hint="NAME")
    path = reproduce(name, out, data_root, resolve_device(device), export=export)
    typer.echo(f"wrote {path}" + (f" and {export / ZOO[name].file}" if export else ""))


@codec_app.command("export")
def codec_export(
    checkpoint: Path,
    out: Path,
    half: Annotated[bool, typer.Option(help="Store weights as float16.")] = True,
) -> None:
    """Write one of our codecs for inference only (float16 weights by default: half the
    size)."""
    from ..codec import load_video_codec, save_codec

    save_codec(out, load_video_codec(checkpoint), half=half)
    typer.echo(f"wrote {out} ({out.stat().st_size / 2**20:.1f} MiB)")


@codec_app.command("presets")
def codec_presets() -> None:
    """List the codec presets with their compression rate on 16x128x128 clips."""
    from ..codec import PRESETS

    for name, cfg in PRESETS.items():
        typer.echo(
            f"{name:8s} CR {cfg.compression_rate(16, 128, 128):6.1f}  "
            f"codes {cfg.code_shape(16, 128, 128)}  {cfg}"
        )


@codec_app.command("encode")
def codec_encode(
    video: Path,
    out: Annotated[Path, typer.Option(help="Code file to write (.npz).")],
    codec: CodecOpt = "cr240",
    size: Annotated[
        int | None, typer.Option(help="Resize (cover + centre crop) to this square size.")
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Resample to this frame rate.")] = None,
    keep_partial: Annotated[
        bool, typer.Option(help="Encode what decodes of a truncated video (marked partial).")
    ] = False,
    device: DeviceOpt = "auto",
    json_out: JsonOpt = None,
) -> None:
    """Encode a video file to codes, streaming (memory bounded by one encode window)."""
    from ..codec import load_codec
    from ..codec.files import encode_file, save_code_file
    from ..codec.rate import rate_figures
    from ..runtime import resolve_device

    dev = resolve_device(device)
    model = load_codec(codec, dev)
    codes, meta = encode_file(model, video, dev, size=size, fps=fps, keep_partial=keep_partial)
    save_code_file(out, codes, meta)
    if meta.get("partial"):
        typer.secho(
            f"{video}: truncated: kept the {meta['decoded_frames']} frames that decoded of "
            f"the {meta['declared_frames']} declared (marked partial in {out})",
            fg="yellow",
        )
    rates = rate_figures(codes, model.codebook_size, meta["frames"], meta["height"], meta["width"])
    typer.echo(
        f"{video}: {meta['frames']} frames of {meta['height']}x{meta['width']} -> codes "
        f"{tuple(codes.shape)}: CR {rates.index_cr:.1f} (indices), {rates.entropy_cr:.1f} "
        f"(entropy bound), {rates.zstd_cr:.1f} (written: {rates.zstd_bytes} bytes of zstd "
        f"vs {rates.index_bytes:.0f} of raw indices); {out.stat().st_size} bytes at {out}"
    )
    result = {"video": str(video), "codes": str(out), "shape": list(codes.shape), **meta}
    write_json(json_out, result | {"bytes": out.stat().st_size, "rates": asdict(rates)})


@codec_app.command("decode")
def codec_decode(
    codes: Path,
    out: Annotated[Path, typer.Option(help="Video to write (.mp4).")],
    codec: CodecOpt = "cr240",
    device: DeviceOpt = "auto",
) -> None:
    """Decode a code file to an H.264 mp4."""
    from ..codec import load_codec
    from ..codec.files import decode_to_file, load_code_file
    from ..runtime import resolve_device

    dev = resolve_device(device)
    values, meta = load_code_file(codes)
    decode_to_file(load_codec(codec, dev), values, meta, out, dev, path=codes)
    typer.echo(f"wrote {out}")
