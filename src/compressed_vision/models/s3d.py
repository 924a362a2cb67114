"""S3D (Xie et al. 2018) from torchvision's separable inception blocks, with a stem that fits
its input: for code latents no downsampling at all (an 8x8 or 16x16 grid survives into the
inception blocks), for pixels strided convs and max-pools down to the same grid.

The body is torchvision's `S3D` (blocks 3b-5c, the two max-pools between them) with every
width scaled by `width`; the head pools adaptively, so any grid and clip length fit.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.models.video.s3d import SepInceptionBlock3D
from torchvision.ops import Conv3dNormActivation

from .heads import ClipHead, output_steps

# (b0_out, b1_mid, b1_out, b2_mid, b2_out, b3_out) of blocks 3b..5c; a max-pool after 3c
# and after 4f (torchvision's S3D, from the paper).
_INCEPTION = {
    "3b": (64, 96, 128, 16, 32, 32),
    "3c": (128, 128, 192, 32, 96, 64),
    "4b": (192, 96, 208, 16, 48, 64),
    "4c": (160, 112, 224, 24, 64, 64),
    "4d": (128, 128, 256, 24, 64, 64),
    "4e": (112, 144, 288, 32, 64, 64),
    "4f": (256, 160, 320, 32, 128, 128),
    "5b": (256, 160, 320, 32, 128, 128),
    "5c": (384, 192, 384, 48, 128, 128),
}
_POOL_AFTER = ("3c", "4f")


def sep_conv(
    cin: int, cout: int, kernel: int, stride: int = 1, temporal_stride: int = 1
) -> nn.Sequential:
    """A (1, k, k) spatial conv then a (k, 1, 1) temporal conv, each with BN + ReLU."""
    pad = kernel // 2
    return nn.Sequential(
        Conv3dNormActivation(
            cin, cout, (1, kernel, kernel), (1, stride, stride), (0, pad, pad), bias=False
        ),
        Conv3dNormActivation(
            cout, cout, (kernel, 1, 1), (temporal_stride, 1, 1), (pad, 0, 0), bias=False
        ),
    )


def _pool(spatial: int, temporal: int) -> nn.Module:
    return nn.MaxPool3d((3, 3, 3), (temporal, spatial, spatial), (1, 1, 1))


def s3d_stem(
    in_channels: int, c1: int, c2: int, input_downsample: int, temporal_downsample: int
) -> nn.Sequential:
    """torchvision's S3D stem (7x7 sep-conv, pool, 1x1 conv, 3x3 sep-conv, pool) with as many
    stride-2 steps as `input_downsample` asks for: none for latents (3x3 kernels, no pools),
    the usual 8x for `input_downsample=8`, one more pool for 16x."""
    n = int(math.log2(input_downsample))
    if 2**n != input_downsample or n > 4:
        raise ValueError(f"input_downsample must be 1, 2, 4, 8 or 16, got {input_downsample}")
    pool = lambda: nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1))  # noqa: E731
    return nn.Sequential(
        sep_conv(in_channels, c1, 7 if n else 3, 2 if n else 1, temporal_downsample),
        *[pool() for _ in range(max(0, n - 2))],
        Conv3dNormActivation(c1, c1, 1),
        sep_conv(c1, c2, 3),
        *([pool()] if n >= 2 else []),
    )


class S3D(nn.Module):
    """S3D for latents (B, D, T', H', W') or pixels (B, 3, T, H, W) -> logits (B, K), or
    (B, K, T / temporal_downsample) with `frame_head` (then the body keeps its time axis)."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_downsample: int = 1,
        frame_head: bool = False,
        temporal_downsample: int = 1,
        width: float = 1.0,
        dropout: float = 0.2,
    ):
        super().__init__()
        w = lambda c: max(8, round(c * width))  # noqa: E731
        self.temporal_downsample = temporal_downsample
        self.stem = s3d_stem(in_channels, w(64), w(192), input_downsample, temporal_downsample)
        blocks: list[nn.Module] = []
        channels = w(192)
        for name, widths in _INCEPTION.items():
            b0, b1m, b1, b2m, b2, b3 = (w(c) for c in widths)
            blocks.append(
                SepInceptionBlock3D(channels, b0, b1m, b1, b2m, b2, b3, norm_layer=nn.BatchNorm3d)
            )
            channels = b0 + b1 + b2 + b3
            if name in _POOL_AFTER:
                blocks.append(_pool(2, 1 if frame_head else 2))
        self.body = nn.Sequential(*blocks)
        self.head = ClipHead(channels, num_classes, frame_head, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = output_steps(x.shape[2], self.temporal_downsample)
        return self.head(self.body(self.stem(x)), steps)
