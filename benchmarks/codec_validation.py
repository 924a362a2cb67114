"""PSNR of codecs on real footage none of them trained on: the gate a new shipped codec passes
(`compressed_vision.bench.codec.codec_validation`).

The validation sources of the codec recipes: the held-out photos of `../shared/data/photos`
filmed by the virtual camera (48 fixed clips) and every frame of carphone (real camera
footage), at `--size` (default 128x128, 8-frame clips).

    .venv/bin/python benchmarks/codec_validation.py --codec cr240 --codec runs/x.safetensors

`--write-clips DIR` writes the same held-out footage as video files for `cvis bench rd DIR`
(which compares with JPEG, H.264 and HEVC at equal bytes): carphone, and `--clips` 32-frame
clips of the held-out photos in motion, near-lossless (x264 CRF 4).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from compressed_vision.bench.codec import codec_validation, write_held_out_clips

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codec", action="append", default=[], help="name or checkpoint")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, default=SHARED)
    parser.add_argument("--name", default="codec_validation")
    parser.add_argument("--out", type=Path, default=ROOT / "results", help="results folder")
    parser.add_argument("--write-clips", type=Path, help="write held-out clips here and stop")
    parser.add_argument("--clips", type=int, default=6)
    args = parser.parse_args()
    if args.write_clips:
        write_held_out_clips(args.data, args.write_clips, args.clips)
        print(f"wrote carphone and {args.clips} held-out photo clips to {args.write_clips}")
        return
    if not args.codec:
        parser.error("give --codec (one or more) or --write-clips")
    written = codec_validation(
        args.codec, args.data, args.out, args.name, args.size, args.frames, args.threads
    )
    print(written["md"].read_text())


if __name__ == "__main__":
    main()
