"""Distortion metrics on videos in [0, 1]."""

from __future__ import annotations

import torch


def psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB over the whole tensor (peak 1.0)."""
    mse = torch.mean((a.float() - b.float()) ** 2).clamp_min(1e-10)
    return float(-10 * torch.log10(mse))
