"""A multi-codebook vector quantiser with EMA updates and dead-code restart.

Latents of D = G * d channels are split into G *blocks* of d channels; block g is
quantised by codebook g. Under DDP the EMA statistics are all-reduced, so every process
keeps identical codebooks; restarted codes take vectors chosen on rank 0 and broadcast,
and their EMA statistics are reset.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn


@dataclass
class QuantizerOutput:
    quantized: torch.Tensor  # (B, D, T, H, W), straight-through in training
    codes: torch.Tensor  # (B, G, T, H, W) int64
    commitment_loss: torch.Tensor  # scalar
    perplexity: torch.Tensor  # (G,) exp(entropy) of the batch's code usage
    usage: torch.Tensor  # (G,) fraction of codes used in the batch


def code_usage(codes: torch.Tensor, groups: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(perplexity, fraction of entries used) per codebook, of codes (B, G, ...)."""
    flat = codes.transpose(0, 1).reshape(groups, -1)
    counts = torch.zeros(groups, size, device=codes.device)
    counts.scatter_add_(1, flat, torch.ones_like(flat, dtype=counts.dtype))
    probs = counts / flat.shape[1]
    perplexity = torch.exp(-(probs * (probs + 1e-10).log()).sum(-1))
    return perplexity, (probs > 0).float().mean(-1)


RECENT_DECAY = 0.9  # the usage EMA that decides which codes are dead


def _all_reduce(x: torch.Tensor) -> torch.Tensor:
    if dist.is_available() and dist.is_initialized():
        dist.all_reduce(x)
    return x


