"""The baselines' datasets: every video of a manifest re-compressed at a target compression
rate and stored the way a dataset kept at that rate is read back: H.264 / HEVC as raw
bitstreams (.h264 / .hevc, decoded by PyAV), JPEG as a zip of one JPEG file per frame.

The codec's setting is searched per video (`baselines.jpeg_at_rate` / `mpeg_at_rate`) on its
frames at the training size; where a codec cannot reach the rate (JPEG above about 50x) its
smallest setting is used, and the summary reports the rate achieved. Copies made before
with the same settings are reused (`copies.json` in the folder), so a rerun continues.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import av
import numpy as np
from tqdm.auto import tqdm

from ..baselines import jpeg_at_rate, mpeg_at_rate
from ..baselines.jpeg import jpeg_encode
from ..baselines.mpeg import CODECS, mpeg_encode
from ..errors import CVError
from ..store import Manifest
from ..store.manifest import Item
from ..store.sources import open_source

METHODS = ("jpeg", *CODECS)


def _write_copy(item: Item, method: str, target_cr: float, size: int, out: Path) -> dict:
    """Re-compress one item; returns its entry of the index."""
    source = open_source(item, size)
    frames = np.concatenate(list(source.chunks(256)))
    if method == "jpeg":
        result = jpeg_at_rate(frames, target_cr)
        path = out / f"{item.key}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
            for i, data in enumerate(jpeg_encode(frames, int(result.setting))):
                z.writestr(f"{i:06d}.jpg", data)
    else:
        result = mpeg_at_rate(frames, target_cr, codec=method, fps=source.fps)
        path = out / f"{item.key}.{method}"
        packets = mpeg_encode(frames, result.setting, method, source.fps)
        path.write_bytes(b"".join(bytes(p) for p in packets))
    return {
        "path": str(path),
        "setting": result.setting,
        "payload_bytes": result.payload_bytes,
        "raw_bytes": result.raw_bytes,
        "reachable": result.reachable,
    }


def recompress_copies(
    manifest: Manifest,
    method: str,
    target_cr: float,
    size: int,
    out_dir: str | Path,
    show_progress: bool = True,
) -> tuple[dict[str, str], dict[str, Any]]:
    """Write (or reuse) a copy of every readable item; returns (item id -> copy path,
    summary: videos, rate achieved over all of them, videos where the rate is unreachable,
    bytes). Unreadable items get no copy (the reader of the originals reports them)."""
    if method not in METHODS:
        raise CVError(f"unknown re-compression {method!r}; choose from {', '.join(METHODS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "copies.json"
    settings = {"method": method, "target_cr": target_cr, "size": size}
    index = json.loads(index_path.read_text()) if index_path.is_file() else {}
    if index.get("settings") != settings:
        index = {"settings": settings, "items": {}}
    entries: dict[str, dict] = index["items"]
    todo = [
        i
        for i in manifest.items
        if not i.error and not (i.id in entries and Path(entries[i.id]["path"]).is_file())
    ]
    for item in tqdm(todo, desc=f"{method} at CR {target_cr:g}", disable=not show_progress):
        try:
            entries[item.id] = _write_copy(item, method, target_cr, size, out)
        except (CVError, av.error.FFmpegError):
            continue
        index_path.write_text(json.dumps(index))
    kept = [entries[i.id] for i in manifest.items if i.id in entries]
    if not kept:
        raise CVError(f"no video could be re-compressed with {method}", out)
    payload = sum(e["payload_bytes"] for e in kept)
    summary = {
        "method": method,
        "target_cr": target_cr,
        "videos": len(kept),
        "achieved_cr": sum(e["raw_bytes"] for e in kept) / payload,
        "unreachable": sum(not e["reachable"] for e in kept),
        "payload_bytes": payload,
    }
    return {i.id: entries[i.id]["path"] for i in manifest.items if i.id in entries}, summary
