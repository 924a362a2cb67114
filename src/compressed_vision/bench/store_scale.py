"""The store at scale, without any video: synthetic codes for N videos written straight
through the store's writer (`PackWriter`), then what a user pays for them.

Measured: write time; opening a training dataset (`RandomCodeWindows`: the root, the index,
every entry); files and bytes on disk against the codes' payload; random window reads per
second, from a local disk and from an in-memory fsspec filesystem that sleeps --delay
seconds per request (a bucket stand-in; requests are counted); the cost of a build's resume
check (`build.pending` over the N items). The format-1 layout (one zarr group per video) is
measured the same way on --old-videos videos for comparison. Figures are extrapolated to
--extrapolate videos with the formulas written next to them.

Codes are drawn i.i.d. from p(k) ~ 1/(k + 8)^1.3 (K = 256), which zstd compresses to about
the rate of real codes; attrs look like Kinetics' (random YouTube ids, 600 classes).

`store_scale` writes store_scale.json (everything) and store_scale.md (the tables).
"""

from __future__ import annotations

import hashlib
import math
import shutil
import string
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import fsspec
import numpy as np
import torch
import zarr
import zarr.codecs
from fsspec.implementations.memory import MemoryFileSystem

from ..codec import VideoCodec, preset
from ..report import Run, markdown_table, write_results
from ..sources.manifest import Item
from ..store import CodeStore, RandomCodeWindows
from ..store.build import pending, prepare_root, root_attrs
from ..store.index import consolidate
from ..store.info import bytes_on_disk, count_files
from ..store.layout import INDEX, PACKS, StoreFiles, hash_block
from ..store.packs import PACK_VIDEOS, PackWriter
from ..store.writer import BuildSpec

NOTES = """
## Notes

- Metadata counts both copies of the index: `index.cvi` and the packs' own `.idx` files
  (kept so that the consolidated index can be rebuilt); each is about half.
- Opening is linear in N, in Python (JSON of the index, one record and one entry check per
  video): the extrapolation to 500,000 videos is tens of seconds locally, so "open in a
  second" holds to about 25,000 videos, not at Kinetics scale (a miss; see docs/store.md).
  Over a bucket the requests stay 3 (root, listing, index) whatever N is.
- Format 1 over a bucket is not measured: its requests are counted from its layout (open: a
  listing plus one `zarr.json` per video; a window: the array's `zarr.json` and a chunk).
- Times are warm (files in the page cache) on 2 cores shared with other jobs.
"""


class SlowFS(MemoryFileSystem):
    """In-memory files behind a per-request delay: every read and listing is a request."""

    protocol = "slowmem"
    delay = 0.02
    requests = 0

    def cat_file(self, path, start=None, end=None, **kwargs):
        SlowFS.requests += 1
        time.sleep(self.delay)
        return super().cat_file(path, start, end, **kwargs)

    def ls(self, path, detail=True, **kwargs):
        SlowFS.requests += 1
        time.sleep(self.delay)
        return super().ls(path, detail, **kwargs)


fsspec.register_implementation("slowmem", SlowFS, clobber=True)


@dataclass
class StoreScaleConfig:
    """What to measure (the options of `cvis bench store-scale`)."""

    work: Path
    out: Path
    videos: int = 10_000
    old_videos: int = 2_000  # format-1 store, for comparison
    frames: int = 8  # frames per video
    size: int = 64  # frame size (square)
    window: int = 16  # code steps per window
    reads: int = 2_000  # random windows read locally
    slow_reads: int = 50  # random windows read with delay
    delay: float = 0.02  # seconds per request
    pack_videos: int = PACK_VIDEOS
    extrapolate: int = 500_000
    seed: int = 0


