"""Training clips for the codec: a folder of real videos, the synthetic set, or both."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from ..errors import VideoError
from ..sources.folder import find_videos
from ..video.io import read_video


class VideoFolderClips(Dataset):
    """Random `frames`-long clips, `crop` x `crop`, from every video under `root`.

    Each file is decoded once, centre-cropped to `size` x `size` (at most `max_frames`
    frames), and held in memory as uint8. The last `val_fraction` of each file's frames
    is held out: split "val" yields fixed, non-overlapping clips from there (centre crop),
    split "train" random clips (random crop, random horizontal flip) from the rest.
    Files that cannot be read are skipped with a warning naming them.
    """

    def __init__(
        self,
        root: str | Path,
        frames: int = 8,
        size: int = 128,
        crop: int | None = None,
        split: str = "train",
        val_fraction: float = 0.2,
        max_frames: int = 600,
        clips_per_epoch: int = 1000,
        seed: int = 0,
    ):
        if split not in ("train", "val"):
            raise ValueError("split must be 'train' or 'val'")
        self.frames, self.crop, self.split = frames, crop or size, split
        self.clips_per_epoch = clips_per_epoch
        self.videos: list[np.ndarray] = []
        for path in find_videos(root):
            try:
                video = read_video(path, size=size, count=max_frames)
            except VideoError as e:
                warnings.warn(f"skipping {e}", stacklevel=2)
                continue
            cut = int(round(len(video) * (1 - val_fraction)))
            part = video[:cut] if split == "train" else video[cut:]
            if len(part) >= frames:
                self.videos.append(part)
        if not self.videos:
            raise VideoError(
                f"no readable video with at least {frames} frames for split {split!r}", root
            )
        self.val_index = [
            (v, s)
            for v, vid in enumerate(self.videos)
            for s in range(0, len(vid) - frames + 1, frames)
        ]
        self.seed = seed

    def __len__(self) -> int:
        return self.clips_per_epoch if self.split == "train" else len(self.val_index)

    def __getitem__(self, i: int) -> dict:
        size = self.videos[0].shape[1]
        if self.split == "val":
            v, start = self.val_index[i]
            top = left = (size - self.crop) // 2
            flip = False
        else:
            rng = np.random.default_rng((self.seed, i, torch.randint(1 << 30, ()).item()))
            v = int(rng.integers(len(self.videos)))
            start = int(rng.integers(len(self.videos[v]) - self.frames + 1))
            top, left = (int(x) for x in rng.integers(size - self.crop + 1, size=2))
            flip = bool(rng.integers(2))
        clip = self.videos[v][
            start : start + self.frames, top : top + self.crop, left : left + self.crop
        ]
        if flip:
            clip = clip[:, :, ::-1]
        video = torch.from_numpy(np.ascontiguousarray(clip)).permute(3, 0, 1, 2).float().div_(255)
        return {"video": video}


class MixedClips(Dataset):
    """Interleave clip datasets (item i comes from dataset i % n), keeping only "video"."""

    def __init__(self, *datasets: Dataset):
        self.datasets = datasets

    def __len__(self) -> int:
        return len(self.datasets) * min(len(d) for d in self.datasets)

    def __getitem__(self, i: int) -> dict:
        d = self.datasets[i % len(self.datasets)]
        return {"video": d[(i // len(self.datasets)) % len(d)]["video"]}


def _is_photo_folder(source: str) -> bool:
    """A folder that holds images and no videos is filmed by the virtual camera."""
    from ..sources.camera import find_images

    path = Path(source)
    return path.is_dir() and not find_videos(path) and bool(find_images(path))


def _source_clips(
    source: str, frames: int, size: int, crop: int | None, seed: int, split: str, whole: bool
) -> Dataset:
    """One source's clips for `split`; `whole`: every frame of a video folder is validation."""
    from ..sources.camera import CameraConfig, PhotoClips
    from ..sources.synthetic import SyntheticConfig, SyntheticVideos

    side = crop or size
    if source == "synthetic":
        count, offset = (20000, 0) if split == "train" else (16, 10_000)
        return SyntheticVideos(SyntheticConfig(count, frames, side, seed=seed + offset))
    if _is_photo_folder(source):
        return PhotoClips(source, CameraConfig(frames, side), split, seed=seed)
    fraction = 1.0 if whole else 0.2
    return VideoFolderClips(source, frames, size, crop, split, val_fraction=fraction, seed=seed)


def source_name(source: str, seen: bool) -> str:
    """The validation entry's name: "synthetic", a file or folder name, and ":tail" for the
    held-out end of videos whose start is trained on."""
    if source == "synthetic":
        return source
    tail = seen and not _is_photo_folder(source)
    return Path(source).name + (":tail" if tail else "")


def training_clips(
    sources: list[str],
    frames: int,
    size: int,
    crop: int | None = None,
    seed: int = 0,
    val_sources: list[str] | tuple[str, ...] = (),
) -> tuple[Dataset, dict[str, Dataset]]:
    """(train, {source name: validation clips}) from `sources`, each of which is "synthetic",
    a folder of photos (filmed by `sources.camera`; its fixed split of photos), or a video
    file or folder (the last 20 % of each file's frames held out, named "<name>:tail").
    `val_sources` are validation only: every frame of their videos, their photos'
    validation split."""
    train = MixedClips(
        *[_source_clips(s, frames, size, crop, seed, "train", False) for s in sources]
    )
    val = {
        source_name(s, not whole): MixedClips(
            _source_clips(s, frames, size, crop, seed, "val", whole)
        )
        for s, whole in [(s, False) for s in sources] + [(s, True) for s in val_sources]
    }
    return train, val
