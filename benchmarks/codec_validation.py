"""PSNR of codecs on real footage none of them trained on: the gate a new shipped codec passes.

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
import os
import platform
import shutil
import sys
import time
from pathlib import Path

import torch

from compressed_vision.codec import load_codec
from compressed_vision.codec.data import training_clips
from compressed_vision.codec.train import validate_sources
from compressed_vision.report import markdown_table, write_report

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def write_clips(folder: Path, count: int) -> None:
    from compressed_vision.sources.camera import CameraConfig, PhotoClips
    from compressed_vision.video.io import write_video

    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(SHARED / "carphone_pristine.mp4", folder)
    clips = PhotoClips(SHARED / "photos", CameraConfig(frames=32, size=128), "val", val_clips=count)
    for i in range(count):
        frames = (clips[i]["video"].permute(1, 2, 3, 0).numpy() * 255).round().astype("uint8")
        write_video(folder / f"photos_val_{i}.mp4", frames, fps=25, crf=4)
    print(f"wrote carphone and {count} held-out photo clips to {folder}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--codec", action="append", default=[], help="name or checkpoint")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--frames", type=int, default=8)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--name", default="codec_validation")
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    parser.add_argument("--write-clips", type=Path, help="write held-out clips here and stop")
    parser.add_argument("--clips", type=int, default=6)
    args = parser.parse_args()
    if args.write_clips:
        write_clips(args.write_clips, args.clips)
        return
    if not args.codec:
        parser.error("give --codec (one or more) or --write-clips")
    torch.set_num_threads(args.threads)
    held_out = [str(SHARED / "photos"), str(SHARED / "carphone_pristine.mp4")]
    _, val = training_clips([], args.frames, args.size, None, 0, held_out)
    rows = []
    for spec in args.codec:
        codec = load_codec(spec)
        start = time.perf_counter()
        scores = validate_sources(codec, val, torch.device("cpu"))
        rows.append(
            {
                "codec": spec,
                "CR": codec.compression_rate((args.frames, args.size, args.size)),
                "val PSNR (dB)": scores["val_psnr"],
                **{k.split("/", 1)[1]: v for k, v in scores.items() if "/" in k},
                "eval s": time.perf_counter() - start,
            }
        )
        print(rows[-1], flush=True)
    command = "benchmarks/codec_validation.py " + " ".join(sys.argv[1:])
    table = (
        f"# Codecs on held-out real footage\n\n`{command}` on {platform.machine()}, "
        f"{os.cpu_count()} cores, {args.threads} threads. {args.frames}-frame "
        f"{args.size}x{args.size} clips: 48 fixed clips of the held-out photos filmed by the "
        "virtual camera, and every frame of carphone_pristine.mp4; no codec here trained on "
        "either. val PSNR is their mean.\n\n" + markdown_table(rows)
    )
    write_report(args.out, args.name, {"command": command, "rows": rows}, table)
    print(table)


if __name__ == "__main__":
    main()
