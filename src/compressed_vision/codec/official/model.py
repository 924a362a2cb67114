"""`OfficialModel`: the official codec (and augmenter, when the file has one) behind our API.

Conventions (ours, not the official channels-last ones): video (B, C, T, H, W) float in
[0, 1]; codes (B, G, T', H', W') int64; latents (B, D, T', H', W') with D = G * d. To feed
or compare official arrays, `permute(0, 4, 1, 2, 3)` turns (B, T, H, W, C)-style arrays
into ours and `permute(0, 2, 3, 4, 1)` turns ours back.
"""

from __future__ import annotations

import hashlib
from typing import Any

import torch
from torch import nn

from ...errors import CheckpointError, ShapeError
from ..base import SpecSizes
from .augmenter import NeuralTransformation
from .codec import OfficialCodec
from .config import AugmenterKwargs, CodecKwargs


class OfficialModel(SpecSizes, nn.Module):
    """The official Compressed Vision codec, ported exactly; build it with `load_official`.
    A `codec.base.Codec`, so it goes wherever our codecs go."""

    kind = "official_codec"

    def __init__(
        self,
        codec: CodecKwargs,
        augmenter: AugmenterKwargs | None = None,
        augmenter_dims: dict[str, Any] | None = None,
        source: str | None = None,
    ) -> None:
        super().__init__()
        self.codec_kwargs, self.augmenter_kwargs = codec, augmenter
        self.augmenter_dims = augmenter_dims
        self.source = source
        self.codec = OfficialCodec(codec)
        self.augmenter: NeuralTransformation | None = None
        if augmenter is not None:
            if augmenter_dims is None:
                raise CheckpointError("an augmenter needs its param_dim and positions", source)
            self.augmenter = NeuralTransformation(
                augmenter,
                self.latent_dim,
                int(augmenter_dims["param_dim"]),
                tuple(augmenter_dims["positions"]),
            )

    # -- description -------------------------------------------------------------------

    @property
    def spec(self) -> CodecKwargs:
        """The shape of the codes (`codec.base.CodeSpec`)."""
        return self.codec_kwargs

    @property
    def codebooks(self) -> torch.Tensor:
        """(G, K, d): entry k of codebook g is `codebooks[g, k]`."""
        return self.codec.quantizer.codebooks

    @property
    def augmentation_type(self) -> str | None:
        """The augmentation the augmenter was trained for ('flip', ...), or None."""
        return None if self.augmenter_kwargs is None else self.augmenter_kwargs.type

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild this model (stored in converted checkpoints)."""
        return {
            "codec": self.codec_kwargs.to_dict(),
            "augmenter": None if self.augmenter_kwargs is None else self.augmenter_kwargs.to_dict(),
            "augmenter_dims": self.augmenter_dims,
            "source": self.source,
        }

    @classmethod
    def from_config(cls, config: dict[str, Any], path: Any = None) -> OfficialModel:
        """Rebuild from `config()` output (weights not loaded)."""
        try:
            codec = CodecKwargs.from_dict(config["codec"], path)
            aug = config.get("augmenter")
            augmenter = None if aug is None else AugmenterKwargs.from_dict(aug, path)
            return cls(codec, augmenter, config.get("augmenter_dims"), config.get("source"))
        except (KeyError, TypeError, ValueError) as e:
            raise CheckpointError(f"bad official model config ({e})", path) from e

    def fingerprint(self) -> str:
        """A hash of the codec's config and weights (not the augmenter's): the same for a
        `.pkl` and its converted file; codes are only valid with this codec."""
        h = hashlib.sha256(
            b"official:" + repr(sorted(self.codec_kwargs.to_dict().items())).encode()
        )
        for name, tensor in sorted(self.codec.state_dict().items()):
            h.update(name.encode())
            h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    # -- computation -------------------------------------------------------------------

    def _check_video(self, video: torch.Tensor) -> None:
        if video.dim() != 5 or video.shape[1] != self.codec_kwargs.num_channels:
            raise ShapeError(
                f"expected video (B, {self.codec_kwargs.num_channels}, T, H, W), "
                f"got {tuple(video.shape)}"
            )
        if not video.is_floating_point():
            raise ShapeError(f"expected a float video in [0, 1], got dtype {video.dtype}")
        self.code_shape(video.shape)  # clear error for a clip too small

    def _embed(self, video: torch.Tensor) -> torch.Tensor:
        """The encoder's output (channels interleaved by codebook, as the quantiser reads)."""
        return self.codec.encoder(video.to(self.codebooks.dtype))

    def encode(self, video: torch.Tensor, window: int = 16) -> torch.Tensor:
        """(B, C, T, H, W) float video in [0, 1] -> (B, G, T', H', W') int64 codes, `window`
        code steps at a time. The official encoders' kernels span one frame (time is only
        strided), so windows of whole code steps give the codes of a whole-clip encode."""
        self._check_video(video)
        step = window * self.temporal_factor
        parts = [
            self.codec.quantizer.encode(self._embed(video[:, :, i : i + step]))
            for i in range(0, video.shape[2], step)
        ]
        return torch.cat(parts, dim=2)

    def latents(self, video: torch.Tensor) -> torch.Tensor:
        """(B, C, T, H, W) video -> the encoder's latents (B, D, T', H', W') in the block
        order of `quantize` (codebook g's d channels together)."""
        self._check_video(video)
        x = self._embed(video)
        b, _, *grid = x.shape
        return x.view(b, self.codebook_dim, self.num_codebooks, *grid).transpose(1, 2).flatten(1, 2)

    def codes_of(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, D, T', H', W') latents in block order -> codes of the nearest entries."""
        b, _, *grid = latents.shape
        blocks = latents.view(b, self.num_codebooks, self.codebook_dim, *grid)
        interleaved = blocks.transpose(1, 2).flatten(1, 2)
        return self.codec.quantizer.encode(interleaved.to(self.codebooks.dtype))

    def quantize(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, G, T', H', W') codes -> (B, D, T', H', W') latents (codebook g in block g)."""
        if codes.dim() != 5 or codes.shape[1] != self.num_codebooks:
            raise ShapeError(
                f"expected codes (B, {self.num_codebooks}, T', H', W'), got {tuple(codes.shape)}"
            )
        if codes.is_floating_point() or codes.is_complex():
            raise ShapeError(f"expected integer codes, got dtype {codes.dtype}")
        if codes.numel() and (int(codes.min()) < 0 or int(codes.max()) >= self.codebook_size):
            raise ShapeError(f"codes must lie in [0, {self.codebook_size})")
        return self.codec.quantizer.lookup(codes.long())

    def decode_latents(self, latents: torch.Tensor) -> torch.Tensor:
        """(B, D, T', H', W') latents -> (B, C, T, H, W) video (not clipped to [0, 1])."""
        if latents.dim() != 5 or latents.shape[1] != self.latent_dim:
            raise ShapeError(
                f"expected latents (B, {self.latent_dim}, T', H', W'), got {tuple(latents.shape)}"
            )
        return self.codec.decoder(latents.to(self.codec.quantizer.codebooks.dtype))

    def decode(self, codes: torch.Tensor) -> torch.Tensor:
        """(B, G, T', H', W') codes -> (B, C, T, H, W) video (not clipped to [0, 1])."""
        return self.decode_latents(self.quantize(codes))

    def augment(self, latents: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
        """Apply the checkpoint's latent augmentation network.

        `params` holds the augmentation's parameters per sample as the official network
        takes them, e.g. (B, 1, 1) for flip (1 = flip, 0 = no flip); latents must have the
        grid the network was trained on (see `augmenter.positions`).
        """
        if self.augmenter is None:
            raise CheckpointError("this checkpoint has no augmentation network", self.source)
        if latents.dim() != 5 or params.shape[:1] != latents.shape[:1]:
            raise ShapeError(
                f"expected latents (B, D, T', H', W') and params (B, ...), "
                f"got {tuple(latents.shape)} and {tuple(params.shape)}"
            )
        return self.augmenter(latents, params.to(latents.device))

    def forward(self, video: torch.Tensor) -> torch.Tensor:
        """Reconstruction of `video`: decode(encode(video))."""
        return self.decode(self.encode(video))
