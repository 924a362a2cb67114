"""Reading an item's frames, chunk by chunk: from a video file (with trimming) or rendered
by the synthetic generator. Per-frame labels come from the item's annotated segments: frame
t (of the sampled, trimmed frames) has time `start + t / fps` and takes the label of the
first segment [s, e) that contains that time, or none."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from ..video.io import Size, iter_video_chunks, probe_video
from .manifest import Item, parse_synthetic
from .synthetic import CLASS_NAMES, make_video


@dataclass
class Source(ABC):
    """An opened item: its output frame rate, the source's size, and its frames."""

    item: Item
    fps: float
    source_height: int
    source_width: int
    source_bytes: int
    size: Size
    label: str | None

    @abstractmethod
    def chunks(self, chunk: int) -> Iterator[np.ndarray]:
        """(t, H, W, 3) uint8 chunks of at most `chunk` frames."""

    def frame_labels(self, frames: int) -> list[str | None] | None:
        """Per-frame labels of the first `frames` frames, or None when the item has none."""
        if not self.item.segments:
            return None
        start = self.item.start or 0.0
        labels: list[str | None] = []
        for t in range(frames):
            time = start + t / self.fps
            labels.append(next((lab for s, e, lab in self.item.segments if s <= time < e), None))
        return labels


class FileSource(Source):
    """A video file read with PyAV, trimmed to the item's [start, end) seconds if set."""

    def __init__(self, item: Item, size: Size, fps: float | None):
        info = probe_video(item.source)
        out_fps = fps or info.fps
        super().__init__(
            item,
            out_fps,
            info.height,
            info.width,
            Path(item.source).stat().st_size,
            size,
            item.label,
        )
        self._sampling: dict = {"size": size, "fps": fps}
        if item.start is not None:
            self._sampling["start"] = round(item.start * info.fps)
        if item.end is not None:
            self._sampling["count"] = max(1, round((item.end - (item.start or 0.0)) * out_fps))

    def chunks(self, chunk: int) -> Iterator[np.ndarray]:
        return iter_video_chunks(self.item.source, chunk=chunk, **self._sampling)


class SyntheticSource(Source):
    """A procedural video at 25 fps, rendered at the store's size when that is an int (square),
    else at its own."""

    RATE = 25.0

    def __init__(self, item: Item, size: Size, fps: float | None):
        index, cfg = parse_synthetic(item.source)
        if isinstance(size, int):
            cfg = replace(cfg, size=size)
        video, _, labels = make_video(cfg, index or 0)
        keep = self._resample(cfg.frames, fps)
        self._frames = (video[:, keep].permute(1, 2, 3, 0) * 255).round().byte().numpy()
        self._labels = [CLASS_NAMES[i] for i in labels[keep].tolist()]
        mode = CLASS_NAMES[int(torch.mode(labels[keep]).values)]  # as `SyntheticVideos` does
        super().__init__(item, fps or self.RATE, cfg.size, cfg.size, 0, size, item.label or mode)
        self._per_frame = cfg.segments > 1

    @classmethod
    def _resample(cls, frames: int, fps: float | None) -> list[int]:
        """Indices of the frames kept at `fps`: the first frame at or after each grid time."""
        if fps is None or fps >= cls.RATE:
            return list(range(frames))
        count = math.floor((frames - 1) / cls.RATE * fps + 1e-6) + 1
        return [math.ceil(k * cls.RATE / fps - 1e-6) for k in range(count)]

    def chunks(self, chunk: int) -> Iterator[np.ndarray]:
        for start in range(0, len(self._frames), chunk):
            yield self._frames[start : start + chunk]

    def frame_labels(self, frames: int) -> list[str | None] | None:
        return self._labels[:frames] if self._per_frame else None


def open_source(item: Item, size: Size = None, fps: float | None = None) -> Source:
    """Open an item for reading (raises `VideoError` for a missing or unreadable file)."""
    if item.source.startswith("synthetic:"):
        return SyntheticSource(item, size, fps)
    return FileSource(item, size, fps)
