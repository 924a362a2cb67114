"""`store info` and `store verify`: what a store holds, and whether its codes are intact."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import fsspec
from tqdm.auto import tqdm

from ..errors import CVError
from .index import VideoRecord, pack_index_path, read_index
from .layout import hash_block
from .reader import CodeStore


def bytes_on_disk(url: str, storage_options: dict | None = None) -> int:
    """Total size of the store's files (any fsspec filesystem)."""
    fs, path = fsspec.core.url_to_fs(str(url), **(storage_options or {}))
    return int(fs.du(path, total=True))


def count_files(url: str, storage_options: dict | None = None) -> int:
    """How many files (objects) the store has."""
    fs, path = fsspec.core.url_to_fs(str(url), **(storage_options or {}))
    return len(fs.find(path))


def store_info(url: str, storage_options: dict | None = None) -> dict[str, Any]:
    """Counts, sizes (on disk, of the sources, of raw uint8 frames), the compression rate
    (the paper's definition, over all videos) and the codec of a store."""
    store = CodeStore(url, storage_options)
    cfg = store.codec_config
    entries = store.entries()
    raw_bytes = sum(e.attrs["frames"] * e.attrs["height"] * e.attrs["width"] * 3 for e in entries)
    indices = sum(
        math.prod(cfg.code_shape(e.attrs["frames"], e.attrs["height"], e.attrs["width"]))
        for e in entries
    )
    disk = bytes_on_disk(url, storage_options)
    records = store.state.index.videos.values()
    return {
        "store": str(url),
        "videos": len(entries),
        "failures": [{"key": k, **v} for k, v in store.failures().items()],
        "incomplete": store.incomplete(),
        "partial": [
            {k: e.attrs[k] for k in ("id", "source", "declared_frames", "decoded_frames")}
            for e in entries
            if e.attrs.get("partial")
        ],
        "frames": sum(e.attrs["frames"] for e in entries),
        "hours": sum(e.attrs["frames"] / e.attrs["fps"] for e in entries) / 3600,
        "code_steps": sum(e.steps for e in entries),
        "bytes_on_disk": disk,
        "payload_bytes": sum(sum(r.chunks) + r.labels for r in records),
        "files": count_files(url, storage_options),
        "source_bytes": sum(e.attrs["source_bytes"] for e in entries),
        "raw_uint8_bytes": raw_bytes,
        "raw_over_disk": raw_bytes / disk if disk else 0.0,
        "compression_rate": raw_bytes * 8 / (indices * math.log2(cfg.codebook_size))
        if indices
        else 0.0,
        "codec_fingerprint": store.fingerprint,
        "codec_kind": store.attrs["codec_kind"],
        "chunk_codec": store.attrs["chunk_codec"],
        "codec": cfg.to_dict(),
        "size": store.attrs["size"],
        "fps": store.attrs["fps"],
        "classes": len(store.classes),
        "frame_classes": len(store.frame_classes),
    }


def _check(store: CodeStore, key: str, attrs: dict[str, Any]) -> str | None:
    """None if the video's codes match their checksum, else what is wrong."""
    try:
        entry = store.entry(key, attrs)
        h = hashlib.sha256()
        for start in range(0, entry.steps, store.chunk_steps):
            hash_block(h, store.read(key, start, start + store.chunk_steps))
        store.frame_labels(key)
    except CVError as e:  # names the file at fault
        return str(e)
    except Exception as e:  # any other failure to read is damage to report too
        return f"cannot be read: {type(e).__name__}: {e}"
    return None if h.hexdigest() == attrs.get("sha256") else "checksum mismatch"


def _pack_index_damage(store: CodeStore) -> dict[str, str]:
    """Each pack keeps its own index (what `index.cvi` is rebuilt from): {its file: the
    problem} for those unreadable, or not holding what `index.cvi` says of the pack."""
    merged, damage = store.state.index, {}
    by_pack: dict[str, list[tuple[str, VideoRecord]]] = {}
    for key, record in merged.videos.items():
        by_pack.setdefault(record.pack, []).append((key, record))
    for name in merged.packs:
        rel = pack_index_path(name)
        try:
            own = read_index(store.files, rel).videos
        except (CVError, FileNotFoundError) as e:
            damage[rel] = f"pack index: {e}"
            continue
        for key, record in by_pack.get(name, []):
            mine = own.get(key)
            if mine is None or (mine.offset, mine.chunks) != (record.offset, record.chunks):
                damage[rel] = f"pack index disagrees with index.cvi on video {key}"
                break
    return damage


def verify_store(
    url: str, storage_options: dict | None = None, progress: bool = True
) -> dict[str, Any]:
    """Re-read every video's codes and per-frame labels and check its sha256. `ok` is False
    on any damage; a damaged index or root refuses the store (`CVError`)."""
    store = CodeStore(url, storage_options)
    videos = dict(sorted(store.state.index.videos.items()))
    damaged = {}
    for key, record in tqdm(videos.items(), desc="store verify", disable=not progress):
        problem = _check(store, key, record.attrs)
        if problem is not None:
            damaged[key] = problem
    indexes = _pack_index_damage(store)
    partial = [r.attrs for k, r in videos.items() if r.attrs.get("partial") and k not in damaged]
    return {
        "store": str(url),
        "checked": len(videos),
        "damaged": damaged,
        "incomplete": store.incomplete(),
        "partial": [
            {k: a.get(k) for k in ("id", "source", "declared_frames", "decoded_frames")}
            for a in partial
        ],
        "damaged_pack_indexes": indexes,
        "ok": not damaged and not indexes,
    }
