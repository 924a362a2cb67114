"""Random latent augmentation as an `nn.Module`, for training loops over code latents."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from ..codec import Codec
from ..errors import CVError
from .network import LatentAugmenter, load_augmenter
from .params import Augmentation, applied_params


class RandomLatentAugment(nn.Module):
    """Augment a batch of latents (B, D, T', H', W') in training mode; identity in eval mode.

    Each type in `probs` is applied, in order, to each sample with its probability, with
    parameters drawn per sample from the usual ranges (a chosen flip always flips). The
    augmenter is frozen: no gradients flow into it and an outer optimizer never sees it.
    """

    def __init__(
        self,
        augmenter: LatentAugmenter,
        probs: Mapping[str, float] | None = None,
        seed: int | None = None,
    ):
        super().__init__()
        self.augmenter = augmenter.eval().requires_grad_(False)
        self.probs = (
            dict(probs) if probs is not None else dict.fromkeys(augmenter.config.types, 0.5)
        )
        untrained = set(self.probs) - set(augmenter.config.types)
        if untrained:
            raise CVError(
                f"the augmenter was not trained for {', '.join(sorted(untrained))} "
                f"(it knows {', '.join(augmenter.config.types)})"
            )
        if any(not 0 <= p <= 1 for p in self.probs.values()):
            raise CVError(f"probabilities must be in [0, 1], got {self.probs}")
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)

    @classmethod
    def from_checkpoint(
        cls,
        path: str | Path,
        codec: Codec,
        probs: Mapping[str, float] | None = None,
        device: str | torch.device = "cpu",
        seed: int | None = None,
    ) -> RandomLatentAugment:
        """Load the augmenter trained for `codec` (refused for any other codec)."""
        return cls(load_augmenter(path, codec, device), probs, seed)

    @torch.no_grad()
    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return latents
        out = latents
        for kind, p in self.probs.items():
            chosen = (torch.rand(len(out), generator=self.generator) < p).nonzero().flatten()
            if len(chosen):
                aug = Augmentation.of(kind, applied_params(kind, len(chosen), self.generator))
                index = chosen.to(out.device)
                out = out.index_copy(0, index, self.augmenter(out[index], aug).to(out.dtype))
        return out

    def extra_repr(self) -> str:
        return f"probs={self.probs}"
