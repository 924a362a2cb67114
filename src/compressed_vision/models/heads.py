"""The heads every backbone ends with: one class score per clip, or one per time step."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn


def output_steps(frames: int, temporal_downsample: int) -> int:
    """Time steps of a frame-wise output: one per `temporal_downsample` input steps (rounded
    up), the resolution of the code grid for pixels and the input's own for latents."""
    return math.ceil(frames / temporal_downsample)


class ClipHead(nn.Module):
    """Features (B, C, T, H, W) -> logits (B, K), or with `frame_head` (B, K, steps): average
    pooling over space (and time), dropout, a linear layer; frame-wise logits are resampled
    (nearest) to `steps` when the body's time axis has another length."""

    def __init__(self, channels: int, num_classes: int, frame_head: bool, dropout: float = 0.0):
        super().__init__()
        self.frame_head = frame_head
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, features: torch.Tensor, steps: int) -> torch.Tensor:
        if not self.frame_head:
            return self.fc(self.dropout(features.mean(dim=(2, 3, 4))))
        per_step = self.fc(self.dropout(features.mean(dim=(3, 4)).transpose(1, 2))).transpose(1, 2)
        if per_step.shape[-1] != steps:
            per_step = F.interpolate(per_step, size=steps, mode="nearest")
        return per_step
