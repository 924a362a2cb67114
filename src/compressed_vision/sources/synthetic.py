"""A procedural, seeded, labelled video dataset generated on the fly (no files needed).

Each class is a *motion* (translation in one of six directions, rotation either way,
growing, shrinking), so a single frame cannot tell the class: only motion over time can.
The moving object's shape, stripes and colours are random, the background is a random
texture, a distractor blob wanders at random, and every pixel gets noise.

With `segments > 1` a video is a sequence of segments of different motions, and
`frame_labels` gives each frame's class (for frame-wise classification).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch.utils.data import Dataset

CLASS_NAMES = (
    "move_right",
    "move_left",
    "move_up",
    "move_down",
    "move_down_right",
    "move_up_left",
    "rotate_cw",
    "rotate_ccw",
    "grow",
    "shrink",
)
_DIRECTIONS = {
    0: (1, 0),
    1: (-1, 0),
    2: (0, -1),
    3: (0, 1),
    4: (0.7071, 0.7071),
    5: (-0.7071, -0.7071),
}
_SHAPES = 4  # square, diamond, cross, disc (all striped, so rotation shows)


@dataclass(frozen=True)
class SyntheticConfig:
    """Size of the synthetic dataset; every item is a function of (seed, index) only."""

    num_videos: int = 1000
    frames: int = 16
    size: int = 64
    segments: int = 1  # >1: frame-wise labels from segments of different motions
    noise: float = 0.04
    seed: int = 0

    @property
    def num_classes(self) -> int:
        return len(CLASS_NAMES)


def _texture(gen: torch.Generator, size: int) -> torch.Tensor:
    """A random smooth colour texture with some fine grain, (3, size, size) in [0, 1]."""
    coarse = torch.rand(3, 6, 6, generator=gen)
    fine = torch.rand(3, size // 4, size // 4, generator=gen)
    up = lambda x: F.interpolate(x[None], size=(size, size), mode="bicubic", align_corners=False)[0]  # noqa: E731
    return (0.5 + 0.6 * (0.75 * up(coarse) + 0.25 * up(fine) - 0.5)).clamp(0, 1)


def _shape_norm(kind: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """A 'norm' in the object's own coordinates: the shape is where it is below 1."""
    if kind == 0:
        return torch.maximum(u.abs(), v.abs())
    if kind == 1:
        return u.abs() + v.abs()
    if kind == 2:
        return torch.minimum(
            torch.maximum(u.abs(), 2.5 * v.abs()), torch.maximum(2.5 * u.abs(), v.abs())
        )
    return torch.sqrt(u * u + v * v)


def _render_segment(
    gen: torch.Generator, label: int, length: int, size: int, canvas: torch.Tensor
) -> torch.Tensor:
    """Draw one moving striped object of class `label` over `canvas` (T, 3, H, W) in place."""
    r = lambda lo, hi: lo + (hi - lo) * torch.rand((), generator=gen).item()  # noqa: E731
    t = torch.arange(length, dtype=torch.float32)
    half = size / 2
    radius = torch.full_like(t, size * r(0.14, 0.22))
    angle = torch.full_like(t, r(0, 2 * math.pi))
    center = (
        torch.tensor([half + r(-0.1, 0.1) * size, half + r(-0.1, 0.1) * size])
        .expand(length, 2)
        .clone()
    )
    progress = t / max(length - 1, 1) - 0.5  # -0.5 .. 0.5 over the segment
    if label in _DIRECTIONS:
        travel = size * r(0.35, 0.5)
        center = center + progress[:, None] * travel * torch.tensor(_DIRECTIONS[label])
    elif label in (6, 7):
        spin = r(0.9, 1.6) * math.pi * (1 if label == 6 else -1)
        angle = angle + progress * spin
    else:
        ratio = r(1.8, 2.4) if label == 8 else 1 / r(1.8, 2.4)
        radius = radius * ratio**progress  # geometric growth
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float32),
        torch.arange(size, dtype=torch.float32),
        indexing="ij",
    )
    dx = xs[None] - center[:, 0, None, None]
    dy = ys[None] - center[:, 1, None, None]
    cos, sin = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    u = (cos * dx + sin * dy) / radius[:, None, None]
    v = (-sin * dx + cos * dy) / radius[:, None, None]
    kind = int(torch.randint(_SHAPES, (), generator=gen))
    edge = radius[:, None, None] / 1.5  # soft edge about 1.5 px wide
    mask = torch.sigmoid((1 - _shape_norm(kind, u, v)) * edge)
    stripes = torch.sigmoid(6 * torch.sin(u * math.pi * r(1.2, 2.0)))
    c1, c2 = torch.rand(3, generator=gen), torch.rand(3, generator=gen)
    colour = c1[None, :, None, None] * stripes[:, None] + c2[None, :, None, None] * (
        1 - stripes[:, None]
    )
    canvas.mul_(1 - mask[:, None]).add_(colour * mask[:, None])
    return canvas


