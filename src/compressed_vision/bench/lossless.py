"""The learned lossless stage against zstd, on a codec's codes of footage the prior never saw.

1. Size: for each held-out clip (the three videos of the data folder at `size`, and the
   validation split of its photos filmed by the virtual camera), the codec's codes; per clip
   the index CR, the bytes of zstd (level 19, the whole clip), the prior's cross-entropy
   bound and the bytes the learned coder writes (each chunk of `chunk_steps` steps coded on
   its own, headers included); every clip's chunks are decoded back and compared (bit-exact
   round trip).
2. Read speed: the three videos are stored twice (`build_store`, zstd and learned), and
   random windows of `steps` code steps are read from each store, against decoding the
   same frames with PyAV from an H.264 file of the same frames (seek + decode), in one run.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from ..codec import codec_fingerprint, load_codec
from ..codec.files import frames_to_tensor
from ..codec.lossless import decode_chunk, encode_chunk, load_prior
from ..codec.rate import rate_figures
from ..report import Run, markdown_table, write_results
from ..sources import folder_manifest
from ..sources.camera import CameraConfig, PhotoClips
from ..store import CodeStore, build_store
from ..video.io import iter_frames, read_video, write_video

VIDEOS = ("bigbuckbunny", "bikes", "carphone_pristine")


def held_out_clips(data: Path, size: int, photo_clips: int) -> dict[str, np.ndarray]:
    """name -> (T, H, W, 3) uint8: the videos, and the photos' validation clips (32 frames)."""
    clips = {v: read_video(data / f"{v}.mp4", size=size) for v in VIDEOS}
    val = PhotoClips(data / "photos", CameraConfig(32, size), "val", val_clips=photo_clips)
    for i in range(len(val)):
        video = val[i]["video"].permute(1, 2, 3, 0).mul(255).round().clamp(0, 255)
        clips[f"photos_val_{i}"] = video.to(torch.uint8).numpy()
    return clips


def size_rows(codec, prior, clips: dict[str, np.ndarray], chunk: int) -> list[dict]:
    rows = []
    for name, frames in clips.items():
        with torch.no_grad():
            codes = codec.encode(frames_to_tensor(frames))[0].numpy()
        t, h, w = frames.shape[:3]
        r = rate_figures(codes, codec.codebook_size, t, h, w, prior.integer, chunk)
        exact = all(
            np.array_equal(
                decode_chunk(encode_chunk(codes[:, i : i + chunk], prior.integer), prior.integer),
                codes[:, i : i + chunk],
            )
            for i in range(0, codes.shape[1], chunk)
        )
        rows.append(
            {
                "clip": name,
                "codes": "x".join(map(str, codes.shape)),
                "index CR": r.index_cr,
                "zstd B": r.zstd_bytes,
                "bound B": round(r.bound_bytes),
                "learned B": r.learned_bytes,
                "zstd / learned": r.zstd_bytes / r.learned_bytes,
                "learned CR": r.raw_bytes / r.learned_bytes,
                "bit-exact": exact,
            }
        )
    return rows


def total(rows: list[dict], name: str) -> dict:
    z, b, l_ = (sum(r[k] for r in rows) for k in ("zstd B", "bound B", "learned B"))
    return {"clip": name, "zstd B": z, "bound B": b, "learned B": l_, "zstd / learned": z / l_}


def read_speed(codec, prior, clips: dict[str, np.ndarray], steps: int, windows: int, work: Path):
    """Windows/s of zstd and learned stores and of PyAV on H.264 of the same frames."""
    src = work / "src"
    for v in VIDEOS:
        write_video(src / f"{v}.mp4", clips[v], fps=25)
    stores = {}
    for kind, p in (("zstd", None), ("learned", prior)):
        url = str(work / f"{kind}.zarr")
        build_store(folder_manifest(src), codec, url, progress=False, prior=p)
        stores[kind] = CodeStore(url)
    entries = stores["zstd"].entries()
    rng = np.random.default_rng(0)
    picks = []
    for _ in range(windows):
        e = entries[int(rng.integers(len(entries)))]
        picks.append((e, int(rng.integers(0, e.steps - steps + 1))))
    t_factor = codec.config.temporal_factor
    out = {}
    for kind, store in stores.items():
        t0 = time.perf_counter()
        for e, s in picks:
            store.read(e.key, s, s + steps)
        out[kind] = windows / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    for e, s in picks:
        path = src / f"{e.attrs['id'].split('/')[-1].removesuffix('.mp4')}.mp4"
        list(iter_frames(path, start=s * t_factor, count=steps * t_factor))
    out["pyav"] = windows / (time.perf_counter() - t0)
    return out


def lossless_bench(
    data: Path,
    out: Path,
    codec: str = "cr240",
    prior: str = "cr240",
    size: int = 128,
    photo_clips: int = 24,
    chunk_steps: int = 32,
    steps: int = 16,
    windows: int = 30,
) -> dict[str, Path]:
    """Sizes and read speed (see the module doc); written to `out`/lossless.{json,md}."""
    args = {"data": data, "out": out, "codec": codec, "prior": prior, "size": size}
    args |= {"photo_clips": photo_clips, "chunk_steps": chunk_steps, "steps": steps}
    args |= {"windows": windows}
    torch.set_num_threads(1)
    run = Run.here()
    model = load_codec(codec)
    learned = load_prior(prior, codec_fingerprint(model))
    clips = held_out_clips(data, size, photo_clips)
    rows = size_rows(model, learned, clips, chunk_steps)
    videos = [r for r in rows if r["clip"] in VIDEOS]
    photos = [r for r in rows if r["clip"] not in VIDEOS]
    totals = [total(videos, "shared/data videos"), total(photos, "photos val"), total(rows, "all")]
    with tempfile.TemporaryDirectory() as tmp:
        speed = read_speed(model, learned, clips, steps, windows, Path(tmp))
    speed_rows = [
        {"reader": k, "windows/s": v, "x PyAV": v / speed["pyav"]} for k, v in speed.items()
    ]
    table = (
        "One thread, on a machine shared with other jobs: timings are indicative.\n\n"
        f"inputs: `{codec}` codes of {', '.join(VIDEOS)} (all frames, {size}x"
        f"{size} cover crop) and {len(photos)} validation clips of the photos in motion "
        f"(32 frames); prior `{prior}` ({learned.fingerprint}, trained on {learned.info})\n\n"
        "## Bytes (held-out footage)\n\n"
        + markdown_table(videos + photos)
        + "\n"
        + markdown_table(totals)
        + f"\n## Reading random {steps}-step windows ({windows} windows, "
        f"chunks of {chunk_steps} steps)\n\n" + markdown_table(speed_rows)
    )
    payload = {
        "args": {k: str(v) for k, v in args.items()},
        "prior": {"fingerprint": learned.fingerprint, "info": learned.info},
        "clips": rows,
        "totals": totals,
        "read_speed": speed,
    }
    title = "The learned lossless stage against zstd"
    return write_results(out, "lossless", title, payload, table, run)
