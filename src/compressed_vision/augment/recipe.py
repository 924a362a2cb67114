"""An augmenter's training recipe as data: the codec it serves, the network's shape, the
data and the optimisation; written in Python or in a JSON/TOML file (`load_recipe`), trained
by `run_recipe` (what `cvis augment train` runs)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..codec import load_codec
from ..codec.data import training_clips
from ..config_file import load_config
from ..errors import CVError
from ..runtime import resolve_device, seed_everything
from ..train_loop import LoopConfig, infinite_batches
from .network import DEFAULT_TYPES, AugmenterConfig, LatentAugmenter, load_augmenter, specialise
from .params import parse_types
from .train import train_augmenter


@dataclass(frozen=True)
class AugmenterRecipe:
    """What `cvis augment train` trains: its flags are these fields."""

    codec: str | None = None  # the codec the augmenter serves (required)
    types: tuple[str, ...] = DEFAULT_TYPES
    data: tuple[str, ...] = ("synthetic",)  # folders of videos (recursive) or "synthetic"
    steps: int = 2000
    batch: int = 8
    frames: int = 4  # frames per training clip (the augmenter works per code step)
    size: int = 64  # videos are centre-cropped to this size
    crop: int | None = None  # random crop size (None: size)
    lr: float = 2e-3
    width: int = 48  # channels of the correction network
    blocks: int = 3  # residual blocks of the correction network
    fine: int = 0  # also warp on a learned grid this many times finer (0: off)
    per_type: bool = False  # one network per type, not one shared
    init: str | None = None  # start from this augmenter (its architecture, a new schedule)
    specialise: str | None = None  # with init: train this type's network on this type alone
    pixel_weight: float = 1.0  # weight of the decoded-pixel loss
    seed: int = 0
    amp: bool = False  # bfloat16 autocast (CUDA, or a CPU with native bfloat16)

    def __post_init__(self) -> None:
        if not self.codec:
            raise CVError("an augmenter is trained for a codec: give one (--codec)")
        if self.specialise is not None and self.init is None:
            raise CVError("--specialise needs --init: the augmenter to split a type off")
        object.__setattr__(self, "types", parse_types(self.types))
        object.__setattr__(self, "data", tuple(self.data))
        try:
            self.network(latent_dim=1)
        except ValueError as e:  # a shape that is not positive
            raise CVError(f"bad augmenter: {e}") from e

    def network(self, latent_dim: int) -> AugmenterConfig:
        """The network's shape for a codec of latents of `latent_dim` channels."""
        separate = self.types if self.per_type else ()
        return AugmenterConfig(
            latent_dim, self.types, self.width, self.blocks, separate=separate, fine=self.fine
        )


def load_recipe(path: str | Path | None = None, **fields: Any) -> AugmenterRecipe:
    """The recipe of a JSON or TOML file of AugmenterRecipe fields (if any) with the
    non-None `fields` on top."""
    return load_config(AugmenterRecipe, path, **fields)


def run_recipe(
    recipe: AugmenterRecipe,
    out: str | Path,
    device: torch.device | str = "auto",
    checkpoint_every: int = 500,
    show_progress: bool = True,
) -> tuple[LatentAugmenter, list[dict[str, float]]]:
    """Train the recipe's augmenter for its codec and save it to `out` (every
    `checkpoint_every` steps, 0: at the end), with a `.log.json` of the last steps' metrics."""
    seed_everything(recipe.seed)
    device = resolve_device(device)
    codec = load_codec(recipe.codec, device)
    start = None
    if recipe.init is not None:
        start = load_augmenter(recipe.init, codec, device, warm_start=True)
        if recipe.specialise is not None:
            start = specialise(start, recipe.specialise)
    train_set, _ = training_clips(
        list(recipe.data), recipe.frames, recipe.size, recipe.crop, recipe.seed
    )
    loop = LoopConfig(
        steps=recipe.steps, lr=recipe.lr, checkpoint_every=checkpoint_every, amp=recipe.amp
    )
    return train_augmenter(
        codec,
        infinite_batches(train_set, recipe.batch, recipe.seed),
        loop,
        device,
        recipe.network(codec.latent_dim),
        out,
        recipe.pixel_weight,
        recipe.seed,
        show_progress,
        init=start,
        kinds=(recipe.specialise,) if recipe.specialise else None,
    )
