"""Shared fixtures: small videos written on the fly, and the repository's shared data."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from compressed_vision.video.io import write_video

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def moving_frames(frames: int = 20, height: int = 48, width: int = 64) -> np.ndarray:
    """A smooth moving gradient, (T, H, W, 3) uint8, that codecs keep well."""
    t = np.arange(frames)[:, None, None]
    y = np.arange(height)[None, :, None]
    x = np.arange(width)[None, None, :]
    r = (128 + 100 * np.sin((x + 2 * t) / 9.0)) + 0 * y
    g = 128 + 100 * np.cos((y + t) / 7.0) + 0 * x
    b = np.broadcast_to(np.uint8(90), r.shape)
    return np.stack(np.broadcast_arrays(r, g, b), -1).clip(0, 255).astype(np.uint8)


@pytest.fixture
def clip_path(tmp_path) -> Path:
    """A 20-frame 64x48 H.264 mp4 at 25 fps."""
    return write_video(tmp_path / "clip.mp4", moving_frames(), fps=25)


@pytest.fixture
def shared_data() -> Path:
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip(
            f"the shared sample clips are not here ({path}); they exist in CI and on dev machines"
        )
    return path
