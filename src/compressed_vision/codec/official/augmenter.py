"""The official latent augmentation network (`NeuralTransformation`) in PyTorch.

An MLP embeds the augmentation's parameters into D channels, which are concatenated in
front of every latent token; a spatio-temporal transformer (time attention, then space
attention, then an MLP per block; pre-LayerNorm; learnt absolute positions) runs on the
2D-channel tokens, and the last D channels of its output are the augmented latents.

Tokens are laid out as the official code does: (B, T', H'*W', channels) with the spatial
index h*W' + w, taken from the channels-last latents (B, T', H', W', D).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...errors import ShapeError
from .config import AugmenterKwargs


class SpaceTimeAttention(nn.Module):
    """Multi-head self-attention over time (per position) or space (per frame); no q/k/v bias."""

    def __init__(self, dim: int, heads: int, key_size: int, value_size: int, mode: str) -> None:
        super().__init__()
        self.heads, self.key_size, self.value_size, self.mode = heads, key_size, value_size, mode
        self.query = nn.Linear(dim, heads * key_size, bias=False)
        self.key = nn.Linear(dim, heads * key_size, bias=False)
        self.value = nn.Linear(dim, heads * value_size, bias=False)
        self.out = nn.Linear(heads * value_size, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, s, _ = x.shape
        # (B, T, S, heads, size) -> attend over T (time) or S (space).
        perm = (0, 2, 3, 1, 4) if self.mode == "time" else (0, 1, 3, 2, 4)
        back = (0, 3, 1, 2, 4) if self.mode == "time" else perm
        q = self.query(x).view(b, t, s, self.heads, self.key_size).permute(perm)
        k = self.key(x).view(b, t, s, self.heads, self.key_size).permute(perm)
        v = self.value(x).view(b, t, s, self.heads, self.value_size).permute(perm)
        weights = torch.softmax(q @ k.transpose(-1, -2) * self.key_size**-0.5, dim=-1)
        out = (weights @ v).permute(back).reshape(b, t, s, self.heads * self.value_size)
        return self.out(out)


class Block(nn.Module):
    """h = x + time_attn(ln(x)); h = h + space_attn(ln(h)); h + mlp(ln(h))."""

    def __init__(self, dim: int, cfg: AugmenterKwargs) -> None:
        super().__init__()
        heads, k, v = cfg.num_attention_heads, cfg.key_size, cfg.value_size
        self.ln_time = nn.LayerNorm(dim, eps=1e-5)
        self.time_attn = SpaceTimeAttention(dim, heads, k, v, "time")
        self.ln_space = nn.LayerNorm(dim, eps=1e-5)
        self.space_attn = SpaceTimeAttention(dim, heads, k, v, "space")
        self.ln_mlp = nn.LayerNorm(dim, eps=1e-5)
        self.fc1 = nn.Linear(dim, cfg.intermediate_size)
        self.fc2 = nn.Linear(cfg.intermediate_size, dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x + self.time_attn(self.ln_time(x))
        h = h + self.space_attn(self.ln_space(h))
        return h + self.fc2(F.gelu(self.fc1(self.ln_mlp(h)), approximate="tanh"))


class NeuralTransformation(nn.Module):
    """The augmenter: (B, D, T', H', W') latents + (B, ...) parameters -> augmented latents.

    `param_dim` (the flattened size of one sample's parameters) and `positions` (T', H'*W'
    of the learnt position table) are not in the official config; they come from the
    weights' shapes. The official network only runs on latents of exactly that grid.
    """

    def __init__(
        self, cfg: AugmenterKwargs, latent_dim: int, param_dim: int, positions: tuple[int, int]
    ) -> None:
        super().__init__()
        self.cfg, self.latent_dim, self.param_dim = cfg, latent_dim, param_dim
        self.positions = tuple(positions)
        sizes = [param_dim, *cfg.channels, latent_dim]
        self.mlp = nn.ModuleList(
            nn.Linear(a, b) for a, b in zip(sizes[:-1], sizes[1:], strict=True)
        )
        dim = 2 * latent_dim
        self.position_embedding = nn.Parameter(torch.zeros(*self.positions, dim))
        self.blocks = nn.ModuleList(Block(dim, cfg) for _ in range(cfg.num_hidden_layers))
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)

    def forward(self, latents: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        b, d, t, h, w = latents.shape
        if d != self.latent_dim or (t, h * w) != self.positions:
            raise ShapeError(
                f"the augmenter takes latents (B, {self.latent_dim}, T', H', W') with "
                f"T'={self.positions[0]} and H'*W'={self.positions[1]} (its position table); "
                f"got {tuple(latents.shape)}"
            )
        params = params.reshape(b, -1).to(latents.dtype)
        if params.shape[1] != self.param_dim:
            raise ShapeError(
                f"the augmenter takes {self.param_dim} parameter(s) per sample, "
                f"got {params.shape[1]}"
            )
        a = params
        for i, linear in enumerate(self.mlp):
            a = linear(a)
            if i < len(self.mlp) - 1:
                a = F.relu(a)
        tokens = latents.permute(0, 2, 3, 4, 1).reshape(b, t, h * w, d)
        x = torch.cat([a[:, None, None, :].expand(b, t, h * w, d), tokens], -1)
        x = x + self.position_embedding
        for block in self.blocks:
            x = block(x)
        out = self.ln_f(x)[..., -d:].reshape(b, t, h, w, d)
        if self.cfg.output_video_shape is not None:
            out = _resize_nearest(out, tuple(self.cfg.output_video_shape))
        return out.permute(0, 4, 1, 2, 3)


def _resize_nearest(x: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """`jax.image.resize(method='nearest')` of the dims after (B, T): half-pixel centres."""
    for dim, n in enumerate(shape, start=2):
        m = x.shape[dim]
        if m != n:
            idx = ((torch.arange(n, dtype=torch.float32) + 0.5) * m / n).floor().long()
            x = x.index_select(dim, idx.to(x.device))
    return x
