"""A pixel-pipeline transform: a clip as a classical codec at a given rate would leave it."""

from __future__ import annotations

import numpy as np

from ..errors import CVError
from .jpeg import jpeg_at_rate
from .mpeg import CODECS, mpeg_at_rate
from .rate import BaselineResult

METHODS = ("jpeg", *CODECS)


def at_rate(frames: np.ndarray, method: str, target_cr: float, fps: float = 25) -> BaselineResult:
    """Rate-matched encode/decode of `frames` with "jpeg", "h264" or "hevc"."""
    if method == "jpeg":
        return jpeg_at_rate(frames, target_cr)
    if method in CODECS:
        return mpeg_at_rate(frames, target_cr, codec=method, fps=fps)
    raise CVError(f"unknown recompression method {method!r}; choose from {list(METHODS)}")


def recompress(
    frames: np.ndarray, method: str, target_cr: float, fps: float = 25, strict: bool = False
) -> np.ndarray:
    """Decoded uint8 (T, H, W, 3) frames after compressing with `method` at `target_cr`.

    Where the codec cannot reach the rate (JPEG at high CR) the frames of its smallest setting
    come back, unless `strict`, which raises `CVError` instead.
    """
    result = at_rate(frames, method, target_cr, fps)
    if strict and not result.reachable:
        raise CVError(
            f"{method} cannot reach CR {target_cr:g} on this clip "
            f"(at most {result.achieved_cr:.1f})"
        )
    return result.frames
