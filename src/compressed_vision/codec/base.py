"""The one interface every codec implements: ours (`VideoCodec`) and the official
Compressed Vision codecs (`official.OfficialModel`). The store, the tasks, latent
augmentation, the benchmarks and long-video code are written against `Codec`, so any codec
`load_codec` returns goes through the whole pipeline.

Conventions: video (B, 3, T, H, W) float in [0, 1]; codes (B, G, T', H', W') int64;
latents (B, D, T', H', W'), D = G * d, codebook g's entry in channels [g*d, (g+1)*d).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

import torch

from ..errors import ShapeError


@runtime_checkable
class CodeSpec(Protocol):
    """What a codec's codes look like, without its weights: what a store records of it."""

    @property
    def num_codebooks(self) -> int: ...

    @property
    def codebook_size(self) -> int: ...

    @property
    def codebook_dim(self) -> int: ...

    @property
    def spatial_factor(self) -> int: ...

    @property
    def temporal_factor(self) -> int: ...

    def code_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(G, T', H', W') of the codes of a (T, H, W) clip."""
        ...

    def compression_rate(self, frames: int, height: int, width: int) -> float:
        """The paper's CR of a (T, H, W) clip: raw 24-bit RGB bits over index bits."""
        ...

    def to_dict(self) -> dict[str, Any]: ...


class SpecSizes:
    """The `Codec` protocol's sizes, factors and shapes, read from the codec's `spec`: what
    a codec class inherits so that it states only its `spec`."""

    spec: CodeSpec

    @property
    def num_codebooks(self) -> int:
        """G, the number of codebooks (one index each per latent position)."""
        return self.spec.num_codebooks

    @property
    def codebook_size(self) -> int:
        """K, the entries per codebook."""
        return self.spec.codebook_size

    @property
    def codebook_dim(self) -> int:
        """d, the channels of one codebook entry."""
        return self.spec.codebook_dim

    @property
    def latent_dim(self) -> int:
        """D = G * d, the channels of the quantised latents."""
        return self.num_codebooks * self.codebook_dim

    @property
    def spatial_factor(self) -> int:
        return self.spec.spatial_factor

    @property
    def temporal_factor(self) -> int:
        return self.spec.temporal_factor

    def code_shape(self, video_shape: Sequence[int]) -> tuple[int, int, int, int]:
        """(G, T', H', W') of the codes for a video whose shape ends with (T, H, W)."""
        if len(video_shape) < 3:
            raise ShapeError(f"expected a shape ending with (T, H, W), got {tuple(video_shape)}")
        return self.spec.code_shape(*(int(n) for n in video_shape[-3:]))

    def compression_rate(self, video_shape: Sequence[int]) -> float:
        """CR = (T*H*W*3*8) / (number of indices * log2 K) for a (..., T, H, W) video."""
        self.code_shape(video_shape)  # the shape's checks
        return self.spec.compression_rate(*(int(n) for n in video_shape[-3:]))


@runtime_checkable
class Codec(Protocol):
    """A video codec with discrete codes (in eval mode, as `load_codec` returns it)."""

    kind: str  # its checkpoint kind: "codec" (ours) or "official_codec"
    num_codebooks: int  # G
    codebook_size: int  # K, entries per codebook
    codebook_dim: int  # d, channels of one entry
    latent_dim: int  # D = G * d
    spatial_factor: int  # frame pixels per code position, along H and W
    temporal_factor: int  # frames per code step

    @property
    def spec(self) -> CodeSpec:
        """The shape of its codes (recorded in stores)."""
        ...

    @property
    def codebooks(self) -> torch.Tensor:
        """(G, K, d): entry k of codebook g is `codebooks[g, k]`."""
        ...

    def encode(self, video: torch.Tensor, window: int = 16) -> torch.Tensor:
        """Video -> codes, `window` code steps at a time (the same codes as a whole-clip
        encode: memory is bounded by the window)."""
        ...

    def latents(self, video: torch.Tensor) -> torch.Tensor:
        """Video -> the continuous latents the quantiser sees, laid out as `quantize`'s."""
        ...

    def codes_of(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents -> the codes of the nearest codebook entries."""
        ...

    def quantize(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes -> quantised latents (a codebook lookup)."""
        ...

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents -> video (see `decode`)."""
        ...

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes -> video on the codec's output grid: at least the source's size for ours
        (padded; crop it), one code position smaller in H and W for the official 2x-time
        codecs (the centre of the frame); see `common_region`."""
        ...

    def code_shape(self, video_shape: Sequence[int]) -> tuple[int, int, int, int]:
        """(G, T', H', W') of the codes of a video whose shape ends with (T, H, W)."""
        ...

    def compression_rate(self, video_shape: Sequence[int]) -> float:
        """The paper's CR for a video whose shape ends with (T, H, W)."""
        ...

    def fingerprint(self) -> str:
        """A hash of its weights and config: codes are only valid with this codec."""
        ...

    def to(self, device: str | torch.device) -> Codec: ...

    def eval(self) -> Codec: ...

    def requires_grad_(self, requires_grad: bool = True) -> Codec: ...


def codec_fingerprint(codec: Codec) -> str:
    """`codec.fingerprint()`."""
    return codec.fingerprint()


def common_region(decoded: torch.Tensor, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A decode and its source (..., T, H, W) cut to the region both cover, to compare them.

    A decode at least the source's size (padded to the factors) is cropped to the source.
    A smaller one (the official 2x-time codecs decode one code position less in H and W:
    64x64 -> 48x48) is the centre of the frame, so the source's centre is cut to match.
    """
    t, h, w = video.shape[-3:]
    decoded = decoded[..., :t, :h, :w]
    dh, dw = decoded.shape[-2:]
    top, left = (h - dh) // 2, (w - dw) // 2
    return decoded, video[..., : decoded.shape[-3], top : top + dh, left : left + dw]
