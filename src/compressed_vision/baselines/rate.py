"""Byte budgets for a target compression rate, input checks, and the result of a baseline.

For a classical codec the compression rate is the docs/design.md one with the index bits replaced
by the coded bytes: `CR = raw_bytes / payload_bytes`, where raw_bytes = T*H*W*3 (24-bit RGB).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import CVError, ShapeError

TOLERANCE = 0.05  # rate matching: payload within 5% of the byte budget


def check_frames(frames: np.ndarray) -> np.ndarray:
    """Return `frames` as a contiguous uint8 (T, H, W, 3) array, or raise a clear error."""
    if not isinstance(frames, np.ndarray):
        raise CVError(f"frames must be a numpy array, got {type(frames).__name__}")
    if frames.dtype != np.uint8:
        raise CVError(f"frames must be uint8 (T, H, W, 3), got dtype {frames.dtype}")
    if frames.ndim != 4 or frames.shape[-1] != 3 or 0 in frames.shape:
        raise ShapeError(f"frames must be uint8 (T, H, W, 3) and non-empty, got {frames.shape}")
    return np.ascontiguousarray(frames)


def check_cr(target_cr: float) -> float:
    """A target compression rate must be a finite number above 1."""
    if not np.isfinite(target_cr) or target_cr <= 1:
        raise CVError(f"target compression rate must be > 1, got {target_cr}")
    return float(target_cr)


def raw_bytes(frames: np.ndarray) -> int:
    """Bytes of the clip as uint8 RGB: T*H*W*3."""
    t, h, w, c = frames.shape
    return t * h * w * c


def byte_budget(frames: np.ndarray, target_cr: float) -> float:
    """The payload bytes allowed at `target_cr`: raw_bytes / CR."""
    return raw_bytes(frames) / check_cr(target_cr)


def within_tolerance(payload: int, budget: float, tol: float = TOLERANCE) -> bool:
    """True when the payload lies within `tol` (relative) of the budget, above or below."""
    return abs(payload / budget - 1) <= tol


@dataclass
class BaselineResult:
    """One encode/decode of a clip by a classical codec at one setting."""

    codec: str  # "jpeg", "h264" or "hevc"
    setting_name: str  # "quality" or "crf"
    setting: float
    payload_bytes: int  # JPEG: the files' bytes summed; MPEG: the packets' bytes summed
    container_bytes: int  # the same data in a file (JPEG: the files; MPEG: an mp4)
    raw_bytes: int
    target_cr: float | None  # None for a plain round trip at a fixed setting
    reachable: bool = True  # False: even the smallest setting exceeds the budget (+ tol)
    within_tolerance: bool = True  # payload within 5% of the budget
    encodes: int = 1  # trial encodes the rate search spent
    frames: np.ndarray | None = field(default=None, repr=False)  # decoded uint8 (T, H, W, 3)

    @property
    def achieved_cr(self) -> float:
        """raw_bytes / payload_bytes."""
        return self.raw_bytes / self.payload_bytes

    def to_dict(self) -> dict[str, Any]:
        """Everything but the frames, as JSON-ready values."""
        return {
            "codec": self.codec,
            self.setting_name: self.setting,
            "payload_bytes": self.payload_bytes,
            "container_bytes": self.container_bytes,
            "raw_bytes": self.raw_bytes,
            "target_cr": self.target_cr,
            "achieved_cr": self.achieved_cr,
            "reachable": self.reachable,
            "within_tolerance": self.within_tolerance,
            "encodes": self.encodes,
        }
