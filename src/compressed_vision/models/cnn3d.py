"""A small 3D CNN classifier: the same body for code latents and for pixels."""

from __future__ import annotations

import math

import torch
from torch import nn

from .heads import ClipHead, output_steps


def _conv_bn(
    cin: int, cout: int, kernel: tuple[int, int, int], stride: tuple[int, int, int]
) -> nn.Sequential:
    padding = tuple(k // 2 for k in kernel)
    return nn.Sequential(
        nn.Conv3d(cin, cout, kernel, stride, padding, bias=False),
        nn.BatchNorm3d(cout),
        nn.ReLU(inplace=True),
    )


class Small3DCNN(nn.Module):
    """Stem, three 3x3x3 conv blocks, global pooling, linear head.

    The stem has `stem_layers` (1,3,3) convs, or more when the input needs more stride-2 steps
    to reach the latent grid: pixels `input_downsample` times finer than the grid stride by 2
    in the first log2(input_downsample) of them (widening towards `width`); latents keep their
    grid (no strides, `width` channels throughout). Codes and pixels so go through equally
    many layers: without a stem, latents met the body three layers shallower than pixels and
    trained far slower.

    With `frame_head=True` it pools only over space and returns per-step logits
    (B, num_classes, T / temporal_downsample); the first body conv strides time by
    `temporal_downsample` (pixels: the codec's temporal factor, so both reach the code grid).
    """

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        width: int = 64,
        input_downsample: int = 1,
        frame_head: bool = False,
        temporal_downsample: int = 1,
        stem_layers: int = 3,
    ):
        super().__init__()
        strided = int(math.log2(input_downsample))
        if 2**strided != input_downsample:
            raise ValueError(f"input_downsample must be a power of 2, got {input_downsample}")
        depth = max(stem_layers, strided)
        stem: list[nn.Module] = []
        prev = in_channels
        for i in range(depth):
            out = max(16, width // 2 ** (depth - i)) if strided else width
            stride = 2 if i < strided else 1
            stem.append(_conv_bn(prev, out, (1, 3, 3), (1, stride, stride)))
            prev = out
        self.stem = nn.Sequential(*stem)
        self.body = nn.Sequential(
            _conv_bn(prev, width, (3, 3, 3), (temporal_downsample, 1, 1)),
            _conv_bn(width, width, (3, 3, 3), (1, 1, 1)),
            _conv_bn(width, 2 * width, (3, 3, 3), (1, 2, 2)),
        )
        self.temporal_downsample = temporal_downsample
        self.head = ClipHead(2 * width, num_classes, frame_head)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        steps = output_steps(x.shape[2], self.temporal_downsample)
        return self.head(self.body(self.stem(x)), steps)
