"""Random-clip decode time against the clip's position in a long video: seek against decode
from the start (`compressed_vision.bench.seek`). Writes results/seek_bench.{json,md}.

    .venv/bin/python benchmarks/seek_bench.py
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compressed_vision.bench.seek import seek_bench

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--photos", type=Path, default=PHOTOS)
    parser.add_argument("--work", type=Path, default=ROOT / "runs" / "seek_bench")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="results folder")
    args = parser.parse_args()
    written = seek_bench(args.photos, args.work, args.out, args.seconds, args.frames, args.reps)
    print(written["md"].read_text())


if __name__ == "__main__":
    main()
