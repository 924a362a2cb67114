"""Finite scalar quantisation (FSQ; Mentzer et al. 2023) in the codec's index format.

Each of the G blocks of d channels is bounded and rounded to L levels per channel, so a
block takes one of K = L**d values: its index is the base-L number of its levels. The K
values form a fixed codebook (`embeddings`, (G, K, d)), so codes, `lookup` and everything
downstream work exactly as with the learned codebooks of `MultiCodebookVQ`. Nothing is
learned in the quantiser: no commitment loss, no dead codes.
"""

from __future__ import annotations

import torch
from torch import nn

from .quantizer import QuantizerOutput, code_usage


def level_values(levels: int) -> torch.Tensor:
    """The L values a channel can take, evenly spaced in [-1, 1]."""
    return torch.linspace(-1, 1, levels)


class ScalarQuantizer(nn.Module):
    """G blocks of d channels, L levels per channel (K = L**d entries per block)."""

    def __init__(self, num_codebooks: int, codebook_dim: int, levels: int):
        super().__init__()
        self.num_codebooks, self.codebook_dim, self.levels = num_codebooks, codebook_dim, levels
        self.codebook_size = levels**codebook_dim
        digits = torch.arange(self.codebook_size)[:, None] // levels ** torch.arange(codebook_dim)
        grid = level_values(levels)[digits % levels]  # (K, d)
        self.register_buffer("embeddings", grid.expand(num_codebooks, -1, -1).contiguous())
        self.register_buffer("place", levels ** torch.arange(codebook_dim), persistent=False)

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        """The latent space the augmenter works in: the encoder's output as it is."""
        return z

    def _soft_levels(self, z: torch.Tensor) -> torch.Tensor:
        """Encoder output -> continuous level in [-0.5, L - 0.5]: each level as wide."""
        return torch.sigmoid(z) * self.levels - 0.5

    def _blocks(self, x: torch.Tensor) -> torch.Tensor:
        """(B, G*d, *grid) -> (B, G, d, *grid)."""
        b, _, *grid = x.shape
        return x.reshape(b, self.num_codebooks, self.codebook_dim, *grid)

    def codes_of(self, z: torch.Tensor) -> torch.Tensor:
        """Encoder output (B, G*d, T, H, W) -> codes (B, G, T, H, W)."""
        level = self._soft_levels(z.float()).round().clamp(0, self.levels - 1).long()
        place = self.place.view(1, 1, -1, *[1] * (z.ndim - 2))
        return (self._blocks(level) * place).sum(2)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, G, T, H, W) -> latents (B, G*d, T, H, W): each block's level values."""
        b, g, *grid = codes.shape
        if g != self.num_codebooks:
            raise ValueError(f"codes have {g} codebooks, the quantiser {self.num_codebooks}")
        digits = codes[:, :, None] // self.place.view(1, 1, -1, *[1] * len(grid)) % self.levels
        values = digits.to(self.embeddings.dtype) * (2 / (self.levels - 1)) - 1
        return values.reshape(b, g * self.codebook_dim, *grid)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        soft = self._soft_levels(z)
        hard = soft.round().clamp(0, self.levels - 1)
        level = soft + (hard - soft).detach()  # straight-through rounding
        quantized = level * (2 / (self.levels - 1)) - 1
        codes = self.codes_of(z.detach())
        perplexity, usage = code_usage(codes, self.num_codebooks, self.codebook_size)
        return QuantizerOutput(quantized, codes, z.new_zeros(()), perplexity, usage)
