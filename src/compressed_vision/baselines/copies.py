"""The baselines' datasets: every video of a manifest re-compressed at a target compression
rate and stored the way a dataset kept at that rate is read back: H.264 / HEVC as raw
bitstreams (.h264 / .hevc, decoded by PyAV), JPEG as a zip of one JPEG file per frame.
"decoded" is the neural codec's own round trip: the frames its codes decode to, kept
losslessly (a zip of PNG files), so a pixel network can train on exactly what the codes
hold; its rate is the codec's (payload: the codes after the lossless stage).

The codec's setting is searched per video (`baselines.jpeg_at_rate` / `mpeg_at_rate`) on its
frames at the training size; where a codec cannot reach the rate (JPEG above about 50x) its
smallest setting is used, and the summary reports the rate achieved. Copies made before
with the same settings are reused (`copies.json` in the folder), so a rerun continues.
"""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
from PIL import Image
from tqdm.auto import tqdm

from ..codec import Codec
from ..codec.files import WINDOW, frames_to_tensor, tensor_to_frames
from ..codec.rate import compress_codes
from ..errors import CVError
from ..sources import Manifest
from ..sources.manifest import Item
from ..sources.source import open_source
from . import jpeg_at_rate, mpeg_at_rate
from .jpeg import jpeg_encode
from .mpeg import CODECS, mpeg_encode

METHODS = ("jpeg", *CODECS, "decoded")


def _png(frame: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(frame).save(buffer, format="PNG")
    return buffer.getvalue()


def _write_decoded(frames: np.ndarray, codec: Codec, path: Path) -> dict:
    """The codec's round trip of `frames`, a PNG per frame; payload: the codes' zstd bytes."""
    t, h, w = frames.shape[:3]
    codes = codec.encode(frames_to_tensor(frames).to(codec.codebooks.device))
    decoded = torch.cat(
        [codec.decode(codes[:, :, i : i + WINDOW]) for i in range(0, codes.shape[2], WINDOW)], 2
    )
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for i, frame in enumerate(tensor_to_frames(decoded[:, :, :t, :h, :w])):
            z.writestr(f"{i:06d}.png", _png(frame))
    return {
        "setting": None,
        "payload_bytes": len(compress_codes(codes[0], codec.codebook_size)),
        "raw_bytes": frames.size,
        "reachable": True,
    }


def _write_copy(
    item: Item, method: str, target_cr: float, size: int, out: Path, codec: Codec | None
) -> dict:
    """Re-compress one item; returns its entry of the index."""
    source = open_source(item, size)
    frames = np.concatenate(list(source.chunks(256)))
    if method == "decoded":
        path = out / f"{item.key}.zip"
        return {"path": str(path), **_write_decoded(frames, codec, path)}
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
    codec: Codec | None = None,
) -> tuple[dict[str, str], dict[str, Any]]:
    """Write (or reuse) a copy of every readable item; returns (item id -> copy path,
    summary: videos, rate achieved over all of them, videos where the rate is unreachable,
    bytes). Unreadable items get no copy (the reader of the originals reports them).
    "decoded" needs the `codec` (its rate is the codec's: `target_cr` is not used)."""
    if method not in METHODS:
        raise CVError(f"unknown re-compression {method!r}; choose from {', '.join(METHODS)}")
    if method == "decoded" and codec is None:
        raise CVError("decoded copies need the codec whose round trip they hold (--codec)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    index_path = out / "copies.json"
    settings = {"method": method, "target_cr": target_cr, "size": size}
    if method == "decoded":
        settings["codec"] = codec.fingerprint()
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
            entries[item.id] = _write_copy(item, method, target_cr, size, out, codec)
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
