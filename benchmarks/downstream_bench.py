"""Downstream training on codes against JPEG, H.264 and raw RGB (issue 6).

Runs `compressed_vision.bench.downstream.run_downstream`: the same backbone, task and
training budget on raw RGB (near-lossless H.264 files at the training size, decoded with
PyAV), JPEG and H.264 at the codec's compression rate, and the codec's codes without and
with latent augmentation; on the synthetic whole-video and frame-wise tasks and on the
label-free real-footage tasks (playback speed, arrow of time) over --data; and on the
camera-motion tasks (13 classes, whole-video and frame-wise) over the photos in --data/photos,
split by photo. Every run trains
in its own process. Prints the command, machine, inputs and figures; writes
results/downstream_bench.{json,md,png}.

    nice -n 15 .venv/bin/python benchmarks/downstream_bench.py --codec CKPT [--preset small]
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace
from pathlib import Path

# On a shared CPU, OpenMP threads that spin while waiting for a descheduled sibling burn CPU
# time that says nothing about the work: let them sleep (inherited by the training processes).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from compressed_vision.bench.downstream import DOWNSTREAM_PRESETS, run_downstream  # noqa: E402
from compressed_vision.cli.options import parse_options  # noqa: E402
from compressed_vision.report import Run  # noqa: E402
from compressed_vision.runtime import resolve_device  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codec", default="cr240", help="codec checkpoint or shipped name")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--preset", default="small", choices=sorted(DOWNSTREAM_PRESETS))
    p.add_argument("--steps", type=int, help="training steps per run (synthetic tasks)")
    p.add_argument("--real-steps", type=int, help="training steps per run (real footage)")
    p.add_argument("--train-videos", type=int)
    p.add_argument("--test-videos", type=int)
    p.add_argument("--latent-augment", help="augmenter checkpoint (default: naive grid op)")
    p.add_argument("--backbone", help="cnn3d, s3d, r2plus1d or vit (default: the preset's)")
    p.add_argument("--option", action="append", help="backbone option key=value; repeat")
    p.add_argument(
        "--tasks", help="subset of video,frames,speed,arrow,camera,camera_frames (default: all)"
    )
    p.add_argument("--inputs", help="subset of rgb,rgb+aug,jpeg,h264,decoded,codes,codes+aug")
    p.add_argument("--name", default="downstream_bench", help="base name of the written files")
    p.add_argument("--seeds", type=int, help="training runs per (task, input); top-1 is their mean")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "downstream_bench")
    p.add_argument("--out", type=Path, default=ROOT / "results")
    p.add_argument("--device", default="auto")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    cfg = replace(
        DOWNSTREAM_PRESETS[args.preset],
        codec=args.codec,
        real_videos=str(args.data) if args.data.is_dir() else None,
        photos=str(args.data / "photos") if (args.data / "photos").is_dir() else None,
        device=args.device,
    )
    changes = {
        "steps": args.steps,
        "real_steps": args.real_steps,
        "train_videos": args.train_videos,
        "test_videos": args.test_videos,
        "latent_augment": args.latent_augment,
        "tasks": tuple(args.tasks.split(",")) if args.tasks else None,
        "inputs": tuple(args.inputs.split(",")) if args.inputs else None,
        "backbone": args.backbone,
        "backbone_options": parse_options(args.option),
        "seeds": args.seeds,
    }
    cfg = replace(cfg, **{k: v for k, v in changes.items() if v is not None})
    print(Run.here(resolve_device(args.device)))
    print(f"load average {os.getloadavg()[0]:.1f}, OMP_WAIT_POLICY={os.environ['OMP_WAIT_POLICY']}")
    print(f"inputs: {', '.join(cfg.inputs)}; tasks: {', '.join(cfg.tasks)}; config: {cfg}")
    began = time.perf_counter()
    result = run_downstream(cfg, args.out, args.name, work_dir=args.work)
    print(result["table"])
    print(f"wall time {time.perf_counter() - began:.0f} s; written under {args.out}")


if __name__ == "__main__":
    main()