def _distractor(gen: torch.Generator, frames: int, size: int, video: torch.Tensor) -> None:
    """A small blurry blob on a random walk: motion that belongs to no class."""
    steps = torch.randn(frames, 2, generator=gen) * size * 0.02
    pos = (torch.rand(2, generator=gen) * size * 0.8 + size * 0.1) + steps.cumsum(0)
    ys, xs = torch.meshgrid(
        torch.arange(size, dtype=torch.float32),
        torch.arange(size, dtype=torch.float32),
        indexing="ij",
    )
    d2 = (xs[None] - pos[:, 0, None, None]) ** 2 + (ys[None] - pos[:, 1, None, None]) ** 2
    blob = torch.exp(-d2 / (2 * (size * 0.05) ** 2))[:, None]
    colour = torch.rand(3, generator=gen)[None, :, None, None]
    video.mul_(1 - 0.8 * blob).add_(0.8 * blob * colour)


def make_video(cfg: SyntheticConfig, index: int) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Item `index`: (video (3, T, H, W) float in [0, 1], label, frame_labels (T,))."""
    gen = torch.Generator().manual_seed(cfg.seed * 1_000_003 + index)
    classes = cfg.num_classes
    frames, size = cfg.frames, cfg.size
    if cfg.segments <= 1:
        labels = [index % classes]  # exact class balance
        bounds = [0, frames]
    else:
        labels = [int(torch.randint(classes, (), generator=gen))]
        for _ in range(cfg.segments - 1):
            nxt = int(torch.randint(classes - 1, (), generator=gen))
            labels.append(nxt + (nxt >= labels[-1]))  # always a different motion
        cuts = torch.linspace(0, frames, cfg.segments + 1)
        jitter = (torch.rand(cfg.segments - 1, generator=gen) - 0.5) * (frames / cfg.segments) * 0.5
        bounds = [0] + [int(c) for c in (cuts[1:-1] + jitter).round()] + [frames]
    background = _texture(gen, size)
    video = background[None].repeat(frames, 1, 1, 1)
    frame_labels = torch.empty(frames, dtype=torch.long)
    for label, a, b in zip(labels, bounds[:-1], bounds[1:], strict=True):
        _render_segment(gen, label, b - a, size, video[a:b])
        frame_labels[a:b] = label
    _distractor(gen, frames, size, video)
    video.add_(torch.randn(video.shape, generator=gen) * cfg.noise).clamp_(0, 1)
    return (
        video.permute(1, 0, 2, 3).contiguous(),
        labels[0] if cfg.segments <= 1 else -1,
        frame_labels,
    )


class SyntheticVideos(Dataset):
    """`dataset[i]` -> {"video": (3, T, H, W) float, "label": int, "frame_labels": (T,) long}.

    For frame-wise datasets (`segments > 1`) "label" is the most frequent frame label.
    """

    def __init__(self, cfg: SyntheticConfig):
        self.cfg = cfg

    def __len__(self) -> int:
        return self.cfg.num_videos

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        video, label, frame_labels = make_video(self.cfg, index)
        if label < 0:
            label = int(torch.mode(frame_labels).values)
        return {"video": video, "label": label, "frame_labels": frame_labels}
