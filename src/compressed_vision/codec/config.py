"""Codec configuration and the presets keyed by compression rate."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace


@dataclass(frozen=True)
class CodecConfig:
    """Shape of a VQ-VAE video codec.

    Latents have D = num_codebooks * codebook_dim channels on a grid downsampled by
    `spatial_factor` in height/width and `temporal_factor` in time.
    """

    channels: int = 64  # width of the first stage; doubles per downsampling, capped at 4x
    decoder_channels: int = 0  # the decoder's base width (0: same as `channels`)
    spatial_factor: int = 8  # power of two: 8 or 16
    temporal_factor: int = 1  # 1, 2 or 4
    num_codebooks: int = 4
    codebook_size: int = 256
    codebook_dim: int = 16
    res_blocks: int = 2
    ema_decay: float = 0.99
    commitment: float = 0.25
    dead_code_threshold: float = 0.03  # restart codes whose EMA usage < this x the mean usage
    cosine: bool = True  # quantise unit-length blocks (see MultiCodebookVQ.normalise)
    # "vq": learned codebooks (EMA), one per block of channels; "rvq": the same codebooks in
    # sequence over one codebook_dim latent (residual); "fsq": finite scalar levels
    quantizer: str = "vq"

    def __post_init__(self) -> None:
        for name in ("spatial_factor", "temporal_factor", "codebook_size"):
            value = getattr(self, name)
            if value < 1 or value & (value - 1):
                raise ValueError(f"{name} must be a power of two, got {value}")
        if self.spatial_factor < 2:
            raise ValueError("spatial_factor must be at least 2")
        if self.quantizer not in ("vq", "rvq", "fsq"):
            raise ValueError(f"quantizer must be 'vq', 'rvq' or 'fsq', got {self.quantizer!r}")
        if self.quantizer == "fsq" and self.fsq_levels**self.codebook_dim != self.codebook_size:
            raise ValueError(
                f"fsq needs codebook_size = L ** codebook_dim for an integer L >= 2; "
                f"{self.codebook_size} is not a power of codebook_dim={self.codebook_dim}"
            )

    @property
    def fsq_levels(self) -> int:
        """Levels per channel of FSQ: codebook_size ** (1 / codebook_dim), rounded."""
        return max(2, round(self.codebook_size ** (1 / self.codebook_dim)))

    @property
    def decoder_width(self) -> int:
        return self.decoder_channels or self.channels

    @property
    def latent_dim(self) -> int:
        """Channels of the quantised latents (the codebook entries side by side)."""
        return self.num_codebooks * self.codebook_dim

    @property
    def encoder_dim(self) -> int:
        """Channels the encoder outputs: one codebook_dim latent for rvq, else latent_dim."""
        return self.codebook_dim if self.quantizer == "rvq" else self.latent_dim

    def code_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(G, T', H', W') of the codes for a clip, after padding to the factors."""
        s, t = self.spatial_factor, self.temporal_factor
        return (self.num_codebooks, -(-frames // t), -(-height // s), -(-width // s))

    def compression_rate(self, frames: int, height: int, width: int) -> float:
        """The paper's CR: raw 24-bit RGB bits over index bits (one formula everywhere)."""
        g, tt, hh, ww = self.code_shape(frames, height, width)
        return compression_rate((frames, height, width), g * tt * hh * ww, self.codebook_size)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> CodecConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown codec config keys: {sorted(unknown)}")
        return cls(**data)


def compression_rate(
    video_thw: tuple[int, int, int], num_indices: int, codebook_size: int
) -> float:
    """CR = (T*H*W*3*8 bits) / (number of indices * log2 K), as defined in docs/design.md."""
    t, h, w = video_thw
    return (t * h * w * 3 * 8) / (num_indices * math.log2(codebook_size))


def _rate_preset(spatial: int, temporal: int, codebooks: int) -> CodecConfig:
    return CodecConfig(spatial_factor=spatial, temporal_factor=temporal, num_codebooks=codebooks)


# Keyed by (approximate) compression rate, with codebooks of 256 entries (8 bits an index).
# One code position covers s*s*t pixels = 24*s*s*t bits and holds G*8 bits, so the exact
# CR, for any input size divisible by the factors, is 3*s*s*t/G:
PRESETS: dict[str, CodecConfig] = {
    "tiny": CodecConfig(channels=32, num_codebooks=4, codebook_dim=8, cosine=False),  # 48x
    "cr30": _rate_preset(8, 1, 6),  # 32x
    "cr60": _rate_preset(8, 2, 6),  # 64x
    "cr120": _rate_preset(8, 4, 6),  # 128x
    "cr240": _rate_preset(16, 2, 6),  # 256x
    "cr480": _rate_preset(16, 4, 6),  # 512x
    "cr800": _rate_preset(16, 4, 4),  # 768x
}


def preset(name: str, **overrides) -> CodecConfig:
    """A named preset, with any field overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown codec preset {name!r}; choose from {sorted(PRESETS)}")
    return replace(PRESETS[name], **overrides)
