"""A codec's speed, streaming memory and quality on held-out real footage.

- `codec_speed`: encode throughput at 128x128 (frames per second of `codec.encode` on 64-frame
  clips, and the ratio to real time at 25 fps); and streaming encode of a long file: a
  synthetic 128x128 25 fps video written to mp4 at several lengths, each encoded by
  `encode_file` (chunk by chunk) in a fresh process whose peak resident memory is reported:
  flat in the length means streaming works.
- `codec_validation`: PSNR of codecs on real footage none of them trained on (the held-out
  photos filmed by the virtual camera and every frame of carphone), the gate a new shipped
  codec passes; `write_held_out_clips` writes the same footage as video files for
  `cvis bench rd`.
"""

from __future__ import annotations

import multiprocessing
import resource
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..codec import load_codec
from ..codec.data import training_clips
from ..codec.train import validate_sources
from ..report import Run, markdown_table, write_results
from ..sources.camera import CameraConfig, PhotoClips
from ..sources.synthetic import SyntheticConfig, make_video
from ..video.io import write_video


def long_video_chunks(minutes: float, size: int = 128, fps: int = 25):
    """Synthetic footage, 10 s (a sequence of motions) at a time, never whole in memory."""
    cfg = SyntheticConfig(frames=10 * fps, size=size, segments=4, seed=7)
    for i in range(int(minutes * 60 / 10)):
        video = make_video(cfg, i)[0]  # (3, T, H, W)
        yield (video.permute(1, 2, 3, 0).numpy() * 255).round().astype(np.uint8)


def encode_throughput(
    codec_spec: str | Path, size: int = 128, frames: int = 64, reps: int = 3
) -> dict[str, Any]:
    """Encode-only frames/s of one codec on `frames`-frame clips, in this process's threads."""
    codec = load_codec(codec_spec)
    clip = torch.rand(1, 3, frames, size, size)
    codec.encode(clip)  # warm-up
    start = time.perf_counter()
    for _ in range(reps):
        codec.encode(clip)
    fps = reps * frames / (time.perf_counter() - start)
    return {
        "codec": str(codec_spec),
        "CR": round(codec.compression_rate((frames, size, size)), 1),
        "encode fps": round(fps, 1),
        "x real time (25 fps)": round(fps / 25, 2),
    }


def stream_encode(codec_path: str, video: str) -> dict:
    """Run in a fresh process: stream-encode `video`; its peak RSS and timing."""
    from ..codec.files import encode_file

    codec = load_codec(codec_path)
    start = time.perf_counter()
    codes, meta = encode_file(codec, video, torch.device("cpu"))
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "frames": meta["frames"],
        "codes_shape": list(codes.shape),
        "seconds": seconds,
        "peak_rss_mb": peak_mb,
    }


def in_fresh_process(fn, *args):
    """`fn(*args)` in a new (spawned) process, so its peak memory is its own."""
    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def codec_speed(
    codecs: list[str | Path], work: Path, out: Path, minutes: tuple[float, ...] = (2, 10)
) -> dict[str, Path]:
    """Encode throughput of each codec (at 128x128: the speed a wider or finer codec costs),
    then streaming encode with the first at each length of `minutes`; written to
    `out`/codec_bench.{json,md}."""
    run = Run.here()
    rows = []
    for length in minutes:
        path = work / f"long_{length:g}min.mp4"
        if not path.exists():
            write_video(path, long_video_chunks(length), fps=25)
        stats = in_fresh_process(stream_encode, str(codecs[0]), str(path))
        rows.append(
            {
                "video minutes": length,
                "frames": stats["frames"],
                "peak RSS (MB)": round(stats["peak_rss_mb"], 1),
                "decode+encode fps": round(stats["frames"] / stats["seconds"], 1),
                "x real time": round(stats["frames"] / stats["seconds"] / 25, 2),
            }
        )
    speeds = [in_fresh_process(encode_throughput, str(c)) for c in codecs]
    body = (
        "encode only, 128x128 (64-frame clips, each codec in a fresh process):\n\n"
        + markdown_table(speeds)
        + f"\nstreaming encode with {codecs[0]} of a synthetic 128x128 25 fps mp4 "
        "(PyAV decode + encode):\n\n" + markdown_table(rows)
    )
    payload = {"codecs": [str(c) for c in codecs], "throughput": speeds, "streaming": rows}
    return write_results(
        out, "codec_bench", "Codec encode speed and streaming memory", payload, body, run
    )


def write_held_out_clips(data: Path, folder: Path, count: int) -> None:
    """carphone and `count` 32-frame clips of the held-out photos of `data`/photos in motion,
    near-lossless (x264 CRF 4), under `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(data / "carphone_pristine.mp4", folder)
    clips = PhotoClips(data / "photos", CameraConfig(frames=32, size=128), "val", val_clips=count)
    for i in range(count):
        frames = (clips[i]["video"].permute(1, 2, 3, 0).numpy() * 255).round().astype("uint8")
        write_video(folder / f"photos_val_{i}.mp4", frames, fps=25, crf=4)


def codec_validation(
    codecs: list[str],
    data: Path,
    out: Path,
    name: str = "codec_validation",
    size: int = 128,
    frames: int = 8,
    threads: int = 2,
) -> dict[str, Path]:
    """Each codec's PSNR on the held-out photos of `data`/photos and on carphone; written to
    `out`/`name`.{json,md}."""
    torch.set_num_threads(threads)
    run = Run.here()
    held_out = [str(data / "photos"), str(data / "carphone_pristine.mp4")]
    _, val = training_clips([], frames, size, None, 0, held_out)
    rows = []
    for spec in codecs:
        codec = load_codec(spec)
        start = time.perf_counter()
        scores = validate_sources(codec, val, torch.device("cpu"))
        rows.append(
            {
                "codec": spec,
                "CR": codec.compression_rate((frames, size, size)),
                "val PSNR (dB)": scores["val_psnr"],
                **{k.split("/", 1)[1]: v for k, v in scores.items() if "/" in k},
                "eval s": time.perf_counter() - start,
            }
        )
        print(rows[-1], flush=True)
    body = (
        f"{frames}-frame {size}x{size} clips: 48 fixed clips of the held-out photos filmed by "
        "the virtual camera, and every frame of carphone_pristine.mp4; no codec here trained "
        "on either. val PSNR is their mean.\n\n" + markdown_table(rows)
    )
    return write_results(out, name, "Codecs on held-out real footage", {"rows": rows}, body, run)
