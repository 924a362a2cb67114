"""Real photographs filmed by a moving virtual camera: clips with real texture and known motion.

Each clip looks at a photo through a camera that pans, zooms, rolls and tilts (a homography
that changes smoothly over the clip), sometimes with a foreground layer cut from another
photo moving at another depth (parallax), with exposure and white-balance drift, sensor
noise, motion blur (several sub-frame views averaged) and the occasional cut to another
view. Every clip is a function of (seed, index), so validation clips are fixed.

Photos are split by name: a photo whose name hashes to 0 mod `VAL_EVERY` is validation
only, so the split does not move when photos are added or removed.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset

from ..errors import VideoError
from .folder import find_files

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
VAL_EVERY = 5  # about one photo in five is held out for validation
PHOTO_SIDE = 512  # photos are kept in memory with this shorter side (and half and quarter)


def find_images(root: str | Path) -> list[Path]:
    """Every image file under `root` (recursive, by suffix, hidden files skipped), sorted."""
    return find_files(root, IMAGE_SUFFIXES)


def is_validation_photo(path: str | Path) -> bool:
    """The fixed split: validation when the file name's SHA-1 is 0 mod VAL_EVERY."""
    digest = hashlib.sha1(Path(path).name.encode()).digest()
    return int.from_bytes(digest[:4], "big") % VAL_EVERY == 0


def photos_for_split(root: str | Path, split: str) -> list[Path]:
    if split not in ("train", "val"):
        raise ValueError("split must be 'train' or 'val'")
    return [p for p in find_images(root) if is_validation_photo(p) == (split == "val")]


@dataclass(frozen=True)
class CameraConfig:
    """How the virtual camera moves and what it adds; ranges are per clip, drawn uniformly."""

    frames: int = 8
    size: int = 128
    max_pan: float = 0.06  # view widths per frame
    max_zoom: float = 0.04  # log-scale change per frame
    max_roll: float = 1.5  # degrees per frame
    max_tilt: float = 0.01  # change of the perspective terms per frame
    view_range: tuple[float, float] = (0.15, 0.8)  # view side / photo shorter side
    foreground_prob: float = 0.4
    blur_prob: float = 0.3
    cut_prob: float = 0.1
    exposure_drift: float = 0.03  # log-gain change per frame, at most
    white_balance_drift: float = 0.01  # per-channel log-gain change per frame, at most
    max_noise: float = 0.02  # sensor noise std, at most


def _load_pyramid(path: Path, min_side: int) -> list[torch.Tensor] | None:
    """(3, H, W) float levels at PHOTO_SIDE, /2, /4; None (with a warning) if unusable."""
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            w, h = image.size
            if min(w, h) < min_side:
                warnings.warn(
                    f"skipping {path}: {w}x{h} is smaller than the {min_side}-pixel view",
                    stacklevel=3,
                )
                return None
            scale = min(1.0, PHOTO_SIDE / min(w, h))
            image = image.resize((round(w * scale), round(h * scale)), Image.LANCZOS)
            base = torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float() / 255
    except (OSError, UnidentifiedImageError, ValueError) as e:
        warnings.warn(f"skipping {path}: cannot read it as an image ({e})", stacklevel=3)
        return None
    levels = [base]
    for _ in range(2):
        levels.append(F.avg_pool2d(levels[-1][None], 2)[0])
    return levels


def _homography(
    cx: float, cy: float, half: float, angle: float, px: float, py: float, aspect: float
) -> torch.Tensor:
    """3x3 map from output coordinates in [-1, 1] to the photo's normalised coordinates: a
    view of half-side `half` centred at (cx, cy), rolled by `angle` (radians), with the
    perspective terms (px, py)."""
    cos, sin = math.cos(angle), math.sin(angle)
    # rotate and scale the view square, then place its centre; the x axis of grid_sample's
    # normalised photo coordinates spans the width, so divide x extents by the aspect
    return torch.tensor(
        [
            [half * cos / aspect, -half * sin / aspect, cx],
            [half * sin, half * cos, cy],
            [px, py, 1.0],
        ],
        dtype=torch.float32,
    )


