"""A codec's training recipe as data: what `cvis codec train`, `make weights`, the ablation
benchmark and the GPU script all run, so a shipped codec's recipe is one value. A recipe is
written in Python or in a JSON/TOML file (`load_recipe`); `run_recipe` trains it."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from ..config_file import load_config
from ..errors import CVError
from ..runtime import autocast, resolve_device, seed_everything
from ..train_loop import LoopConfig, infinite_batches, make_optimizer, to_device
from .config import CodecConfig, preset
from .data import training_clips
from .model import VideoCodec
from .train import codec_step, train_codec


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
    init: str | None = None  # starting weights: a checkpoint or a shipped codec's name
    amp: bool = False  # bfloat16 autocast: a speed setting, so a run may resume without it

    def __post_init__(self) -> None:
        object.__setattr__(self, "data", tuple(self.data))
        object.__setattr__(self, "val_data", tuple(self.val_data))
        try:
            self.codec_config()
        except (ValueError, TypeError) as e:  # an unknown preset, field or value
            raise CVError(f"bad codec config: {e}") from e

    def codec_config(self) -> CodecConfig:
        return preset(self.preset, **self.overrides)

    def identity(self) -> dict[str, Any]:
        """What a resumed run must share with the saved one (all but the step count)."""
        out = asdict(self)
        out.pop("steps")
        out.pop("amp")
        out["data"], out["val_data"] = list(self.data), list(self.val_data)
        return out


def load_recipe(
    path: str | Path | None = None, options: dict[str, Any] | None = None, **fields: Any
) -> CodecRecipe:
    """The recipe of a JSON or TOML file of CodecRecipe fields (if any) with the non-None
    `fields` on top; `options` (codec config fields) are added to its `overrides`."""
    recipe = load_config(CodecRecipe, path, **fields)
    return replace(recipe, overrides={**recipe.overrides, **options}) if options else recipe


def run_recipe(
    recipe: CodecRecipe,
    out: str | Path,
    device: torch.device | str = "auto",
    resume: bool = False,
    checkpoint_every: int = 200,
    cpu_budget_s: float = 0.0,
    show_progress: bool = True,
    minutes: float | None = None,
) -> tuple[VideoCodec, list[dict[str, float]]]:
    """Train the recipe to `out` (validating on every source at each checkpoint), or with
    `resume` continue the run saved there. With `minutes`, instead of the recipe's steps: as
    many as fit in that time here (`fit_steps`)."""
    device = resolve_device(device)
    if minutes:
        recipe = fit_steps(recipe, device, minutes)
        if show_progress:
            tqdm.write(f"{recipe.steps} steps fit in {minutes:g} minutes here")
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
        amp=recipe.amp,
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
        recipe.init,
    )


def seconds_per_step(recipe: CodecRecipe, device: torch.device, probe: int = 6) -> float:
    """Seconds one training step of `recipe` takes here (data included; the mean after two
    warm-up steps): CPU time of this process on the CPU,
    wall time on an accelerator."""
    train_set, _ = training_clips(
        list(recipe.data), recipe.frames, recipe.size, recipe.crop, recipe.seed, []
    )
    batches = infinite_batches(train_set, recipe.batch, recipe.seed)
    codec = VideoCodec(recipe.codec_config()).to(device).train()
    opt = make_optimizer(codec, LoopConfig(lr=recipe.lr))

    def clock() -> float:
        if device.type == "cpu":
            return time.process_time()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter()

    start = clock()
    for i in range(probe):
        if i == 2:
            start = clock()
        with autocast(device, recipe.amp):
            loss, _ = codec_step(codec, to_device(next(batches), device), recipe.ms_ssim)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return (clock() - start) / (probe - 2)


def fit_steps(recipe: CodecRecipe, device: torch.device, minutes: float) -> CodecRecipe:
    """The recipe with as many steps as fit in `minutes` here (see `seconds_per_step`)."""
    per_step = seconds_per_step(recipe, device)
    return replace(recipe, steps=max(10, int(minutes * 60 / per_step)))
