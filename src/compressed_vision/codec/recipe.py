"""A codec's training recipe as data: what `cvis codec train`, `make weights`, the ablation
benchmark and the GPU script all run, so a shipped codec's recipe is one value."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..train_loop import LoopConfig, infinite_batches
from .config import CodecConfig, preset
from .data import training_clips
from .model import VideoCodec
from .train import train_codec


@dataclass(frozen=True)
class CodecRecipe:
    """Model (a preset and overrides of its fields), data and optimisation of one run."""

    preset: str = "tiny"
    overrides: dict[str, Any] = field(default_factory=dict)
    data: tuple[str, ...] = ("synthetic",)
    val_data: tuple[str, ...] = ()
    steps: int = 1000
    batch: int = 8
    frames: int = 8
    size: int = 128
    crop: int | None = None
    lr: float = 2e-3
    ms_ssim: float = 0.0
    seed: int = 0

    def codec_config(self) -> CodecConfig:
        return preset(self.preset, **self.overrides)

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the saved one (all but the step count)."""
        out = asdict(self)
        out.pop("steps")
        out["data"], out["val_data"] = list(self.data), list(self.val_data)
        return out


def run_recipe(
    recipe: CodecRecipe,
    out: str | Path,
    device: torch.device,
    resume: bool = False,
    checkpoint_every: int = 200,
    amp: bool = False,
    cpu_budget_s: float = 0.0,
    show_progress: bool = True,
) -> tuple[VideoCodec, list[dict[str, float]]]:
    """Train the recipe to `out` (validating on every source at each checkpoint)."""
    from ..runtime import seed_everything

    seed_everything(recipe.seed)
    train_set, val_sets = training_clips(
        list(recipe.data),
        recipe.frames,
        recipe.size,
        recipe.crop,
        recipe.seed,
        list(recipe.val_data),
    )
    loop = LoopConfig(
        steps=recipe.steps,
        lr=recipe.lr,
        checkpoint_every=checkpoint_every,
        amp=amp,
        cpu_budget_s=cpu_budget_s,
    )
    return train_codec(
        recipe.codec_config(),
        infinite_batches(train_set, recipe.batch, recipe.seed),
        loop,
        device,
        out,
        show_progress,
        val_sets,
        resume,
        recipe.ms_ssim,
        recipe.identity(),
    )