class MultiCodebookVQ(nn.Module):
    """G codebooks of K entries of d dims; EMA codebook updates (no codebook gradients)."""

    def __init__(
        self,
        num_codebooks: int,
        codebook_size: int,
        codebook_dim: int,
        decay: float = 0.99,
        dead_code_threshold: float = 0.03,
        cosine: bool = True,
        eps: float = 1e-5,
    ):
        super().__init__()
        self.cosine = cosine
        self.num_codebooks, self.codebook_size, self.codebook_dim = (
            num_codebooks,
            codebook_size,
            codebook_dim,
        )
        self.decay, self.dead_code_threshold, self.eps = decay, dead_code_threshold, eps
        shape = (num_codebooks, codebook_size, codebook_dim)
        self.register_buffer("embeddings", torch.randn(shape) * 0.1)
        self.register_buffer("ema_count", torch.ones(num_codebooks, codebook_size))
        self.register_buffer("ema_sum", self.embeddings.clone())
        self.register_buffer("recent_use", torch.ones(num_codebooks, codebook_size))
        self.register_buffer("initialised", torch.zeros((), dtype=torch.bool))

    def _flatten(self, z: torch.Tensor) -> torch.Tensor:
        """(B, G*d, T, H, W) -> (G, N, d)."""
        g, d = self.num_codebooks, self.codebook_dim
        return z.movedim(1, -1).reshape(-1, g, d).transpose(0, 1)

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        """With `cosine`, each codebook's d-dim block is scaled to unit length (codes then live
        on a sphere, which keeps the codebooks from collapsing); else `z` as it is."""
        if not self.cosine:
            return z
        b, _, *grid = z.shape
        blocks = z.reshape(b, self.num_codebooks, self.codebook_dim, *grid)
        return F.normalize(blocks, dim=2).reshape(z.shape)

    def codes_of(self, z: torch.Tensor) -> torch.Tensor:
        """Encoder output (B, G*d, T, H, W) -> codes (B, G, T, H, W), without any update."""
        b, _, *grid = z.shape
        codes = self.nearest(self._flatten(self.normalise(z.float())))  # (G, N)
        return codes.transpose(0, 1).reshape(b, *grid, self.num_codebooks).movedim(-1, 1)

    def nearest(self, flat: torch.Tensor) -> torch.Tensor:
        """(G, N, d) -> (G, N) indices of the nearest codebook entries, in float32 even under
        autocast (bfloat16 distances pick wrong entries, and training collapses the codebooks)."""
        with torch.autocast(flat.device.type, enabled=False):
            flat, entries = flat.float(), self.embeddings.float()
            dist2 = (
                flat.pow(2).sum(-1, keepdim=True)
                - 2 * flat @ entries.transpose(1, 2)
                + entries.pow(2).sum(-1)[:, None, :]
            )
        return dist2.argmin(-1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, G, T, H, W) -> latents (B, G*d, T, H, W) (blocks in codebook order)."""
        b, g, *grid = codes.shape
        if g != self.num_codebooks:
            raise ValueError(f"codes have {g} codebooks, the quantiser {self.num_codebooks}")
        flat = codes.movedim(1, -1).reshape(-1, g)  # (N, G)
        vecs = torch.stack([self.embeddings[i][flat[:, i]] for i in range(g)], dim=1)  # (N, G, d)
        return vecs.reshape(b, *grid, g * self.codebook_dim).movedim(-1, 1)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        z = self.normalise(z.float())
        b, _, *grid = z.shape
        flat = self._flatten(z.detach())
        if self.training:
            self._maybe_initialise(flat)
        codes = self.nearest(flat)  # (G, N)
        codes_bg = codes.transpose(0, 1).reshape(b, *grid, self.num_codebooks).movedim(-1, 1)
        quantized = self.lookup(codes_bg).to(z.dtype)
        counts = torch.zeros(self.num_codebooks, self.codebook_size, device=z.device)
        counts.scatter_add_(1, codes, torch.ones_like(codes, dtype=counts.dtype))  # (G, K)
        if self.training:
            self._ema_update(flat, codes, counts)
        probs = counts / codes.shape[1]
        perplexity = torch.exp(-(probs * (probs + 1e-10).log()).sum(-1))
        usage = (probs > 0).float().mean(-1)
        commitment = F.mse_loss(z, quantized.detach())
        quantized = z + (quantized - z).detach()
        return QuantizerOutput(quantized, codes_bg, commitment, perplexity, usage)

    def normalise_entries(self, entries: torch.Tensor) -> torch.Tensor:
        return F.normalize(entries, dim=-1) if self.cosine else entries

    @torch.no_grad()
    def _random_vectors(self, flat: torch.Tensor, count: int) -> torch.Tensor:
        """`count` encoder outputs per codebook, drawn on rank 0 and shared: (G, count, d)."""
        n = flat.shape[1]
        idx = torch.randint(n, (count,), device=flat.device)
        picked = flat[:, idx].contiguous()
        if dist.is_available() and dist.is_initialized():
            dist.broadcast(picked, src=0)
        return picked

    @torch.no_grad()
    def _maybe_initialise(self, flat: torch.Tensor) -> None:
        if bool(self.initialised):
            return
        vecs = self._random_vectors(flat, self.codebook_size)
        per_code = flat.shape[1] / self.codebook_size  # expected usage per batch
        self.embeddings.copy_(vecs)
        self.ema_sum.copy_(vecs * per_code)
        self.ema_count.fill_(per_code)
        self.recent_use.fill_(per_code)
        self.initialised.fill_(True)

    @torch.no_grad()
    def _ema_update(self, flat: torch.Tensor, codes: torch.Tensor, counts: torch.Tensor) -> None:
        count = _all_reduce(counts.clone())  # (G, K)
        summed = torch.zeros_like(self.ema_sum)
        summed.scatter_add_(1, codes[..., None].expand(-1, -1, self.codebook_dim), flat)
        summed = _all_reduce(summed)  # (G, K, d)
        self.ema_count.mul_(self.decay).add_(count, alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(summed, alpha=1 - self.decay)
        total = self.ema_count.sum(-1, keepdim=True)
        smoothed = (self.ema_count + self.eps) / (total + self.codebook_size * self.eps) * total
        self.embeddings.copy_(self.normalise_entries(self.ema_sum / smoothed[..., None]))
        # Dead codes: a fast EMA of usage (about the last 30 batches) below a fraction of the
        # mean usage. The decision uses all-reduced counts, so it is identical on every rank.
        self.recent_use.mul_(RECENT_DECAY).add_(count, alpha=1 - RECENT_DECAY)
        mean_use = self.recent_use.sum(-1, keepdim=True) / self.codebook_size
        dead = self.recent_use < self.dead_code_threshold * mean_use
        if dead.any():
            fresh = self._random_vectors(flat, self.codebook_size)  # (G, K, d)
            restart = (total / self.codebook_size).expand_as(self.ema_count)[dead]
            self.embeddings[dead] = fresh[dead]
            self.ema_sum[dead] = fresh[dead] * restart[:, None]
            self.ema_count[dead] = restart
            self.recent_use[dead] = mean_use.expand_as(self.recent_use)[dead]


class ResidualVQ(nn.Module):
    """G codebooks in sequence over one d-dim latent: codebook g quantises what codebooks
    0..g-1 left (residual quantisation). The latents the decoder and downstream models read
    are the G chosen entries side by side (G*d channels, as for `MultiCodebookVQ`), so the
    index format and `lookup` are the same; the encoder outputs d channels."""

    def __init__(
        self,
        num_codebooks: int,
        codebook_size: int,
        codebook_dim: int,
        decay: float = 0.99,
        dead_code_threshold: float = 0.03,
    ):
        super().__init__()
        self.num_codebooks, self.codebook_size, self.codebook_dim = (
            num_codebooks,
            codebook_size,
            codebook_dim,
        )
        self.stages = nn.ModuleList(
            MultiCodebookVQ(1, codebook_size, codebook_dim, decay, dead_code_threshold, False)
            for _ in range(num_codebooks)
        )

    @property
    def embeddings(self) -> torch.Tensor:
        """(G, K, d): codebook g's entries."""
        return torch.cat([stage.embeddings for stage in self.stages])

    def normalise(self, z: torch.Tensor) -> torch.Tensor:
        return z

    def codes_of(self, z: torch.Tensor) -> torch.Tensor:
        """Encoder output (B, d, T, H, W) -> codes (B, G, T, H, W)."""
        residual, codes = z.float(), []
        for stage in self.stages:
            code = stage.codes_of(residual)
            residual = residual - stage.lookup(code)
            codes.append(code)
        return torch.cat(codes, dim=1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, G, T, H, W) -> latents (B, G*d, T, H, W)."""
        if codes.shape[1] != self.num_codebooks:
            raise ValueError(
                f"codes have {codes.shape[1]} codebooks, the quantiser {self.num_codebooks}"
            )
        return torch.cat([s.lookup(codes[:, g : g + 1]) for g, s in enumerate(self.stages)], 1)

    def forward(self, z: torch.Tensor) -> QuantizerOutput:
        residual, outs = z, []
        for stage in self.stages:
            out = stage(residual)
            residual = residual - out.quantized.detach()
            outs.append(out)
        return QuantizerOutput(
            torch.cat([o.quantized for o in outs], dim=1),
            torch.cat([o.codes for o in outs], dim=1),
            sum(o.commitment_loss for o in outs) / len(outs),
            torch.cat([o.perplexity for o in outs]),
            torch.cat([o.usage for o in outs]),
        )
