"""A continuous "walking tour": a camera moving smoothly through a large textured world of
districts, at 25 fps, any length up to hours, rendered lazily chunk by chunk.

The world is a long strip of *segments*. Each visit of the route is one segment of a
district (a stretch of its streets, starting at a random place), some visits pass through a
tunnel (a dark segment that looks the same in every district), and districts are revisited.
Each district has its own look: a palette, an oriented texture of its own frequency, a
horizon height and landmarks of its own shape, all painted once into a wide, horizontally
periodic *atlas* per district. The camera walks along the strip at a smoothly varying speed
and bobs up and down; a frame is a window cut out of the atlases, so rendering costs one or
two array slices per frame (thousands of frames per second on one core).

Everything is a function of the config: frame t depends only on t (so chunk boundaries
never change the frames), the looks only on `world_seed` and the route only on
`route_seed` (two tours of one world: same `world_seed`, other `route_seed`).

Labels of frame t come from the column under the frame's centre: the district, the visit,
whether it is inside a tunnel, whether the district was seen in an earlier visit, and the
camera's position along the route (in frame widths).
"""

from __future__ import annotations

import colorsys
import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, fields
from functools import cached_property

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import CVError

DISTRICT_NAMES = (
    "old_town",
    "harbour",
    "park",
    "market",
    "industrial",
    "gardens",
    "canal",
    "station",
    "campus",
    "suburbs",
    "docks",
    "hills",
)
ATLAS_WIDTHS = 64  # atlas width in frame widths
SHAPES = ("disc", "square", "triangle", "diamond", "cross", "ring")


@dataclass(frozen=True)
class TourConfig:
    """A tour: its length, frame size and rate, its world and its route."""

    minutes: float = 60.0
    size: int = 64
    fps: float = 25.0
    districts: int = 8
    world_seed: int = 0
    route_seed: int = 0
    visit_seconds: tuple[float, float] = (20.0, 60.0)
    tunnel_chance: float = 0.5  # of a visit passing through a tunnel
    tunnel_seconds: tuple[float, float] = (10.0, 25.0)
    speed: float = 0.01  # mean walking speed, in frame widths per frame

    def __post_init__(self) -> None:
        if not 2 <= self.districts <= len(DISTRICT_NAMES):
            raise CVError(f"districts must be in 2..{len(DISTRICT_NAMES)}")
        if self.size < 16 or self.minutes <= 0 or self.fps <= 0:
            raise CVError("need size >= 16, minutes > 0 and fps > 0")

    @property
    def frames(self) -> int:
        return max(1, round(self.minutes * 60 * self.fps))

    @property
    def district_names(self) -> tuple[str, ...]:
        return DISTRICT_NAMES[: self.districts]

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> TourConfig:
        known = {f.name for f in fields(cls)}
        values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items() if k in known}
        return cls(**values)


@dataclass(frozen=True)
class TourLabels:
    """Per-frame labels of frames [start, stop)."""

    district: np.ndarray  # int16 district index
    visit: np.ndarray  # int32 index of the visit along the route
    tunnel: np.ndarray  # bool: the frame's centre is inside a tunnel
    revisit: np.ndarray  # bool: the district was seen in an earlier visit
    position: np.ndarray  # float32 camera position along the route, in frame widths


@dataclass(frozen=True)
class Route:
    """The visits (in frames) and the strip's segments (in strip columns)."""

    visit_start: np.ndarray  # (K + 1,) first frame of each visit; the last entry is `frames`
    district: np.ndarray  # (K,) district of each visit
    revisit: np.ndarray  # (K,) the visit's district appeared in an earlier visit
    seg_start: np.ndarray  # (S,) first strip column of each segment (sorted)
    seg_source: np.ndarray  # (S,) atlas index: a district, or `districts` for the tunnel
    seg_shift: np.ndarray  # (S,) atlas column = (strip column + shift) % atlas width
    seg_visit: np.ndarray  # (S,) visit of each segment


