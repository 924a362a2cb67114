"""Fuzz the readers (video, code file, store, checkpoint) with seeded mutants: see
`compressed_vision.bench.fuzz`. Writes results/fuzz.{json,md}.

    .venv/bin/python benchmarks/fuzz.py --cases 100 --seed 0
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compressed_vision.bench.fuzz import KINDS, run_fuzz

ROOT = Path(__file__).resolve().parents[1]
REAL_VIDEO = ROOT.parent / "shared" / "data" / "carphone_pristine.mp4"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100, help="mutants per kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=30.0, help="seconds per case")
    parser.add_argument(
        "--video",
        default=str(REAL_VIDEO) if REAL_VIDEO.is_file() else "generated",
        help="the video to mutate, or 'generated' (default: a real clip of ../shared/data)",
    )
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "fuzz")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="results folder")
    args = parser.parse_args()
    video = None if args.video == "generated" else Path(args.video)
    kinds = tuple(k for k in args.kinds.split(",") if k)
    written = run_fuzz(args.cases, args.work, args.out, args.seed, args.limit, video, kinds)
    print(written["md"].read_text())


if __name__ == "__main__":
    main()
