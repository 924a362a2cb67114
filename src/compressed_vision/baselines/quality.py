"""Distortion of decoded uint8 frames against the originals: PSNR and MS-SSIM."""

from __future__ import annotations

import numpy as np
import torch

from ..codec.metrics import psnr
from ..codec.msssim import ms_ssim
from ..errors import ShapeError
from .rate import check_frames


def _pair(a: np.ndarray, b: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    """Two uint8 (T, H, W, 3) clips -> float (T, 3, H, W) tensors in [0, 1]."""
    a, b = check_frames(a), check_frames(b)
    if a.shape != b.shape:
        raise ShapeError(f"clips differ in shape: {a.shape} and {b.shape}")
    to = lambda x: torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255  # noqa: E731
    return to(a), to(b)


def frames_psnr(reference: np.ndarray, decoded: np.ndarray) -> float:
    """PSNR in dB over the whole clip (one MSE over all frames, pixels and channels)."""
    return psnr(*_pair(reference, decoded))


def frames_ms_ssim(reference: np.ndarray, decoded: np.ndarray) -> float:
    """MS-SSIM per frame (see `codec.msssim` for small frames), averaged over the clip."""
    with torch.no_grad():
        return float(ms_ssim(*_pair(reference, decoded)))
