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

`run_store_bench` writes store_bench.json (everything) and store_bench.md (the tables).
"""

from __future__ import annotations

import shutil
import statistics
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
import torch
import zarr

from ..codec import VideoCodec, load_codec, preset, train_codec
from ..codec.files import tensor_to_frames
from ..report import Run, markdown_table, write_results
from ..sources import folder_manifest
from ..sources.manifest import Item
from ..sources.synthetic import SyntheticConfig, SyntheticVideos, make_video
from ..store import CodeStore, build_store, store_info
from ..store.build import prepare_root
from ..store.packs import PackWriter
from ..store.writer import BuildSpec
from ..train_loop import LoopConfig, infinite_batches
from ..video.io import write_video

TITLE = "Code store benchmark"


@dataclass
class StoreBenchConfig:
    """What to measure (the options of `cvis bench store`)."""

    data: Path  # a folder of .mp4 clips
    work: Path
    out: Path
    codec: Path | None = None  # default: train a tiny codec
    train_steps: int = 300
    size: int = 128
    synthetic: int = 16
    synthetic_frames: int = 100
    steps: int = 16
    windows: int = 300
    long_minutes: tuple[float, ...] = (10, 60)
    seed: int = 0


def get_codec(cfg: StoreBenchConfig) -> tuple[VideoCodec, str]:
    if cfg.codec is not None:
        return load_codec(cfg.codec), str(cfg.codec)
    path = cfg.work / "codec.safetensors"
    data = SyntheticVideos(SyntheticConfig(num_videos=2000, frames=8, size=64, seed=cfg.seed))
    train_codec(
        preset("tiny"),
        infinite_batches(data, 8, cfg.seed),
        LoopConfig(steps=cfg.train_steps, lr=2e-3),
        torch.device("cpu"),
        path,
    )
    return load_codec(path), f"tiny preset trained {cfg.train_steps} steps here ({path})"


def write_sources(cfg: StoreBenchConfig) -> Path:
    """work/src/shared/* (links to the clips) and work/src/synthetic/*.mp4 (H.264, CRF 18)."""
    src = cfg.work / "src"
    (src / "shared").mkdir(parents=True)
    for clip in sorted(cfg.data.glob("*.mp4")):
        (src / "shared" / clip.name).symlink_to(clip.resolve())
    synth = SyntheticConfig(frames=cfg.synthetic_frames, size=cfg.size, segments=4, seed=1)
    for i in range(cfg.synthetic):
        video = make_video(synth, i)[0]
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


def throughput(store: CodeStore, cfg: StoreBenchConfig, rng: np.random.Generator) -> dict:
    """Random windows per second: store reads vs PyAV decoding of the same frames."""
    tf = store.codec_config.temporal_factor
    entries = [e for e in store.entries() if e.steps >= cfg.steps]
    picks = [entries[i] for i in rng.integers(len(entries), size=cfg.windows)]
    windows = [(e, int(rng.integers(e.steps - cfg.steps + 1))) for e in picks]
    t0 = time.perf_counter()
    for e, s in windows:
        codes = store.read(e.key, s, s + cfg.steps)
    store_s = time.perf_counter() - t0
    assert codes.shape[1] == cfg.steps
    t0 = time.perf_counter()
    for e, s in windows:
        frames = decode_window(e.attrs["source"], s * tf, cfg.steps * tf, cfg.size)
    pyav_s = time.perf_counter() - t0
    assert frames.shape == (cfg.steps * tf, cfg.size, cfg.size, 3)
    return {
        "windows": len(windows),
        "steps_per_window": cfg.steps,
        "frames_per_window": cfg.steps * tf,
        "store_windows_per_s": len(windows) / store_s,
        "pyav_windows_per_s": len(windows) / pyav_s,
        "speedup": pyav_s / store_s,
    }


def long_videos(codec: VideoCodec, cfg: StoreBenchConfig, rng: np.random.Generator) -> list:
    """Write two long videos as random codes; time random window reads from their middle."""
    url = str(cfg.work / "long.zarr")
    spec = BuildSpec(size=cfg.size, chunk_steps=32)
    files, coder = prepare_root(url, codec, spec)
    code = codec.config
    g, _, h, w = code.code_shape(1, cfg.size, cfg.size)
    rows = []
    for minutes in cfg.long_minutes:
        frames = int(minutes * 60 * 25)
        steps = -(-frames // code.temporal_factor)
        item = Item(f"long-{minutes:g}min", "random codes")
        with PackWriter(files, code.codebook_size, spec.chunk_steps, coder) as pack:
            writer = pack.video(item)
            for start in range(0, steps, 4096):
                n = min(4096, steps - start)
                writer.append(rng.integers(code.codebook_size, size=(g, n, h, w), dtype=np.uint8))
            attrs = {"fps": 25.0, "frames": frames, "height": cfg.size, "width": cfg.size}
            writer.finish({**attrs, "label": None, "label_index": -1}, None)
        store = CodeStore(url)  # a fresh reader: nothing cached
        t0 = time.perf_counter()
        store.read(item.key, steps // 2, steps // 2 + cfg.steps)
        first_ms = (time.perf_counter() - t0) * 1e3
        middle = rng.integers(steps // 4, 3 * steps // 4 - cfg.steps, size=cfg.windows)
        times = []
        for s in middle.tolist():
            t0 = time.perf_counter()
            store.read(item.key, s, s + cfg.steps)
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


def run_store_bench(cfg: StoreBenchConfig) -> dict[str, Path]:
    """Build, read and time (see the module doc); write the report under `cfg.out`."""
    rng = np.random.default_rng(cfg.seed)
    run = Run.here(zarr=zarr.__version__, pyav=av.__version__)
    print(run)
    shutil.rmtree(cfg.work / "src", ignore_errors=True)
    shutil.rmtree(cfg.work / "store.zarr", ignore_errors=True)
    shutil.rmtree(cfg.work / "long.zarr", ignore_errors=True)
    cfg.work.mkdir(parents=True, exist_ok=True)
    codec, codec_desc = get_codec(cfg)
    src = write_sources(cfg)
    url = str(cfg.work / "store.zarr")
    t0 = time.perf_counter()
    summary = build_store(folder_manifest(src), codec, url, size=cfg.size)
    build_s = time.perf_counter() - t0
    sizes = store_info(url)
    print(f"inputs: {sizes['videos']} videos, {sizes['frames']} frames at {cfg.size}px")
    store = CodeStore(url)
    speed = throughput(store, cfg, rng)
    long_rows = long_videos(codec, cfg, rng)

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
            "what": f"raw uint8 frames at {cfg.size}x{cfg.size}",
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
        f"codec: {codec_desc}, CR {sizes['compression_rate']:.1f}, "
        f"fingerprint {sizes['codec_fingerprint']}\n\n"
        f"inputs: {sizes['videos']} videos ({len(list(cfg.data.glob('*.mp4')))} clips of "
        f"{cfg.data} + {cfg.synthetic} synthetic videos of {cfg.synthetic_frames} frames "
        f"written as H.264 CRF 18), {sizes['frames']} frames at {cfg.size}x{cfg.size}; "
        f"{len(sizes['failures'])} failures; build {build_s:.1f} s "
        f"({sizes['frames'] / build_s:.0f} frames/s)\n\n"
    )
    table = (
        "## Size\n\n"
        + markdown_table(size_rows)
        + f"\n## Random windows of {cfg.steps} code steps ({speed['frames_per_window']} frames)"
        + f", {speed['windows']} windows\n\n"
        + markdown_table(speed_rows)
        + f"\n## Random windows of {cfg.steps} steps from the middle of long videos "
        + "(random codes, 32 steps per chunk)\n\n"
        + markdown_table(long_rows)
    )
    print(table)
    payload = {
        "codec": codec_desc,
        "args": {k: str(v) for k, v in asdict(cfg).items()},
        "build": {**summary.__dict__, "seconds": build_s},
        "store": sizes,
        "throughput": speed,
        "long_videos": long_rows,
    }
    return write_results(cfg.out, "store_bench", TITLE, payload, header + table, run)
