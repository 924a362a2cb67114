"""The learned lossless stage against zstd, on cr240 codes of footage the prior never saw
(`compressed_vision.bench.lossless`): bytes per held-out clip (bit-exact round trip checked)
and the read speed of random windows from a zstd and a learned store against PyAV.
Writes results/lossless.json and results/lossless.md.

    .venv/bin/python benchmarks/lossless_bench.py [--prior cr240] [--windows 30]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compressed_vision.bench.lossless import lossless_bench

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codec", default="cr240")
    ap.add_argument("--prior", default="cr240")
    ap.add_argument("--data", type=Path, default=DATA)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--photo-clips", type=int, default=24)
    ap.add_argument("--chunk-steps", type=int, default=32)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--windows", type=int, default=30)
    ap.add_argument("--out", type=Path, default=Path("results"), help="results folder")
    written = lossless_bench(**vars(ap.parse_args()))
    print(written["md"].read_text())


if __name__ == "__main__":
    main()
