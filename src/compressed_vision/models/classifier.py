"""A whole classifier: the input adapter (codebook lookup or learned index embeddings for
codes; nothing for pixels), an optional latent augmentation hook, and a backbone. Its
config rebuilds it from one checkpoint file."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import CheckpointError
from .backbones import build_backbone
from .codes import CodebookLookup, IndexEmbedding

if TYPE_CHECKING:
    from ..codec import CodeSpec

KIND = "video_classifier"
INPUTS = ("codes", "pixels")
CODE_INPUTS = ("lookup", "embed")


@dataclass(frozen=True)
class ModelConfig:
    """What to build. For codes: `num_codebooks` x `codebook_size` entries of `codebook_dim`
    (the codec's) and `code_input` "lookup" (its frozen codebooks) or "embed" (learned tables
    of `embed_dim`); for pixels: the downsampling that brings them to the code grid."""

    backbone: str = "s3d"
    num_classes: int = 10
    frame_head: bool = False
    inputs: str = "codes"
    code_input: str = "lookup"
    num_codebooks: int = 0
    codebook_size: int = 0
    codebook_dim: int = 0
    embed_dim: int = 16
    standardize_codes: bool = True  # "lookup": latents standardised per channel (after augment)
    input_downsample: int = 1
    temporal_downsample: int = 1
    options: dict[str, Any] = field(default_factory=dict)  # backbone arguments (width, ...)

    def __post_init__(self) -> None:
        if self.inputs not in INPUTS:
            raise ValueError(f"inputs must be one of {INPUTS}, got {self.inputs!r}")
        if self.code_input not in CODE_INPUTS:
            raise ValueError(f"code_input must be one of {CODE_INPUTS}, got {self.code_input!r}")

    @property
    def in_channels(self) -> int:
        if self.inputs == "pixels":
            return 3
        per_codebook = self.codebook_dim if self.code_input == "lookup" else self.embed_dim
        return self.num_codebooks * per_codebook

    @classmethod
    def for_codes(cls, codec: CodeSpec, **kwargs: Any) -> ModelConfig:
        """A classifier on the codes of `codec`: its codebooks' count, size and width."""
        return cls(
            inputs="codes",
            num_codebooks=codec.num_codebooks,
            codebook_size=codec.codebook_size,
            codebook_dim=codec.codebook_dim,
            **kwargs,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown model config keys: {sorted(unknown)}")
        return cls(**{"standardize_codes": False, **data})  # checkpoints from before it


class VideoClassifier(nn.Module):
    """Codes (B, G, T', H', W') or pixels (B, 3, T, H, W) -> logits (B, K) or (B, K, T').

    `augment`, when given (training on codes), maps the latents to augmented latents before
    the backbone: the hook for latent augmentation (any module latents -> latents)."""

    def __init__(self, config: ModelConfig, inputs: nn.Module | None, backbone: nn.Module):
        super().__init__()
        self.config = config
        self.inputs = inputs
        self.backbone = backbone

    def latents(self, x: torch.Tensor) -> torch.Tensor:
        """The backbone's input: looked-up or embedded codes, or the pixels themselves."""
        return x if self.inputs is None else self.inputs(x)

    def forward(self, x: torch.Tensor, augment: nn.Module | None = None) -> torch.Tensor:
        x = self.latents(x)
        if augment is not None:
            x = augment(x)
        if self.config.standardize_codes and isinstance(self.inputs, CodebookLookup):
            x = self.inputs.standardize(x)
        return self.backbone(x)


def build_classifier(config: ModelConfig, codebooks: torch.Tensor | None = None) -> VideoClassifier:
    """The classifier of `config`; "lookup" needs the codec's codebooks (G, K, d) (zeros are
    used when None: the weights then come from a checkpoint)."""
    inputs: nn.Module | None = None
    if config.inputs == "codes":
        shape = (config.num_codebooks, config.codebook_size, config.codebook_dim)
        if config.code_input == "embed":
            inputs = IndexEmbedding(config.num_codebooks, config.codebook_size, config.embed_dim)
        else:
            if codebooks is not None and tuple(codebooks.shape) != shape:
                raise ValueError(f"codebooks of shape {tuple(codebooks.shape)}, expected {shape}")
            inputs = CodebookLookup(torch.zeros(shape) if codebooks is None else codebooks)
    backbone = build_backbone(
        config.backbone,
        config.in_channels,
        config.num_classes,
        input_downsample=config.input_downsample,
        frame_head=config.frame_head,
        temporal_downsample=config.temporal_downsample,
        **config.options,
    )
    return VideoClassifier(config, inputs, backbone)


def save_classifier(path: str | Path, model: VideoClassifier, extra: dict[str, Any]) -> Path:
    """Weights + the model config + `extra` (task, classes, codec fingerprint...) in one file."""
    return save_checkpoint(
        path, model.state_dict(), KIND, {"model": model.config.to_dict(), **extra}
    )


def load_classifier(
    path: str | Path, device: str | torch.device = "cpu"
) -> tuple[VideoClassifier, dict[str, Any]]:
    """Rebuild a classifier from its checkpoint; returns (model in eval mode, its config)."""
    state, config = load_checkpoint(path, KIND)
    try:
        model = build_classifier(ModelConfig.from_dict(config["model"]))
        model.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"classifier checkpoint does not match its config: {e}", path) from e
    return model.to(device).eval(), config
