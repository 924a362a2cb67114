"""A small video ViT over latent tokens: one token per code position (for pixels, per
(temporal_downsample x input_downsample x input_downsample) patch, the same grid), fixed 3D
sin-cos positions (any grid size), pre-norm transformer blocks, mean-pooled head. No batch
statistics anywhere, so data-parallel training matches one process exactly."""

from __future__ import annotations

import torch
from torch import nn

from .heads import ClipHead, output_steps


def sincos_positions(t: int, h: int, w: int, dim: int, device: torch.device) -> torch.Tensor:
    """(t*h*w, dim) fixed embeddings: a third of the channels per axis (sin and cos of the
    coordinate at geometric frequencies), zero-padded up to `dim`."""
    per_axis = dim // 6 * 2
    freqs = 1.0 / 10000 ** (torch.arange(per_axis // 2, device=device) / max(per_axis // 2, 1))
    grids = torch.meshgrid(
        *(torch.arange(n, device=device, dtype=torch.float32) for n in (t, h, w)), indexing="ij"
    )
    parts = []
    for coord in grids:
        angles = coord.flatten()[:, None] * freqs[None]
        parts += [angles.sin(), angles.cos()]
    pos = torch.cat(parts, dim=1)
    return nn.functional.pad(pos, (0, dim - pos.shape[1]))


class VideoViT(nn.Module):
    """(B, C, T, H, W) -> logits (B, K), or (B, K, T / temporal_downsample) with `frame_head`."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_downsample: int = 1,
        frame_head: bool = False,
        temporal_downsample: int = 1,
        dim: int = 192,
        depth: int = 4,
        heads: int = 3,
        mlp_ratio: float = 4.0,
        dropout: float = 0.0,
    ):
        super().__init__()
        patch = (temporal_downsample, input_downsample, input_downsample)
        self.temporal_downsample = temporal_downsample
        self.embed = nn.Conv3d(in_channels, dim, patch, patch)
        layer = nn.TransformerEncoderLayer(
            dim,
            heads,
            int(dim * mlp_ratio),
            dropout,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        self.blocks = nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.head = ClipHead(dim, num_classes, frame_head, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = output_steps(x.shape[2], self.temporal_downsample)
        x = self.embed(x)
        b, c, t, h, w = x.shape
        tokens = x.flatten(2).transpose(1, 2) + sincos_positions(t, h, w, c, x.device).to(x.dtype)
        tokens = self.norm(self.blocks(tokens))
        return self.head(tokens.transpose(1, 2).reshape(b, c, t, h, w), steps)
