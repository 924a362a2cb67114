"""Pixel-space augmentations: the ground truth the latent augmenter imitates.

Every transform takes a batch of videos (B, 3, T, H, W) in [0, 1] and a parameter tensor
(B, P) with one row per sample, so a batch can hold a different augmentation strength in
every clip (torchvision's functional ops take one scalar per call). Each frame is
transformed on its own (the same way for every frame of a clip):

- ``flip`` (flag): 1 mirrors left-right, 0 keeps the clip;
- ``crop`` (y0, x0, h, w): a box in normalised frame coordinates, resized back to H x W;
- ``brightness`` (delta): adds delta to every channel;
- ``saturation`` (factor): blends with the grey image (0: grey, 1: unchanged);
- ``contrast`` (factor): blends with the frame's mean grey level (0: flat, 1: unchanged);
- ``rotation`` (degrees): counter-clockwise about the centre, black outside the frame.

Results are clamped to [0, 1]. Geometry is bilinear resampling through an affine grid
(`affine_theta`), which the latent augmenter reuses for its naive latent-grid operation.
Parameters outside the valid range raise `CVError` (`check_params`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from ..errors import CVError, ShapeError

TRANSFORMS = ("flip", "crop", "brightness", "saturation", "contrast", "rotation")
PARAM_NAMES: dict[str, tuple[str, ...]] = {
    "flip": ("flip",),
    "crop": ("y0", "x0", "h", "w"),
    "brightness": ("delta",),
    "saturation": ("factor",),
    "contrast": ("factor",),
    "rotation": ("degrees",),
}
# Sampling ranges ("the usual ones"); crop samples an area fraction and an aspect ratio.
SAMPLE_RANGES: dict[str, tuple[float, float]] = {
    "crop_area": (0.25, 1.0),
    "crop_ratio": (3 / 4, 4 / 3),
    "brightness": (-0.3, 0.3),
    "saturation": (0.4, 1.6),
    "contrast": (0.6, 1.4),
    "rotation": (-30.0, 30.0),
}
_GREY = (0.2989, 0.587, 0.114)  # ITU-R 601 luma weights, as torchvision's rgb_to_grayscale
_EPS = 1e-6


def _kind(kind: str) -> str:
    if kind not in TRANSFORMS:
        raise CVError(f"unknown augmentation {kind!r}; choose from {', '.join(TRANSFORMS)}")
    return kind


def check_params(kind: str, params: torch.Tensor) -> None:
    """Raise `CVError` (`ShapeError` for a wrong shape) unless `params` are valid for `kind`."""
    names = PARAM_NAMES[_kind(kind)]
    if params.ndim != 2 or params.shape[1] != len(names):
        raise ShapeError(
            f"{kind} takes parameters of shape (B, {len(names)}) ({', '.join(names)}), "
            f"got {tuple(params.shape)}"
        )
    p = params.detach().float().cpu()
    if not torch.isfinite(p).all():
        raise CVError(f"{kind} parameters must be finite, got {p.tolist()}")
    bad: torch.Tensor
    if kind == "flip":
        bad = (p[:, 0] != 0) & (p[:, 0] != 1)
        reason = "the flip flag must be 0 or 1"
    elif kind == "crop":
        y0, x0, h, w = p.unbind(1)
        bad = (h <= 0) | (w <= 0) | (y0 < -_EPS) | (x0 < -_EPS)
        bad |= (y0 + h > 1 + _EPS) | (x0 + w > 1 + _EPS)
        reason = "a crop box (y0, x0, h, w) needs h, w > 0 and must lie inside the frame [0, 1]"
    elif kind == "brightness":
        bad = p[:, 0].abs() > 1
        reason = "a brightness delta must be in [-1, 1]"
    elif kind in ("saturation", "contrast"):
        bad = (p[:, 0] < 0) | (p[:, 0] > 10)
        reason = f"a {kind} factor must be in [0, 10]"
    else:
        bad = p[:, 0].abs() > 180
        reason = "a rotation angle must be in [-180, 180] degrees"
    if bad.any():
        rows = bad.nonzero().flatten().tolist()
        raise CVError(f"{reason}; got {p[rows].tolist()} (sample(s) {rows})")


def affine_theta(kind: str, params: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, 2, 3) maps from output to input coordinates (as `F.affine_grid` takes them) for the
    geometric transforms; the identity for the photometric ones."""
    b = params.shape[0]
    theta = torch.zeros(b, 2, 3, dtype=torch.float32, device=params.device)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    p = params.float()
    if kind == "flip":
        theta[:, 0, 0] = 1 - 2 * p[:, 0]
    elif kind == "crop":
        y0, x0, h, w = p.unbind(1)
        theta[:, 0, 0], theta[:, 0, 2] = w, 2 * x0 + w - 1
        theta[:, 1, 1], theta[:, 1, 2] = h, 2 * y0 + h - 1
    elif kind == "rotation":
        a = p[:, 0] * (math.pi / 180)
        cos, sin = torch.cos(a), torch.sin(a)
        theta[:, 0, 0], theta[:, 0, 1] = cos, -sin * height / width
        theta[:, 1, 0], theta[:, 1, 1] = sin * width / height, cos
    return theta


