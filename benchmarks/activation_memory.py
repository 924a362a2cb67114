"""Activation memory per clip of the same backbone on codes and on pixels (issue 6):
`compressed_vision.bench.memory`. Prints the command, machine and table; writes
results/activation_memory.{json,md}.

    .venv/bin/python benchmarks/activation_memory.py [--codec cr240]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compressed_vision.bench.memory import activation_memory

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codec", default="cr240")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--pixel-downsample", type=int, default=8)
    p.add_argument("--out", type=Path, default=ROOT / "results", help="results folder")
    args = p.parse_args()
    written = activation_memory(args.codec, args.out, args.size, args.batch, args.pixel_downsample)
    print(written["md"].read_text())


if __name__ == "__main__":
    main()
