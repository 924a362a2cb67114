"""Small building blocks of the codec's encoder and decoder."""

from __future__ import annotations

import torch
from torch import nn


class ResBlock(nn.Module):
    """x + conv1x1(act(conv3x3(act(x)))), 2D or 3D; no normalisation layers, so a position's
    output depends only on its neighbourhood (what streaming encode relies on)."""

    def __init__(self, channels: int, dims: int = 2):
        super().__init__()
        conv = nn.Conv3d if dims == 3 else nn.Conv2d
        self.body = nn.Sequential(
            nn.SiLU(),
            conv(channels, channels, 3, padding=1, padding_mode="replicate"),
            nn.SiLU(),
            conv(channels, channels, 1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


def stage_widths(base: int, stages: int) -> list[int]:
    """Channel width after each strided stage: doubling, capped at 4x the base."""
    return [base * min(2 ** (i + 1), 4) for i in range(stages)]


def frames_to_batch(x: torch.Tensor, group: int) -> torch.Tensor:
    """(B, C, T, H, W) -> (B*T/group, C*group, H, W): each block of `group` frames becomes
    one image with its frames stacked as channels."""
    b, c, t, h, w = x.shape
    x = x.reshape(b, c, t // group, group, h, w).permute(0, 2, 3, 1, 4, 5)
    return x.reshape(b * (t // group), group * c, h, w)


def batch_to_frames(x: torch.Tensor, batch: int, group: int) -> torch.Tensor:
    """Inverse of `frames_to_batch`: (B*T', C*group, H, W) -> (B, C, T'*group, H, W)."""
    n, cg, h, w = x.shape
    t, c = n // batch, cg // group
    x = x.reshape(batch, t, group, c, h, w).permute(0, 3, 1, 2, 4, 5)
    return x.reshape(batch, c, t * group, h, w)