def fake_items(n: int, rng: np.random.Generator) -> list[tuple[Item, dict[str, Any]]]:
    """Kinetics-like items and attrs (without frames and size, added by the writer)."""
    letters = np.array(list(string.ascii_letters + string.digits + "-_"))
    out = []
    for _ in range(n):
        yid = "".join(rng.choice(letters, 11))
        start = int(rng.integers(0, 300))
        item_id = f"{yid}_{start:06d}_{start + 10:06d}"
        label = int(rng.integers(0, 600))
        attrs = {"fps": 25.0, "source_height": 360, "source_width": 640}
        attrs.update(source_bytes=int(rng.integers(200_000, 3_000_000)), start=None, end=None)
        attrs.update(split="train", label=f"class{label:03d}", label_index=label)
        out.append((Item(item_id, f"/data/kinetics/train/class{label:03d}/{item_id}.mp4"), attrs))
    return sorted(out, key=lambda x: x[0].id)


def fake_codes(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    p = 1.0 / (np.arange(256) + 8.0) ** 1.3
    return rng.choice(256, size=shape, p=p / p.sum()).astype(np.uint8)


def write_new(url, codec, items, shape, spec, pack_videos, rng) -> tuple[float, int]:
    """Write the videos into packs; returns (seconds, codes' payload bytes)."""
    t = time.perf_counter()
    files, coder = prepare_root(url, codec, spec)
    payload, pack = 0, None
    frames, height, width = shape
    for item, attrs in items:
        pack = pack or PackWriter(files, codec.codebook_size, spec.chunk_steps, coder, pack_videos)
        writer = pack.video(item)
        writer.append(fake_codes(rng, codec.config.code_shape(frames, height, width)))
        writer.finish({**attrs, "frames": frames, "height": height, "width": width}, None)
        payload += sum(writer.chunks)
        if pack.full:
            pack.close()
            pack = None
    if pack is not None:
        pack.close()
    consolidate(files)
    return time.perf_counter() - t, payload


def write_old(path, codec, items, shape, spec, rng) -> float:
    """The format-1 layout as its writer made it: a zarr group per video."""
    t = time.perf_counter()
    root = zarr.open_group(str(path), mode="w")
    attrs = {**root_attrs(codec, spec), "version": 1}
    del attrs["chunk_codec"]
    root.update_attributes(attrs)
    videos = root.create_group("videos")
    root.create_group("failures")
    frames, height, width = shape
    for item, meta in items:
        codes = fake_codes(rng, codec.config.code_shape(frames, height, width))
        h = hashlib.sha256()
        hash_block(h, codes)
        meta = {"id": item.id, "source": item.source, **meta, "frames": frames}
        meta.update(height=height, width=width, steps=codes.shape[1], sha256=h.hexdigest())
        group = videos.create_group(item.key, attributes={**meta, "complete": False})
        group.create_array(
            "codes",
            data=codes,
            chunks=(codes.shape[0], spec.chunk_steps, *codes.shape[2:]),
            compressors=zarr.codecs.ZstdCodec(level=5, checksum=True),
            config={"write_empty_chunks": True},
        )
        group.update_attributes({"complete": True})
    return time.perf_counter() - t


def timed(fn) -> tuple[float, Any]:
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def random_reads(read, keys, steps, window, n, rng) -> float:
    """Windows read per second: `read(key, start, stop)` at random videos and starts."""
    picks = [
        (int(v), int(rng.integers(0, max(1, steps - window + 1))))
        for v in rng.integers(0, len(keys), n)
    ]
    t = time.perf_counter()
    for v, s in picks:
        read(keys[v], s, s + window)
    return n / (time.perf_counter() - t)


def old_open(path) -> dict[str, dict]:
    """What format 1's reader did to open: the attrs of every video group."""
    videos = zarr.open_group(str(path), mode="r")["videos"]
    return {k: g.attrs.asdict() for k, g in videos.members() if isinstance(g, zarr.Group)}


def copy_to_slow(local: Path, name: str) -> str:
    """Copy a local store into the delayed in-memory filesystem (with no delay)."""
    files, delay = StoreFiles(f"slowmem://{name}"), SlowFS.delay
    SlowFS.delay = 0.0
    for path in sorted(local.rglob("*")):
        if path.is_file():
            files.fs.pipe_file(files.path(path.relative_to(local).as_posix()), path.read_bytes())
    SlowFS.delay = delay
    return files.url


def store_scale(cfg: StoreScaleConfig) -> dict[str, Path]:
    """Write, open and read (see the module doc); written to `cfg.out`/store_scale.{json,md}."""
    torch.set_num_threads(1)
    run = Run.here(
        zarr=zarr.__version__,
        fsspec=fsspec.__version__,
        note="shared cores with other jobs running; files in the OS page cache (warm)",
    )
    print(run, flush=True)
    rng = np.random.default_rng(cfg.seed)
    shutil.rmtree(cfg.work, ignore_errors=True)
    cfg.work.mkdir(parents=True)
    torch.manual_seed(0)
    codec = VideoCodec(preset("tiny")).eval()
    shape = (cfg.frames, cfg.size, cfg.size)
    code_shape = codec.config.code_shape(*shape)
    steps, window = code_shape[1], min(cfg.window, code_shape[1])
    spec = BuildSpec(
        size=cfg.size, chunk_steps=32, classes=tuple(f"class{i:03d}" for i in range(600))
    )
    items = fake_items(cfg.videos, rng)
    new = cfg.work / "new.zarr"

    write_s, payload = write_new(str(new), codec, items, shape, spec, cfg.pack_videos, rng)
    open_s, dataset = timed(lambda: RandomCodeWindows(str(new), window))
    store = dataset.store
    disk, files = bytes_on_disk(str(new)), count_files(str(new))
    index_bytes = (new / INDEX).stat().st_size
    pack_index_bytes = sum(p.stat().st_size for p in (new / PACKS).glob("*.idx"))
    metadata = disk - sum(p.stat().st_size for p in (new / PACKS).glob("*.pack"))
    read_rate = random_reads(store.read, dataset.keys, steps, window, cfg.reads, rng)
    manifest = tuple(i for i, _ in items)
    resume_s, todo = timed(lambda: pending(CodeStore(str(new)), manifest, False))
    assert not todo

    slow_url = copy_to_slow(new, "scale-new")
    SlowFS.delay = cfg.delay
    SlowFS.requests = 0
    slow_open_s, slow_ds = timed(lambda: RandomCodeWindows(slow_url, window))
    open_requests, SlowFS.requests = SlowFS.requests, 0
    slow_rate = random_reads(slow_ds.store.read, slow_ds.keys, steps, window, cfg.slow_reads, rng)
    requests_per_window = SlowFS.requests / cfg.slow_reads
    slow_resume_s, _ = timed(lambda: pending(CodeStore(slow_url), manifest, False))

    old = cfg.work / "old.zarr"
    old_items = items[: cfg.old_videos]
    old_write_s = write_old(old, codec, old_items, shape, spec, rng)
    old_open_s, old_attrs = timed(lambda: old_open(old))
    old_root = zarr.open_group(str(old), mode="r")
    old_rate = random_reads(
        lambda k, a, b: old_root[f"videos/{k}/codes"][:, a:b],
        sorted(old_attrs),
        steps,
        window,
        min(cfg.reads, 500),
        rng,
    )
    old_disk, old_files = bytes_on_disk(str(old)), count_files(str(old))
    old_payload = sum(p.stat().st_size for p in old.rglob("c/*/*/*/*") if p.is_file())

    n, big, per_pack = cfg.videos, cfg.extrapolate, cfg.pack_videos
    packs_big = math.ceil(big / per_pack)
    meta_per_video = (index_bytes + pack_index_bytes) / n
    measured = {
        "videos": n,
        "code_shape_per_video": list(code_shape),
        "write_s": write_s,
        "open_training_dataset_s": open_s,
        "files": files,
        "videos_per_file": n / files,
        "bytes_on_disk": disk,
        "codes_payload_bytes": payload,
        "metadata_bytes": metadata,
        "metadata_over_payload": metadata / payload,
        "index_cvi_bytes": index_bytes,
        "pack_index_bytes": pack_index_bytes,
        "random_windows_per_s_local": read_rate,
        "resume_check_s_local": resume_s,
        "delay_s_per_request": cfg.delay,
        "open_training_dataset_s_delayed": slow_open_s,
        "open_requests_delayed": open_requests,
        "random_windows_per_s_delayed": slow_rate,
        "requests_per_window_delayed": requests_per_window,
        "resume_check_s_delayed": slow_resume_s,
    }
    old_measured = {
        "videos": len(old_items),
        "write_s": old_write_s,
        "open_attrs_s": old_open_s,
        "files": old_files,
        "videos_per_file": len(old_items) / old_files,
        "bytes_on_disk": old_disk,
        "codes_payload_bytes": old_payload,
        "metadata_over_payload": (old_disk - old_payload) / old_payload,
        "random_windows_per_s_local": old_rate,
        "open_s_scaled_to_videos": old_open_s * n / len(old_items),
        "requests_to_open_delayed_estimate": 1 + n,
        "requests_per_window_delayed_estimate": 2,
    }
    open_per_video = open_s / n
    extrapolated = {
        "videos": big,
        "files": f"2 + 2 * ceil(N / {per_pack}) = {2 + 2 * packs_big}",
        "metadata_bytes": f"{meta_per_video:.1f} B/video * N = {meta_per_video * big / 1e6:.0f} MB",
        "metadata_over_payload": f"{metadata / payload:.3f} (per-video constant)",
        "open_s_local": f"{open_per_video * 1e6:.1f} us/video * N = {open_per_video * big:.1f} s",
        "open_s_bucket": f"local + 3 requests * {cfg.delay} s + index transfer "
        f"({index_bytes / n * big / 2**20:.0f} MiB) = "
        f"{open_per_video * big + 3 * cfg.delay:.1f} s + transfer",
        "resume_check_s": f"{resume_s / n * 1e6:.1f} us/video * N = {resume_s / n * big:.1f} s",
        "requests_per_window": "1 (independent of N)",
        "format_1_files": f"{old_files / len(old_items):.1f} * N",
        "format_1_open_s_local": f"{old_open_s / len(old_items) * big:.0f}",
        "format_1_open_requests_bucket": f"about N = {big}",
    }
    targets = [
        {
            "target": "open a training dataset < 2 s",
            "measured": f"{open_s:.2f} s",
            "met": open_s < 2,
        },
        {
            "target": "metadata < 10% of codes' bytes",
            "measured": f"{100 * metadata / payload:.1f}%",
            "met": metadata / payload < 0.1,
        },
        {
            "target": "<= 1 file per 100 videos",
            "measured": f"1 per {n / files:.0f}",
            "met": n / files >= 100,
        },
        {
            "target": "random windows at least as fast as format 1",
            "measured": f"{read_rate:.0f}/s vs {old_rate:.0f}/s",
            "met": read_rate >= old_rate,
        },
        {
            "target": f"a window in one request ({cfg.delay * 1000:.0f} ms each)",
            "measured": f"{requests_per_window:.2f} requests",
            "met": requests_per_window <= 1,
        },
    ]
    payload_doc = {
        "inputs": {k: str(v) for k, v in asdict(cfg).items()},
        "format_2": measured,
        "format_1": old_measured,
        "extrapolated": extrapolated,
        "targets": targets,
    }
    body = (
        f"{n} videos of {cfg.frames} frames at {cfg.size}x{cfg.size}, codes {tuple(code_shape)} "
        f"per video, windows of {window} steps; format 1 measured on {len(old_items)} videos.\n\n"
        "## Targets\n\n"
        + markdown_table(targets)
        + "\n## Format 2 (packs)\n\n"
        + markdown_table([measured])
        + "\n## Format 1 (a zarr group per video)\n\n"
        + markdown_table([old_measured])
        + f"\n## Extrapolated to {big} videos\n\n"
        + markdown_table([extrapolated])
        + NOTES
    )
    return write_results(cfg.out, "store_scale", "Store at scale", payload_doc, body, run)
