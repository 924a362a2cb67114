"""`store info` and `store verify`: what a store holds, and whether its codes are intact."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import fsspec
from tqdm.auto import tqdm

from ..errors import CVError
from .layout import VIDEOS, hash_block
from .reader import OUR_KIND, CodeStore


def bytes_on_disk(url: str, storage_options: dict | None = None) -> int:
    """Total size of the store's files (any fsspec filesystem)."""
    fs, path = fsspec.core.url_to_fs(str(url), **(storage_options or {}))
    return int(fs.du(path, total=True))


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
        "source_bytes": sum(e.attrs["source_bytes"] for e in entries),
        "raw_uint8_bytes": raw_bytes,
        "raw_over_disk": raw_bytes / disk if disk else 0.0,
        "compression_rate": raw_bytes * 8 / (indices * math.log2(cfg.codebook_size))
        if indices
        else 0.0,
        "codec_fingerprint": store.fingerprint,
        "codec_kind": store.attrs.get("codec_kind", OUR_KIND),
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
        codes = store.codes(key)
        if codes.shape[1] != entry.steps:
            return f"{codes.shape[1]} code steps stored, {entry.steps} recorded"
        h = hashlib.sha256()
        for start in range(0, entry.steps, store.chunk_steps):
            hash_block(h, store.read(key, start, start + store.chunk_steps))
    except CVError as e:  # names the file at fault
        return str(e)
    except Exception as e:  # any other failure to read is damage to report too
        return f"cannot be read: {type(e).__name__}: {e}"
    return None if h.hexdigest() == attrs.get("sha256") else "checksum mismatch"


def verify_store(
    url: str, storage_options: dict | None = None, progress: bool = True
) -> dict[str, Any]:
    """Re-read every video's codes and check its sha256. `ok` is False on any damage."""
    store = CodeStore(url, storage_options)
    found, unreadable = store.scan(VIDEOS)
    damaged = {key: str(e) for key, e in unreadable.items()}
    complete = {k: a for k, a in sorted(found.items()) if a.get("complete")}
    for key, attrs in tqdm(complete.items(), desc="store verify", disable=not progress):
        problem = _check(store, key, attrs)
        if problem is not None:
            damaged[key] = problem
    partial = [a for k, a in complete.items() if a.get("partial") and k not in damaged]
    return {
        "store": str(url),
        "checked": len(complete) + len(unreadable),
        "damaged": damaged,
        "incomplete": sorted(k for k, a in found.items() if not a.get("complete")),
        "partial": [
            {k: a.get(k) for k in ("id", "source", "declared_frames", "decoded_frames")}
            for a in partial
        ],
        "ok": not damaged,
    }
