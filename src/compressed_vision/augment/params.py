"""Batches of augmentations (one type and one parameter row per sample), their sampling, and
the conditioning vector the augmentation network reads.

The conditioning vector has a fixed layout for every augmenter: a one-hot of the type over
`TRANSFORMS`, then one slot per parameter of every type (zero except the sample's own type),
each scaled to about [-1, 1] over its sampling range.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch

from ..errors import CVError
from ..video.transforms import (
    PARAM_NAMES,
    SAMPLE_RANGES,
    TRANSFORMS,
    affine_theta,
    apply_transform,
    sample_params,
)

MAX_PARAMS = max(len(names) for names in PARAM_NAMES.values())
COND_DIM = len(TRANSFORMS) + sum(len(names) for names in PARAM_NAMES.values())


def _slot_starts() -> dict[str, int]:
    """Where each type's parameters start in the conditioning vector."""
    starts, position = {}, len(TRANSFORMS)
    for kind in TRANSFORMS:
        starts[kind] = position
        position += len(PARAM_NAMES[kind])
    return starts


_SLOTS = _slot_starts()


def type_index(kind: str) -> int:
    if kind not in TRANSFORMS:
        raise CVError(f"unknown augmentation {kind!r}; choose from {', '.join(TRANSFORMS)}")
    return TRANSFORMS.index(kind)


def parse_types(text: str | Sequence[str]) -> tuple[str, ...]:
    """ "flip,crop" or ["flip", "crop"] -> ("flip", "crop"), checked, without repeats."""
    names = text.split(",") if isinstance(text, str) else list(text)
    kinds = tuple(dict.fromkeys(n.strip() for n in names if n.strip()))
    if not kinds:
        raise CVError("no augmentation type given")
    for kind in kinds:
        type_index(kind)
    return kinds


@dataclass
class Augmentation:
    """A batch of augmentations: `types` (B,) indices into `TRANSFORMS` and `params`
    (B, MAX_PARAMS), each row zero-padded after its type's parameters."""

    types: torch.Tensor
    params: torch.Tensor

    def __len__(self) -> int:
        return self.types.shape[0]

    @classmethod
    def of(cls, kind: str, params: torch.Tensor) -> Augmentation:
        """Every sample of the batch gets the augmentation `kind` with its row of `params`."""
        params = params.float().reshape(params.shape[0], -1)
        types = torch.full((params.shape[0],), type_index(kind), device=params.device)
        padded = torch.nn.functional.pad(params, (0, MAX_PARAMS - params.shape[1]))
        return cls(types, padded)

    def to(self, device: str | torch.device) -> Augmentation:
        return Augmentation(self.types.to(device), self.params.to(device))

    def groups(self) -> Iterator[tuple[str, torch.Tensor, torch.Tensor]]:
        """(type, sample indices, their parameters (n, P)) for every type in the batch."""
        for t in self.types.unique().tolist():
            kind = TRANSFORMS[t]
            index = (self.types == t).nonzero().flatten()
            yield kind, index, self.params[index, : len(PARAM_NAMES[kind])]


def sample_augmentation(
    kinds: Sequence[str], batch: int, generator: torch.Generator | None = None
) -> Augmentation:
    """A type drawn uniformly from `kinds` per sample, and its parameters from
    `video.transforms.sample_params` (on the CPU)."""
    choice = torch.randint(len(kinds), (batch,), generator=generator)
    types = torch.tensor([type_index(k) for k in kinds])[choice]
    params = torch.zeros(batch, MAX_PARAMS)
    for i, kind in enumerate(kinds):
        index = (choice == i).nonzero().flatten()
        if len(index):
            params[index, : len(PARAM_NAMES[kind])] = sample_params(kind, len(index), generator)
    return Augmentation(types, params)


def applied_params(kind: str, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random parameters (n, P) of an augmentation that changes every clip (a flip flips)."""
    return torch.ones(n, 1) if kind == "flip" else sample_params(kind, n, generator)


def _normalise(kind: str, params: torch.Tensor) -> torch.Tensor:
    """Parameters scaled to about [-1, 1] over their sampling range."""
    if kind in ("flip", "crop"):
        return 2 * params - 1
    lo, hi = SAMPLE_RANGES[kind]
    return (params - (lo + hi) / 2) / ((hi - lo) / 2)


def conditioning(aug: Augmentation) -> torch.Tensor:
    """The (B, COND_DIM) conditioning vectors of a batch of augmentations."""
    cond = torch.zeros(len(aug), COND_DIM, device=aug.params.device)
    cond[torch.arange(len(aug), device=cond.device), aug.types] = 1
    for kind, index, params in aug.groups():
        start = _SLOTS[kind]
        cond[index, start : start + params.shape[1]] = _normalise(kind, params.float())
    return cond


def apply_pixels(video: torch.Tensor, aug: Augmentation) -> torch.Tensor:
    """The pixel-space ground truth: each clip of (B, 3, T, H, W) under its augmentation."""
    out = torch.empty_like(video)
    for kind, index, params in aug.groups():
        index = index.to(video.device)
        out[index] = apply_transform(kind, video[index], params)
    return out


def geometry(aug: Augmentation, height: int, width: int) -> torch.Tensor:
    """(B, 2, 3) affine maps of the geometric augmentations (identity for the others)."""
    theta = torch.zeros(len(aug), 2, 3, device=aug.params.device)
    for kind, index, params in aug.groups():
        theta[index] = affine_theta(kind, params, height, width)
    return theta
