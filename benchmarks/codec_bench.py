"""Codec encode speed and streaming memory.

1. Encode throughput at 128x128: frames per second of `codec.encode` on 64-frame clips,
   and the ratio to real time at 25 fps.
2. Streaming encode of a long file: a synthetic 128x128 25 fps video written to mp4 at two
   lengths; each is encoded by `encode_file` (chunk by chunk) in a fresh process, and the
   process's peak resident memory is reported: flat in the length means streaming works.

    .venv/bin/python benchmarks/codec_bench.py --codec CKPT [--minutes 2 10]
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

from compressed_vision.codec import load_codec
from compressed_vision.report import markdown_table, write_report
from compressed_vision.sources.synthetic import SyntheticConfig, make_video
from compressed_vision.video.io import write_video

ROOT = Path(__file__).resolve().parents[1]


def long_video_chunks(minutes: float, size: int = 128, fps: int = 25):
    """Synthetic footage, 10 s (a sequence of motions) at a time, never whole in memory."""
    cfg = SyntheticConfig(frames=10 * fps, size=size, segments=4, seed=7)
    for i in range(int(minutes * 60 / 10)):
        video = make_video(cfg, i)[0]  # (3, T, H, W)
        yield (video.permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8)


def encode_throughput(codec_path: Path, size: int = 128, frames: int = 64, reps: int = 3) -> dict:
    codec = load_codec(codec_path)
    clip = torch.rand(1, 3, frames, size, size)
    codec.encode(clip)  # warm-up
    start = time.perf_counter()
    for _ in range(reps):
        codec.encode(clip)
    fps = reps * frames / (time.perf_counter() - start)
    return {"size": size, "encode_fps": fps, "x_real_time_25fps": fps / 25}


def child(codec_path: str, video: str) -> None:
    """Run in a fresh process: stream-encode `video`, print peak RSS and timing as JSON."""
    from compressed_vision.codec.files import encode_file

    codec = load_codec(codec_path)
    start = time.perf_counter()
    codes, meta = encode_file(codec, video, torch.device("cpu"))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "frames": meta["frames"],
                "codes_shape": list(codes.shape),
                "seconds": seconds,
                "peak_rss_mb": peak_mb,
            }
        )
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codec", type=Path, required=True)
    p.add_argument("--minutes", type=float, nargs="+", default=[2, 10])
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "codec_bench")
    p.add_argument("--out", type=Path, default=ROOT / "results")
    p.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        return child(*args.child)
    command = "python " + " ".join(sys.argv)
    rows = []
    for minutes in args.minutes:
        path = args.work / f"long_{minutes:g}min.mp4"
        if not path.exists():
            write_video(path, long_video_chunks(minutes), fps=25)
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--codec",
                str(args.codec),
                "--child",
                str(args.codec),
                str(path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        stats = json.loads(out.stdout.strip().splitlines()[-1])
        rows.append(
            {
                "video minutes": minutes,
                "frames": stats["frames"],
                "peak RSS (MB)": round(stats["peak_rss_mb"], 1),
                "decode+encode fps": round(stats["frames"] / stats["seconds"], 1),
                "x real time": round(stats["frames"] / stats["seconds"] / 25, 2),
            }
        )
    speed = encode_throughput(args.codec)
    machine = f"{platform.platform()}, {torch.get_num_threads()} threads"
    table = (
        f"command: `{command}`\n\nmachine: {machine}\n\ncodec: {args.codec}\n\n"
        f"encode only, 128x128: {speed['encode_fps']:.0f} frames/s = "
        f"{speed['x_real_time_25fps']:.1f}x real time at 25 fps\n\n"
        "streaming encode of a synthetic 128x128 25 fps mp4 (PyAV decode + encode):\n\n"
        + markdown_table(rows)
    )
    write_report(
        args.out,
        "codec_bench",
        {
            "command": command,
            "machine": machine,
            "codec": str(args.codec),
            "throughput": speed,
            "streaming": rows,
        },
        table,
    )
    print(table)


if __name__ == "__main__":
    main()
