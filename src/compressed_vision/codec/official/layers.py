"""PyTorch layers with the exact padding semantics of the official Haiku layers.

All layers here work channels-first, (B, C, T, H, W); the Haiku originals are
channels-last, (B, T, H, W, C). Weights are stored in PyTorch's layout (see `convert.py`
for the conversion from Haiku's).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Triple = tuple[int, int, int]


def same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """XLA 'SAME' padding of a strided convolution: (before, after)."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def transpose_same_pads(kernel: int, stride: int) -> tuple[int, int]:
    """The padding `jax.lax.conv_transpose(padding='SAME')` applies to the dilated input.

    Haiku's `ConvNDTranspose` with an `output_shape` of stride * input computes the same
    pads through `compute_adjusted_padding`.
    """
    total = kernel + stride - 2
    before = kernel - 1 if stride > kernel - 1 else math.ceil(total / 2)
    return before, total - before


class HaikuConv3d(nn.Module):
    """`i3d.Unit3D`'s convolution: `hk.Conv3D` with the official padding rule.

    padding='VALID' means reflect padding of (k-1)//2 on both sides of time, height and
    width, then an unpadded convolution (so a 4x4 stride-1 kernel shrinks H and W by one);
    padding='SAME' is XLA's zero 'SAME' padding. No bias unless `bias=True`.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel: Triple,
        stride: Triple = (1, 1, 1),
        padding: str = "VALID",
        bias: bool = False,
    ) -> None:
        super().__init__()
        self.kernel, self.stride, self.padding = tuple(kernel), tuple(stride), padding
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, *kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None

    def _pads(self, x: torch.Tensor) -> list[int]:
        pads: list[int] = []
        for d in (2, 1, 0):  # F.pad wants the last dim (W) first
            k, s = self.kernel[d], self.stride[d]
            if self.padding == "VALID":
                pads += [(k - 1) // 2] * 2
            else:
                pads += list(same_pads(x.shape[2 + d], k, s))
        return pads

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pads = self._pads(x)
        if any(pads):
            mode = "reflect" if self.padding == "VALID" else "constant"
            x = F.pad(x, pads, mode=mode)
        return F.conv3d(x, self.weight, self.bias, stride=self.stride)


class HaikuConvTranspose3d(nn.Module):
    """`hk.Conv3DTranspose` with padding 'SAME' (output = stride * input), with bias.

    Haiku runs `lax.conv_transpose` without kernel transposition: it dilates the input by
    the stride, pads it by `transpose_same_pads` and correlates with the kernel as stored.
    `weight` here is that kernel flipped in space and laid out as PyTorch's
    (in, out, kT, kH, kW), so a full `conv_transpose3d` followed by a crop of
    (k-1-before, k-1-after) per dimension gives the same numbers. The pads can be
    asymmetric (kernel 4, stride 1: before 2, after 1), which `nn.ConvTranspose3d` cannot
    express.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel: Triple, stride: Triple) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.weight = nn.Parameter(torch.empty(in_channels, out_channels, *kernel))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        crops: list[int] = []
        for d in (2, 1, 0):
            before, after = transpose_same_pads(self.kernel[d], self.stride[d])
            crops += [before - (self.kernel[d] - 1), after - (self.kernel[d] - 1)]
        self._crops = crops  # negative values crop, positive ones zero-pad

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.conv_transpose3d(x, self.weight, stride=self.stride)
        if any(self._crops):
            y = F.pad(y, self._crops)
        return y + self.bias.view(1, -1, 1, 1, 1)


def activation(name: str) -> nn.Module:
    """A `jax.nn` activation by name ('' is the identity); gelu is jax's tanh approximation."""
    table: dict[str, nn.Module] = {
        "": nn.Identity(),
        "relu": nn.ReLU(),
        "sigmoid": nn.Sigmoid(),
        "tanh": nn.Tanh(),
        "gelu": nn.GELU(approximate="tanh"),
        "softplus": nn.Softplus(),
        "silu": nn.SiLU(),
        "swish": nn.SiLU(),
    }
    return table[name]
