"""Codec encode speed and streaming memory (`compressed_vision.bench.codec.codec_speed`):
encode throughput at 128x128, and peak memory of streaming encode of a long synthetic mp4 at
each length of --minutes, each in a fresh process. Writes results/codec_bench.{json,md}.

    .venv/bin/python benchmarks/codec_bench.py --codec CKPT [--minutes 2 10]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compressed_vision.bench.codec import codec_speed

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codec", type=Path, required=True)
    p.add_argument("--minutes", type=float, nargs="+", default=[2, 10])
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "codec_bench")
    p.add_argument("--out", type=Path, default=ROOT / "results", help="results folder")
    args = p.parse_args()
    written = codec_speed(args.codec, args.work, args.out, tuple(args.minutes))
    print(written["md"].read_text())


if __name__ == "__main__":
    main()
