"""Random-clip decode time against the clip's position in a long video: seek against decode
from the start.

A 1-minute 128x128 25 fps video is filmed from the held-out photos by the virtual camera
(a new shot every 8 frames would be cuts everywhere: one 60-second camera path per photo
segment instead) and written as H.264 with libx264's default keyframe interval (250 frames,
10 s). At each position a `frames`-frame clip is read the way the RGB pipeline reads it
(`read_video(start=...)`, which seeks to the keyframe before the clip) and the old way
(decode from frame 0, keep the clip), and with the OpenCV decoder (`decoder="opencv"`,
which also seeks); the median of `reps` reads is reported.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import numpy as np
import torch

from ..report import Run, markdown_table, write_results
from ..sources.camera import CameraConfig, PhotoClips
from ..video.io import read_video, write_video
from ..video.opencv_read import read_clip_opencv

POSITIONS = (0.0, 0.1, 0.25, 0.5, 0.75, 0.95)


def long_video(path: Path, photos: Path, seconds: int, size: int = 128, fps: int = 25) -> Path:
    """`seconds` of camera footage: 2-second shots of the held-out photos in `photos`."""
    cfg = CameraConfig(frames=2 * fps, size=size, max_pan=0.01, cut_prob=0.0)
    clips = PhotoClips(photos, cfg, "val", val_clips=seconds // 2)
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


def seek_bench(
    photos: Path, work: Path, out: Path, seconds: int = 60, frames: int = 16, reps: int = 5
) -> dict[str, Path]:
    """Film the long video under `work`, time clip reads at each position; write
    `out`/seek_bench.{json,md}."""
    torch.set_num_threads(1)
    run = Run.here()
    path = long_video(work / "long.mp4", photos, seconds)
    total = len(read_video(path))
    rows = []
    for frac in POSITIONS:
        start = min(int(frac * total), total - frames)
        seek = timed(lambda s=start: read_video(path, start=s, count=frames), reps)
        fast = timed(lambda s=start: read_clip_opencv(path, s, frames), reps)
        scan = timed(lambda s=start: read_video(path, count=s + frames)[s:], max(1, reps // 2))
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
    body = (
        "The cores are shared with whatever else runs; PyAV decodes with its frame threads (as "
        f"the pipeline does), OpenCV with one. A {total}-frame ({total / 25:.0f} s) 128x128 "
        "H.264 video (CRF 23, keyframe every 250 frames) of the held-out photos filmed by the "
        f"virtual camera; a {frames}-frame clip read at each position, median of {reps} reads "
        f"(decode-from-start: of {max(1, reps // 2)}).\n\n" + markdown_table(rows)
    )
    title = "Random-clip decode time against position"
    return write_results(out, "seek_bench", title, {"rows": rows}, body, run)
