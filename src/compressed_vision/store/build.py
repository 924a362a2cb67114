"""Building a store from a manifest: resumable, with parallel worker processes on one machine
and sharded by rank under `torchrun`.

Every process writes its own packs (see `store.layout`), so writers never share a file.
Resuming: a video is finished once the index of its pack is written; a rerun skips finished
videos (and recorded failures, unless `retry_failed`), deletes the packs a killed run left
without an index, and redoes their videos. Since encoding is deterministic and the attrs hold
nothing run-specific, the result is the store an uninterrupted run writes. At the end the
pack indexes are consolidated into `index.cvi`, which readers open.

Under `torchrun` (WORLD_SIZE > 1) rank r takes items r, r + W, r + 2W, ... of the manifest
(sorted by id); the ranks meet (gloo barriers) after the root is written and at the end.
One build (one `torchrun` job) writes into a store at a time.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import get_context
from typing import Any

import torch
import torch.distributed as dist
from tqdm.auto import tqdm

from ..codec.base import Codec
from ..codec.lossless import LearnedPrior
from ..errors import CVError
from ..sources.manifest import Item, Manifest
from .chunks import DEFAULT, ChunkCodec, chunk_codec, learned_record, write_prior
from .index import consolidate, remove_unindexed
from .layout import FORMAT, ROOT_META, VERSION, StoreFiles, group_metadata, is_memory
from .packs import PACK_VIDEOS
from .reader import CodeStore, check_version, read_root_attrs
from .writer import BuildSpec, encode_items

ItemHook = Callable[[Item, str | None], None]


@dataclass(frozen=True)
class BuildSummary:
    """This process's share of the work, and the whole store's state at the end."""

    items: int  # items of the manifest given to this process
    skipped: int  # finished (or failed) in an earlier run
    encoded: int
    failed: int
    videos_in_store: int
    failures_in_store: int
    partial_in_store: list[str]  # ids of videos stored with only their first decoded frames


def root_attrs(codec: Codec, spec: BuildSpec) -> dict[str, Any]:
    """The root attrs of a store built with this codec and spec (JSON-normalised): the
    codec's kind, the shape of its codes (`codec.spec`), its fingerprint, and the chunk
    codec (zstd, or learned coding with `spec.prior`)."""
    attrs = {
        "format": FORMAT,
        "version": VERSION,
        "codec_kind": codec.kind,
        "codec": codec.spec.to_dict(),
        "codec_fingerprint": codec.fingerprint(),
        "chunk_codec": DEFAULT if spec.prior is None else learned_record(spec.prior),
        "size": spec.size,
        "fps": spec.fps,
        "chunk_steps": spec.chunk_steps,
        "classes": list(spec.classes),
        "frame_classes": list(spec.frame_classes),
    }
    return json.loads(json.dumps(attrs))


def prepare_root(
    url: str, codec: Codec, spec: BuildSpec, storage_options: dict | None = None
) -> tuple[StoreFiles, ChunkCodec]:
    """Create the store (with its prior, when learned-coded), or check that an existing one
    was built with the same codec and settings (so resuming can never mix codes of two
    codecs, or of two chunk codecs). Returns its files and its chunk codec."""
    files = StoreFiles(url, storage_options)
    fs, expected = files.fs, root_attrs(codec, spec)
    if spec.prior is not None:
        spec.prior.check_codec(expected["codec_fingerprint"], url)
    if not fs.exists(files.path(ROOT_META)):
        if fs.isdir(files.root) and fs.ls(files.root):
            raise CVError("exists, is not empty and is not a code store: choose another --out", url)
        if spec.prior is not None:
            write_prior(files, spec.prior)
        files.put(ROOT_META, group_metadata(expected))
        return files, chunk_codec(expected, files)
    found = read_root_attrs(files)
    if found.get("format") != FORMAT:
        raise CVError("exists and is not a code store", url)
    check_version(found, url)
    if found.get("codec_fingerprint") != expected["codec_fingerprint"]:
        raise CVError(
            f"this store was built with another codec ({found.get('codec_fingerprint')}; "
            f"this one is {expected['codec_fingerprint']}): use a new --out",
            url,
        )
    changed = [f"{k}={found.get(k)!r}" for k in expected if found.get(k) != expected[k]]
    if changed:
        raise CVError(f"this store was built with other settings ({', '.join(changed)})", url)
    return files, chunk_codec(expected, files)


def pending(store: CodeStore, items: tuple[Item, ...], retry_failed: bool) -> list[Item]:
    """The items a run still has to do."""
    done = {e.key for e in store.entries()}
    if not retry_failed:
        done |= set(store.failures())
    return [i for i in items if i.key not in done]


def _distributed() -> tuple[int, int, bool]:
    """(rank, world size, whether we initialised the process group here)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size(), False
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        # The ranks wait for the slowest shard at the end: allow a long wait.
        dist.init_process_group("gloo", timeout=timedelta(days=7))
        return dist.get_rank(), dist.get_world_size(), True
    return 0, 1, False


