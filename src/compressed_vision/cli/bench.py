"""`cvis bench ...`: the benchmarks (rate-distortion, downstream training, the store, the
codecs, augmentation, long videos, the readers' fuzzer), each a table (markdown + JSON) and
often a plot; every command is one call of `compressed_vision.bench`, and benchmarks/*.py run
them (`run_as_script`)."""

from __future__ import annotations

import json
import sys
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any

import typer

from .options import (
    CODEC_HELP,
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

    dev = resolve_device(device)
    result, table = run_rd(clips, codec, out, dev, frames, size, list(prior or []))
    typer.echo(table)
    typer.echo(f"written: {out / 'rd.md'}, {out / 'rd.json'}, {out / 'rd.png'}")
    write_json(json_out, result)


@bench_app.command("downstream")
def downstream_command(
    codec: CodecOpt = "cr240",
    data: Annotated[
        Path | None,
        typer.Option(
            help="A shared data folder: its videos for the speed / arrow tasks, its photos/ for "
            "the camera-motion tasks (the two options below set them one by one)."
        ),
    ] = None,
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
        str | None,
        typer.Option(help="Subset of video,frames,speed,arrow,camera,camera_frames,camera_long."),
    ] = None,
    inputs: Annotated[
        str | None,
        typer.Option(help="Subset of rgb,rgb+aug,jpeg,h264,h264@bytes,decoded,codes,codes+aug."),
    ] = None,
    latent_augment: Annotated[
        str | None,
        typer.Option(help="Augmenter checkpoint for the codec (default: naive grid op)."),
    ] = None,
    backbone: Annotated[str | None, typer.Option(help="cnn3d, s3d, r2plus1d or vit.")] = None,
    option: Annotated[
        list[str] | None, typer.Option(help="Backbone option key=value; repeat.")
    ] = None,
    steps: Annotated[
        int | None, typer.Option(help="Training steps per run (synthetic tasks).")
    ] = None,
    real_steps: Annotated[
        int | None, typer.Option(help="Training steps per run (real-footage tasks).")
    ] = None,
    lr: Annotated[
        float | None, typer.Option(help="Learning rate of every run (default: the preset's).")
    ] = None,
    train_videos: Annotated[int | None, typer.Option(help="Synthetic training videos.")] = None,
    test_videos: Annotated[int | None, typer.Option(help="Synthetic test videos.")] = None,
    seeds: Annotated[
        int | None, typer.Option(help="Runs per task and input; top-1 is their mean.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for the table, JSON and plot.")] = Path(
        "results"
    ),
    name: Annotated[str, typer.Option(help="Base name of the written files.")] = "downstream",
    work: Annotated[
        Path | None,
        typer.Option(
            help="Folder for data, stores, copies and runs (finished runs are reused; default: "
            "a folder beside --out)."
        ),
    ] = None,
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
    if data is not None:
        real_videos = real_videos or data
        photos = photos or (data / "photos" if (data / "photos").is_dir() else None)
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
        "steps": steps,
        "real_steps": real_steps,
        "lr": lr,
        "train_videos": train_videos,
        "test_videos": test_videos,
    }
    cfg = replace(cfg, **{k: v for k, v in changes.items() if v is not None})
    result = run_downstream(cfg, out, name, work_dir=work)
    typer.echo(result["table"])
    written = ", ".join(str(out / f"{name}.{ext}") for ext in ("json", "md", "png"))
    typer.echo(f"written: {written}")
    write_json(json_out, result)


# ---- the measurements of benchmarks/*.py: each option is a parameter of one library call ----

DATA = Path("../shared/data")  # the project's shared data folder, from the repo's root
DataOpt = Annotated[Path, typer.Option(help="The shared data folder (clips and photos/).")]
OutOpt = Annotated[Path, typer.Option(help="Folder for the results (JSON, markdown, plot).")]
WorkOpt = Annotated[Path, typer.Option(help="Folder for intermediate files.")]
RESULTS = Path("results")