class CameraPath:
    """A smooth camera path over one photo: its pose at time t (in frames) as a homography.

    Coordinates are grid_sample's normalised photo coordinates ([-1, 1] across each side).
    """

    def __init__(self, rng: np.random.Generator, cfg: CameraConfig, aspect: float):
        u = rng.uniform
        self.aspect = aspect  # photo width / height
        # half the view's side, in units of half the photo's height
        self.half = u(*cfg.view_range) * min(1.0, aspect)
        self.zoom = u(-cfg.max_zoom, cfg.max_zoom) if rng.random() < 0.6 else 0.0
        self.roll0 = math.radians(u(-10, 10))
        self.roll = math.radians(u(-cfg.max_roll, cfg.max_roll)) if rng.random() < 0.5 else 0.0
        self.tilt0 = u(-0.1, 0.1, size=2)
        self.tilt = u(-cfg.max_tilt, cfg.max_tilt, size=2) if rng.random() < 0.4 else np.zeros(2)
        direction = u(0, 2 * math.pi)
        # view sides per frame -> photo units per frame (a view side is 2 * half)
        speed = u(0, cfg.max_pan) * 2 * self.half
        self.velocity = np.array([math.cos(direction) / aspect, math.sin(direction)]) * speed
        self.accel = u(-0.1, 0.1, size=2) * speed
        room = np.array([1 - self.half / aspect, 1 - self.half]) * 0.8
        self.start = u(-1, 1, size=2) * np.maximum(room, 0.0)

    def at(self, t: float) -> torch.Tensor:
        half = self.half * math.exp(self.zoom * t)
        cx, cy = self.start + self.velocity * t + 0.5 * self.accel * t * t
        px, py = self.tilt0 + self.tilt * t
        return _homography(cx, cy, half, self.roll0 + self.roll * t, px, py, self.aspect)


def _grid(size: int) -> torch.Tensor:
    lin = torch.linspace(-1, 1, size)
    y, x = torch.meshgrid(lin, lin, indexing="ij")
    return torch.stack([x, y, torch.ones_like(x)], dim=-1)  # (S, S, 3)


def render_view(levels: list[torch.Tensor], hom: torch.Tensor, grid: torch.Tensor) -> torch.Tensor:
    """Sample the pyramid level whose pixels best match the view's: (3, S, S)."""
    pts = grid @ hom.T
    xy = pts[..., :2] / pts[..., 2:].clamp_min(1e-3)
    base_h = levels[0].shape[1]
    # output pixels per photo pixel along y: view height (photo px) / output side
    view_px = float(hom[1, :2].norm()) * base_h
    level = min(len(levels) - 1, max(0, int(math.log2(max(1.0, view_px / grid.shape[0])))))
    img = levels[level][None]
    return F.grid_sample(
        img, xy[None], mode="bilinear", padding_mode="reflection", align_corners=False
    )[0]


def _blob_mask(rng: np.random.Generator, grid: torch.Tensor) -> torch.Tensor:
    """A soft irregular blob covering part of the view, in output coordinates: (1, S, S)."""
    x, y = grid[..., 0], grid[..., 1]
    cx, cy = rng.uniform(-0.5, 0.5, size=2)
    angle = torch.atan2(y - cy, x - cx)
    radius = rng.uniform(0.25, 0.55)
    wobble = sum(
        rng.uniform(0, 0.12) * torch.cos(k * angle + rng.uniform(0, 2 * math.pi))
        for k in range(2, 5)
    )
    dist = torch.sqrt((x - cx) ** 2 + (y - cy) ** 2)
    edge = 4.0 / grid.shape[0]
    return torch.sigmoid((radius * (1 + wobble) - dist) / edge)[None]


def film(
    photos: list[list[torch.Tensor]], cfg: CameraConfig, rng: np.random.Generator
) -> torch.Tensor:
    """One clip (3, T, S, S) in [0, 1] of the given photos (pyramids), drawn with `rng`."""
    grid = _grid(cfg.size)
    t_count = cfg.frames

    def new_shot() -> tuple:
        bg = photos[int(rng.integers(len(photos)))]
        bg_path = CameraPath(rng, cfg, bg[0].shape[2] / bg[0].shape[1])
        fg = None
        if len(photos) > 1 and rng.random() < cfg.foreground_prob:
            layer = photos[int(rng.integers(len(photos)))]
            path = CameraPath(rng, cfg, layer[0].shape[2] / layer[0].shape[1])
            path.velocity = path.velocity * rng.uniform(1.5, 3.0)  # nearer: moves faster
            fg = (layer, path, _blob_mask(rng, grid), rng.uniform(-0.05, 0.05, size=2))
        return bg, bg_path, fg

    cut = int(rng.integers(1, t_count)) if t_count > 1 and rng.random() < cfg.cut_prob else -1
    blur = rng.random() < cfg.blur_prob
    subframes = (-0.33, 0.0, 0.33) if blur else (0.0,)
    gain = rng.uniform(-0.15, 0.15) + rng.uniform(-1, 1) * cfg.exposure_drift * np.arange(t_count)
    wb = rng.uniform(-0.05, 0.05, size=3)[:, None] + rng.uniform(-1, 1, size=3)[
        :, None
    ] * cfg.white_balance_drift * np.arange(t_count)
    noise = rng.uniform(0, cfg.max_noise)
    shot = new_shot()
    frames = []
    for t in range(t_count):
        if t == cut:
            shot = new_shot()
        bg, bg_path, fg = shot
        views = []
        for dt in subframes:
            view = render_view(bg, bg_path.at(t + dt), grid)
            if fg is not None:
                layer, path, mask, drift = fg
                shift = torch.tensor(drift * (t + dt), dtype=torch.float32)
                moved = F.grid_sample(
                    mask[None],
                    (grid[..., :2] - shift)[None],
                    padding_mode="zeros",
                    align_corners=False,
                )[0]
                view = view * (1 - moved) + render_view(layer, path.at(t + dt), grid) * moved
            views.append(view)
        frames.append(torch.stack(views).mean(0))
    video = torch.stack(frames, dim=1)  # (3, T, S, S)
    colour = torch.from_numpy(np.exp(gain[None, :] + wb)).float()  # (3, T)
    video = video * colour[:, :, None, None]
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 62)))
    video = video + noise * torch.randn(video.shape, generator=gen)
    return video.clamp_(0, 1)


