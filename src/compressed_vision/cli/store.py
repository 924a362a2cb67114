"""`cvis store ...`: build, inspect and verify code stores (a thin layer over the API)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from ..errors import CVError
from .options import CodecOpt, CvisTyper, DeviceOpt, JsonOpt, write_json

store_app = CvisTyper(
    help="Compress a video dataset once into a store of codes; inspect and verify it.",
    no_args_is_help=True,
)


def _learned_prior(lossless: str, prior: str | None, codec: str, model):
    """The prior of `--lossless learned` (checked against the codec), or None for zstd."""
    from ..codec import codec_fingerprint
    from ..codec.lossless import load_prior
    from ..codec.lossless.checkpoint import SHIPPED

    if lossless not in ("zstd", "learned"):
        raise CVError(f"--lossless is zstd or learned, not {lossless!r}")
    if lossless == "zstd":
        if prior is not None:
            raise CVError("--prior is only for --lossless learned")
        return None
    if prior is None and codec not in SHIPPED:
        raise CVError(f"no shipped prior for codec {codec}: give --prior", codec)
    return load_prior(prior or codec, codec_fingerprint(model))


@store_app.command("build")
def build(
    source: Annotated[
        str,
        typer.Argument(
            help="A folder of videos (label = parent folder), a Kinetics-style .csv, a "
            "COIN-style .json, or 'synthetic[?num_videos=N&frames=F&segments=S&seed=X]'."
        ),
    ],
    codec: CodecOpt,
    out: Annotated[str, typer.Option(help="The store: a path or an fsspec URL.")],
    root: Annotated[
        Path | None,
        typer.Option(help="Where the videos of a .csv/.json are (default: its folder)."),
    ] = None,
    split: Annotated[str | None, typer.Option(help="Only this split of a .csv/.json.")] = None,
    size: Annotated[
        int | None, typer.Option(help="Resize (cover + centre crop) to size x size; default: keep.")
    ] = None,
    fps: Annotated[float | None, typer.Option(help="Resample to this frame rate.")] = None,
    workers: Annotated[int, typer.Option(help="Encoding processes on this machine.")] = 1,
    chunk_steps: Annotated[int, typer.Option(help="Code steps per stored chunk.")] = 32,
    pack_videos: Annotated[
        int, typer.Option(help="Videos per pack file, at most (a kill loses one open pack).")
    ] = 1000,
    retry_failed: Annotated[bool, typer.Option(help="Retry items that failed before.")] = False,
    keep_partial: Annotated[
        bool,
        typer.Option(
            help="Store the frames of a truncated video that decoded (marked partial) "
            "instead of recording it as a failure."
        ),
    ] = False,
    device: DeviceOpt = "auto",
    lossless: Annotated[
        str,
        typer.Option(
            help="The lossless stage of the codes: zstd, or learned (a context prior and a "
            "range coder; smaller, slower to read)."
        ),
    ] = "zstd",
    prior: Annotated[
        str | None,
        typer.Option(
            help="With --lossless learned: the prior (.safetensors, trained by `cvis codec "
            "prior` for this codec); default: the shipped prior of a shipped codec."
        ),
    ] = None,
    json_out: JsonOpt = None,
) -> None:
    """Encode a dataset into a store: streamed, resumable (rerun the same command), bad
    videos recorded as failures; under `torchrun` the work is sharded by rank."""
    from ..codec import load_codec
    from ..runtime import resolve_device
    from ..sources.manifest import manifest_from_source
    from ..store.build import build_store

    manifest = manifest_from_source(source, root, split)
    dev = resolve_device(device)
    model = load_codec(codec, dev)
    learned = _learned_prior(lossless, prior, str(codec), model)
    summary = build_store(
        manifest,
        model,
        out,
        dev,
        workers,
        size=size,
        fps=fps,
        chunk_steps=chunk_steps,
        pack_videos=pack_videos,
        retry_failed=retry_failed,
        keep_partial=keep_partial,
        prior=learned,
    )
    typer.echo(
        f"{out}: {summary.encoded} encoded, {summary.skipped} already done, "
        f"{summary.failed} failed in this run; the store holds {summary.videos_in_store} "
        f"videos ({len(summary.partial_in_store)} partial) and {summary.failures_in_store} "
        "failures"
    )
    for item in summary.partial_in_store:
        typer.echo(f"  partial: {item}")
    write_json(json_out, summary.__dict__)


@store_app.command("info")
def info(store: str, json_out: JsonOpt = None) -> None:
    """Size on disk, videos, failures, compression rate and codec of a store."""
    from ..store.info import store_info

    result = store_info(store)
    mib = 2**20
    typer.echo(
        f"{result['store']}: {result['videos']} videos ({result['hours']:.2f} h, "
        f"{result['frames']} frames), {len(result['failures'])} failures, "
        f"{len(result['incomplete'])} incomplete\n"
        f"on disk {result['bytes_on_disk'] / mib:.2f} MiB; sources "
        f"{result['source_bytes'] / mib:.2f} MiB; raw uint8 frames "
        f"{result['raw_uint8_bytes'] / mib:.2f} MiB ({result['raw_over_disk']:.0f}x); chunks "
        f"coded by {result['chunk_codec']['name']}\n"
        f"compression rate {result['compression_rate']:.1f}; codec "
        f"{result['codec_fingerprint']} ({result['codec_kind']}) {result['codec']}"
    )
    for failure in result["failures"]:
        typer.echo(f"  failed: {failure['id']}: {failure['reason']}")
    for entry in result["partial"]:
        typer.echo(
            f"  partial: {entry['id']}: {entry['decoded_frames']} of "
            f"{entry['declared_frames']} declared frames"
        )
    write_json(json_out, result)


@store_app.command("verify")
def verify(store: str, json_out: JsonOpt = None) -> None:
    """Re-check every video's checksum; exit code 1 when anything is damaged."""
    from ..store.info import verify_store

    result = verify_store(store)
    for key, problem in result["damaged"].items():
        typer.secho(f"  damaged: {key}: {problem}", fg="red")
    for path, problem in result["damaged_pack_indexes"].items():
        typer.secho(f"  damaged: {path}: {problem}", fg="red")
    indexes = len(result["damaged_pack_indexes"])
    typer.echo(
        f"{result['store']}: {result['checked']} videos checked, {len(result['damaged'])} damaged"
        + (f"; {indexes} pack index(es) damaged" if indexes else "")
    )
    write_json(json_out, result)
    if not result["ok"]:
        raise typer.Exit(code=1)


@store_app.command("migrate")
def migrate(
    old: Annotated[str, typer.Argument(help="A store of format version 1.")],
    new: Annotated[str, typer.Argument(help="The new store (a path or fsspec URL).")],
    json_out: JsonOpt = None,
) -> None:
    """Convert a store of an older format (one zarr group per video) into a new store; rerun
    to continue after an interruption. Exit code 1 when a damaged video was left out."""
    from ..store.migrate import migrate_store

    result = migrate_store(old, new)
    for key, problem in result["damaged"].items():
        typer.secho(f"  not copied: {key}: {problem}", fg="red")
    typer.echo(f"{new}: {result['videos']} videos, {result['failures']} failures")
    write_json(json_out, result)
    if not result["ok"]:
        raise typer.Exit(code=1)