def warp_frames(x: torch.Tensor, theta: torch.Tensor, padding_mode: str = "zeros") -> torch.Tensor:
    """Resample every frame of (B, C, T, H, W) through its sample's affine map (B, 2, 3)."""
    b, c, t, h, w = x.shape
    frames = x.transpose(1, 2).reshape(b * t, c, h, w)
    theta = theta.to(x.device, x.dtype).repeat_interleave(t, dim=0)
    grid = F.affine_grid(theta, [b * t, c, h, w], align_corners=False)
    out = F.grid_sample(frames, grid, "bilinear", padding_mode, align_corners=False)
    return out.reshape(b, t, c, h, w).transpose(1, 2)


def _grey(video: torch.Tensor) -> torch.Tensor:
    weights = torch.tensor(_GREY, dtype=video.dtype, device=video.device)
    return torch.einsum("bcthw,c->bthw", video, weights).unsqueeze(1)


def _per_sample(values: torch.Tensor) -> torch.Tensor:
    return values.to(torch.float32).view(-1, 1, 1, 1, 1)


def hflip(video: torch.Tensor, flags: torch.Tensor) -> torch.Tensor:
    """Mirror left-right the clips whose flag is 1."""
    return torch.where(_per_sample(flags).to(video.device) > 0.5, video.flip(-1), video)


def crop_resize(video: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
    """Crop each clip to its box (y0, x0, h, w), normalised, and resize back to H x W."""
    theta = affine_theta("crop", boxes, *video.shape[-2:])
    return warp_frames(video, theta, "border").clamp(0, 1)


def rotate(video: torch.Tensor, degrees: torch.Tensor) -> torch.Tensor:
    """Rotate each clip counter-clockwise by its angle about the centre (black corners)."""
    theta = affine_theta("rotation", degrees.view(-1, 1), *video.shape[-2:])
    return warp_frames(video, theta, "zeros").clamp(0, 1)


def adjust_brightness(video: torch.Tensor, delta: torch.Tensor) -> torch.Tensor:
    return (video + _per_sample(delta).to(video)).clamp(0, 1)


def adjust_saturation(video: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    f = _per_sample(factor).to(video)
    return (f * video + (1 - f) * _grey(video)).clamp(0, 1)


def adjust_contrast(video: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    """Blend with the mean grey level of each frame (as torchvision does per image)."""
    f = _per_sample(factor).to(video)
    mean = _grey(video).mean(dim=(-2, -1), keepdim=True)
    return (f * video + (1 - f) * mean).clamp(0, 1)


_APPLY: dict[str, Callable[[torch.Tensor, torch.Tensor], torch.Tensor]] = {
    "flip": lambda v, p: hflip(v, p[:, 0]),
    "crop": crop_resize,
    "brightness": lambda v, p: adjust_brightness(v, p[:, 0]),
    "saturation": lambda v, p: adjust_saturation(v, p[:, 0]),
    "contrast": lambda v, p: adjust_contrast(v, p[:, 0]),
    "rotation": lambda v, p: rotate(v, p[:, 0]),
}


def apply_transform(kind: str, video: torch.Tensor, params: torch.Tensor) -> torch.Tensor:
    """Transform (B, 3, T, H, W) videos with per-sample `params` (B, P) after checking them."""
    if video.ndim != 5 or video.shape[1] != 3:
        raise ShapeError(f"expected a (B, 3, T, H, W) video, got shape {tuple(video.shape)}")
    check_params(kind, params)
    if params.shape[0] != video.shape[0]:
        raise ShapeError(f"{params.shape[0]} parameter rows for a batch of {video.shape[0]}")
    return _APPLY[kind](video, params.to(video.device))


def _uniform(n: int, lo: float, hi: float, gen: torch.Generator | None) -> torch.Tensor:
    return lo + (hi - lo) * torch.rand(n, generator=gen)


def sample_params(kind: str, batch: int, generator: torch.Generator | None = None) -> torch.Tensor:
    """Random parameters (batch, P) on the CPU from `SAMPLE_RANGES` (flip: a fair coin)."""
    if _kind(kind) == "flip":
        return torch.randint(2, (batch, 1), generator=generator).float()
    if kind == "crop":
        area = _uniform(batch, *SAMPLE_RANGES["crop_area"], generator)
        lo, hi = (math.log(r) for r in SAMPLE_RANGES["crop_ratio"])
        ratio = torch.exp(_uniform(batch, lo, hi, generator))  # width / height
        h = (area / ratio).sqrt().clamp(max=1)
        w = (area * ratio).sqrt().clamp(max=1)
        y0 = (1 - h) * torch.rand(batch, generator=generator)
        x0 = (1 - w) * torch.rand(batch, generator=generator)
        return torch.stack([y0, x0, h, w], dim=1)
    return _uniform(batch, *SAMPLE_RANGES[kind], generator)[:, None]
