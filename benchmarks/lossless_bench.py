"""The learned lossless stage against zstd, on cr240 codes of footage the prior never saw.

1. Size: for each held-out clip (shared/data's three videos at --size, and the validation
   split of the photos filmed by the virtual camera), cr240's codes; per clip the index CR,
   the bytes of zstd (level 19, the whole clip), the prior's cross-entropy bound and the
   bytes the learned coder writes (each chunk of 32 steps coded on its own, headers
   included); every clip's chunks are decoded back and compared (bit-exact round trip).
2. Read speed: the three videos are stored twice (`build_store`, zstd and learned), and
   random windows of --steps code steps are read from each store, against decoding the
   same frames with PyAV from an H.264 file of the same frames (seek + decode), in one run.

Writes results/lossless.json and results/lossless.md.

    .venv/bin/python benchmarks/lossless_bench.py [--prior cr240] [--windows 30]
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from compressed_vision.codec import codec_fingerprint, load_codec
from compressed_vision.codec.files import frames_to_tensor
from compressed_vision.codec.lossless import decode_chunk, encode_chunk, load_prior
from compressed_vision.codec.rate import rate_figures
from compressed_vision.report import markdown_table, write_report
from compressed_vision.sources import folder_manifest
from compressed_vision.sources.camera import CameraConfig, PhotoClips
from compressed_vision.store import CodeStore, build_store
from compressed_vision.video.io import iter_frames, read_video, write_video

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
VIDEOS = ("bigbuckbunny", "bikes", "carphone_pristine")


def held_out_clips(size: int, photo_clips: int) -> dict[str, np.ndarray]:
    """name -> (T, H, W, 3) uint8: the videos, and the photos' validation clips (32 frames)."""
    clips = {v: read_video(DATA / f"{v}.mp4", size=size) for v in VIDEOS}
    val = PhotoClips(DATA / "photos", CameraConfig(32, size), "val", val_clips=photo_clips)
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--codec", default="cr240")
    ap.add_argument("--prior", default="cr240")
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--photo-clips", type=int, default=24)
    ap.add_argument("--chunk-steps", type=int, default=32)
    ap.add_argument("--steps", type=int, default=16)
    ap.add_argument("--windows", type=int, default=30)
    ap.add_argument("--out", type=Path, default=Path("results"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    command = "python " + shlex.join(sys.argv)
    codec = load_codec(args.codec)
    prior = load_prior(args.prior, codec_fingerprint(codec))
    clips = held_out_clips(args.size, args.photo_clips)
    rows = size_rows(codec, prior, clips, args.chunk_steps)
    videos = [r for r in rows if r["clip"] in VIDEOS]
    photos = [r for r in rows if r["clip"] not in VIDEOS]
    totals = [total(videos, "shared/data videos"), total(photos, "photos val"), total(rows, "all")]
    with tempfile.TemporaryDirectory() as tmp:
        speed = read_speed(codec, prior, clips, args.steps, args.windows, Path(tmp))
    machine = f"{platform.platform()}, {platform.processor() or platform.machine()}, 1 thread"
    speed_rows = [
        {"reader": k, "windows/s": v, "x PyAV": v / speed["pyav"]} for k, v in speed.items()
    ]
    table = (
        f"command: `{command}`\n\nmachine: {machine} (shared with other jobs: timings are "
        f"indicative)\n\ninputs: cr240 codes of {', '.join(VIDEOS)} (all frames, {args.size}x"
        f"{args.size} cover crop) and {len(photos)} validation clips of the photos in motion "
        f"(32 frames); prior `{args.prior}` ({prior.fingerprint}, trained on {prior.info})\n\n"
        "## Bytes (held-out footage)\n\n"
        + markdown_table(videos + photos)
        + "\n"
        + markdown_table(totals)
        + f"\n## Reading random {args.steps}-step windows ({args.windows} windows, "
        f"chunks of {args.chunk_steps} steps)\n\n" + markdown_table(speed_rows)
    )
    payload = {
        "command": command,
        "machine": machine,
        "args": {k: str(v) for k, v in vars(args).items()},
        "prior": {"fingerprint": prior.fingerprint, "info": prior.info},
        "clips": rows,
        "totals": totals,
        "read_speed": speed,
    }
    write_report(args.out, "lossless", payload, table)
    print(table)


if __name__ == "__main__":
    main()
