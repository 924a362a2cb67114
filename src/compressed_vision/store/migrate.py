"""`cvis store migrate`: convert a store of format version 1 (one zarr group per video, with
a `codes` array and optional `frame_labels`, and one group per failure) into a new store of
this version. Codes are copied chunk by chunk into packs and checked against each video's
sha256; a rerun continues where a killed one stopped. A learned-coded store (`lossless:
"learned"`, its chunks as `videos/<key>/learned/<i>`) stays learned-coded, with its prior."""

from __future__ import annotations

from typing import Any

import numpy as np
import zarr
from tqdm.auto import tqdm

from ..codec.checkpoint import KIND as OUR_KIND
from ..errors import CVError
from ..sources.manifest import Item
from .chunks import DEFAULT, PRIOR_FILE, ChunkCodec
from .index import consolidate
from .layout import FORMAT, ROOT_META, VERSION, StoreFiles, group_metadata
from .packs import PackWriter
from .reader import CodeStore, read_root_attrs

# recomputed, or no longer kept
DROPPED = ("id", "source", "steps", "code_shape", "sha256", "complete")


def _old_root(url: str, storage_options: dict | None) -> zarr.Group:
    extra = {"storage_options": storage_options} if storage_options else {}
    try:
        root = zarr.open_group(url, mode="r", **extra)
    except Exception as e:
        raise CVError(f"cannot open as a zarr group ({type(e).__name__}: {e})", url) from e
    attrs = root.attrs.asdict()
    if attrs.get("format") != FORMAT or attrs.get("version") != 1:
        raise CVError("is not a code store of format version 1", url)
    return root


def _new_attrs(old: dict[str, Any]) -> dict[str, Any]:
    """The new store's root attrs: the old ones (our codec kind where they name none) with
    this version and the old store's chunk codec."""
    attrs = {"codec_kind": OUR_KIND, **old, "version": VERSION, "chunk_codec": DEFAULT}
    if attrs.pop("lossless", "zstd") == "learned":
        attrs["chunk_codec"] = {"name": "learned", "prior": attrs.get("prior_fingerprint")}
    attrs.pop("prior_fingerprint", None)
    return attrs


def _new_store(
    url: str, attrs: dict[str, Any], old: StoreFiles, storage_options: dict | None
) -> StoreFiles:
    files = StoreFiles(url, storage_options)
    if not files.fs.exists(files.path(ROOT_META)):
        if files.fs.isdir(files.root) and files.fs.ls(files.root):
            raise CVError("exists, is not empty and is not a code store", url)
        if attrs["chunk_codec"]["name"] == "learned":
            try:
                files.put(PRIOR_FILE, old.get(PRIOR_FILE))
            except FileNotFoundError as e:
                raise CVError("learned-coded, but holds no prior", old.location(PRIOR_FILE)) from e
        files.put(ROOT_META, group_metadata(attrs))
    elif read_root_attrs(files) != attrs:
        raise CVError("is another store, not a migration of this one: use a new path", url)
    return files


def migrate_store(
    old: str, new: str, storage_options: dict | None = None, progress: bool = True
) -> dict[str, Any]:
    """Copy every complete video and every failure of the old store into the new one.
    Returns counts and {key: problem} of the videos that could not be copied (damaged)."""
    root, old_files = _old_root(old, storage_options), StoreFiles(old, storage_options)
    attrs = _new_attrs(root.attrs.asdict())
    files = _new_store(new, attrs, old_files, storage_options)
    done = CodeStore(new, storage_options)
    skip = {e.key for e in done.entries()} | set(done.failures())
    cfg, steps, coder = done.codec_config, done.chunk_steps, done.coder
    learned = old_files if attrs["chunk_codec"]["name"] == "learned" else None
    videos = sorted((k, g) for k, g in root["videos"].groups() if g.attrs.get("complete"))
    damaged: dict[str, str] = {}
    pack = None
    try:
        for key, group in tqdm(videos, desc="store migrate", disable=not progress):
            if key in skip:
                continue
            pack = pack or PackWriter(files, cfg.codebook_size, steps, coder)
            problem = _copy_video(pack, key, dict(group.attrs), group, steps, learned)
            if problem is not None:
                damaged[key] = problem
            if pack.full:
                pack.close()
                pack = None
        pack = pack or PackWriter(files, cfg.codebook_size, steps, coder)
        for _, group in sorted(root["failures"].groups(), key=lambda kv: kv[0]):
            a = dict(group.attrs)
            pack.fail(Item(a["id"], a["source"]), a["reason"])
    finally:
        if pack is not None:
            pack.close()
    consolidate(files)
    store = CodeStore(new, storage_options)
    return {
        "old": old,
        "new": new,
        "videos": len(store.entries()),
        "failures": len(store.failures()),
        "damaged": damaged,
        "ok": not damaged,
    }


def _copy_video(
    pack: PackWriter,
    key: str,
    attrs: dict[str, Any],
    group: zarr.Group,
    steps: int,
    learned: StoreFiles | None,
) -> str | None:
    """Copy one video into the pack (its chunks read from the files of the `learned` store
    when learned-coded); the problem when it cannot be read or its codes do not match its
    checksum (then it is left out)."""
    item = Item(attrs["id"], attrs["source"])
    if item.key != key:
        return f"its key {key} does not match its id {item.id!r}"
    try:
        writer = pack.video(item)
        codes = group["codes"]
        for start in range(0, codes.shape[1], steps):
            if learned is None:
                writer.append(codes[:, start : start + steps])
            else:
                writer.append(_learned_chunk(learned, pack.coder, key, codes, start, steps))
        labels = group["frame_labels"][:] if "frame_labels" in group else None
    except Exception as e:
        return f"cannot be read: {type(e).__name__}: {e}"
    if writer.checksum() != attrs.get("sha256"):
        return "checksum mismatch: not copied"
    writer.finish({k: v for k, v in attrs.items() if k not in DROPPED}, labels)
    return None


def _learned_chunk(
    old: StoreFiles, coder: ChunkCodec, key: str, codes: zarr.Array, start: int, steps: int
) -> np.ndarray:
    """The chunk from code step `start` of a video of a learned-coded format-1 store."""
    g, total, h, w = codes.shape
    data = old.get(f"videos/{key}/learned/{start // steps}")
    return coder.decode(data, (g, min(steps, total - start), h, w), codes.dtype)
