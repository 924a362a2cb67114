"""The code store: size on disk, random-window read throughput, and random access into long
videos.

1. A store is built (with `build_store`) from the clips in shared/data plus synthetic videos
   written as H.264 files, all resized to --size: its size on disk against the source files
   and against the raw uint8 frames at that size.
2. Random windows of --steps code steps: read from the store, against decoding the same
   frames from the source H.264 files with PyAV (seek to the keyframe before the window,
   decode, resize to --size as the store's frames were), one run on this machine.
3. Two long videos written directly as (random) codes, 10 and 60 minutes at 25 fps: the time
   to read a random window from the middle, at both lengths.

Writes results/store_bench.json (everything) and results/store_bench.md (the tables).

    .venv/bin/python benchmarks/store_bench.py [--codec CKPT] [--size 128] [--windows 300]
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import torch
import zarr

from compressed_vision.codec import VideoCodec, load_codec, preset, train_codec
from compressed_vision.codec.files import tensor_to_frames
from compressed_vision.report import markdown_table, write_report
from compressed_vision.sources import folder_manifest
from compressed_vision.sources.manifest import Item
from compressed_vision.sources.synthetic import SyntheticConfig, SyntheticVideos, make_video
from compressed_vision.store import CodeStore, build_store, store_info
from compressed_vision.store.build import prepare_root
from compressed_vision.store.packs import PackWriter
from compressed_vision.store.writer import BuildSpec
from compressed_vision.train_loop import LoopConfig, infinite_batches
from compressed_vision.video.io import write_video

ROOT = Path(__file__).resolve().parents[1]


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--codec", type=Path, help="codec checkpoint (default: train a tiny one)")
    p.add_argument("--train-steps", type=int, default=300)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--synthetic", type=int, default=16, help="synthetic videos")
    p.add_argument("--synthetic-frames", type=int, default=100)
    p.add_argument("--steps", type=int, default=16, help="code steps per window")
    p.add_argument("--windows", type=int, default=300)
    p.add_argument("--long-minutes", type=float, nargs=2, default=[10, 60])
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "store_bench")
    p.add_argument("--out", type=Path, default=ROOT / "results")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.processor() or platform.machine(),
        "cpu_cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "zarr": zarr.__version__,
        "pyav": av.__version__,
    }


def get_codec(args: argparse.Namespace) -> tuple[VideoCodec, str]:
    if args.codec is not None:
        return load_codec(args.codec), str(args.codec)
    path = args.work / "codec.safetensors"
    data = SyntheticVideos(SyntheticConfig(num_videos=2000, frames=8, size=64, seed=args.seed))
    train_codec(
        preset("tiny"),
        infinite_batches(data, 8, args.seed),
        LoopConfig(steps=args.train_steps, lr=2e-3),
        torch.device("cpu"),
        path,
    )
    return load_codec(path), f"tiny preset trained {args.train_steps} steps here ({path})"


def write_sources(args: argparse.Namespace) -> Path:
    """work/src/shared/* (links to the clips) and work/src/synthetic/*.mp4 (H.264, CRF 18)."""
    src = args.work / "src"
    (src / "shared").mkdir(parents=True)
    for clip in sorted(args.data.glob("*.mp4")):
        (src / "shared" / clip.name).symlink_to(clip.resolve())
    cfg = SyntheticConfig(frames=args.synthetic_frames, size=args.size, segments=4, seed=1)
    for i in range(args.synthetic):
        video = make_video(cfg, i)[0]
        write_video(src / "synthetic" / f"s{i:03d}.mp4", tensor_to_frames(video[None]), fps=25)
    return src


def decode_window(path: str, start: int, count: int, size: int) -> np.ndarray:
    """Frames [start, start + count) of a file: seek to the keyframe before, decode, resize
    to cover size x size and centre-crop (what the store's frames went through)."""
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate
        first = int(stream.start_time or 0)
        target = first + int(start / rate / stream.time_base)
        container.seek(target, stream=stream, backward=True)
        frames = []
        for frame in container.decode(stream):
            if frame.pts is None or frame.pts < target - 0.5 / rate / stream.time_base:
                continue
            scale = max(size / frame.height, size / frame.width)
            h, w = max(size, round(frame.height * scale)), max(size, round(frame.width * scale))
            img = frame.to_ndarray(width=w, height=h, format="rgb24", interpolation="AREA")
            top, left = (h - size) // 2, (w - size) // 2
            frames.append(img[top : top + size, left : left + size])
            if len(frames) == count:
                break
    return np.stack(frames)


def throughput(store: CodeStore, args: argparse.Namespace, rng: np.random.Generator) -> dict:
    """Random windows per second: store reads vs PyAV decoding of the same frames."""
    tf = store.codec_config.temporal_factor
    entries = [e for e in store.entries() if e.steps >= args.steps]
    picks = [entries[i] for i in rng.integers(len(entries), size=args.windows)]
    windows = [(e, int(rng.integers(e.steps - args.steps + 1))) for e in picks]
    t0 = time.perf_counter()
    for e, s in windows:
        codes = store.read(e.key, s, s + args.steps)
    store_s = time.perf_counter() - t0
    assert codes.shape[1] == args.steps
    t0 = time.perf_counter()
    for e, s in windows:
        frames = decode_window(e.attrs["source"], s * tf, args.steps * tf, args.size)
    pyav_s = time.perf_counter() - t0
    assert frames.shape == (args.steps * tf, args.size, args.size, 3)
    return {
        "windows": len(windows),
        "steps_per_window": args.steps,
        "frames_per_window": args.steps * tf,
        "store_windows_per_s": len(windows) / store_s,
        "pyav_windows_per_s": len(windows) / pyav_s,
        "speedup": pyav_s / store_s,
    }


def long_videos(codec: VideoCodec, args: argparse.Namespace, rng: np.random.Generator) -> list:
    """Write two long videos as random codes; time random window reads from their middle."""
    url = str(args.work / "long.zarr")
    spec = BuildSpec(size=args.size, chunk_steps=32)
    files, coder = prepare_root(url, codec, spec)
    cfg = codec.config
    g, _, h, w = cfg.code_shape(1, args.size, args.size)
    rows = []
    for minutes in args.long_minutes:
        frames = int(minutes * 60 * 25)
        steps = -(-frames // cfg.temporal_factor)
        item = Item(f"long-{minutes:g}min", "random codes")
        with PackWriter(files, cfg.codebook_size, spec.chunk_steps, coder) as pack:
            writer = pack.video(item)
            for start in range(0, steps, 4096):
                n = min(4096, steps - start)
                writer.append(rng.integers(cfg.codebook_size, size=(g, n, h, w), dtype=np.uint8))
            attrs = {"fps": 25.0, "frames": frames, "height": args.size, "width": args.size}
            writer.finish({**attrs, "label": None, "label_index": -1}, None)
        store = CodeStore(url)  # a fresh reader: nothing cached
        t0 = time.perf_counter()
        store.read(item.key, steps // 2, steps // 2 + args.steps)
        first_ms = (time.perf_counter() - t0) * 1e3
        middle = rng.integers(steps // 4, 3 * steps // 4 - args.steps, size=args.windows)
        times = []
        for s in middle.tolist():
            t0 = time.perf_counter()
            store.read(item.key, s, s + args.steps)
            times.append((time.perf_counter() - t0) * 1e3)
        rows.append(
            {
                "video": f"{minutes:g} min at 25 fps",
                "code steps": steps,
                "first read ms": first_ms,
                "median ms": statistics.median(times),
                "p95 ms": float(np.percentile(times, 95)),
                "max ms": max(times),
            }
        )
    return rows


def main() -> None:
    args = parse_args()
    rng = np.random.default_rng(args.seed)
    command = " ".join(shlex.quote(a) for a in [sys.executable, *sys.argv])
    info = machine()
    print(f"command: {command}\nmachine: {info}")
    shutil.rmtree(args.work / "src", ignore_errors=True)
    shutil.rmtree(args.work / "store.zarr", ignore_errors=True)
    shutil.rmtree(args.work / "long.zarr", ignore_errors=True)
    args.work.mkdir(parents=True, exist_ok=True)
    codec, codec_desc = get_codec(args)
    src = write_sources(args)
    url = str(args.work / "store.zarr")
    t0 = time.perf_counter()
    summary = build_store(folder_manifest(src), codec, url, size=args.size)
    build_s = time.perf_counter() - t0
    sizes = store_info(url)
    print(f"inputs: {sizes['videos']} videos, {sizes['frames']} frames at {args.size}px")
    store = CodeStore(url)
    speed = throughput(store, args, rng)
    long_rows = long_videos(codec, args, rng)

    mib = 2**20
    disk = sizes["bytes_on_disk"]
    size_rows = [
        {"what": "code store (zarr v3, zstd)", "MiB": disk / mib, "x store": 1.0},
        {
            "what": "source files (H.264, native size)",
            "MiB": sizes["source_bytes"] / mib,
            "x store": sizes["source_bytes"] / disk,
        },
        {
            "what": f"raw uint8 frames at {args.size}x{args.size}",
            "MiB": sizes["raw_uint8_bytes"] / mib,
            "x store": sizes["raw_uint8_bytes"] / disk,
        },
    ]
    speed_rows = [
        {
            "reader": "code store",
            "windows/s": speed["store_windows_per_s"],
            "ms/window": 1e3 / speed["store_windows_per_s"],
            "x PyAV": speed["speedup"],
        },
        {
            "reader": "PyAV decode + resize (seek)",
            "windows/s": speed["pyav_windows_per_s"],
            "ms/window": 1e3 / speed["pyav_windows_per_s"],
            "x PyAV": 1.0,
        },
    ]
    header = (
        "# Code store benchmark\n\n"
        f"command: `{command}`\n\n"
        f"machine: {info['platform']}, {info['cpu_cores']} cores; torch {info['torch']}, "
        f"zarr {info['zarr']}, PyAV {info['pyav']}\n\n"
        f"codec: {codec_desc}, CR {sizes['compression_rate']:.1f}, "
        f"fingerprint {sizes['codec_fingerprint']}\n\n"
        f"inputs: {sizes['videos']} videos ({len(list(args.data.glob('*.mp4')))} clips of "
        f"{args.data} + {args.synthetic} synthetic videos of {args.synthetic_frames} frames "
        f"written as H.264 CRF 18), {sizes['frames']} frames at {args.size}x{args.size}; "
        f"{len(sizes['failures'])} failures; build {build_s:.1f} s "
        f"({sizes['frames'] / build_s:.0f} frames/s)\n\n"
    )
    table = (
        "## Size\n\n"
        + markdown_table(size_rows)
        + f"\n## Random windows of {args.steps} code steps ({speed['frames_per_window']} frames)"
        + f", {speed['windows']} windows\n\n"
        + markdown_table(speed_rows)
        + f"\n## Random windows of {args.steps} steps from the middle of long videos "
        + "(random codes, 32 steps per chunk)\n\n"
        + markdown_table(long_rows)
    )
    print(table)
    payload = {
        "command": command,
        "machine": info,
        "codec": codec_desc,
        "args": {k: str(v) for k, v in vars(args).items()},
        "build": {**summary.__dict__, "seconds": build_s},
        "store": sizes,
        "throughput": speed,
        "long_videos": long_rows,
    }
    json_path, md_path = write_report(args.out, "store_bench", payload, header + table)
    print(f"written: {json_path}, {md_path}")


if __name__ == "__main__":
    main()
