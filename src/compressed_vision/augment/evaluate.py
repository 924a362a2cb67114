"""Measuring a latent augmenter against the alternatives, per augmentation type and strength.

For clips x and parameters p, every method yields latents that are decoded and compared
with transform(x, p) (PSNR, per clip, averaged):

- ``latent``: aug(z, p), the augmenter on the quantised latents z of x;
- ``(a) upper``: encode(transform(x, p)), the best a codec can do (needs the pixels);
- ``(b) none``: z, doing nothing;
- ``(c) naive``: the latent-grid operation (flip, crop + resize, rotation only);
- ``(d) pixel``: encode(transform(decode(z), p)), round trip through pixels.

For reference (PSNR only, no latents): ``transform(decode)``, the decoded clip transformed in
pixels, i.e. the detail the codes of x hold about transform(x, p) before any re-encoding.

Also per method: the latent error relative to the encoder's latents of transform(x, p)
(MSE / their variance) and the code agreement (fraction of code indices equal after
quantising, against encode(transform(x, p))); and the speed of each, in clips per second.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from ..codec import Codec
from ..codec.data import VideoFolderClips
from ..report import save_plot
from ..sources.synthetic import SyntheticConfig, SyntheticVideos
from ..video.transforms import SAMPLE_RANGES
from .network import LatentAugmenter, latent_grid_op
from .params import Augmentation, applied_params, apply_pixels
from .train import decode, quantise

GEOMETRIC = ("flip", "crop", "rotation")
METHODS = ("latent", "(a) upper", "(b) none", "(c) naive", "(d) pixel")
DECODED = "transform(decode)"  # pixels, not latents: PSNR only
# What the strength of an augmentation is, for the parameter bins: (label, value, lo, hi).
_STRENGTH: dict[str, tuple[str, Callable[[torch.Tensor], torch.Tensor], float, float]] = {
    "crop": ("area", lambda p: p[:, 2] * p[:, 3], *SAMPLE_RANGES["crop_area"]),
    "rotation": ("|deg|", lambda p: p[:, 0].abs(), 0.0, SAMPLE_RANGES["rotation"][1]),
    "brightness": ("|delta|", lambda p: p[:, 0].abs(), 0.0, SAMPLE_RANGES["brightness"][1]),
    "saturation": ("|f-1|", lambda p: (p[:, 0] - 1).abs(), 0.0, SAMPLE_RANGES["saturation"][1] - 1),
    "contrast": ("|f-1|", lambda p: (p[:, 0] - 1).abs(), 0.0, SAMPLE_RANGES["contrast"][1] - 1),
}
# Parameters shown in the figure, one clear example per type.
SHOWCASE = {
    "flip": [1.0],
    "crop": [0.15, 0.2, 0.5, 0.5],
    "brightness": [0.25],
    "saturation": [0.4],
    "contrast": [0.6],
    "rotation": [25.0],
}


def _per_clip(x: torch.Tensor) -> torch.Tensor:
    return x.float().flatten(1).mean(1)


@torch.no_grad()
def method_latents(
    codec: Codec, augmenter: LatentAugmenter, video: torch.Tensor, aug: Augmentation
) -> tuple[dict[str, torch.Tensor], torch.Tensor, torch.Tensor, torch.Tensor]:
    """({method: latents}, the pixel target transform(x, p), the encoder's latents of it,
    transform(decode(z), p))."""
    q, _ = quantise(codec, codec.latents(video))
    target_video = apply_pixels(video, aug)
    target = codec.latents(target_video).float()
    round_trip = apply_pixels(decode(codec, q, video), aug)
    latents = {
        "latent": augmenter(q, aug),
        "(a) upper": quantise(codec, target)[0],
        "(b) none": q,
        "(d) pixel": quantise(codec, codec.latents(round_trip))[0],
    }
    if all(kind in GEOMETRIC for kind, _, _ in aug.groups()):
        latents["(c) naive"] = latent_grid_op(q, aug)
    return latents, target_video, target, round_trip


@torch.no_grad()
def clip_metrics(
    codec: Codec, augmenter: LatentAugmenter, video: torch.Tensor, aug: Augmentation
) -> dict[str, torch.Tensor]:
    """Per clip: "psnr <method>", "rel_mse <method>", "agree <method>" (on the CPU)."""
    latents, target_video, target, round_trip = method_latents(codec, augmenter, video, aug)
    _, target_codes = quantise(codec, target)
    variance = _per_clip((target - target.mean(dim=(1, 2, 3, 4), keepdim=True)) ** 2)

    def psnr(x: torch.Tensor) -> torch.Tensor:
        return -10 * torch.log10(_per_clip((x.float() - target_video) ** 2).clamp_min(1e-10))

    out: dict[str, torch.Tensor] = {f"psnr {DECODED}": psnr(round_trip)}
    for name, lat in latents.items():
        out[f"psnr {name}"] = psnr(decode(codec, lat, video))
        out[f"rel_mse {name}"] = _per_clip((lat.float() - target) ** 2) / variance
        out[f"agree {name}"] = _per_clip(quantise(codec, lat)[1] == target_codes)
    return {k: v.cpu() for k, v in out.items()}


def _rows(kind: str, params: torch.Tensor, metrics: dict[str, torch.Tensor], bins: int) -> list:
    """One row for all clips of `kind`, then one per strength bin (where strength varies)."""
    groups = [("all", torch.ones(len(params), dtype=torch.bool))]
    if kind in _STRENGTH and bins > 1:
        label, value, lo, hi = _STRENGTH[kind]
        strength = value(params)
        edges = torch.linspace(lo, hi, bins + 1).tolist()
        for i, (a, b) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
            last = i == bins - 1
            mask = (strength >= a) & ((strength <= b) if last else (strength < b))
            groups.append((f"{label} {a:.2g}-{b:.2g}", mask))
    rows = []
    for name, mask in groups:
        if not mask.any():
            continue
        m = {k: float(v[mask].mean()) for k, v in metrics.items()}
        row: dict[str, Any] = {"type": kind, "params": name, "clips": int(mask.sum())}
        row |= {f"PSNR {method}": m.get(f"psnr {method}", "-") for method in (*METHODS, DECODED)}
        row["vs (a) dB"] = m["psnr latent"] - m["psnr (a) upper"]
        row["vs (c) dB"] = m["psnr latent"] - m["psnr (c) naive"] if kind in GEOMETRIC else "-"
        row |= {f"rel MSE {method}": m.get(f"rel_mse {method}", "-") for method in METHODS}
        row |= {f"agree {method}": m.get(f"agree {method}", "-") for method in METHODS}
        rows.append(row)
    return rows


def _timed(fn: Callable[[], object], device: torch.device) -> float:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    fn()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


@torch.no_grad()
def measure_speed(
    codec: Codec,
    augmenter: LatentAugmenter,
    video: torch.Tensor,
    aug: Augmentation,
    repeats: int = 7,
) -> list[dict[str, Any]]:
    """Clips per second of each method on one batch, from the quantised latents (or, for (a),
    the pixels) to augmented latents; the methods take turns, the median time counts."""
    q, _ = quantise(codec, codec.latents(video))
    fns: dict[str, Callable[[], object]] = {
        "latent": lambda: augmenter(q, aug),
        "(c) naive": lambda: latent_grid_op(q, aug),
        "(a) upper": lambda: quantise(codec, codec.latents(apply_pixels(video, aug))),
        "(d) pixel": lambda: quantise(
            codec, codec.latents(apply_pixels(decode(codec, q, video), aug))
        ),
    }
    times: dict[str, list[float]] = {name: [] for name in fns}
    for i in range(repeats + 1):
        for name, fn in fns.items():
            elapsed = _timed(fn, video.device)
            if i:  # the first round warms up
                times[name].append(elapsed)
    median = {name: sorted(t)[len(t) // 2] for name, t in times.items()}
    return [
        {
            "method": name,
            "batch": len(video),
            "clips/s": len(video) / median[name],
            "speedup vs (d)": median["(d) pixel"] / median[name],
        }
        for name in fns
    ]


def evaluate_augmenter(
    codec: Codec,
    augmenter: LatentAugmenter,
    videos: torch.Tensor,
    device: torch.device,
    kinds: Sequence[str] | None = None,
    batch: int = 16,
    bins: int = 3,
    seed: int = 0,
    speed_batches: Sequence[int] = (16, 64),
) -> dict[str, Any]:
    """Evaluate on clips (N, 3, T, H, W): {"rows": per type and bin, "speed": per method and
    batch size (clips repeated to fill a batch)}."""
    codec.to(device).eval()
    augmenter.to(device).eval()
    kinds = tuple(kinds or augmenter.config.types)
    generator = torch.Generator().manual_seed(seed)
    rows: list[dict[str, Any]] = []
    for kind in kinds:
        params = applied_params(kind, len(videos), generator)
        parts: list[dict[str, torch.Tensor]] = []
        for start in range(0, len(videos), batch):
            chunk = videos[start : start + batch].to(device)
            aug = Augmentation.of(kind, params[start : start + batch])
            parts.append(clip_metrics(codec, augmenter, chunk, aug))
        metrics = {k: torch.cat([p[k] for p in parts]) for k in parts[0]}
        rows += _rows(kind, params, metrics, bins)
    speed = []
    for size in speed_batches:
        clips = videos[torch.arange(size) % len(videos)].to(device)
        aug = Augmentation.of("crop", applied_params("crop", size, generator))
        speed += measure_speed(codec, augmenter, clips, aug)
    return {
        "rows": rows,
        "speed": speed,
        "speed_note": "a batch of crop + resize (the geometric case), median of 7 runs",
        "clips": list(videos.shape),
        "kinds": list(kinds),
    }


def table_sections(result: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The evaluation as (title, rows) tables: PSNR, latent error and agreement, speed."""
    psnr_keys = ["type", "params", "clips"] + [f"PSNR {m}" for m in (*METHODS, DECODED)]
    psnr_keys += ["vs (a) dB", "vs (c) dB"]
    other = ["type", "params"] + [f"rel MSE {m}" for m in METHODS]
    other += [f"agree {m}" for m in METHODS]
    return [
        (
            "PSNR (dB) of the decoded latents against the pixel-augmented clip",
            [{k: r[k] for k in psnr_keys} for r in result["rows"]],
        ),
        (
            "Latent error (MSE / variance of the target latents) and code agreement",
            [{k: r[k] for k in other} for r in result["rows"]],
        ),
        (f"Speed ({result['speed_note']})", result["speed"]),
    ]


