"""Rate-distortion of the classical baselines (JPEG, H.264, HEVC) at matched compression rates.

Reproduces the table in shared/NOTES.md: the clips in shared/data, centre-cropped to 128x128,
32 frames, each codec rate-matched at CR 30, 120, 240 and 480; mean PSNR and MS-SSIM over the
clips and the achieved CR. `rd_baselines` writes rd_baselines.json (everything, per clip)
and rd_baselines.md (the tables).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import av
import numpy as np
import PIL
from tqdm.auto import tqdm

from ..baselines import METHODS, at_rate, frames_ms_ssim, frames_psnr
from ..errors import CVError
from ..report import Run, markdown_table, write_results
from ..video.io import read_video

CRS = (30.0, 120.0, 240.0, 480.0)
NAMES = {"jpeg": "JPEG", "h264": "H.264", "hevc": "HEVC"}
# Mean PSNR (dB) from shared/NOTES.md (CRF 10-50 in steps of 2; None: unreachable there).
NOTES_PSNR = {
    30: {"jpeg": 30.5, "h264": 38.3, "hevc": 38.6},
    120: {"jpeg": None, "h264": 34.9, "hevc": 35.8},
    240: {"jpeg": None, "h264": 31.5, "hevc": 33.2},
    480: {"jpeg": None, "h264": 27.0, "hevc": 30.3},
}


def measure(clips: dict[str, np.ndarray], crs: list[float]) -> list[dict[str, Any]]:
    """One record per (clip, codec, CR): the rate search's result and the distortion."""
    records = []
    jobs = [(n, m, cr) for cr in crs for m in METHODS for n in clips]
    for name, method, cr in tqdm(jobs, desc="encode", file=sys.stderr):
        frames = clips[name]
        start = time.perf_counter()
        result = at_rate(frames, method, cr)
        seconds = time.perf_counter() - start
        records.append(
            {
                "clip": name,
                **result.to_dict(),
                "psnr_db": frames_psnr(frames, result.frames),
                "ms_ssim": frames_ms_ssim(frames, result.frames),
                "search_seconds": seconds,
            }
        )
    return records


def summarise(records: list[dict[str, Any]], crs: list[float]) -> list[dict[str, Any]]:
    """Mean over clips per (CR, codec)."""
    rows = []
    for cr in crs:
        for method in METHODS:
            rs = [r for r in records if r["target_cr"] == cr and r["codec"] == method]
            key = "quality" if method == "jpeg" else "crf"
            rows.append(
                {
                    "target CR": f"{cr:g}",
                    "codec": NAMES[method],
                    "PSNR dB": float(np.mean([r["psnr_db"] for r in rs])),
                    "MS-SSIM": float(np.mean([r["ms_ssim"] for r in rs])),
                    "achieved CR": float(np.mean([r["achieved_cr"] for r in rs])),
                    "CR min-max": f"{min(r['achieved_cr'] for r in rs):.1f}-"
                    f"{max(r['achieved_cr'] for r in rs):.1f}",
                    "reachable": f"{sum(r['reachable'] for r in rs)}/{len(rs)}",
                    "within 5%": f"{sum(r['within_tolerance'] for r in rs)}/{len(rs)}",
                    "settings": f"{key} " + ", ".join(f"{r[key]:.4g}" for r in rs),
                    "NOTES PSNR": _notes(cr, method),
                }
            )
    return rows


def _notes(cr: float, method: str) -> str:
    if cr not in NOTES_PSNR:
        return "-"
    value = NOTES_PSNR[cr][method]
    return "unreachable" if value is None else f"{value:.1f}"


def pivot(summary: list[dict[str, Any]], crs: list[float]) -> list[dict[str, Any]]:
    """NOTES.md's layout: one row per CR, mean PSNR per codec (ours / NOTES)."""
    rows = []
    for cr in crs:
        row: dict[str, Any] = {"target CR": f"{cr:g}x"}
        for method in METHODS:
            match = (f"{cr:g}", NAMES[method])
            s = next(r for r in summary if (r["target CR"], r["codec"]) == match)
            reached, total = map(int, s["reachable"].split("/"))
            if reached == total:
                ours = f"{s['PSNR dB']:.1f}"
            else:
                ours = f"unreachable ({s['reachable']} reach; ~{s['achieved CR']:.0f}x at q1)"
            row[NAMES[method]] = f"{ours} / {s['NOTES PSNR']}"
        rows.append(row)
    return rows


def per_clip(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "clip": r["clip"],
            "codec": NAMES[r["codec"]],
            "target CR": f"{r['target_cr']:g}",
            "setting": f"{r['quality']:.4g}" if "quality" in r else f"{r['crf']:.4g}",
            "payload B": r["payload_bytes"],
            "container B": r["container_bytes"],
            "achieved CR": r["achieved_cr"],
            "PSNR dB": r["psnr_db"],
            "MS-SSIM": r["ms_ssim"],
            "encodes": r["encodes"],
        }
        for r in records
    ]


def rd_baselines(
    data: Path, out: Path, frames: int = 32, size: int = 128, crs: tuple[float, ...] = CRS
) -> dict[str, Path]:
    """Every .mp4 clip of `data` at every CR of `crs`; written to `out`/rd_baselines.{json,md}."""
    crs = list(crs)
    run = Run.here(
        pyav=av.__version__,
        pillow=PIL.__version__,
        libavcodec=".".join(map(str, av.library_versions["libavcodec"])),
    )
    paths = sorted(Path(data).glob("*.mp4"))
    if not paths:
        raise CVError(f"no .mp4 clips under {data}")
    clips = {p.stem: read_video(p, count=frames, size=size) for p in paths}
    inputs = {n: list(c.shape) for n, c in clips.items()}
    print(run)
    print(f"inputs:  {data} -> {inputs} (uint8 T,H,W,3; centre crop)")

    start = time.perf_counter()
    records = measure(clips, crs)
    summary = summarise(records, crs)
    table = (
        "## Mean PSNR (dB) over the clips: ours / NOTES.md\n\n"
        + markdown_table(pivot(summary, crs))
        + "\n## Mean over the clips\n\n"
        + markdown_table(summary)
        + "\n## Per clip\n\n"
        + markdown_table(per_clip(records))
    )
    payload = {
        "inputs": {"data": str(data), "clips": inputs, "size": size},
        "settings": {
            "jpeg": "Pillow, quality 1-95 binary search, optimize=True (Huffman), 4:2:0",
            "mpeg": "PyAV libx264/libx265, preset medium, 1 thread (x265 wpp=0), float CRF "
            "bisection, payload = packet bytes (encoder info SEI removed), within 5% of raw/CR",
        },
        "seconds": time.perf_counter() - start,
        "summary": summary,
        "records": records,
    }
    title = "Classical baselines at matched CR"
    body = f"inputs: {inputs}\n\n" + table
    written = write_results(out, "rd_baselines", title, payload, body, run)
    print(table)
    print(f"took {payload['seconds']:.1f} s")
    return written
