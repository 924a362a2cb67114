"""The official models' constructor arguments, read from a checkpoint's own config.

The defaults are those of the official `CompressionConvEncoderDecoder` and
`NeuralTransformation` constructors, so a checkpoint only has to name what it changes.
Options whose code path the official release itself disables (attention, skips, ...) or
that this port does not implement (batch norm) are refused with a `CheckpointError`.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from ...errors import CheckpointError, ShapeError
from ..config import compression_rate

_ACTIVATIONS = ("", "relu", "sigmoid", "tanh", "gelu", "softplus", "silu", "swish")


def _tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _from_dict(cls: type, data: dict[str, Any], what: str, path: str | Path | None) -> Any:
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        raise CheckpointError(f"unknown {what} options {unknown}", path)
    return cls(**{k: _tuple(v) for k, v in data.items()})


@dataclass(frozen=True)
class CodecKwargs:
    """`CompressionConvEncoderDecoder(...)` arguments (the official names and defaults)."""

    num_channels: int = 3
    bot_channels: int = 128
    bot_channels_code_index: int = 32  # unused by encode/decode
    stride: tuple[int, int, int] = (1, 2, 2)
    kernel_shape: tuple[int, int, int] = (1, 4, 4)
    num_conv_layers: int = 1
    res_bot_mult: float = 4.0
    extra_encode_conv_layers: int = 2
    extra_encode_conv_kernel: tuple[int, int, int] = (1, 3, 3)
    extra_encode_conv_use_bn: bool = False
    extra_decode_conv_layers: int = 2
    extra_decode_conv_use_bn: bool = False
    extra_decode_conv_kernel: tuple[int, int, int] = (1, 3, 3)
    use_multicodebook: bool = True
    use_ratio_for_codebooks: bool = False  # only sizes codebooks that are never used
    use_attention: bool = False
    use_skips: bool = False
    skips_one_embedding: bool = False
    attention_resolutions: tuple[int, ...] = ()
    last_linearity: str = ""
    vq_embedding_dims: int = 16
    vq_num_embeddings: int = 256
    vq_commitment_cost: float = 0.9  # training only
    vq_decay: float = 0.5  # training only
    padding: str = "VALID"
    use_normalized_embeddings: bool = False
    use_tanh: bool = False
    use_time_compression_2x: bool = False
    name: str = "CompressionConvEncoderDecoder"

    def validate(self, path: str | Path | None = None) -> CodecKwargs:
        """Refuse options the official code asserts off or this port does not implement."""
        for flag in ("use_attention", "use_skips", "skips_one_embedding"):
            if getattr(self, flag):
                raise CheckpointError(f"{flag}=True is not supported by the official code", path)
        if self.use_normalized_embeddings:
            raise CheckpointError("use_normalized_embeddings=True is not supported", path)
        if self.extra_encode_conv_use_bn or self.extra_decode_conv_use_bn:
            raise CheckpointError("batch-norm residual blocks are not supported", path)
        if self.padding not in ("VALID", "SAME"):
            raise CheckpointError(f"padding {self.padding!r} is not supported", path)
        if self.last_linearity not in _ACTIVATIONS:
            raise CheckpointError(f"last_linearity {self.last_linearity!r} not supported", path)
        if self.use_multicodebook and self.bot_channels % self.vq_embedding_dims:
            raise CheckpointError("bot_channels is not a multiple of vq_embedding_dims", path)
        if self.num_conv_layers < 1:
            raise CheckpointError("num_conv_layers must be at least 1", path)
        return self

    @property
    def num_codebooks(self) -> int:
        return self.bot_channels // self.vq_embedding_dims if self.use_multicodebook else 1

    @property
    def codebook_dim(self) -> int:
        return self.vq_embedding_dims if self.use_multicodebook else self.bot_channels

    @property
    def conv_channels(self) -> list[int]:
        """Output channels of the strided encoder convs: bot_channels / 2**(L-1-i)."""
        n = self.num_conv_layers
        return [self.bot_channels // 2 ** (n - i - 1) for i in range(n)]

    @property
    def res_channels(self) -> int:
        return int(self.bot_channels * self.res_bot_mult)

    # -- the shape of the codes (`codec.base.CodeSpec`, what a store records) ------------

    @property
    def codebook_size(self) -> int:
        return self.vq_num_embeddings

    @property
    def spatial_factor(self) -> int:
        return self.stride[1] ** self.num_conv_layers

    @property
    def temporal_factor(self) -> int:
        return self.stride[0] ** self.num_conv_layers * (2 if self.use_time_compression_2x else 1)

    def code_shape(self, frames: int, height: int, width: int) -> tuple[int, int, int, int]:
        """(G, T', H', W') of the codes of a (T, H, W) clip (see `code_grid`); a clip too
        small for the convolutions is a `ShapeError`."""
        try:
            return (self.num_codebooks, *self.code_grid(frames, height, width))
        except ValueError as e:
            raise ShapeError(str(e)) from None

    def compression_rate(self, frames: int, height: int, width: int) -> float:
        """CR = (T*H*W*3*8) / (number of indices * log2 K): the official
        `prod(input.shape) / prod(codes.shape) * 8 / log2(K)`."""
        indices = math.prod(self.code_shape(frames, height, width))
        return compression_rate((frames, height, width), indices, self.codebook_size)

    def code_grid(self, frames: int, height: int, width: int) -> tuple[int, int, int]:
        """(T', H', W') of the codes for a (T, H, W) clip, by the encoder's conv arithmetic.

        Raises ValueError for a clip too small for the convolutions (reflect padding needs
        more samples than it pads).
        """
        size = [frames, height, width]
        layers = [(self.kernel_shape, self.stride)] * self.num_conv_layers
        if self.use_time_compression_2x:
            layers.append((self.kernel_shape, (2, 1, 1)))
        layers += [(self.extra_encode_conv_kernel, (1, 1, 1))] * self.extra_encode_conv_layers
        for kernel, stride in layers:
            for d in range(3):
                k, s, pad = kernel[d], stride[d], (kernel[d] - 1) // 2
                if self.padding == "SAME":
                    new = math.ceil(size[d] / s)
                elif size[d] <= pad:
                    new = 0
                else:  # reflect padding of (k-1)//2 on each side, then VALID
                    new = (size[d] + 2 * pad - k) // s + 1
                if new < 1:
                    raise ValueError(f"a (T, H, W) = {(frames, height, width)} clip is too small")
                size[d] = new
        return size[0], size[1], size[2]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str | Path | None = None) -> CodecKwargs:
        return _from_dict(cls, dict(data), "codec", path).validate(path)


@dataclass(frozen=True)
class AugmenterKwargs:
    """`NeuralTransformation(...)` arguments plus the augmentation's `network` and `type`."""

    network: str = "transformer"
    type: str = ""
    channels: tuple[int, ...] = (64, 64, 64)
    hidden_size: int = 128  # unused by the official network
    num_hidden_layers: int = 2
    num_heads: int = 4  # unused: the attention uses `num_attention_heads`
    num_attention_heads: int = 1
    key_size: int = 128
    value_size: int = 128
    intermediate_size: int = 128
    lambda_v: float = 0.0001  # training only
    output_video_shape: tuple[int, ...] | None = None
    name: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any], path: str | Path | None = None) -> AugmenterKwargs:
        out = _from_dict(cls, dict(data), "augmenter", path)
        if out.network != "transformer":
            raise CheckpointError(f"unknown augmentation network {out.network!r}", path)
        return out


