"""Random-clip decode time against the clip's position in a long video: seek against decode
from the start.

A 1-minute 128x128 25 fps video is filmed from the held-out photos by the virtual camera
(a new shot every 8 frames would be cuts everywhere: one 60-second camera path per photo
segment instead) and written as H.264 with libx264's default keyframe interval (250 frames,
10 s). At each position a `--frames`-frame clip is read the way the RGB pipeline reads it
(`read_video(start=...)`, which seeks to the keyframe before the clip) and the old way
(decode from frame 0, keep the clip), and with the OpenCV decoder (`decoder="opencv"`,
which also seeks); the median of `--reps` reads is reported.

    .venv/bin/python benchmarks/seek_bench.py
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

from compressed_vision.report import markdown_table, write_report
from compressed_vision.sources.camera import CameraConfig, PhotoClips
from compressed_vision.video.io import read_video, write_video
from compressed_vision.video.opencv_read import read_clip_opencv

ROOT = Path(__file__).resolve().parents[1]
PHOTOS = ROOT.parent / "shared" / "data" / "photos"


def long_video(path: Path, seconds: int, size: int = 128, fps: int = 25) -> Path:
    """`seconds` of camera footage: 2-second shots of the held-out photos."""
    cfg = CameraConfig(frames=2 * fps, size=size, max_pan=0.01, cut_prob=0.0)
    clips = PhotoClips(PHOTOS, cfg, "val", val_clips=seconds // 2)
    chunks = (
        (clips[i]["video"].permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8)
        for i in range(len(clips))
    )
    return write_video(path, chunks, fps=fps, crf=23)


def timed(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "results")
    args = parser.parse_args()
    torch.set_num_threads(1)
    path = long_video(ROOT / "runs" / "seek_bench" / "long.mp4", args.seconds)
    total = len(read_video(path))
    rows = []
    for frac in (0.0, 0.1, 0.25, 0.5, 0.75, 0.95):
        start = min(int(frac * total), total - args.frames)
        seek = timed(lambda s=start: read_video(path, start=s, count=args.frames), args.reps)
        fast = timed(lambda s=start: read_clip_opencv(path, s, args.frames), args.reps)
        scan = timed(
            lambda s=start: read_video(path, count=s + args.frames)[s:], max(1, args.reps // 2)
        )
        rows.append(
            {
                "clip start (s)": start / 25,
                "seek + decode (ms)": seek * 1e3,
                "OpenCV seek + decode (ms)": fast * 1e3,
                "decode from start (ms)": scan * 1e3,
                "from start / seek": scan / seek,
                "PyAV / OpenCV": seek / fast,
            }
        )
        print(rows[-1], flush=True)
    command = "benchmarks/seek_bench.py " + " ".join(sys.argv[1:])
    table = (
        f"# Random-clip decode time against position\n\n`{command}` on {platform.machine()}, "
        f"{os.cpu_count()} cores (shared with whatever else runs); PyAV decodes with its "
        "frame threads (as the pipeline does), OpenCV with one. "
        f"A {total}-frame "
        f"({total / 25:.0f} s) 128x128 H.264 video (CRF 23, keyframe every 250 frames) of the "
        f"held-out photos filmed by the virtual camera; a {args.frames}-frame clip read at "
        f"each position, median of {args.reps} reads (decode-from-start: of "
        f"{max(1, args.reps // 2)}).\n\n" + markdown_table(rows)
    )
    write_report(args.out, "seek_bench", {"command": command, "rows": rows}, table)
    print(table)


if __name__ == "__main__":
    main()
