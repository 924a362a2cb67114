"""Building a store from a manifest: resumable, with parallel worker processes on one machine
and sharded by rank under `torchrun`.

Resuming: a video is finished once its group is marked complete; a rerun skips finished
videos (and recorded failures, unless `retry_failed`) and redoes the ones that were in flight.
Since encoding is deterministic and the attrs hold nothing run-specific, the result is the
store an uninterrupted run writes.

Under `torchrun` (WORLD_SIZE > 1) rank r takes items r, r + W, r + 2W, ... of the manifest
(sorted by id); the ranks meet (gloo barriers) after the root is written and at the end.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import timedelta
from multiprocessing import get_context
from typing import Any

import fsspec
import torch
import torch.distributed as dist
import zarr
from tqdm.auto import tqdm

from ..codec.base import Codec
from ..codec.lossless import LearnedPrior
from ..errors import CVError
from .layout import FAILURES, FORMAT, VERSION, VIDEOS, is_memory, open_root
from .learned import write_prior
from .manifest import Item, Manifest
from .reader import OUR_KIND, CodeStore, open_store_root
from .writer import BuildSpec, encode_item

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
    codec's kind, the shape of its codes (`codec.spec`) and its fingerprint."""
    attrs = {
        "format": FORMAT,
        "version": VERSION,
        "codec_kind": codec.kind,
        "codec": codec.spec.to_dict(),
        "codec_fingerprint": codec.fingerprint(),
        "size": spec.size,
        "fps": spec.fps,
        "chunk_steps": spec.chunk_steps,
        "classes": list(spec.classes),
        "frame_classes": list(spec.frame_classes),
    }
    if spec.prior is not None:  # zstd stores keep their attrs (and can be resumed)
        attrs.update(lossless="learned", prior_fingerprint=spec.prior.fingerprint)
    return json.loads(json.dumps(attrs))


def prepare_root(
    url: str, codec: Codec, spec: BuildSpec, storage_options: dict | None = None
) -> zarr.Group:
    """Create the store, or check that an existing one was built with the same codec and
    settings (so resuming can never mix codes of two codecs)."""
    fs, path = fsspec.core.url_to_fs(url, **(storage_options or {}))
    if fs.isdir(path) and fs.ls(path) and not fs.exists(f"{path.rstrip('/')}/zarr.json"):
        raise CVError("exists, is not empty and is not a code store: choose another --out", url)
    root = open_store_root(url, "a", storage_options)
    expected, found = root_attrs(codec, spec), root.attrs.asdict()
    if spec.prior is not None:
        spec.prior.check_codec(expected["codec_fingerprint"], url)
    if not found:
        if spec.prior is not None:
            write_prior(root, spec.prior)
        root.update_attributes(expected)
        root.require_group(VIDEOS)
        root.require_group(FAILURES)
        return root
    if found.get("format") != FORMAT:
        raise CVError("exists and is not a code store", url)
    found.setdefault("codec_kind", OUR_KIND)  # stores from before other kinds: ours
    if found.get("codec_fingerprint") != expected["codec_fingerprint"]:
        raise CVError(
            f"this store was built with another codec ({found.get('codec_fingerprint')}; "
            f"this one is {expected['codec_fingerprint']}): use a new --out",
            url,
        )
    keys = [*expected, *(k for k in ("lossless", "prior_fingerprint") if k not in expected)]
    changed = [f"{k}={found.get(k)!r}" for k in keys if found.get(k) != expected.get(k)]
    if changed:
        raise CVError(f"this store was built with other settings ({', '.join(changed)})", url)
    return root


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
    url: str,
    options: dict | None,
    spec: BuildSpec,
    keep_partial: bool,
) -> None:
    torch.set_num_threads(1)
    _WORKER.update(
        codec=codec.to(device).eval(),
        device=torch.device(device),
        root=open_root(url, "r+", options),
        spec=spec,
        keep_partial=keep_partial,
    )


def _work(item: Item) -> str | None:
    w = _WORKER
    return encode_item(w["root"], item, w["codec"], w["device"], w["spec"], w["keep_partial"])


def _run_pool(
    todo: list[Item],
    codec: Codec,
    device: torch.device,
    url: str,
    options: dict | None,
    spec: BuildSpec,
    workers: int,
    keep_partial: bool,
) -> Iterator[tuple[Item, str | None]]:
    """Yield (item, failure reason or None) as worker processes finish them."""
    init = (copy.deepcopy(codec).cpu(), str(device), url, options, spec, keep_partial)
    pool = ProcessPoolExecutor(workers, get_context("spawn"), _init_worker, init)
    try:
        futures = {pool.submit(_work, item): item for item in todo}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:  # interrupted: drop the queued items, wait for those in flight
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
    storage_options: dict | None = None,
    progress: bool = True,
    on_item: ItemHook | None = None,
    prior: LearnedPrior | None = None,
) -> BuildSummary:
    """Encode every item of `manifest` into the store at `out` (a path or fsspec URL).

    Resumable (see the module docstring); bad items go to the store's failure list and the
    job goes on; a truncated video is one, unless `keep_partial` (its decoded frames are
    stored, the entry marked partial). `prior` makes the lossless stage learned coding
    with that prior (of this codec), instead of zstd. `workers` > 1 encodes in that many
    processes; under `torchrun` each rank takes its shard. `on_item(item, reason)` is
    called after each item (reason None: stored).
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
            root = prepare_root(out, codec, spec, storage_options)
        _barrier(world)
        if rank != 0:
            root = prepare_root(out, codec, spec, storage_options)
        shard = manifest.items[rank::world]
        todo = pending(CodeStore(out, storage_options), shard, retry_failed)
        if workers > 1:
            results = _run_pool(
                todo, codec, device, out, storage_options, spec, workers, keep_partial
            )
        else:
            results = (
                (item, encode_item(root, item, codec, device, spec, keep_partial)) for item in todo
            )
        failed = 0
        with tqdm(total=len(todo), desc="store build", disable=not progress or rank != 0) as bar:
            for item, reason in results:
                failed += reason is not None
                if reason is not None:
                    bar.write(f"failed: {item.id}: {reason}")
                bar.update()
                if on_item is not None:
                    on_item(item, reason)
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
