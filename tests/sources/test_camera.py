"""The virtual camera over photos: fixed split, fixed validation clips, motion, bad photos."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from PIL import Image

from compressed_vision.errors import VideoError
from compressed_vision.sources.camera import (
    CameraConfig,
    PhotoClips,
    film,
    is_validation_photo,
    photos_for_split,
)

STILL = CameraConfig(
    frames=6,
    size=32,
    max_pan=0.0,
    max_zoom=0.0,
    max_roll=0.0,
    max_tilt=0.0,
    foreground_prob=0.0,
    blur_prob=0.0,
    cut_prob=0.0,
    exposure_drift=0.0,
    white_balance_drift=0.0,
    max_noise=0.0,
)


def write_photos(folder, count: int = 12, side: int = 96) -> list:
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        pixels = rng.integers(0, 256, (side, side + 20, 3), dtype=np.uint8)
        paths.append(folder / f"photo{i}.png")
        Image.fromarray(pixels).save(paths[-1])
    return paths


def pyramid(seed: int = 0, side: int = 128) -> list[torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    base = torch.rand(3, side, side + 32, generator=gen)
    return [base, base[:, ::2, ::2], base[:, ::4, ::4]]


def test_split_is_fixed_by_name_and_disjoint(tmp_path):
    paths = write_photos(tmp_path, count=30, side=40)
    train, val = photos_for_split(tmp_path, "train"), photos_for_split(tmp_path, "val")
    assert sorted(train + val) == sorted(paths) and not set(train) & set(val)
    assert 0 < len(val) < len(train)
    assert [is_validation_photo(p) for p in val] == [True] * len(val)
    (tmp_path / "photo0.png").unlink()  # removing a photo moves no other photo
    assert photos_for_split(tmp_path, "val") == [p for p in val if p.name != "photo0.png"]


def test_still_camera_gives_still_frames_and_a_pan_moves():
    photos = [pyramid()]
    still = film(photos, STILL, np.random.default_rng(1))
    assert still.shape == (3, 6, 32, 32)
    assert torch.allclose(still[:, 1:], still[:, :1].expand_as(still[:, 1:]), atol=1e-6)
    panning = film(photos, replace(STILL, max_pan=0.1), np.random.default_rng(1))
    steps = (panning[:, 1:] - panning[:, :-1]).abs().mean(dim=(0, 2, 3))
    assert (steps > 1e-3).all()


def test_a_cut_changes_the_view_at_once():
    photos = [pyramid(0), pyramid(1)]
    cfg = replace(STILL, cut_prob=1.0)
    for seed in range(6):
        clip = film(photos, cfg, np.random.default_rng(seed))
        steps = (clip[:, 1:] - clip[:, :-1]).abs().mean(dim=(0, 2, 3))
        assert (steps > 0.05).sum() <= 1  # one cut at most; still frames otherwise
        assert (steps < 1e-5).sum() >= len(steps) - 1


def test_validation_clips_are_fixed_and_training_clips_vary(tmp_path):
    write_photos(tmp_path, count=12)
    cfg = CameraConfig(frames=4, size=32)
    val_a = PhotoClips(tmp_path, cfg, "val", val_clips=3)
    val_b = PhotoClips(tmp_path, cfg, "val", val_clips=3)
    assert len(val_a) == 3
    assert torch.equal(val_a[2]["video"], val_b[2]["video"])
    train = PhotoClips(tmp_path, cfg, "train")
    clip = train[0]["video"]
    assert clip.shape == (3, 4, 32, 32) and 0 <= clip.min() and clip.max() <= 1
    assert not torch.equal(clip, train[0]["video"])


def test_unreadable_or_small_photos_are_skipped_with_a_warning(tmp_path):
    write_photos(tmp_path, count=12)
    (tmp_path / "notes.jpg").write_text("not an image")
    Image.new("RGB", (20, 20)).save(tmp_path / "tiny.png")
    names = [p.name for p in photos_for_split(tmp_path, "train")]
    bad = [n for n in ("notes.jpg", "tiny.png") if n in names]
    with pytest.warns(UserWarning) as record:
        clips = PhotoClips(tmp_path, CameraConfig(frames=2, size=32), "train")
    for name in bad:
        assert any(name in str(w.message) for w in record)
    assert len(clips.photos) == len(names) - len(bad)
    with pytest.raises(VideoError, match="no readable photo"):
        PhotoClips(tmp_path, CameraConfig(frames=2, size=512), "train")


def _shift(a: torch.Tensor, b: torch.Tensor, axis: int) -> int:
    """The d in -6..6 for which b(x) best matches a(x + d) along `axis` (2: x, 1: y)."""
    size = a.shape[axis]

    def err(d: int) -> float:
        lo, hi = max(0, -d), size - max(0, d)
        return float((b.narrow(axis, lo, hi - lo) - a.narrow(axis, lo + d, hi - lo)).pow(2).mean())

    return min(range(-6, 7), key=err)


@pytest.mark.parametrize(
    "name, axis, sign",
    [("pan_right", 2, 1), ("pan_left", 2, -1), ("pan_down", 1, 1), ("pan_up", 1, -1)],
)
def test_camera_motion_labels_move_the_picture_the_right_way(name, axis, sign):
    from compressed_vision.sources.camera import MOTION_CLASSES, film_motions

    photo = pyramid(3, side=512)
    photo = [F.avg_pool2d(level[None], 5, 1, 2)[0] for level in photo]  # smooth: one best shift
    clip = film_motions(photo, [MOTION_CLASSES.index(name)] * 4, 48, np.random.default_rng(0))
    shifts = [_shift(clip[:, t], clip[:, t + 1], axis) for t in range(3)]
    assert all(s * sign > 0 for s in shifts), shifts  # the camera moves right: the picture left
    still = film_motions(photo, [0] * 3, 48, np.random.default_rng(0))
    assert [_shift(still[:, t], still[:, t + 1], axis) for t in range(2)] == [0, 0]
