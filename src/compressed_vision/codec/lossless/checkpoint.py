"""Saving and loading a trained prior: integer weights as safetensors, tied to one codec."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ...checkpoint import load_checkpoint, save_checkpoint
from ...errors import CheckpointError
from .model import ContextPrior, IntegerPrior, PriorConfig, integer_state

KIND = "lossless_prior"
# Priors shipped with the package, by the shipped codec they belong to.
SHIPPED = {
    "cr240": "prior_cr240.safetensors",
    "cr30": "prior_cr30.safetensors",
    "cr480": "prior_cr480.safetensors",
}


@dataclass
class LearnedPrior:
    """A prior ready to code: its config, integer weights, and the codec it belongs to."""

    config: PriorConfig
    state: dict[str, torch.Tensor]
    codec_fingerprint: str
    info: dict[str, Any] = field(default_factory=dict)  # how it was trained (for reports)

    @classmethod
    def from_model(cls, model: ContextPrior, codec_fingerprint: str, **info: Any) -> LearnedPrior:
        return cls(model.cfg, integer_state(model), codec_fingerprint, info)

    @property
    def fingerprint(self) -> str:
        """A hash of the prior's config and integer weights (what the bitstream depends on)."""
        h = hashlib.sha256(repr(sorted(self.config.to_dict().items())).encode())
        for name, tensor in sorted(self.state.items()):
            h.update(name.encode())
            h.update(tensor.contiguous().numpy().tobytes())
        return h.hexdigest()[:16]

    @property
    def integer(self) -> IntegerPrior:
        if not hasattr(self, "_integer"):
            self._integer = IntegerPrior(self.config, self.state)
        return self._integer

    def check_codec(self, fingerprint: str, where: str | Path | None = None) -> None:
        """Refuse codes of another codec than the one this prior was trained for."""
        if fingerprint != self.codec_fingerprint:
            raise CheckpointError(
                f"this prior was trained on the codes of codec {self.codec_fingerprint}, not of "
                f"codec {fingerprint}: it cannot code them",
                where,
            )


def save_prior(path: str | Path, prior: LearnedPrior) -> Path:
    config = {
        "prior": prior.config.to_dict(),
        "codec_fingerprint": prior.codec_fingerprint,
        "info": prior.info,
    }
    return save_checkpoint(path, prior.state, KIND, config)


def load_prior(path: str | Path, codec_fingerprint: str | None = None) -> LearnedPrior:
    """Load a prior (a path, or a shipped codec's name for its shipped prior); with
    `codec_fingerprint`, refuse one trained for another codec."""
    from ..checkpoint import resolve_shipped

    path = resolve_shipped(path, SHIPPED)
    state, config = load_checkpoint(path, KIND)
    try:
        cfg = PriorConfig(**config["prior"])
        prior = LearnedPrior(cfg, state, str(config["codec_fingerprint"]), config.get("info", {}))
        expected = integer_state(ContextPrior(cfg))
        bad = [k for k, v in expected.items() if k not in state or state[k].shape != v.shape]
    except (KeyError, TypeError, ValueError) as e:
        raise CheckpointError(f"corrupt prior checkpoint metadata ({e})", path) from e
    if bad or set(state) != set(expected):
        raise CheckpointError(f"prior checkpoint does not match its config ({bad})", path)
    if codec_fingerprint is not None:
        prior.check_codec(codec_fingerprint, path)
    return prior