class PhotoClips(Dataset):
    """Clips of the photos under `root` (this split's photos only) filmed by `CameraConfig`.

    Split "train" draws a fresh clip for every item (random each epoch); split "val" gives
    `val_clips` fixed clips. Photos that cannot be read or are smaller than the view are
    skipped with a warning naming them.
    """

    def __init__(
        self,
        root: str | Path,
        cfg: CameraConfig,
        split: str = "train",
        clips_per_epoch: int = 1000,
        val_clips: int = 48,
        seed: int = 0,
    ):
        self.cfg, self.split, self.seed = cfg, split, seed
        self.length = clips_per_epoch if split == "train" else val_clips
        self.photos = load_photos(root, split, cfg.size)

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, i: int) -> dict:
        key = (
            (self.seed, i)
            if self.split == "val"
            else (self.seed, i, int(torch.randint(1 << 30, ()).item()))
        )
        return {"video": film(self.photos, self.cfg, np.random.default_rng(key))}


# Camera motions with exact labels (a downstream task on real imagery): the camera's own
# motion, so "pan_right" moves the picture left. (dx, dy) in view sides per frame.
MOTION_CLASSES = (
    "static",
    "pan_left",
    "pan_right",
    "pan_up",
    "pan_down",
    "pan_up_left",
    "pan_up_right",
    "pan_down_left",
    "pan_down_right",
    "zoom_in",
    "zoom_out",
    "roll_cw",
    "roll_ccw",
)
_PAN = {
    "pan_left": (-1, 0),
    "pan_right": (1, 0),
    "pan_up": (0, -1),
    "pan_down": (0, 1),
    "pan_up_left": (-0.7071, -0.7071),
    "pan_up_right": (0.7071, -0.7071),
    "pan_down_left": (-0.7071, 0.7071),
    "pan_down_right": (0.7071, 0.7071),
}


def film_motions(
    photo: list[torch.Tensor], labels: list[int], size: int, rng: np.random.Generator
) -> torch.Tensor:
    """A clip (3, T, S, S) of one photo whose camera makes motion `labels[t]` (an index of
    MOTION_CLASSES) between frames t-1 and t; the pose carries over between motions. Each
    run of one motion gets its own speed; a mild exposure offset and sensor noise are the
    same for the whole clip (nuisances, not cues)."""
    grid = _grid(size)
    aspect = photo[0].shape[2] / photo[0].shape[1]
    half = rng.uniform(0.3, 0.45) * min(1.0, aspect)
    cx, cy, angle = 0.0, 0.0, math.radians(rng.uniform(-5, 5))
    speed = {"pan": 0.0, "zoom": 0.0, "roll": 0.0}
    frames = []
    for t, label in enumerate(labels):
        name = MOTION_CLASSES[label]
        if t == 0 or label != labels[t - 1]:
            speed = {
                "pan": rng.uniform(0.05, 0.1),
                "zoom": rng.uniform(0.04, 0.07),
                "roll": math.radians(rng.uniform(4.0, 7.0)),
            }
        if t > 0 and name in _PAN:
            dx, dy = _PAN[name]
            step = speed["pan"] * 2 * half
            cx, cy = cx + dx * step / aspect, cy + dy * step
        elif t > 0 and name.startswith("zoom"):
            half *= math.exp(-speed["zoom"] if name == "zoom_in" else speed["zoom"])
        elif t > 0 and name.startswith("roll"):
            angle += speed["roll"] if name == "roll_cw" else -speed["roll"]
        frames.append(render_view(photo, _homography(cx, cy, half, angle, 0, 0, aspect), grid))
    video = torch.stack(frames, dim=1) * math.exp(rng.uniform(-0.1, 0.1))
    gen = torch.Generator().manual_seed(int(rng.integers(1 << 62)))
    return (video + rng.uniform(0, 0.01) * torch.randn(video.shape, generator=gen)).clamp_(0, 1)


def load_photos(root: str | Path, split: str, min_side: int) -> list[list[torch.Tensor]]:
    """The readable photos of `split` under `root` (see `PhotoClips`), as pyramids."""
    loaded = [_load_pyramid(p, min_side) for p in photos_for_split(root, split)]
    photos = [p for p in loaded if p]
    if not photos:
        raise VideoError(f"no readable photo of at least {min_side}x{min_side} for {split}", root)
    return photos
