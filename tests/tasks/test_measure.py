"""Activation memory: what a training forward saves for the backward pass."""

from __future__ import annotations

import torch

from compressed_vision.models import build_backbone
from compressed_vision.tasks.measure import saved_activation_bytes


def test_saved_activations_grow_with_the_batch_and_the_grid():
    torch.manual_seed(0)
    on_codes = build_backbone("cnn3d", 12, 5, width=8)
    on_pixels = build_backbone("cnn3d", 3, 5, input_downsample=8, temporal_downsample=2, width=8)
    one = saved_activation_bytes(on_codes, torch.randn(1, 12, 4, 8, 8))
    two = saved_activation_bytes(on_codes, torch.randn(2, 12, 4, 8, 8))
    assert one > 0 and abs(two / one - 2) < 0.05
    pixels = saved_activation_bytes(on_pixels, torch.rand(1, 3, 8, 64, 64))
    assert pixels > 3 * one  # the pixel stem's activations at 64x64 dwarf the 8x8 grid's
    assert all(p.grad is None for p in on_codes.parameters())

    class Twice(torch.nn.Module):  # saves its input twice (for both products) and its weight
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(4))

        def forward(self, t):
            return (t * self.w) * t

    x = torch.randn(3, 4, requires_grad=True)
    saved = saved_activation_bytes(Twice(), x)
    assert saved == 2 * x.nbytes  # x once, x * w once; the weight not at all
