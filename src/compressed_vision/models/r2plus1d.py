"""R(2+1)D-18 (Tran et al. 2018) from torchvision's residual `BasicBlock`, with a stem that
fits its input: no stride for code latents, a strided (1, 7, 7) conv plus max-pools down to
the latent grid for pixels. Four stages of two blocks, widths 64-512 scaled by `width`,
stages 2-4 halve space (and time, except with a frame head); adaptive pooling at the end.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torchvision.models.video.resnet import BasicBlock

from .heads import ClipHead, output_steps


def _bn_relu(channels: int) -> list[nn.Module]:
    return [nn.BatchNorm3d(channels), nn.ReLU(inplace=True)]


def conv2plus1d(temporal_stride: bool):
    """A conv builder for `BasicBlock`: (1, 3, 3) conv, BN, ReLU, (3, 1, 1) conv; the stride
    applies to space, and to time only when `temporal_stride`."""

    def build(cin: int, cout: int, mid: int, stride: int = 1) -> nn.Sequential:
        t = stride if temporal_stride else 1
        return nn.Sequential(
            nn.Conv3d(cin, mid, (1, 3, 3), (1, stride, stride), (0, 1, 1), bias=False),
            *_bn_relu(mid),
            nn.Conv3d(mid, cout, (3, 1, 1), (t, 1, 1), (1, 0, 0), bias=False),
        )

    return build


def r2plus1d_stem(
    in_channels: int, channels: int, input_downsample: int, temporal_downsample: int
) -> nn.Sequential:
    """torchvision's R(2+1)D stem ((1, 7, 7) conv to 45 channels, (3, 1, 1) conv) for pixels,
    with max-pools for any downsampling past its 2x; 3x3 and no stride for latents."""
    n = int(math.log2(input_downsample))
    if 2**n != input_downsample or n > 4:
        raise ValueError(f"input_downsample must be 1, 2, 4, 8 or 16, got {input_downsample}")
    k, s, mid = (7, 2, 45) if n else (3, 1, max(8, channels * 45 // 64))
    return nn.Sequential(
        nn.Conv3d(in_channels, mid, (1, k, k), (1, s, s), (0, k // 2, k // 2), bias=False),
        *_bn_relu(mid),
        nn.Conv3d(mid, channels, (3, 1, 1), (temporal_downsample, 1, 1), (1, 0, 0), bias=False),
        *_bn_relu(channels),
        *[nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)) for _ in range(max(0, n - 1))],
    )


class R2Plus1D(nn.Module):
    """R(2+1)D-18 for latents or pixels -> logits (B, K), or (B, K, T / temporal_downsample)
    with `frame_head`."""

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        input_downsample: int = 1,
        frame_head: bool = False,
        temporal_downsample: int = 1,
        width: float = 1.0,
        dropout: float = 0.0,
    ):
        super().__init__()
        widths = [max(8, round(c * width)) for c in (64, 128, 256, 512)]
        self.temporal_downsample = temporal_downsample
        self.stem = r2plus1d_stem(in_channels, widths[0], input_downsample, temporal_downsample)
        builder = conv2plus1d(temporal_stride=not frame_head)
        stages: list[nn.Module] = []
        prev = widths[0]
        for i, planes in enumerate(widths):
            stride = 1 if i == 0 else 2
            down = None
            if stride != 1 or prev != planes:
                t = 1 if frame_head else stride
                down = nn.Sequential(
                    nn.Conv3d(prev, planes, 1, (t, stride, stride), bias=False),
                    nn.BatchNorm3d(planes),
                )
            stages.append(
                nn.Sequential(
                    BasicBlock(prev, planes, builder, stride, down),
                    BasicBlock(planes, planes, builder),
                )
            )
            prev = planes
        self.body = nn.Sequential(*stages)
        self.head = ClipHead(prev, num_classes, frame_head, dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = output_steps(x.shape[2], self.temporal_downsample)
        return self.head(self.body(self.stem(x)), steps)
