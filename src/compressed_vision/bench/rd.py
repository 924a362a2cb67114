"""Rate-distortion: neural codecs against JPEG, H.264 and HEVC on the same clips, at the
same bytes.

Each neural codec encodes every clip; its rate is the bytes its lossless stage writes
(zstd, or with a learned prior the smaller of zstd and learned coding), beside the paper's
index CR, the entropy bound, zstd's bytes and the prior's cross-entropy bound. Each
classical codec is then rate-matched to exactly those bytes on the same clip, so every row
of a group is at the same size. Quality: PSNR and MS-SSIM on the decoded uint8 frames.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..baselines import METHODS, at_rate, frames_ms_ssim, frames_psnr
from ..codec import Codec, codec_fingerprint, common_region, load_codec
from ..codec.files import frames_to_tensor, tensor_to_frames
from ..codec.lossless import IntegerPrior, load_prior
from ..codec.rate import rate_figures
from ..report import Run, markdown_table, save_plot, write_results
from ..sources.folder import find_videos
from ..video.io import read_video


def load_clips(folder: str | Path, frames: int, size: int) -> dict[str, np.ndarray]:
    """The first `frames` frames of every video under `folder`, centre-cropped to `size`."""
    return {p.stem: read_video(p, count=frames, size=size) for p in find_videos(folder)}


@torch.no_grad()
def neural_row(
    codec: Codec, clip: np.ndarray, device: torch.device, prior: IntegerPrior | None = None
) -> dict[str, Any]:
    """The codec's figures on one clip; quality on the region its decode covers (the whole
    clip, or its centre for the official 2x-time codecs: see `common_region`)."""
    video = frames_to_tensor(clip).to(device)
    codes = codec.encode(video)
    t, h, w = clip.shape[:3]
    decoded, seen = common_region(codec.decode(codes), video)
    recon, source = tensor_to_frames(decoded), tensor_to_frames(seen)
    rates = rate_figures(codes[0].cpu(), codec.codebook_size, t, h, w, prior)
    return {
        "psnr": frames_psnr(source, recon),
        "ms_ssim": frames_ms_ssim(source, recon),
        "cr": rates.raw_bytes / rates.smallest_bytes,
        "index_cr": rates.index_cr,
        "entropy_cr": rates.entropy_cr,
        "zstd_bytes": rates.zstd_bytes,
        "bound_bytes": rates.bound_bytes,
        "learned_bytes": rates.learned_bytes,
        "bytes": rates.smallest_bytes,
    }


def baseline_row(clip: np.ndarray, method: str, target_cr: float) -> dict[str, Any]:
    res = at_rate(clip, method, target_cr)
    return {
        "psnr": frames_psnr(clip, res.frames),
        "ms_ssim": frames_ms_ssim(clip, res.frames),
        "cr": res.achieved_cr,
        "bytes": res.payload_bytes,
        "reachable": res.reachable,
        "setting": res.setting,
    }


def _mean(rows: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in rows]))


def _prior_for(codec: Codec, priors: list[str | Path]) -> IntegerPrior | None:
    """The first of `priors` trained for this codec, or None."""
    fingerprint = codec_fingerprint(codec)
    for p in priors:
        prior = load_prior(p)
        if prior.codec_fingerprint == fingerprint:
            return prior.integer
    return None


def rd_benchmark(
    clips: dict[str, np.ndarray],
    codec_paths: list[str | Path],
    device: torch.device,
    priors: list[str | Path] = (),
) -> dict[str, Any]:
    """Per codec: the neural figures per clip and each baseline at the same bytes (with a
    prior of that codec among `priors`, the smaller of zstd's and the learned bytes)."""
    groups = []
    for path in codec_paths:
        codec = load_codec(path, device)
        prior = _prior_for(codec, list(priors))
        per_clip = {}
        for name, clip in tqdm(clips.items(), desc=f"rd {Path(path).stem}", leave=False):
            row = {"neural": neural_row(codec, clip, device, prior)}
            for method in METHODS:
                row[method] = baseline_row(clip, method, row["neural"]["cr"])
            per_clip[name] = row
        group = {"codec": str(path), "kind": codec.kind, "config": codec.spec.to_dict()}
        groups.append({**group, "clips": per_clip})
    return {"groups": groups}


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for group in result["groups"]:
        clips = list(group["clips"].values())
        for method in ("neural", *METHODS):
            per = [c[method] for c in clips]
            reach = all(p.get("reachable", True) for p in per)
            rows.append(
                {
                    "codec": Path(group["codec"]).stem,
                    "method": method,
                    "mean CR": round(_mean(per, "cr"), 1),
                    "PSNR (dB)": round(_mean(per, "psnr"), 2),
                    "MS-SSIM": round(_mean(per, "ms_ssim"), 4),
                    "note": "" if reach else "rate unreachable: smallest setting shown",
                }
            )
    return rows


def plot_rd(result: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method in ("neural", *METHODS):
        pts = sorted(
            (
                _mean(list(c[method] for c in g["clips"].values()), "cr"),
                _mean(list(c[method] for c in g["clips"].values()), "psnr"),
            )
            for g in result["groups"]
        )
        ax.plot(*zip(*pts, strict=True), marker="o", label=method)
    ax.set_xscale("log")
    ax.set_xlabel("compression rate (raw bytes / bytes written)")
    ax.set_ylabel("PSNR (dB)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    save_plot(fig, path)


def run_rd(
    folder: Path,
    codec_paths: list[str | Path],
    out: Path,
    device: torch.device,
    frames: int = 32,
    size: int = 128,
    priors: list[str | Path] = (),
) -> tuple[dict, str]:
    clips = load_clips(folder, frames, size)
    result = rd_benchmark(clips, codec_paths, device, priors)
    result["inputs"] = {k: list(v.shape) for k, v in clips.items()}
    body = (
        f"inputs: {len(clips)} clips from {folder}, {frames} frames, {size}x{size} centre crop\n\n"
        + markdown_table(summary_rows(result))
    )
    run = Run.here(device)
    written = write_results(out, "rd", "Rate-distortion at equal bytes", result, body, run)
    plot_rd(result, out / "rd.png")
    return result, written["md"].read_text()
