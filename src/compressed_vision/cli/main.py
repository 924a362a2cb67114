"""The `cvis` command: a thin layer over the Python API."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from .augment import augment_app
from .long import long_app
from .official import official_app
from .options import CodecOpt, CodecsOpt, DeviceOpt, friendly_errors, parse_options
from .store import store_app
from .tasks import downstream_command, eval_command, train_command

app = typer.Typer(
    help="compressed_vision: train video networks on neural codes.", no_args_is_help=True
)
codec_app = typer.Typer(
    help="Train a neural video codec; encode and decode files.", no_args_is_help=True
)
bench_app = typer.Typer(
    help="Benchmarks: tables (markdown + JSON) and plots.", no_args_is_help=True
)
app.add_typer(codec_app, name="codec")
app.add_typer(bench_app, name="bench")
app.add_typer(official_app, name="official")
app.add_typer(store_app, name="store")
app.add_typer(augment_app, name="augment")
app.add_typer(long_app, name="long")
app.command("train")(friendly_errors(train_command))
app.command("eval")(friendly_errors(eval_command))
bench_app.command("downstream")(friendly_errors(downstream_command))


@app.command()
@friendly_errors
def demo(
    preset: Annotated[
        str, typer.Option(help="small (default, a few minutes on a laptop CPU), full, or smoke.")
    ] = "small",
    out: Annotated[Path, typer.Option(help="Folder for the codec, codes and results.")] = Path(
        "runs/demo"
    ),
    device: DeviceOpt = "auto",
) -> None:
    """Synthetic videos -> codec -> codes on disk -> classifier on codes and on RGB."""
    from ..bench.demo import DEMO_PRESETS, run_demo
    from ..runtime import resolve_device

    if preset not in DEMO_PRESETS:
        raise typer.BadParameter(f"choose from {sorted(DEMO_PRESETS)}", param_hint="--preset")
    result = run_demo(DEMO_PRESETS[preset], out, resolve_device(device))
    typer.echo(result["table"])
    typer.echo(f"written: {out / 'demo.json'}, {out / 'demo.md'}")


@codec_app.command("train")
@friendly_errors
def codec_train(
    out: Annotated[Path, typer.Option(help="Checkpoint to write (.safetensors).")],
    data: Annotated[
        list[str] | None,
        typer.Option(
            help="'synthetic', a folder or file of videos, or a folder of photos (filmed by "
            "a moving virtual camera); repeat to mix."
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
) -> None:
    """Train a codec on videos, photos and/or the synthetic set, with held-out validation."""
    from ..codec.recipe import CodecRecipe, fit_steps, run_recipe
    from ..runtime import resolve_device

    overrides = parse_options(option) or {}
    if channels:
        overrides["channels"] = channels
    recipe = CodecRecipe(
        preset=preset,
        overrides=overrides,
        data=tuple(data or ["synthetic"]),
        val_data=tuple(val_data or []),
        steps=steps,
        batch=batch,
        frames=frames,
        size=size,
        crop=crop,
        lr=lr,
        ms_ssim=ms_ssim,
        seed=seed,
        init=init,
        amp=amp,
    )
    try:
        recipe.codec_config()
    except (ValueError, TypeError) as e:
        raise typer.BadParameter(str(e), param_hint="--preset/--option") from e
    dev = resolve_device(device)
    if minutes:
        recipe = fit_steps(recipe, dev, minutes)
        typer.echo(f"{recipe.steps} steps fit in {minutes:g} minutes here")
    _, history = run_recipe(recipe, out, dev, resume, checkpoint_every)
    last = history[-1]["psnr"] if history else float("nan")
    typer.echo(f"wrote {out} (last training PSNR {last:.2f} dB; log in {out}.log.json)")


@codec_app.command("prior")
@friendly_errors
def codec_prior(
    out: Annotated[Path, typer.Option(help="Prior to write (.safetensors).")],
    codec: CodecOpt = "cr240",
    data: Annotated[
        list[str] | None,
        typer.Option(help="A folder of photos (training split, filmed) or videos; repeat."),
    ] = None,
    clips: Annotated[int, typer.Option(help="Clips per source (and motion scale).")] = 200,
    frames: int = 32,
    size: int = 128,
    steps: Annotated[int, typer.Option(help="Training steps (batches of 4096 indices).")] = 2500,
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
@friendly_errors
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
@friendly_errors
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
@friendly_errors
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
@friendly_errors
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


@codec_app.command("decode")
@friendly_errors
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


@bench_app.command("rd")
@friendly_errors
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
) -> None:
    """PSNR and MS-SSIM vs rate for neural codecs, JPEG, H.264 and HEVC at the same bytes."""
    from ..bench.rd import run_rd
    from ..runtime import resolve_device

    command = "cvis " + " ".join(sys.argv[1:])
    dev = resolve_device(device)
    _, table = run_rd(clips, codec, out, dev, frames, size, command, list(prior or []))
    typer.echo(table)
    typer.echo(f"written: {out / 'rd.md'}, {out / 'rd.json'}, {out / 'rd.png'}")


if __name__ == "__main__":
    app()