def config(cls: type, ctx: typer.Context) -> Any:
    """The dataclass `cls` from the command's options of its fields' names (lists as tuples)."""
    names = {f.name for f in fields(cls)}
    return cls(
        **{k: tuple(v) if isinstance(v, list) else v for k, v in ctx.params.items() if k in names}
    )


def show(written: dict[str, Path], json_out: Path | None) -> None:
    """Print the markdown a benchmark wrote and where; copy its JSON to --json if given."""
    typer.echo(written["md"].read_text())
    typer.echo("written: " + ", ".join(str(p) for p in written.values()))
    write_json(json_out, json.loads(written["json"].read_text()))


@bench_app.command("fuzz")
def fuzz_command(
    cases: Annotated[int, typer.Option(help="Mutants per kind.")] = 100,
    seed: int = 0,
    limit: Annotated[float, typer.Option(help="Seconds per case.")] = 30.0,
    video: Annotated[
        str | None,
        typer.Option(
            help="The video to mutate, or 'generated' (default: carphone of the shared data "
            "folder if there, else generated)."
        ),
    ] = None,
    kinds: Annotated[
        str | None, typer.Option(help="Subset of video,codes,store,checkpoint (default: all).")
    ] = None,
    work: WorkOpt = Path("runs/fuzz"),
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """Fuzz the readers (video, code file, store, checkpoint) with seeded mutants: each ends
    as a clean error naming the file, or is read; never a crash or a hang."""
    from ..bench.fuzz import KINDS, run_fuzz

    real = DATA / "carphone_pristine.mp4"
    video = video or (str(real) if real.is_file() else "generated")
    path = None if video == "generated" else Path(video)
    written = run_fuzz(cases, work, out, seed, limit, path, comma_list(kinds) or KINDS)
    show(written, json_out)


@bench_app.command("store")
def store_command(
    ctx: typer.Context,
    data: DataOpt = DATA,
    codec: Annotated[
        str | None, typer.Option(help=f"{CODEC_HELP} Default: train a tiny one.")
    ] = None,
    train_steps: int = 300,
    size: int = 128,
    synthetic: Annotated[int, typer.Option(help="Synthetic videos.")] = 16,
    synthetic_frames: int = 100,
    steps: Annotated[int, typer.Option(help="Code steps per window.")] = 16,
    windows: int = 300,
    long_minutes: Annotated[
        tuple[float, float], typer.Option(help="The two long videos' lengths.")
    ] = (10.0, 60.0),
    work: WorkOpt = Path("runs/store_bench"),
    out: OutOpt = RESULTS,
    seed: int = 0,
    json_out: JsonOpt = None,
) -> None:
    """The code store: size on disk, random-window reads against PyAV decoding, random
    access into long videos."""
    from ..bench.store import StoreBenchConfig, run_store_bench

    show(run_store_bench(config(StoreBenchConfig, ctx)), json_out)


@bench_app.command("store-scale")
def store_scale_command(
    ctx: typer.Context,
    videos: int = 10_000,
    old_videos: Annotated[int, typer.Option(help="Format-1 store, for comparison.")] = 2_000,
    frames: Annotated[int, typer.Option(help="Frames per video.")] = 8,
    size: Annotated[int, typer.Option(help="Frame size (square).")] = 64,
    window: Annotated[int, typer.Option(help="Code steps per window.")] = 16,
    reads: Annotated[int, typer.Option(help="Random windows read locally.")] = 2_000,
    slow_reads: Annotated[int, typer.Option(help="Random windows read with delay.")] = 50,
    delay: Annotated[float, typer.Option(help="Seconds per request.")] = 0.02,
    pack_videos: int = 1000,
    extrapolate: int = 500_000,
    work: WorkOpt = Path("runs/store_scale"),
    out: OutOpt = RESULTS,
    seed: int = 0,
    json_out: JsonOpt = None,
) -> None:
    """The store at scale, without any video: synthetic codes for N videos, then what opening,
    reading (locally and from a slow bucket stand-in) and resuming cost."""
    from ..bench.store_scale import StoreScaleConfig, store_scale

    show(store_scale(config(StoreScaleConfig, ctx)), json_out)


@bench_app.command("seek")
def seek_command(
    seconds: int = 60,
    frames: int = 16,
    reps: int = 5,
    photos: Annotated[Path, typer.Option(help="Photos to film the long video from.")] = DATA
    / "photos",
    work: WorkOpt = Path("runs/seek_bench"),
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """Random-clip decode time against the clip's position in a long video: seek against
    decode from the start."""
    from ..bench.seek import seek_bench

    show(seek_bench(photos, work, out, seconds, frames, reps), json_out)


@bench_app.command("memory")
def memory_command(
    codec: Annotated[list[str] | None, typer.Option(help=f"{CODEC_HELP} Repeatable.")] = None,
    size: int = 128,
    batch: int = 4,
    pixel_downsample: int = 8,
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """Activation memory per clip of the same backbones on codes and on pixels."""
    from ..bench.memory import activation_memory

    show(activation_memory(codec or ["cr240"], out, size, batch, pixel_downsample), json_out)


@bench_app.command("codec-speed")
def codec_speed_command(
    codec: Annotated[
        list[str], typer.Option(help=f"{CODEC_HELP} Repeatable; the first is streamed.")
    ],
    minutes: Annotated[
        list[float] | None, typer.Option(help="Lengths of the streamed video; repeat.")
    ] = None,
    work: WorkOpt = Path("runs/codec_bench"),
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """Codec encode throughput, and the peak memory of streaming encode of a long file at
    each length (default 2 and 10 minutes), each in a fresh process."""
    from ..bench.codec import codec_speed

    show(codec_speed(list(codec), work, out, tuple(minutes or (2, 10))), json_out)


@bench_app.command("codec-validation")
def codec_validation_command(
    codec: Annotated[list[str] | None, typer.Option(help=f"{CODEC_HELP} Repeatable.")] = None,
    size: int = 128,
    frames: int = 8,
    threads: int = 2,
    data: DataOpt = DATA,
    name: Annotated[str, typer.Option(help="Base name of the written files.")] = (
        "codec_validation"
    ),
    out: OutOpt = RESULTS,
    write_clips: Annotated[
        Path | None,
        typer.Option(help="Write the held-out footage as video files here (for `cvis bench rd`)."),
    ] = None,
    clips: Annotated[int, typer.Option(help="Held-out photo clips --write-clips writes.")] = 6,
    json_out: JsonOpt = None,
) -> None:
    """PSNR of codecs on real footage none of them trained on (held-out photos filmed by the
    virtual camera, and carphone): the gate a new shipped codec passes."""
    from ..bench.codec import codec_validation, write_held_out_clips

    if write_clips is not None:
        write_held_out_clips(data, write_clips, clips)
        typer.echo(f"wrote carphone and {clips} held-out photo clips to {write_clips}")
        return
    if not codec:
        raise typer.BadParameter("give --codec (one or more) or --write-clips")
    show(codec_validation(codec, data, out, name, size, frames, threads), json_out)


@bench_app.command("codec-ablation")
def codec_ablation_command(
    minutes: Annotated[float, typer.Option(help="CPU minutes per variant.")] = 12.0,
    variants: Annotated[
        list[str] | None, typer.Option(help="A variant to train (default: all); repeat.")
    ] = None,
    jobs: Annotated[int, typer.Option(help="Variants trained at once.")] = 2,
    data: DataOpt = DATA,
    work: WorkOpt = Path("runs/codec_ablation"),
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """Variants of one codec recipe trained for the same CPU time each: which is strongest
    per CPU-minute on held-out real footage."""
    from ..bench.ablation import VARIANTS, codec_ablation

    unknown = set(variants or ()) - set(VARIANTS)
    if unknown:
        raise typer.BadParameter(f"choose from {sorted(VARIANTS)}", param_hint="--variants")
    written = codec_ablation(data, work, out, minutes, tuple(variants or VARIANTS), jobs)
    show(written, json_out)


@bench_app.command("lossless")
def lossless_command(
    codec: CodecOpt = "cr240",
    prior: Annotated[str, typer.Option(help="The learned lossless prior (path or name).")] = (
        "cr240"
    ),
    data: DataOpt = DATA,
    size: int = 128,
    photo_clips: int = 24,
    chunk_steps: int = 32,
    steps: int = 16,
    windows: int = 30,
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """The learned lossless stage against zstd on held-out footage: bytes per clip and the
    read speed of random windows against PyAV."""
    from ..bench.lossless import lossless_bench

    sizes = (size, photo_clips, chunk_steps, steps, windows)
    show(lossless_bench(data, out, codec, prior, *sizes), json_out)


@bench_app.command("long")
def long_command(
    ctx: typer.Context,
    codec: CodecOpt = "cr240",
    size: int = 128,
    encode_minutes: Annotated[
        tuple[float, float], typer.Option(help="The two tour lengths streamed into a store.")
    ] = (10.0, 60.0),
    task_minutes: float = 20.0,
    task_size: int = 64,
    task_steps: int = 300,
    work: WorkOpt = Path("runs/long_bench"),
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """Hour-long videos: streaming encode memory and speed, one training step over a whole
    hour of codes, the longest video codes and pixels fit, and the long-video tasks."""
    from ..bench.long import LongBenchConfig, long_bench

    show(long_bench(config(LongBenchConfig, ctx)), json_out)


@bench_app.command("augment")
def augment_command(
    ctx: typer.Context,
    codec: Annotated[
        str | None, typer.Option(help=f"{CODEC_HELP} Default: the demo's, copied.")
    ] = None,
    data: DataOpt = DATA,
    steps: int = 450,
    batch: int = 8,
    frames: Annotated[int, typer.Option(help="Frames per training clip.")] = 4,
    size: Annotated[int, typer.Option(help="Shared clips are resized to this.")] = 96,
    crop: Annotated[int, typer.Option(help="Training crops (and eval size).")] = 64,
    lr: float = 2e-3,
    width: int = 48,
    blocks: int = 3,
    fine: Annotated[int, typer.Option(help="Finer-grid factor.")] = 0,
    fine_width: int = 32,
    init: Annotated[
        Path | None,
        typer.Option(help="Start from this augmenter (one for same-size latents will do)."),
    ] = None,
    specialise: Annotated[
        str | None,
        typer.Option(help="With --init: train a network of its own for this type, on it alone."),
    ] = None,
    pixel_weight: Annotated[float, typer.Option(help="Weight of the pixel loss.")] = 1.0,
    eval_clips: Annotated[int, typer.Option(help="Held-out clips per source.")] = 48,
    eval_frames: int = 8,
    threads: Annotated[
        int | None, typer.Option(help="Torch CPU threads (default: torch's choice).")
    ] = None,
    device: DeviceOpt = "auto",
    work: WorkOpt = Path("runs/augment"),
    out: OutOpt = RESULTS,
    seed: int = 0,
    json_out: JsonOpt = None,
) -> None:
    """Train a latent augmenter for a codec, then measure it against the alternatives
    (transform then encode, the naive grid operation, decode-transform-encode)."""
    from ..bench.augment import AugmentBenchConfig, augment_bench

    show(augment_bench(config(AugmentBenchConfig, ctx)), json_out)


@bench_app.command("rd-baselines")
def rd_baselines_command(
    data: Annotated[Path, typer.Option(help="Folder of .mp4 clips.")] = DATA,
    frames: int = 32,
    size: int = 128,
    crs: Annotated[
        list[float] | None,
        typer.Option(help="Target compression rates (default 30 120 240 480); repeat."),
    ] = None,
    out: OutOpt = RESULTS,
    json_out: JsonOpt = None,
) -> None:
    """Rate-distortion of JPEG, H.264 and HEVC rate-matched at given compression rates."""
    from ..bench.baselines import CRS, rd_baselines

    show(rd_baselines(data, out, frames, size, tuple(crs or CRS)), json_out)


def run_as_script(command: str, defaults: tuple[str, ...] = ()) -> None:
    """`cvis bench <command>` with this process's arguments (after `defaults`, which they
    override): what benchmarks/*.py run."""
    bench_app([command, *defaults, *sys.argv[1:]], prog_name="cvis bench")
