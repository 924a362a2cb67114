"""A model over a whole long video in one forward pass: a per-chunk encoder over windows of
codes (or pixels), then a temporal model over the sequence of chunk vectors.

The input is cut into chunks of `chunk_steps` code steps. The chunk encoder (codebook lookup
-> a (patch, 2, 2) strided conv -> a spatial 3x3 conv -> pooled over space and over the
chunk's steps) never mixes chunks, so it runs over the hour in segments of
`checkpoint_chunks` chunks; while training, each segment runs under activation
checkpointing, so only one vector per chunk is kept for the backward pass and the segment's
activations are recomputed there. The temporal model is either a causal transformer over the
whole sequence (`temporal="transformer"`: every chunk sees everything before it) or a
short-window model (`temporal="window"`: a convolution that sees `window` chunks around each
chunk, the baseline that shows what long context buys).

Heads, per chunk: district logits and "seen this district in an earlier visit" (after the
temporal model); a clip-only time-bin classifier and a retrieval embedding (on the chunk
vector itself, so a short query clip and the chunks of the hour share one space).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.checkpoint import checkpoint

from ..models.codes import CodebookLookup


@dataclass(frozen=True)
class LongModelConfig:
    chunk_steps: int = 25  # code steps per chunk
    patch: int = 5  # code steps folded into one position by the first conv
    width: int = 64
    temporal: str = "transformer"  # or "window"
    layers: int = 2
    heads: int = 4
    window: int = 3  # chunks seen by the short-window model
    dilations: tuple[int, ...] = (1, 2, 4, 8)  # causal convs before the transformer
    districts: int = 8
    time_bins: int = 12
    embed_dim: int = 64
    checkpoint_chunks: int = 64  # chunks per checkpointed segment; 0 turns checkpointing off

    def __post_init__(self) -> None:
        if self.chunk_steps % self.patch:
            raise ValueError("chunk_steps must be a multiple of patch")
        if self.temporal not in ("transformer", "window"):
            raise ValueError("temporal must be 'transformer' or 'window'")
        if self.width % self.heads:
            raise ValueError("width must be a multiple of heads")

    def to_dict(self) -> dict:
        return asdict(self)


class CodeStem(nn.Module):
    """Codes (B, G, T, H', W') -> (B, width, T/patch, H'/2, W'/2)."""

    def __init__(self, embeddings: torch.Tensor, width: int, patch: int):
        super().__init__()
        self.lookup = CodebookLookup(embeddings)
        dim = embeddings.shape[0] * embeddings.shape[2]
        self.proj = nn.Conv3d(dim, width, (patch, 2, 2), stride=(patch, 2, 2))

    def forward(self, codes: torch.Tensor) -> torch.Tensor:
        return self.proj(self.lookup(codes))


class PixelStem(nn.Module):
    """Pixels (B, 3, T, H, W) -> the grid of `CodeStem` for a codec with these factors:
    log2(spatial) strided 3x3 convs, then a (patch * temporal, 2, 2) strided conv."""

    def __init__(self, width: int, patch: int, spatial_factor: int, temporal_factor: int):
        super().__init__()
        layers: list[nn.Module] = []
        prev = 3
        for i in range(int(math.log2(spatial_factor))):
            out = min(width, 16 * 2**i)
            layers += [nn.Conv3d(prev, out, (1, 3, 3), (1, 2, 2), (0, 1, 1)), nn.GELU()]
            prev = out
        t = patch * temporal_factor
        layers.append(nn.Conv3d(prev, width, (t, 2, 2), stride=(t, 2, 2)))
        self.net = nn.Sequential(*layers)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        return self.net(video)


class ChunkEncoder(nn.Module):
    """Input of n chunks -> (B, n, width): one vector per chunk, chunks never mixed."""

    def __init__(self, stem: nn.Module, width: int, positions: int):
        super().__init__()
        self.stem, self.positions = stem, positions
        self.spatial = nn.Conv3d(width, width, (1, 3, 3), padding=(0, 1, 1))
        self.out = nn.Sequential(nn.Linear(2 * width, width), nn.LayerNorm(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.spatial(F.gelu(self.stem(x)))
        x = F.gelu(x).mean(dim=(3, 4))  # (B, width, n * positions)
        b, c, t = x.shape
        x = x.reshape(b, c, t // self.positions, self.positions)
        return self.out(torch.cat([x.mean(-1), x.amax(-1)], dim=1).transpose(1, 2))


def sinusoid(n: int, dim: int, device: torch.device) -> torch.Tensor:
    """(n, dim) sinusoidal encodings of positions 0..n-1 (wavelengths 2 to 2 * 10^4)."""
    pos = torch.arange(n, device=device, dtype=torch.float32)[:, None]
    freq = torch.exp(-math.log(1e4) * torch.arange(0, dim, 2, device=device) / dim)
    return torch.cat([torch.sin(pos * freq), torch.cos(pos * freq)], dim=1)


class CausalBlock(nn.Module):
    """Pre-norm transformer block with causal self-attention (memory linear in length)."""

    def __init__(self, width: int, heads: int):
        super().__init__()
        self.heads = heads
        self.norm1, self.norm2 = nn.LayerNorm(width), nn.LayerNorm(width)
        self.qkv, self.proj = nn.Linear(width, 3 * width), nn.Linear(width, width)
        self.mlp = nn.Sequential(
            nn.Linear(width, 4 * width), nn.GELU(), nn.Linear(4 * width, width)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        qkv = self.qkv(self.norm1(x)).view(b, n, 3, self.heads, c // self.heads)
        q, k, v = qkv.permute(2, 0, 3, 1, 4)
        a = F.scaled_dot_product_attention(q, k, v, is_causal=True)
        x = x + self.proj(a.transpose(1, 2).reshape(b, n, c))
        return x + self.mlp(self.norm2(x))


class CausalConvs(nn.Module):
    """Residual causal dilated convolutions over chunks: the recent past (2 * sum(dilations)
    chunks), which attention alone learns slowly (what was just before this tunnel?)."""

    def __init__(self, width: int, dilations: tuple[int, ...]):
        super().__init__()
        self.dilations = dilations
        self.norms = nn.ModuleList(nn.LayerNorm(width) for _ in dilations)
        self.convs = nn.ModuleList(nn.Conv1d(width, width, 3, dilation=d) for d in dilations)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for d, norm, conv in zip(self.dilations, self.norms, self.convs, strict=True):
            h = F.pad(F.gelu(norm(x)).transpose(1, 2), (2 * d, 0))
            x = x + conv(h).transpose(1, 2)
        return x


class CausalTransformer(nn.Module):
    """Chunk vectors (B, N, width) -> causal dilated convs over the recent past, then a causal
    transformer (with positions) over the whole video."""

    def __init__(self, width: int, layers: int, heads: int, dilations: tuple[int, ...]):
        super().__init__()
        self.local = CausalConvs(width, dilations)
        self.blocks = nn.ModuleList(CausalBlock(width, heads) for _ in range(layers))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.local(x) + sinusoid(x.shape[1], x.shape[2], x.device)
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class WindowModel(nn.Module):
    """The short-window baseline: each chunk sees only the `window` chunks around it."""

    def __init__(self, width: int, window: int):
        super().__init__()
        self.conv = nn.Conv1d(width, width, window, padding=window // 2)
        self.mlp = nn.Sequential(nn.GELU(), nn.Linear(width, width))
        self.norm = nn.LayerNorm(width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return self.norm(x + self.mlp(h))


class LongVideoModel(nn.Module):
    """`model(x)` over a whole video of n chunks -> dict of per-chunk outputs: "district"
    (B, n, districts), "revisit" (B, n) logits, "embedding" (B, n, embed_dim) unit vectors;
    `model.query(clips)` embeds single-chunk clips into the same space and gives their
    clip-only "time_bin" logits."""

    def __init__(self, cfg: LongModelConfig, stem: nn.Module, frames_per_step: int = 1):
        super().__init__()
        self.config = cfg
        self.input_chunk = cfg.chunk_steps * frames_per_step  # input time steps per chunk
        self.encoder = ChunkEncoder(stem, cfg.width, cfg.chunk_steps // cfg.patch)
        if cfg.temporal == "transformer":
            self.temporal: nn.Module = CausalTransformer(
                cfg.width, cfg.layers, cfg.heads, cfg.dilations
            )
        else:
            self.temporal = WindowModel(cfg.width, cfg.window)
        self.district = nn.Linear(cfg.width, cfg.districts)
        self.revisit = nn.Linear(cfg.width, 1)
        self.time_bin = nn.Linear(cfg.width, cfg.time_bins)
        self.embed = nn.Linear(cfg.width, cfg.embed_dim)
        self.blank = nn.Parameter(torch.zeros(cfg.width))

    @classmethod
    def for_codes(cls, cfg: LongModelConfig, embeddings: torch.Tensor) -> LongVideoModel:
        """A model over codes, looked up in the codec's codebooks (G, K, d)."""
        return cls(cfg, CodeStem(embeddings, cfg.width, cfg.patch))

    @classmethod
    def for_pixels(
        cls, cfg: LongModelConfig, spatial_factor: int, temporal_factor: int
    ) -> LongVideoModel:
        """The same model over RGB pixels, reaching the code grid of a codec with these
        factors (for comparisons against the codes pipeline)."""
        stem = PixelStem(cfg.width, cfg.patch, spatial_factor, temporal_factor)
        return cls(cfg, stem, temporal_factor)

    def chunk_vectors(self, x: torch.Tensor) -> torch.Tensor:
        """(B, ..., T, H, W) input of whole chunks -> (B, n, width), segment by segment
        (checkpointed while training unless `checkpoint_chunks` is 0)."""
        if x.shape[2] % self.input_chunk:
            raise ValueError(f"time length {x.shape[2]} is not a multiple of {self.input_chunk}")
        steps = (self.config.checkpoint_chunks or 64) * self.input_chunk
        use_ckpt = self.config.checkpoint_chunks > 0 and torch.is_grad_enabled()
        parts = []
        for start in range(0, x.shape[2], steps):
            part = x[:, :, start : start + steps]
            if use_ckpt:
                parts.append(checkpoint(self.encoder, part, use_reentrant=False))
            else:
                parts.append(self.encoder(part))
        return torch.cat(parts, dim=1)

    def forward(
        self, x: torch.Tensor, blank: torch.Tensor | None = None
    ) -> dict[str, torch.Tensor]:
        """`blank` (B, n) bool hides those chunks from the temporal model (a learned blank
        vector takes their place): their labels must then come from context."""
        vectors = self.chunk_vectors(x)
        seen = vectors if blank is None else torch.where(blank[..., None], self.blank, vectors)
        h = self.temporal(seen)
        return {
            "district": self.district(h),
            "revisit": self.revisit(h)[..., 0],
            "embedding": F.normalize(self.embed(vectors), dim=-1),
        }

    def query(self, clips: torch.Tensor) -> dict[str, torch.Tensor]:
        """Clips of one chunk each (M, ..., T, H, W) -> "embedding" (M, embed_dim) and
        clip-only "time_bin" logits (M, time_bins)."""
        v = self.encoder(clips)[:, 0]
        return {"embedding": F.normalize(self.embed(v), dim=-1), "time_bin": self.time_bin(v)}