@torch.no_grad()
def save_figure(
    path: str | Path,
    codec: Codec,
    augmenter: LatentAugmenter,
    video: torch.Tensor,
    kinds: Sequence[str] | None = None,
) -> Path:
    """A PNG: per type, the middle frame of the original clip, pixel-augmented, (a) the
    codec's best, latent-augmented, and (c) the naive latent-grid operation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    kinds = tuple(kinds or augmenter.config.types)
    device = next(augmenter.parameters()).device
    clip = video[:1].to(device)
    columns = ("original", "pixel-augmented", "(a) upper", "latent-augmented", "(c) naive")
    fig, axes = plt.subplots(len(kinds), len(columns), figsize=(2 * len(columns), 2 * len(kinds)))
    axes = axes.reshape(len(kinds), len(columns))
    middle = clip.shape[2] // 2
    for row, kind in enumerate(kinds):
        aug = Augmentation.of(kind, torch.tensor([SHOWCASE[kind]]))
        latents, target_video, _, _ = method_latents(codec, augmenter, clip, aug)
        images = {
            "original": clip,
            "pixel-augmented": target_video,
            "(a) upper": decode(codec, latents["(a) upper"], clip),
            "latent-augmented": decode(codec, latents["latent"], clip),
        }
        if "(c) naive" in latents:
            images["(c) naive"] = decode(codec, latents["(c) naive"], clip)
        for col, name in enumerate(columns):
            ax = axes[row, col]
            ax.axis("off")
            if name in images:
                frame = images[name][0, :, middle].permute(1, 2, 0).clamp(0, 1).cpu().numpy()
                ax.imshow(frame)
            if row == 0:
                ax.set_title(name, fontsize=9)
        axes[row, 0].text(
            -0.1,
            0.5,
            kind,
            transform=axes[row, 0].transAxes,
            rotation=90,
            va="center",
            ha="right",
            fontsize=9,
        )
    return save_plot(fig, path, dpi=100)


def evaluation_clips(
    sources: Sequence[str], frames: int, size: int, per_source: int, seed: int = 0
) -> torch.Tensor:
    """Held-out clips (N, 3, T, H, W): up to `per_source` from each source, "synthetic" (seeds
    no training run uses) or a folder of videos (the held-out end of every file)."""
    clips: list[torch.Tensor] = []
    for source in sources:
        if source == "synthetic":
            data = SyntheticVideos(SyntheticConfig(per_source, frames, size, seed=seed + 10_000))
        else:
            data = VideoFolderClips(source, frames, size, split="val")
        clips += [data[i]["video"] for i in range(min(per_source, len(data)))]
    return torch.stack(clips)
