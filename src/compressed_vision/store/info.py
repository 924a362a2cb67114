"""`store info` and `store verify`: what a store holds, and whether its codes are intact."""

from __future__ import annotations

import hashlib
import math
from typing import Any

import fsspec
from tqdm.auto import tqdm

from .layout import hash_block
from .reader import CodeStore


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
        "codec": cfg.to_dict(),
        "size": store.attrs["size"],
        "fps": store.attrs["fps"],
        "classes": len(store.classes),
        "frame_classes": len(store.frame_classes),
    }


def _check(store: CodeStore, key: str, attrs: dict[str, Any]) -> str | None:
    """None if the video's codes match their checksum, else what is wrong."""
    try:
        codes = store.codes(key)
        if codes.shape[1] != attrs["steps"]:
            return f"{codes.shape[1]} code steps stored, {attrs['steps']} recorded"
        h = hashlib.sha256()
        for start in range(0, codes.shape[1], store.chunk_steps):
            hash_block(h, codes[:, start : start + store.chunk_steps])
    except Exception as e:  # any failure to read is damage to report
        return f"cannot be read: {type(e).__name__}: {e}"
    return None if h.hexdigest() == attrs["sha256"] else "checksum mismatch"


def verify_store(
    url: str, storage_options: dict | None = None, progress: bool = True
) -> dict[str, Any]:
    """Re-read every video's codes and check its sha256. `ok` is False on any damage."""
    store = CodeStore(url, storage_options)
    try:
        entries = store.entries()
    except Exception as e:  # unreadable metadata is damage too
        return {"store": str(url), "checked": 0, "damaged": {"(metadata)": str(e)}, "ok": False}
    damaged = {}
    for e in tqdm(entries, desc="store verify", disable=not progress):
        problem = _check(store, e.key, e.attrs)
        if problem is not None:
            damaged[e.key] = problem
    return {
        "store": str(url),
        "checked": len(entries),
        "damaged": damaged,
        "incomplete": store.incomplete(),
        "partial": [
            {k: e.attrs[k] for k in ("id", "source", "declared_frames", "decoded_frames")}
            for e in entries
            if e.attrs.get("partial")
        ],
        "ok": not damaged,
    }
