"""Turning code indices into a backbone's input: a frozen codebook lookup, or learned
embeddings of the indices."""

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

    def standardize(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (B, G*d, ...) with every channel shifted and scaled to zero mean and unit
        variance over its codebook's entries. The codec's latent channels differ in scale by
        an order of magnitude (cr240: standard deviations 0.02-0.24, means up to 0.7), and a
        classifier fed them raw can sit at chance for hundreds of steps."""
        mean = self.embeddings.mean(dim=1).flatten()  # (G*d,)
        std = self.embeddings.std(dim=1).flatten().clamp_min(1e-6)
        shape = (1, -1) + (1,) * (latents.ndim - 2)
        return (latents - mean.view(shape)) / std.view(shape)


class IndexEmbedding(nn.Module):
    """Codes (B, G, T, H, W) -> learned embeddings (B, G*dim, T, H, W): one trainable table
    of `codebook_size` vectors per codebook, for training without the codec's codebooks."""

    def __init__(self, num_codebooks: int, codebook_size: int, dim: int = 16):
        super().__init__()
        self.tables = nn.ModuleList(nn.Embedding(codebook_size, dim) for _ in range(num_codebooks))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        g = len(self.tables)
        if codes.ndim != 5 or codes.shape[1] != g:
            raise ValueError(f"expected codes (B, {g}, T, H, W), got {tuple(codes.shape)}")
        vecs = [table(codes[:, i].long()) for i, table in enumerate(self.tables)]
        return torch.cat(vecs, dim=-1).movedim(-1, 1)
