"""Codec ablation at equal CPU time: which model is strongest per CPU-minute on real footage.

Every variant trains the same recipe (photos filmed by the virtual camera plus real clips;
`base_recipe`) for the same CPU time on one thread: its step count comes from timing a few
steps first, so the cosine schedule ends when the budget does. Validation is on footage
never trained on: the held-out photos in motion and the held-out real clip. Variants train in
parallel processes (`jobs`, one thread each); a finished variant's JSON is kept, so a killed
run resumes where it stopped. `codec_ablation` writes codec_ablation.{json,md}.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch

from ..codec import load_codec
from ..codec.recipe import CodecRecipe, run_recipe, seconds_per_step
from ..report import Run, markdown_table, write_results
from .codec import in_fresh_process

VARIANTS: dict[str, dict] = {
    "w32": {},
    "w64": {"overrides": {"channels": 64}},
    "w96": {"overrides": {"channels": 96}},
    "w64-deep": {"overrides": {"channels": 64, "res_blocks": 4}},
    "w64-fsq": {"overrides": {"channels": 64, "quantizer": "fsq", "codebook_dim": 4}},
    "w64-rvq": {"overrides": {"channels": 64, "quantizer": "rvq"}},
    "w64-msssim": {"overrides": {"channels": 64}, "ms_ssim": 0.02},
    "w32-dec64": {"overrides": {"channels": 32, "decoder_channels": 64}},
    "w32-bf16": {"amp": True},  # bfloat16 autocast: more steps in the same CPU time
}


def base_recipe(data: Path) -> dict[str, Any]:
    """The recipe every variant shares: the shipped cr240 model and optimiser settings, on
    real imagery of `data`. carphone (real camera footage) and a fixed fifth of the photos
    are never trained on."""
    return dict(
        preset="cr240",
        overrides={"channels": 32},
        data=(str(data / "photos"), str(data / "bigbuckbunny.mp4"), str(data / "bikes.mp4")),
        val_data=(str(data / "carphone_pristine.mp4"),),
        batch=8,
        frames=8,
        size=128,
        crop=64,
        lr=6e-4,
    )


def recipe_for(name: str, data: Path, steps: int) -> CodecRecipe:
    return CodecRecipe(steps=steps, **{**base_recipe(data), **VARIANTS[name]})


def encode_fps(codec, size: int = 128, frames: int = 32, reps: int = 3) -> float:
    """Frames per CPU-second of `codec.encode` at size x size (one thread): CPU time, so
    other jobs on the machine do not change it."""
    torch.set_num_threads(1)
    clip = torch.rand(1, 3, frames, size, size)
    codec.encode(clip)
    start = time.process_time()
    for _ in range(reps):
        codec.encode(clip)
    return reps * frames / (time.process_time() - start)


def run_variant(name: str, data: Path, minutes: float, work: Path) -> dict:
    """Train variant `name` for `minutes` of CPU time on one thread; its row, also written to
    `work`/`name`.json."""
    torch.set_num_threads(1)
    budget = minutes * 60
    per_step = seconds_per_step(recipe_for(name, data, 1), torch.device("cpu"))
    steps = max(10, int(budget / per_step))
    recipe = recipe_for(name, data, steps)
    cpu0 = time.process_time()
    codec, history = run_recipe(
        recipe,
        work / f"{name}.safetensors",
        torch.device("cpu"),
        checkpoint_every=max(1, steps // 4),
        cpu_budget_s=budget * 1.1,
        show_progress=False,
    )
    cpu = time.process_time() - cpu0
    log = json.loads((work / f"{name}.safetensors.log.json").read_text())[-1]
    params = sum(p.numel() for p in codec.parameters())
    row = {
        "variant": name,
        "bf16": recipe.amp,
        "params (M)": params / 1e6,
        "steps": len(history),
        "s/step": per_step,
        "CPU min": cpu / 60,
        "val PSNR (dB)": log["val_psnr"],
        **{k.split("/", 1)[1]: v for k, v in log.items() if k.startswith("val_psnr/")},
        "encode fps (128px, 1 thread)": encode_fps(codec),
        "recipe": asdict(recipe),
    }
    (work / f"{name}.json").write_text(json.dumps(row, indent=1))
    return row


def run_variant_logged(name: str, data: Path, minutes: float, work: Path) -> None:
    """`run_variant`, its output (and its threads' libraries') to `work`/`name`.log."""
    with open(work / f"{name}.log", "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        run_variant(name, data, minutes, work)


def codec_ablation(
    data: Path,
    work: Path,
    out: Path,
    minutes: float = 12.0,
    variants: tuple[str, ...] = tuple(VARIANTS),
    jobs: int = 2,
) -> dict[str, Path]:
    """Train every variant not yet done under `work` (`jobs` at once, each in a fresh
    process), then measure their encode speed here; written to `out`/codec_ablation.{json,md}."""
    run = Run.here()
    work.mkdir(parents=True, exist_ok=True)

    def launch(name: str) -> None:
        if not (work / f"{name}.json").exists():
            in_fresh_process(run_variant_logged, name, data, minutes, work)

    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(launch, variants))
    rows = [json.loads((work / f"{v}.json").read_text()) for v in variants]
    rows = [{"variant": r["variant"], "bf16": r.get("bf16", False), **r} for r in rows]
    for row in rows:  # encode speed of every variant here, one after another
        codec = load_codec(work / f"{row['variant']}.safetensors")
        row["encode fps (128px, 1 thread)"] = encode_fps(codec)
    best = max(rows, key=lambda r: r["val PSNR (dB)"])
    base = base_recipe(data)
    body = (
        f"{jobs} variants at once. Each variant trained "
        f"{minutes:g} CPU minutes on one thread (steps set by timing 4 steps first; "
        "the cosine schedule ends with the budget). Data: photos of `../shared/data/photos` "
        "(training split) filmed by the virtual camera, bigbuckbunny and bikes; "
        f"{base['frames']}-frame {base['crop']}x{base['crop']} crops, batch {base['batch']}, "
        f"lr {base['lr']}. Validation on footage never trained on: the held-out photos in "
        "motion (48 fixed clips) and carphone (every frame); `:tail` rows are the last 20 % "
        "of the training clips. PSNR at 64x64. Encode speed: frames per CPU-second of "
        "`codec.encode` on a 32-frame 128x128 clip, one thread, every variant measured in "
        "this process (25 fps real time is 25); w32, w32-dec64 and w32-bf16 share one "
        "encoder, so their spread is this measurement's noise on a machine shared with "
        "other jobs.\n\n"
        + markdown_table([{k: v for k, v in r.items() if k != "recipe"} for r in rows])
        + f"\nBest on the held-out footage at equal CPU time: {best['variant']} "
        f"({best['val PSNR (dB)']:.2f} dB, {best['steps']} steps).\n"
    )
    title = "Codec ablation at equal CPU time"
    return write_results(out, "codec_ablation", title, {"rows": rows}, body, run)
