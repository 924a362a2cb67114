"""The VQ-VAE video codec: strided 3D-conv encoder, multi-codebook VQ, transposed-conv decoder.

Padding rule (documented, tested): height and width are padded up to a multiple of the
spatial factor by replicating the edge pixels, and time up to a multiple of the temporal
factor by repeating the last frame. `decode` returns the padded size; `reconstruct`
crops back to the input's size.

The encoder never mixes time across blocks of `temporal_factor` frames (it folds each
block into channels and runs 2D convs, which are also what a CPU runs fast), so any clip cut at
such a block boundary encodes independently: that is what makes a streaming encode give
exactly the codes of a whole-clip encode. The decoder uses temporal context.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import CVError, ShapeError
from .base import SpecSizes
from .config import CodecConfig
from .fsq import ScalarQuantizer
from .layers import ResBlock, batch_to_frames, frames_to_batch, stage_widths
from .quantizer import MultiCodebookVQ, QuantizerOutput, ResidualVQ


@dataclass
class CodecOutput:
    reconstruction: torch.Tensor  # (B, 3, T, H, W), padded size
    vq: QuantizerOutput


class Encoder(nn.Module):
    """Per block of `temporal_factor` frames (stacked as channels): strided 2D convs down to
    the code grid. Blocks never mix, so the encoder is exactly streamable."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.group = cfg.temporal_factor
        widths = stage_widths(cfg.channels, int(math.log2(cfg.spatial_factor)) - 1)
        layers: list[nn.Module] = [
            nn.PixelUnshuffle(2),  # 2x2 pixels -> channels: the cheap first downsampling
            nn.Conv2d(12 * self.group, cfg.channels, 3, padding=1, padding_mode="replicate"),
        ]
        prev = cfg.channels
        for width in widths:
            layers += [nn.SiLU(), nn.Conv2d(prev, width, 4, stride=2, padding=1)]
            prev = width
        layers += [ResBlock(prev) for _ in range(cfg.res_blocks)]
        layers += [nn.SiLU(), nn.Conv2d(prev, cfg.encoder_dim, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """(B, 3, T, H, W) -> (B, D, T/tf, H/s, W/s)."""
        z = self.net(frames_to_batch(video, self.group))
        return batch_to_frames(z, video.shape[0], 1)


class Decoder(nn.Module):
    """3D residual blocks over the code grid (temporal context), then per-step transposed
    2D convs up to `temporal_factor` frames of pixels."""

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.group = cfg.temporal_factor
        base = cfg.decoder_width
        widths = stage_widths(base, int(math.log2(cfg.spatial_factor)) - 1)[::-1]
        self.context = nn.Sequential(
            nn.Conv3d(cfg.latent_dim, widths[0], 3, padding=1, padding_mode="replicate"),
            *[ResBlock(widths[0], dims=3) for _ in range(cfg.res_blocks)],
        )
        layers: list[nn.Module] = []
        for cin, cout in zip(widths, widths[1:] + [base], strict=True):
            layers += [nn.SiLU(), nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1)]
        layers += [
            ResBlock(base),
            nn.SiLU(),
            nn.Conv2d(base, 12 * self.group, 3, padding=1, padding_mode="replicate"),
            nn.PixelShuffle(2),
        ]
        self.up = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, D, T', H', W') -> (B, 3, T'*tf, H'*s, W'*s)."""
        x = frames_to_batch(self.context(latents), 1)
        return batch_to_frames(self.up(x), latents.shape[0], self.group) + 0.5


# Config fields added after codecs were first shipped, with the value every earlier codec has:
# left out of the fingerprint at that value, so existing codecs (and their stores) keep theirs.
LATER_FIELDS = {"decoder_channels": 0, "quantizer": "vq"}


class VideoCodec(SpecSizes, nn.Module):
    """Encode (B, 3, T, H, W) videos in [0, 1] to codes (B, G, T', H', W') and back; a
    `codec.base.Codec`."""

    kind = "codec"

    def __init__(self, cfg: CodecConfig):
        super().__init__()
        self.config = cfg
        self.encoder = Encoder(cfg)
        vq_args = (cfg.num_codebooks, cfg.codebook_size, cfg.codebook_dim, cfg.ema_decay)
        if cfg.quantizer == "fsq":
            self.quantizer = ScalarQuantizer(cfg.num_codebooks, cfg.codebook_dim, cfg.fsq_levels)
        elif cfg.quantizer == "rvq":
            self.quantizer = ResidualVQ(*vq_args, cfg.dead_code_threshold)
        else:
            self.quantizer = MultiCodebookVQ(*vq_args, cfg.dead_code_threshold, cfg.cosine)
        self.decoder = Decoder(cfg)

    @property
    def spec(self) -> CodecConfig:
        return self.config

    @property
    def codebooks(self) -> torch.Tensor:
        return self.quantizer.embeddings

    def fingerprint(self) -> str:
        """A hash of the weights and config: codes are only valid with this codec."""
        config = {
            k: v
            for k, v in self.config.to_dict().items()
            if k not in LATER_FIELDS or v != LATER_FIELDS[k]
        }
        h = hashlib.sha256(repr(sorted(config.items())).encode())
        for name, tensor in sorted(self.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    def pad(self, video: torch.Tensor) -> torch.Tensor:
        """Apply the padding rule (see the module docstring); checks the shape first."""
        if video.ndim != 5 or video.shape[1] != 3:
            raise ShapeError(f"expected a (B, 3, T, H, W) video, got shape {tuple(video.shape)}")
        _, _, t, h, w = video.shape
        s, tf = self.config.spatial_factor, self.config.temporal_factor
        if h < s or w < s or t < 1:
            raise ShapeError(
                f"frames of {h}x{w} ({t} frames) are smaller than "
                f"the codec's {s}x spatial downsampling"
            )
        ph, pw, pt = -h % s, -w % s, -t % tf
        if ph or pw:
            video = F.pad(video, (0, pw, 0, ph, 0, 0), mode="replicate")
        if pt:
            video = torch.cat([video, video[:, :, -1:].expand(-1, -1, pt, -1, -1)], dim=2)
        return video

    def forward(self, video: torch.Tensor) -> CodecOutput:
        z = self.encoder(self.pad(video) - 0.5)
        vq = self.quantizer(z)
        return CodecOutput(self.decoder(vq.quantized), vq)

    @torch.no_grad()
    def encode(self, video: torch.Tensor, window: int = 16) -> torch.Tensor:
        """Codes (B, G, T', H', W') int64, computed `window` code steps at a time.

        The fixed window keeps memory bounded and makes the result independent of how the
        clip arrives (whole, or streamed in chunks; see `codec.streaming`).
        """
        video = self.pad(video)
        step = window * self.config.temporal_factor
        codes = []
        for start in range(0, video.shape[2], step):
            z = self.encoder(video[:, :, start : start + step] - 0.5)
            codes.append(self.quantizer.codes_of(z))
        return torch.cat(codes, dim=2)

    def latents(self, video: torch.Tensor) -> torch.Tensor:
        """The encoder's latents (B, D, T', H', W') of videos in [0, 1], normalised as the
        quantiser normalises them (for cosine codebooks). Not for a residual (rvq) codec,
        whose encoder writes another space than its codebooks read."""
        if self.config.quantizer == "rvq":
            raise CVError(
                "a residual (rvq) codec's encoder writes another space than its codebooks "
                "read (latent augmentation needs them to agree): use a vq or fsq codec"
            )
        return self.quantizer.normalise(self.encoder(self.pad(video) - 0.5))

    def codes_of(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (B, D, T', H', W') -> codes of the nearest entries (no codebook update)."""
        return self.quantizer.codes_of(latents)

    def quantize(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes (B, G, T', H', W') -> quantised latents (B, D, T', H', W')."""
        return self.quantizer.lookup(codes)

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        return self.decoder(latents).clamp(0, 1)

    @torch.no_grad()
    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """Codes -> video (B, 3, T, H, W) in [0, 1] at the padded size."""
        return self.decode_latents(self.quantize(codes))

    @torch.no_grad()
    def reconstruct(self, video: torch.Tensor) -> torch.Tensor:
        """encode -> decode, cropped back to the input's size."""
        t, h, w = video.shape[-3:]
        return self.decode(self.encode(video))[:, :, :t, :h, :w]
