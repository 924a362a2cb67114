"""Turning code indices into a backbone's input: a frozen codebook lookup."""

from __future__ import annotations

import torch
from torch import nn


class CodebookLookup(nn.Module):
    """Codes (B, G, T, H, W) -> quantised latents (B, G*d, T, H, W), from a frozen copy of the
    codec's codebooks (G, K, d): training on codes needs only this, not the decoder."""

    def __init__(self, embeddings: torch.Tensor):
        super().__init__()
        self.register_buffer("embeddings", embeddings.detach().clone())

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        g = self.embeddings.shape[0]
        if codes.ndim != 5 or codes.shape[1] != g:
            raise ValueError(f"expected codes (B, {g}, T, H, W), got {tuple(codes.shape)}")
        vecs = [self.embeddings[i][codes[:, i].long()] for i in range(g)]  # (B, T, H, W, d) each
        return torch.cat(vecs, dim=-1).movedim(-1, 1)
