"""Codec ablation at equal CPU time: which model is strongest per CPU-minute on real footage.

Every variant trains the same recipe (photos filmed by the virtual camera plus real clips;
`BASE` below) for the same CPU time on one thread: its step count comes from timing a few
steps first, so the cosine schedule ends when the budget does. Validation is on footage
never trained on: the held-out photos in motion and the held-out real clip. Variants run in
parallel processes (`--jobs`, one thread each); a finished variant's JSON is kept, so a
killed run resumes where it stopped.

    .venv/bin/python benchmarks/codec_ablation.py --minutes 12 --jobs 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"

# The recipe every variant shares: the shipped cr240 model and optimiser settings, on real
# imagery. carphone (real camera footage) and a fixed fifth of the photos are never trained on.
BASE = dict(
    preset="cr240",
    overrides={"channels": 32},
    data=(str(SHARED / "photos"), str(SHARED / "bigbuckbunny.mp4"), str(SHARED / "bikes.mp4")),
    val_data=(str(SHARED / "carphone_pristine.mp4"),),
    batch=8,
    frames=8,
    size=128,
    crop=64,
    lr=6e-4,
)
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


def recipe_for(name: str, steps: int):
    from compressed_vision.codec.recipe import CodecRecipe

    fields = {**BASE, **VARIANTS[name]}
    fields["data"], fields["val_data"] = tuple(fields["data"]), tuple(fields["val_data"])
    return CodecRecipe(steps=steps, **fields)


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


def run_one(name: str, minutes: float, out_dir: Path) -> dict:
    """Train variant `name` for `minutes` of CPU time on one thread; returns its row."""
    from compressed_vision.codec.recipe import run_recipe, seconds_per_step

    torch.set_num_threads(1)
    budget = minutes * 60
    per_step = seconds_per_step(recipe_for(name, 1), torch.device("cpu"))
    steps = max(10, int(budget / per_step))
    recipe = recipe_for(name, steps)
    cpu0 = time.process_time()
    codec, history = run_recipe(
        recipe,
        out_dir / f"{name}.safetensors",
        torch.device("cpu"),
        checkpoint_every=max(1, steps // 4),
        cpu_budget_s=budget * 1.1,
        show_progress=False,
    )
    cpu = time.process_time() - cpu0
    log = json.loads((out_dir / f"{name}.safetensors.log.json").read_text())[-1]
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
    (out_dir / f"{name}.json").write_text(json.dumps(row, indent=1))
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=12.0, help="CPU minutes per variant")
    parser.add_argument("--variants", nargs="*", default=list(VARIANTS))
    parser.add_argument("--jobs", type=int, default=2, help="variants trained at once")
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "codec_ablation")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    if args.one:
        run_one(args.one, args.minutes, args.work)
        return

    def launch(name: str) -> None:
        if (args.work / f"{name}.json").exists():
            return
        env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
        cmd = [sys.executable, __file__, "--one", name, "--minutes", str(args.minutes)]
        cmd += ["--work", str(args.work)]
        with open(args.work / f"{name}.log", "w") as log:
            subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)

    with ThreadPoolExecutor(args.jobs) as pool:
        list(pool.map(launch, args.variants))
    rows = [json.loads((args.work / f"{v}.json").read_text()) for v in args.variants]
    rows = [{"variant": r["variant"], "bf16": r.get("bf16", False), **r} for r in rows]
    from compressed_vision.codec import load_codec

    for row in rows:  # encode speed of every variant here, one after another
        codec = load_codec(args.work / f"{row['variant']}.safetensors")
        row["encode fps (128px, 1 thread)"] = encode_fps(codec)
    from compressed_vision.report import markdown_table, write_report

    best = max(rows, key=lambda r: r["val PSNR (dB)"])

    command = "benchmarks/codec_ablation.py " + " ".join(sys.argv[1:])
    machine = f"{platform.machine()}, {os.cpu_count()} cores, {args.jobs} variants at once"
    table = (
        "# Codec ablation at equal CPU time\n\n"
        f"`{command}` on {machine}. Each variant trained "
        f"{args.minutes:g} CPU minutes on one thread (steps set by timing 4 steps first; "
        "the cosine schedule ends with the budget). Data: photos of `../shared/data/photos` "
        "(training split) filmed by the virtual camera, bigbuckbunny and bikes; "
        f"{BASE['frames']}-frame {BASE['crop']}x{BASE['crop']} crops, batch {BASE['batch']}, "
        f"lr {BASE['lr']}. Validation on footage never trained on: the held-out photos in "
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
    write_report(args.out, "codec_ablation", {"command": command, "rows": rows}, table)
    print(table)


if __name__ == "__main__":
    main()