def _barrier(world: int) -> None:
    if world > 1:
        dist.barrier()


_WORKER: dict[str, Any] = {}


def _init_worker(
    codec: Codec,
    device: str,
    files: StoreFiles,
    spec: BuildSpec,
    coder: ChunkCodec,
    options: dict[str, Any],
) -> None:
    torch.set_num_threads(1)
    _WORKER.update(
        codec=codec.to(device).eval(),
        device=torch.device(device),
        files=files,
        spec=spec,
        coder=coder,
        options=options,
    )


def _work(batch: list[Item]) -> list[tuple[Item, str | None]]:
    """Encode a batch of items into packs of this worker (committed before returning)."""
    w = _WORKER
    return list(
        encode_items(
            w["files"], batch, w["codec"], w["device"], w["spec"], w["coder"], **w["options"]
        )
    )


def _run_pool(
    todo: list[Item],
    codec: Codec,
    device: torch.device,
    files: StoreFiles,
    spec: BuildSpec,
    coder: ChunkCodec,
    workers: int,
    options: dict[str, Any],
) -> Iterator[tuple[Item, str | None]]:
    """Yield (item, failure reason or None) as worker processes finish batches of them."""
    init = (copy.deepcopy(codec).cpu(), str(device), files, spec, coder, options)
    size = max(1, min(options["pack_videos"], math.ceil(len(todo) / (4 * workers))))
    pool = ProcessPoolExecutor(workers, get_context("spawn"), _init_worker, init)
    try:
        futures = [pool.submit(_work, todo[i : i + size]) for i in range(0, len(todo), size)]
        for future in as_completed(futures):
            yield from future.result()
    finally:  # interrupted: drop the queued batches, wait for those in flight
        pool.shutdown(cancel_futures=True)


def _device_for_rank(device: str | torch.device) -> torch.device:
    device = torch.device(device)
    if device.type == "cuda" and device.index is None and "LOCAL_RANK" in os.environ:
        return torch.device("cuda", int(os.environ["LOCAL_RANK"]))
    return device


def build_store(
    manifest: Manifest,
    codec: Codec,
    out: str,
    device: str | torch.device = "cpu",
    workers: int = 1,
    *,
    size: int | None = None,
    fps: float | None = None,
    chunk_steps: int = 32,
    retry_failed: bool = False,
    keep_partial: bool = False,
    pack_videos: int = PACK_VIDEOS,
    storage_options: dict | None = None,
    progress: bool = True,
    on_item: ItemHook | None = None,
    prior: LearnedPrior | None = None,
) -> BuildSummary:
    """Encode every item of `manifest` into the store at `out` (a path or fsspec URL).

    Resumable (see the module docstring); bad items go to the store's failure list and the
    job goes on; a truncated video is one, unless `keep_partial` (its decoded frames are
    stored, the entry marked partial). `prior` makes the chunk codec learned coding with
    that prior (of this codec), instead of zstd. `workers` > 1 encodes in that many
    processes; under `torchrun` each rank takes its shard. A pack holds at most
    `pack_videos` videos (a hard kill loses at most that many per process). `on_item(item,
    reason)` is called after each item is encoded (reason None: stored); it is in the store
    once its pack is committed.
    """
    out = str(out)
    spec = BuildSpec(size, fps, chunk_steps, manifest.classes, manifest.frame_classes, prior)
    rank, world, created = _distributed()
    try:
        if is_memory(out) and (workers > 1 or world > 1):
            raise CVError("an in-memory store cannot be shared by several processes", out)
        device = _device_for_rank(device)
        codec = codec.to(device).eval()
        if rank == 0:
            files, coder = prepare_root(out, codec, spec, storage_options)
            remove_unindexed(files)  # left by a killed run: no writer runs yet
        _barrier(world)
        if rank != 0:
            files, coder = prepare_root(out, codec, spec, storage_options)
        shard = manifest.items[rank::world]
        todo = pending(CodeStore(out, storage_options), shard, retry_failed)
        options = {"keep_partial": keep_partial, "pack_videos": pack_videos}
        if workers > 1:
            results = _run_pool(todo, codec, device, files, spec, coder, workers, options)
        else:
            results = encode_items(files, todo, codec, device, spec, coder, **options)
        failed = 0
        with (
            contextlib.closing(results),
            tqdm(total=len(todo), desc="store build", disable=not progress or rank != 0) as bar,
        ):
            for item, reason in results:
                failed += reason is not None
                if reason is not None:
                    bar.write(f"failed: {item.id}: {reason}")
                bar.update()
                if on_item is not None:
                    on_item(item, reason)
        _barrier(world)
        if rank == 0:
            consolidate(files)
        _barrier(world)
        store = CodeStore(out, storage_options)
        return BuildSummary(
            len(shard),
            len(shard) - len(todo),
            len(todo) - failed,
            failed,
            len(store.entries()),
            len(store.failures()),
            [e.attrs["id"] for e in store.entries() if e.attrs.get("partial")],
        )
    finally:
        if created:
            dist.destroy_process_group()