def _oriented_noise(
    rng: np.random.Generator, h: int, w: int, freq: float, angle: float, spread: float
) -> np.ndarray:
    """Periodic band-pass noise (h, w) in [0, 1]: stripes of about `freq` cycles/pixel along
    `angle`, made by filtering white noise in the Fourier domain."""
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.rfftfreq(w)[None, :]
    u = fx * math.cos(angle) + fy * math.sin(angle)
    v = -fx * math.sin(angle) + fy * math.cos(angle)
    amp = np.exp(-((np.abs(u) - freq) ** 2 + (v / 2) ** 2) / (2 * spread**2))
    spec = amp * (rng.standard_normal(amp.shape) + 1j * rng.standard_normal(amp.shape))
    img = np.fft.irfft2(spec, s=(h, w))
    lo, hi = np.percentile(img, [2, 98])
    return np.clip((img - lo) / (hi - lo + 1e-9), 0, 1).astype(np.float32)


def _shape_mask(kind: str, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Where a landmark of `kind` is, in its own coordinates (unit radius)."""
    if kind == "disc":
        return u * u + v * v < 1
    if kind == "square":
        return np.maximum(np.abs(u), np.abs(v)) < 0.8
    if kind == "triangle":
        return (v < 0.7) & (v > 1.7 * np.abs(u) - 1)
    if kind == "diamond":
        return np.abs(u) + np.abs(v) < 1
    if kind == "cross":
        return (np.minimum(np.abs(u), np.abs(v)) < 0.3) & (np.maximum(np.abs(u), np.abs(v)) < 1)
    r2 = u * u + v * v
    return (r2 < 1) & (r2 > 0.4)


def _palette(rng: np.random.Generator, index: int, count: int) -> np.ndarray:
    """Three colours (3, 3) in [0, 1] around the district's own hue."""
    hue = (index / count + rng.uniform(-0.03, 0.03)) % 1
    sat, val = rng.uniform(0.45, 0.9), rng.uniform(0.55, 0.95)
    return np.array(
        [
            colorsys.hsv_to_rgb(hue, sat, val * 0.55),
            colorsys.hsv_to_rgb((hue + 0.08) % 1, sat * 0.7, val),
            colorsys.hsv_to_rgb((hue + 0.5) % 1, 0.9, 0.95),  # landmarks: the opposite hue
        ],
        dtype=np.float32,
    )


def district_atlas(size: int, index: int, count: int, world_seed: int) -> np.ndarray:
    """The look of district `index`: (2*size, ATLAS_WIDTHS*size, 3) uint8, periodic in x."""
    rng = np.random.default_rng((world_seed, index))
    h, w = 2 * size, ATLAS_WIDTHS * size
    colours = _palette(rng, index, count)
    freq = rng.uniform(2.0, 10.0) / size
    angle = (index * 0.61803398875 * math.pi + rng.uniform(-0.2, 0.2)) % math.pi
    texture = _oriented_noise(rng, h, w, freq, angle, freq * 0.25)
    shade = _oriented_noise(rng, h, w, 1.5 / size, 0.0, 0.6 / size)
    value = (0.7 * texture + 0.3 * shade)[..., None]
    ground = (colours[0] * (1 - value) + colours[1] * value) * (0.75 + 0.25 * shade[..., None])
    horizon = int(h * rng.uniform(0.1, 0.3))
    sky = np.linspace(0.95, 0.7, horizon, dtype=np.float32)[:, None, None] * (
        0.7 + 0.3 * colours[1]
    )
    ground[:horizon] = sky
    kind = SHAPES[index % len(SHAPES)]
    for cx in np.arange(0, w, 1.2 * size) + rng.uniform(0, size, size=int(w // (1.2 * size)) + 1):
        r = int(size * rng.uniform(0.12, 0.3))
        cy = int(rng.uniform(horizon - r, h - r))
        rows = np.clip(np.arange(cy - r, cy + r + 1), 0, h - 1)
        cols = np.arange(int(cx) - r, int(cx) + r + 1) % w
        v, u = np.mgrid[-r : r + 1, -r : r + 1] / max(r, 1)
        mask = _shape_mask(kind, u, v)[..., None]
        patch = ground[rows[:, None], cols[None, :]]
        ground[rows[:, None], cols[None, :]] = np.where(mask, colours[2], patch)
    return (ground.clip(0, 1) * 255).round().astype(np.uint8)


def tunnel_atlas(size: int) -> np.ndarray:
    """The inside of a tunnel, the same in every district: dark walls with lamps."""
    h, w = 2 * size, ATLAS_WIDTHS * size
    x = np.arange(w)[None, :]
    y = np.arange(h)[:, None]
    lamps = np.exp(-(((x % (size // 2)) - size // 4) ** 2) / (2 * (size / 16) ** 2))
    wall = 0.12 + 0.05 * np.cos(2 * np.pi * y / h) + 0.3 * lamps * (np.abs(y - h / 2) < h / 6)
    grey = np.repeat(wall[..., None], 3, axis=-1) * np.array([1.0, 0.95, 0.8])
    return (grey.clip(0, 1) * 255).round().astype(np.uint8)


def build_world(cfg: TourConfig) -> np.ndarray:
    """Every atlas stacked, (districts + 1, 2*size, atlas width + size, 3) uint8; the tunnel is
    last. The first `size` columns are repeated at the end, so that any window of a frame's
    width starting inside the atlas is one contiguous slice."""
    atlases = [
        district_atlas(cfg.size, i, cfg.districts, cfg.world_seed) for i in range(cfg.districts)
    ]
    atlases.append(tunnel_atlas(cfg.size))
    world = np.stack(atlases)
    return np.ascontiguousarray(np.concatenate([world, world[:, :, : cfg.size]], axis=2))


class WalkingTour:
    """A tour: `render(start, stop)` frames, `chunks(n)` streamed, `labels(start, stop)`."""

    def __init__(self, cfg: TourConfig):
        self.cfg = cfg
        self.atlas_width = ATLAS_WIDTHS * cfg.size
        rng = np.random.default_rng((cfg.world_seed, cfg.route_seed, 1))
        self._phase = rng.uniform(0, 2 * math.pi, size=2)
        self.route = self._plan(np.random.default_rng((cfg.world_seed, cfg.route_seed, 2)))

    def __len__(self) -> int:
        return self.cfg.frames

    @cached_property
    def world(self) -> np.ndarray:
        """The atlases (see `build_world`), painted on first use: labels need none."""
        return build_world(self.cfg)

    @property
    def frames(self) -> int:
        return self.cfg.frames

    def camera(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(left strip column, top atlas row) of frames t: the speed varies smoothly between
        half and one and a half times the mean, and the camera bobs up and down."""
        t = np.asarray(t, dtype=np.float64)
        size, fps = self.cfg.size, self.cfg.fps
        v, period = self.cfg.speed * size, 12.0 * fps
        k = 2 * math.pi / period
        a, b = self._phase
        pos = v * (t - 0.5 * (np.sin(k * t + a) - math.sin(a)) / k)
        bob = 0.5 * (1 + 0.9 * np.sin(2 * math.pi * t / (7.0 * fps) + b))
        return np.floor(pos).astype(np.int64), np.round(bob * size).astype(np.int64)

    def _plan(self, rng: np.random.Generator) -> Route:
        cfg = self.cfg
        starts, districts = [0], []
        while starts[-1] < cfg.frames:
            choices = [d for d in range(cfg.districts) if not districts or d != districts[-1]]
            districts.append(int(rng.choice(choices)))
            starts.append(starts[-1] + round(rng.uniform(*cfg.visit_seconds) * cfg.fps))
        starts[-1] = max(starts[-1], cfg.frames)
        seen: set[int] = set()
        revisit = []
        for d in districts:
            revisit.append(d in seen)
            seen.add(d)
        half = cfg.size // 2
        x0, _ = self.camera(np.array(starts))
        centre = x0 + half  # the strip column under the frame's centre at each visit start
        seg_start, seg_source, seg_shift, seg_visit = [], [], [], []
        for k, d in enumerate(districts):
            shift = int(rng.integers(self.atlas_width)) - int(centre[k])
            seg_start.append(centre[k])
            seg_source.append(d)
            seg_shift.append(shift)
            seg_visit.append(k)
            length = starts[k + 1] - starts[k]
            tunnel = round(rng.uniform(*cfg.tunnel_seconds) * cfg.fps)
            margin = round(5 * cfg.fps)  # of district before and after a tunnel
            if rng.random() < cfg.tunnel_chance and length > tunnel + 2 * margin:
                enter = starts[k] + int(rng.integers(margin, length - tunnel - margin))
                (a, b), _ = self.camera(np.array([enter, enter + tunnel]))
                seg_start += [a + half, b + half]
                seg_source += [cfg.districts, d]
                seg_shift += [int(rng.integers(self.atlas_width)) - int(a + half), shift]
                seg_visit += [k, k]
        seg_start[0] = min(seg_start[0], -cfg.size)  # the first segment covers the frame 0
        return Route(
            np.array(starts, dtype=np.int64),
            np.array(districts, dtype=np.int16),
            np.array(revisit, dtype=bool),
            np.array(seg_start, dtype=np.int64),
            np.array(seg_source, dtype=np.int64),
            np.array(seg_shift, dtype=np.int64),
            np.array(seg_visit, dtype=np.int32),
        )

    def _range(self, start: int, stop: int | None) -> tuple[int, int]:
        stop = self.frames if stop is None else min(stop, self.frames)
        if not 0 <= start <= stop:
            raise CVError(f"need 0 <= start <= stop <= {self.frames}, got {start}, {stop}")
        return start, stop

    def render(self, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) as (n, size, size, 3) uint8."""
        start, stop = self._range(start, stop)
        size, route, width = self.cfg.size, self.route, self.atlas_width
        x0s, ys = self.camera(np.arange(start, stop))
        out = np.empty((stop - start, size, size, 3), dtype=np.uint8)
        for i, (x0, y) in enumerate(zip(x0s.tolist(), ys.tolist(), strict=True)):
            seg = int(np.searchsorted(route.seg_start, x0, "right")) - 1
            col = 0
            while col < size:
                end = size
                if seg + 1 < len(route.seg_start):
                    end = min(size, int(route.seg_start[seg + 1]) - x0)
                a = (x0 + col + int(route.seg_shift[seg])) % width
                src = self.world[route.seg_source[seg], y : y + size, a : a + end - col]
                out[i, :, col:end] = src
                col, seg = end, seg + 1
        return out

    def chunks(
        self, chunk: int = 64, start: int = 0, stop: int | None = None
    ) -> Iterator[np.ndarray]:
        """Frames [start, stop) in (t, size, size, 3) uint8 chunks of at most `chunk`."""
        start, stop = self._range(start, stop)
        for a in range(start, stop, chunk):
            yield self.render(a, min(a + chunk, stop))

    def labels(self, start: int = 0, stop: int | None = None) -> TourLabels:
        """Per-frame labels of frames [start, stop) (cheap: no rendering)."""
        start, stop = self._range(start, stop)
        x0, _ = self.camera(np.arange(start, stop))
        seg = np.searchsorted(self.route.seg_start, x0 + self.cfg.size // 2, "right") - 1
        visit = self.route.seg_visit[seg]
        return TourLabels(
            district=self.route.district[visit],
            visit=visit,
            tunnel=self.route.seg_source[seg] == self.cfg.districts,
            revisit=self.route.revisit[visit],
            position=(x0 / self.cfg.size).astype(np.float32),
        )


class TourClips(Dataset):
    """Random `frames`-long clips of a tour, {"video": (3, T, H, W) float in [0, 1]}: training
    data for a codec (clip i is a function of i and `seed` only)."""

    def __init__(self, tour: WalkingTour, frames: int = 8, count: int = 100_000, seed: int = 0):
        self.tour, self.clip_frames, self.count, self.seed = tour, frames, count, seed

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, i: int) -> dict:
        rng = np.random.default_rng((self.seed, i))
        start = int(rng.integers(max(1, len(self.tour) - self.clip_frames + 1)))
        clip = self.tour.render(start, start + self.clip_frames)
        return {"video": torch.from_numpy(clip).permute(3, 0, 1, 2).float().div_(255)}
