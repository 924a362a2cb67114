"""Clips for the downstream tasks, from a code store or from video files.

Readers return a clip of a video by (video, first code step, steps, stop), padding past the
video's end or past `stop` (the end of its split) by repeating the last step:
- `CodeReader`: code windows of a store, (G, n, H', W') int64 (the model looks them up);
- `PixelReader`: the RGB pipeline: frames decoded with PyAV (or from a zip of JPEGs),
  (3, n * tf, H, W) float in [0, 1], from the videos of a manifest or their re-compressed
  copies (`baselines.copies`: JPEG / H.264 / HEVC at a target compression rate); synthetic
  items are rendered once and held in memory as uint8.

`Clips` is the dataset: in training, item `draw` is one random clip of video `draw % N`,
drawn from a generator seeded by (seed, draw), so the clips do not depend on the number of
processes or workers; held out, a fixed plan of clips. `GlobalBatches` hands every process
its share of the same global batches.
"""

from __future__ import annotations

import io
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import Dataset, Sampler

from ..augment.params import applied_params
from ..errors import CVError
from ..sources import Manifest
from ..sources.manifest import Item
from ..sources.source import open_source
from ..store import CodeStore, RandomCodeWindows
from ..store.info import bytes_on_disk
from ..video.io import count_frames, read_video
from ..video.opencv_read import read_clip_opencv
from ..video.transforms import TRANSFORMS, apply_transform
from .base import ClipTask, VideoRecord
from .config import TaskConfig

Clip = tuple[torch.Tensor, torch.Tensor | None]  # (clip, per-step labels or None)


def _pad_from(clip: torch.Tensor, keep: int) -> torch.Tensor:
    """Repeat element `keep - 1` of dim 1 over the rest (no-op when keep covers it all)."""
    if keep < clip.shape[1]:
        clip = clip.clone()
        clip[:, keep:] = clip[:, keep - 1 : keep]
    return clip


class CodeReader:
    """Code windows of a store (all its complete videos, sorted by key)."""

    def __init__(self, store: CodeStore):
        self.store, self.where = store, store.url
        self.classes, self.frame_classes = store.classes, store.frame_classes
        self.temporal_factor = store.codec_config.temporal_factor
        entries = store.entries()
        self.videos = [
            VideoRecord(
                e.key,
                e.steps,
                e.label_index,
                bool(self.frame_classes) and store.frame_labels(e.key, 0, 1) is not None,
                e.attrs.get("split"),
            )
            for e in entries
        ]
        self.size_bytes = bytes_on_disk(store.url, store.storage_options)
        self.bytes_per_step = self.size_bytes / max(1, sum(v.steps for v in self.videos))
        self._windows: dict[int, RandomCodeWindows] = {}

    def read(self, v: int, start: int, steps: int, stop: int) -> Clip:
        if steps not in self._windows:
            self._windows[steps] = RandomCodeWindows(self.store, steps)
        item = self._windows[steps].window(v, start)
        keep = max(1, min(item["valid"], stop - start))
        labels = item.get("frame_labels")
        if labels is not None:
            labels[keep:] = -1
        return _pad_from(item["codes"], keep), labels


def _read_zip(path: str, first: int, count: int) -> np.ndarray:
    """Frames [first, first + count) of a zip of JPEG files (one per frame, in name order)."""
    with zipfile.ZipFile(path) as z:
        names = sorted(z.namelist())[first : first + count]
        images = [Image.open(io.BytesIO(z.read(name))).convert("RGB") for name in names]
    return np.stack([np.asarray(image) for image in images])


