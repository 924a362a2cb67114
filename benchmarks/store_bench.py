"""The code store: size on disk, random-window read throughput, and random access into long
videos.

1. A store is built (with `build_store`) from the clips in shared/data plus synthetic videos
   written as H.264 files, all resized to --size: its size on disk against the source files
   and against the raw uint8 frames at that size.
2. Random windows of --steps code steps: read from the store, against decoding the same
   frames from the source H.264 files with PyAV (seek to the keyframe before the window,
   decode, resize to --size as the store's frames were), one run on this machine.
3. Two long videos written directly as (random) codes, 10 and 60 minutes at 25 fps: the time
   to read a random window from the middle, at both lengths.

Runs `compressed_vision.bench.store.run_store_bench`: writes results/store_bench.json
(everything) and results/store_bench.md (the tables).

    .venv/bin/python benchmarks/store_bench.py [--codec CKPT] [--size 128] [--windows 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compressed_vision.bench.store import StoreBenchConfig, run_store_bench

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--codec", type=Path, help="codec checkpoint (default: train a tiny one)")
    p.add_argument("--train-steps", type=int, default=300)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--synthetic", type=int, default=16, help="synthetic videos")
    p.add_argument("--synthetic-frames", type=int, default=100)
    p.add_argument("--steps", type=int, default=16, help="code steps per window")
    p.add_argument("--windows", type=int, default=300)
    p.add_argument("--long-minutes", type=float, nargs=2, default=[10, 60])
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "store_bench")
    p.add_argument("--out", type=Path, default=ROOT / "results")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def main() -> None:
    written = run_store_bench(StoreBenchConfig(**vars(parse_args())))
    print(f"written: {written['json']}, {written['md']}")


if __name__ == "__main__":
    main()
