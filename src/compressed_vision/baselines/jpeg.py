"""JPEG per frame with Pillow (libjpeg-turbo), and a quality search for a target rate.

Each frame is one baseline JPEG file (4:2:0 chroma, optimised Huffman tables); the payload is
the files' bytes summed, headers included.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from ..errors import CVError
from .rate import (
    BaselineResult,
    byte_budget,
    check_frames,
    raw_bytes,
    within_tolerance,
)

QUALITY_MIN, QUALITY_MAX = 1, 95


def jpeg_encode(frames: np.ndarray, quality: int) -> list[bytes]:
    """Encode every frame of uint8 (T, H, W, 3) as a JPEG file at `quality` (1..95)."""
    frames = check_frames(frames)
    if not QUALITY_MIN <= quality <= QUALITY_MAX:
        raise CVError(f"JPEG quality must be in {QUALITY_MIN}..{QUALITY_MAX}, got {quality}")
    files = []
    for img in frames:
        buf = io.BytesIO()
        Image.fromarray(img).save(buf, format="JPEG", quality=int(quality), optimize=True)
        files.append(buf.getvalue())
    return files


def jpeg_decode(files: list[bytes]) -> np.ndarray:
    """Decode JPEG files back to uint8 (T, H, W, 3)."""
    if not files:
        raise CVError("no JPEG files to decode")
    frames = []
    for i, data in enumerate(files):
        try:
            with Image.open(io.BytesIO(data)) as img:
                frames.append(np.asarray(img.convert("RGB")))
        except OSError as e:
            raise CVError(f"JPEG frame {i} cannot be decoded: {e}") from e
    return np.stack(frames)


def jpeg_roundtrip(
    frames: np.ndarray, quality: int, target_cr: float | None = None
) -> BaselineResult:
    """Encode and decode `frames` at one quality."""
    frames = check_frames(frames)
    files = jpeg_encode(frames, quality)
    payload = sum(len(f) for f in files)
    return BaselineResult(
        codec="jpeg",
        setting_name="quality",
        setting=int(quality),
        payload_bytes=payload,
        container_bytes=payload,
        raw_bytes=raw_bytes(frames),
        target_cr=target_cr,
        frames=jpeg_decode(files),
    )


def jpeg_at_rate(frames: np.ndarray, target_cr: float) -> BaselineResult:
    """The highest quality in 1..95 whose bytes fit `raw_bytes / target_cr` (binary search).

    If even quality 1 exceeds the budget, quality 1's result is returned with
    `reachable=False` (its `achieved_cr` says how far the codec gets).
    """
    frames = check_frames(frames)
    budget = byte_budget(frames, target_cr)

    def size(q: int) -> int:
        return sum(len(f) for f in jpeg_encode(frames, q))

    encodes = 1
    if size(QUALITY_MIN) > budget:
        best, reachable = QUALITY_MIN, False
    else:  # invariant: size(lo) fits; find the largest fitting quality
        lo, hi, reachable = QUALITY_MIN, QUALITY_MAX, True
        while lo < hi:
            mid = (lo + hi + 1) // 2
            encodes += 1
            if size(mid) <= budget:
                lo = mid
            else:
                hi = mid - 1
        best = lo
    result = jpeg_roundtrip(frames, best, target_cr)
    result.reachable = reachable
    result.within_tolerance = within_tolerance(result.payload_bytes, budget)
    result.encodes = encodes + 1
    return result