class PixelReader:
    """The RGB pipeline over a manifest's video files, resized to cover `size` x `size` and
    centre-cropped; with `copies` (item id -> file), frames come from re-compressed copies
    (made at `size` by `recompress_copies`) and labels from the original items. Synthetic
    items (without a copy) are rendered once and kept in memory; their bytes are those of
    their raw uint8 frames. Items that cannot be read are listed in `failures` and left out."""

    def __init__(
        self,
        manifest: Manifest,
        size: int,
        temporal_factor: int,
        where: str,
        copies: dict[str, str] | None = None,
        decoder: str = "pyav",
    ):
        self.where, self.size, self.temporal_factor = where, size, temporal_factor
        self.decoder = decoder
        self.classes, self.frame_classes = list(manifest.classes), list(manifest.frame_classes)
        self.items: list[Item] = []
        self.offsets: list[int] = []  # first frame of the item in its source file
        self.frames: list[int] = []
        self.frame_labels: list[np.ndarray | None] = []
        self.rendered: dict[int, np.ndarray] = {}  # synthetic items' frames, by video
        self.videos: list[VideoRecord] = []
        self.failures: dict[str, str] = {}
        copies = copies or {}
        sizes = 0
        for item in manifest.items:
            try:
                sizes += self._add(item, copies.get(item.id))
            except CVError as e:
                self.failures[item.id] = e.reason
        if not self.items:
            raise CVError(f"no readable video ({len(self.failures)} failed)", where)
        self.size_bytes = sizes
        self.bytes_per_step = sizes / sum(v.steps for v in self.videos)

    def _add(self, item: Item, copy: str | None) -> int:
        """Probe one item and add it; returns the bytes of the file its frames come from."""
        if item.error:
            raise CVError(item.error)
        source = open_source(item, self.size)
        rendered = None
        if item.source.startswith("synthetic:"):
            rendered = np.concatenate(list(source.chunks(1 << 30)))
            offset, frames = 0, len(rendered)
        else:
            offset = round((item.start or 0.0) * source.fps)
            frames = count_frames(item.source) - offset
            if item.end is not None:
                frames = min(frames, round((item.end - (item.start or 0.0)) * source.fps))
            if frames < 1:
                raise CVError("no frames in the selected time range", item.source)
        names = source.frame_labels(frames)
        index = {c: i for i, c in enumerate(self.frame_classes)}
        labels = None if names is None else np.array([index.get(n, -1) for n in names])
        label = self.classes.index(item.label) if item.label in self.classes else -1
        steps = -(-frames // self.temporal_factor)
        if copy is not None:
            item, offset = Item(item.id, copy, item.label, item.segments, split=item.split), 0
        elif rendered is not None:
            self.rendered[len(self.items)] = rendered
        self.items.append(item)
        self.offsets.append(offset)
        self.frames.append(frames)
        self.frame_labels.append(labels)
        self.videos.append(VideoRecord(item.id, steps, label, labels is not None, item.split))
        if rendered is not None and copy is None:
            return rendered.nbytes
        return Path(item.source).stat().st_size

    def read(self, v: int, start: int, steps: int, stop: int) -> Clip:
        tf, n, item = self.temporal_factor, self.frames[v], self.items[v]
        first, count = start * tf, steps * tf
        have = max(1, min(count, n - first, (stop - start) * tf))
        if v in self.rendered:
            frames = self.rendered[v][first : first + have]
        elif item.source.endswith(".zip"):
            frames = _read_zip(item.source, first, have)
        elif self.decoder == "opencv":
            frames = read_clip_opencv(item.source, self.offsets[v] + first, have, self.size)
        else:
            frames = read_video(
                item.source, start=self.offsets[v] + first, count=have, size=self.size
            )
        clip = torch.from_numpy(frames).permute(3, 0, 1, 2).float().div_(255)
        if len(frames) < count:
            clip = torch.cat([clip, clip[:, -1:].expand(-1, count - len(frames), -1, -1)], 1)
        labels = None
        if self.frame_labels[v] is not None:
            step = torch.arange(start, start + steps)
            frame = (step * tf + tf // 2).clamp(max=n - 1)
            labels = torch.from_numpy(self.frame_labels[v][frame.numpy()]).long()
            labels[step >= min(stop, -(-n // tf))] = -1
        return clip, labels


Reader = CodeReader | PixelReader
Range = tuple[int, int, int]  # (video, first step, stop step)


def _held_out(key: str, fraction: float) -> bool:
    """A fixed pseudo-random choice per key (the same on every machine and run)."""
    return zlib.crc32(key.encode()) / 2**32 < fraction


def split_ranges(videos: list[VideoRecord], cfg: TaskConfig, test: bool, where: str) -> list[Range]:
    """The (video, first, stop) step ranges of the train or test split.

    By video: the videos whose split attribute is `train_split` / `test_split` when any
    video has one, else a fixed `test_fraction` of the videos (by a hash of the key). By time:
    every video, the last `test_fraction` of its steps held out."""
    name = cfg.test_split if test else cfg.train_split
    if cfg.split_by == "time":
        cuts = [(v, max(1, int(r.steps * (1 - cfg.test_fraction)))) for v, r in enumerate(videos)]
        ranges = [
            (v, cut, videos[v].steps) if test else (v, 0, cut)
            for v, cut in cuts
            if not test or cut < videos[v].steps
        ]
    elif any(r.split is not None for r in videos):
        ranges = [(v, 0, r.steps) for v, r in enumerate(videos) if r.split == name]
    else:
        ranges = [
            (v, 0, r.steps)
            for v, r in enumerate(videos)
            if _held_out(r.key, cfg.test_fraction) == test
        ]
    if not ranges:
        raise CVError(f"the {name!r} split (split_by={cfg.split_by}) selects no video", where)
    return ranges


class PixelAugment:
    """Pixel augmentation of a clip the way `augment.RandomLatentAugment` does it in latent
    space: each of `types`, in order, applied with probability `p`, with parameters from
    `augment.params.applied_params`; all draws from the clip's generator."""

    def __init__(self, types: tuple[str, ...], p: float = 0.5):
        unknown = set(types) - set(TRANSFORMS)
        if unknown or not types:
            raise CVError(f"augment_types must be some of {', '.join(TRANSFORMS)}")
        self.types, self.p = types, p

    def __call__(self, clip: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        for kind in self.types:
            if float(torch.rand((), generator=gen)) < self.p:
                clip = apply_transform(kind, clip[None], applied_params(kind, 1, gen))[0]
        return clip


class Clips(Dataset):
    """Clips of `steps` code steps for a task. Training (`train=True`): item `draw` is a
    random clip (variant, start) of range `draw % len(ranges)`, drawn from a generator seeded
    by (seed, draw), then `augment`ed if given. Held out: clips from the start of every range,
    `stride` steps apart (0: the longest variant's span, so none overlap; a range shorter than
    a clip gives one, padded), each in every variant. Items: {"input", "target", "video"}."""

    def __init__(
        self,
        reader: Reader,
        task: ClipTask,
        ranges: list[Range],
        steps: int,
        train: bool,
        seed: int = 0,
        augment: PixelAugment | None = None,
        stride: int = 0,
    ):
        self.reader, self.task, self.ranges, self.steps = reader, task, ranges, steps
        self.train, self.seed, self.augment = train, seed, augment
        longest = max(task.span(steps, k) for k in range(task.variants))
        self.plan = [
            (v, start, k, hi)
            for v, lo, hi in ranges
            for start in range(lo, max(lo, hi - longest) + 1, stride or longest)
            for k in range(task.variants)
        ]

    def __len__(self) -> int:
        return len(self.ranges) if self.train else len(self.plan)

    def _item(self, v: int, start: int, variant: int, stop: int) -> dict:
        clip, labels = self.reader.read(v, start, self.task.span(self.steps, variant), stop)
        x, target = self.task.make(clip, variant, self.reader.videos[v].label, labels)
        return {"input": x, "target": target, "video": v}

    def __getitem__(self, index: int) -> dict:
        if not self.train:
            return self._item(*self.plan[index])
        v, lo, hi = self.ranges[index % len(self.ranges)]
        gen = torch.Generator().manual_seed(self.seed * 1_000_003 + index)
        variant = int(torch.randint(self.task.variants, (), generator=gen))
        span = self.task.span(self.steps, variant)
        start = lo + int(torch.randint(max(hi - lo - span, 0) + 1, (), generator=gen))
        item = self._item(v, start, variant, hi)
        if self.augment is not None:
            item["input"] = self.augment(item["input"], gen)
        return item


class GlobalBatches(Sampler[list[int]]):
    """Endless batches of draw ids for `Clips`. The stream lists the n items in a new seeded
    order every epoch (draw id = epoch * n + item); global batch k is stream[k*B:(k+1)*B],
    and this process (`rank` of `world`) takes its contiguous B / world share. Starting at
    step s skips the first s global batches, so a resumed run sees the clips an
    uninterrupted run would have."""

    def __init__(
        self, n: int, batch: int, seed: int = 0, rank: int = 0, world: int = 1, start: int = 0
    ):
        if batch % world:
            raise CVError(f"the global batch {batch} does not split over {world} processes")
        self.n, self.batch, self.seed, self.start = n, batch, seed, start
        self.local, self.rank = batch // world, rank

    def _order(self, epoch: int) -> list[int]:
        gen = torch.Generator().manual_seed(self.seed * 7919 + epoch)
        return (torch.randperm(self.n, generator=gen) + epoch * self.n).tolist()

    def __iter__(self) -> Iterator[list[int]]:
        position = self.start * self.batch + self.rank * self.local
        epoch, order = -1, []
        while True:
            ids = []
            for p in range(position, position + self.local):
                if p // self.n != epoch:
                    epoch = p // self.n
                    order = self._order(epoch)
                ids.append(order[p % self.n])
            yield ids
            position += self.batch