def _get(tree: Any, keys: str, what: str, path: str | Path | None) -> Any:
    for key in keys.split("."):
        if not isinstance(tree, dict) or key not in tree:
            raise CheckpointError(f"{what} has no `{keys}`", path)
        tree = tree[key]
    return tree


def codec_kwargs_from_config(config: Any, path: str | Path | None = None) -> CodecKwargs:
    """The codec's arguments from an official `config` (at experiment_kwargs.config.model_kwargs).

    The official demo passes `num_channels=3` beside the model kwargs; so do we.
    """
    kwargs = dict(_get(config, "experiment_kwargs.config.model_kwargs", "config", path))
    kwargs.setdefault("num_channels", 3)
    return CodecKwargs.from_dict(kwargs, path)


def augmenter_kwargs_from_config(
    augm_config: Any, path: str | Path | None = None
) -> AugmenterKwargs | None:
    """The augmentation network's arguments from `augm_config`, or None when it has none."""
    if augm_config is None:
        return None
    aug = _get(augm_config, "experiment_kwargs.config.augmentation", "augm_config", path)
    kwargs = dict(aug.get("kwargs") or {})
    kwargs["network"] = aug.get("network", "transformer")
    kwargs["type"] = aug.get("type", "")
    return AugmenterKwargs.from_dict(kwargs, path)
