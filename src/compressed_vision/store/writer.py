"""Writing one video into a store, streamed chunk by chunk, atomically (a completion marker
that readers require), or recording why it failed."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import av
import numpy as np
import torch
import zarr
import zarr.codecs

from ..codec.base import Codec
from ..codec.files import WINDOW, frames_to_tensor
from ..codec.lossless import LearnedPrior, encode_chunk
from ..errors import CVError, TruncatedVideo, VideoError
from ..video.io import keep_partial_chunks
from .layout import FAILURES, VIDEOS, code_dtype, hash_block
from .learned import chunk_key, put
from .manifest import Item
from .sources import open_source

ZSTD_LEVEL = 5
LABEL_CHUNK = 4096  # frames per chunk of per-frame labels


@dataclass(frozen=True)
class BuildSpec:
    """What every video of a store shares (recorded in the store's root attrs)."""

    size: int | None = None  # frames resized (cover + centre crop) to size x size
    fps: float | None = None  # frames resampled to this rate; None keeps the source's
    chunk_steps: int = 32  # code steps per stored chunk
    classes: tuple[str, ...] = ()
    frame_classes: tuple[str, ...] = ()
    prior: LearnedPrior | None = None  # lossless stage: None is zstd, else learned coding


class VideoWriter:
    """Streams one video's codes into `videos/<key>`, buffering up to whole chunks; the
    group is marked complete by `finish`, the last write. With a `prior`, the `codes` array
    only records the shape: each chunk is learned-coded into its own object (`store.learned`)."""

    def __init__(
        self,
        root: zarr.Group,
        item: Item,
        codebook_size: int,
        chunk_steps: int,
        prior: LearnedPrior | None = None,
    ):
        self.root, self.prior = root, prior
        self.group = root[VIDEOS].create_group(
            item.key,
            overwrite=True,
            attributes={"id": item.id, "source": item.source, "complete": False},
        )
        self.dtype = code_dtype(codebook_size)
        self.chunk_steps = chunk_steps
        self.steps = 0
        self._buffer: list[np.ndarray] = []
        self._array: zarr.Array | None = None
        self._hash = hashlib.sha256()

    def append(self, codes: np.ndarray) -> None:
        """Add (G, t, H', W') codes; whole chunks are written as soon as they are full."""
        self._buffer.append(codes.astype(self.dtype))
        if sum(b.shape[1] for b in self._buffer) >= self.chunk_steps:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._buffer:
            return
        block = np.concatenate(self._buffer, axis=1)
        n = block.shape[1] if final else block.shape[1] // self.chunk_steps * self.chunk_steps
        self._buffer = [block[:, n:]] if n < block.shape[1] else []
        if n:
            self._write(block[:, :n])

    def _write(self, block: np.ndarray) -> None:
        g, n, h, w = block.shape
        if self._array is None:
            self._array = self.group.create_array(
                "codes",
                shape=(g, n, h, w),
                chunks=(g, self.chunk_steps, h, w),
                dtype=self.dtype,
                compressors=zarr.codecs.ZstdCodec(level=ZSTD_LEVEL, checksum=True),
                fill_value=0,
                config={"write_empty_chunks": True},  # a lost chunk never reads as valid zeros
            )
        else:
            self._array.resize((g, self.steps + n, h, w))
        if self.prior is None:
            self._array[:, self.steps : self.steps + n] = block
        else:
            for first in range(0, n, self.chunk_steps):
                index = (self.steps + first) // self.chunk_steps
                data = encode_chunk(block[:, first : first + self.chunk_steps], self.prior.integer)
                put(self.root, chunk_key(self.group.path, index), data)
        hash_block(self._hash, block)
        self.steps += n

    def finish(self, attrs: dict[str, Any], frame_labels: np.ndarray | None) -> None:
        """Write what is left, the per-frame labels, then the attrs with `complete: true`."""
        self._flush(final=True)
        if frame_labels is not None:
            self.group.create_array(
                "frame_labels",
                data=frame_labels,
                chunks=(LABEL_CHUNK,),
                compressors=zarr.codecs.ZstdCodec(level=ZSTD_LEVEL, checksum=True),
            )
        shape = [] if self._array is None else list(self._array.shape)
        self.group.update_attributes(
            {
                **attrs,
                "steps": self.steps,
                "code_shape": shape,  # (G, T', H', W'): the grid can be one smaller than H/s
                "sha256": self._hash.hexdigest(),
                "complete": True,
            }
        )


def record_failure(root: zarr.Group, item: Item, reason: str) -> None:
    """Add the item to the store's failure list (replacing an earlier record)."""
    attrs = {"id": item.id, "source": item.source, "reason": reason}
    root[FAILURES].create_group(item.key, overwrite=True, attributes=attrs)


def remove_node(group: zarr.Group, key: str) -> None:
    if key in group:
        del group[key]


def _label_indices(labels: list[str | None], classes: tuple[str, ...]) -> np.ndarray:
    index = {c: i for i, c in enumerate(classes)}
    return np.array([index.get(lab, -1) if lab else -1 for lab in labels], dtype=np.int16)


def window_frames(codec: Codec) -> int:
    """Frames per encode window: the unit of streaming (memory is bounded by it)."""
    return WINDOW * codec.temporal_factor


@torch.no_grad()
def write_chunks(
    writer: VideoWriter,
    chunks: Iterable[np.ndarray],
    codec: Codec,
    device: torch.device,
    on_chunk: Callable[[int], object] | None = None,
) -> tuple[int, int, int]:
    """Encode `chunks` ((t, H, W, 3) uint8, `window_frames(codec)` long but the last) into
    `writer`, one window at a time; `on_chunk(frames)` after each. Returns (frames, H, W)."""
    frames, height, width = 0, 0, 0
    for chunk in chunks:
        codes = codec.encode(frames_to_tensor(chunk).to(device), WINDOW)[0]
        writer.append(codes.cpu().numpy())
        frames, (height, width) = frames + len(chunk), chunk.shape[1:3]
        if on_chunk is not None:
            on_chunk(len(chunk))
    return frames, height, width


@torch.no_grad()
def encode_item(
    root: zarr.Group,
    item: Item,
    codec: Codec,
    device: torch.device,
    spec: BuildSpec,
    keep_partial: bool = False,
) -> str | None:
    """Encode one item into the store, streaming one encode window of frames at a time.
    Returns None on success, or the reason it failed (then recorded in the failure list, and
    any partial group removed). A video whose decoding stops early is such a failure; with
    `keep_partial` its decoded frames are stored instead, the entry marked "partial" with
    "declared_frames" and "decoded_frames". Errors of the store itself (disk full, ...)
    propagate."""
    remove_node(root[VIDEOS], item.key)
    if item.error is not None:
        record_failure(root, item, item.error)
        return item.error
    writer = None
    try:
        source = open_source(item, spec.size, spec.fps)
        writer = VideoWriter(root, item, codec.codebook_size, spec.chunk_steps, spec.prior)
        truncated: list[TruncatedVideo] = []
        chunks = keep_partial_chunks(source.chunks(window_frames(codec)), keep_partial, truncated)
        frames, height, width = write_chunks(writer, chunks, codec, device)
        if frames == 0:
            raise VideoError("no frames in the selected time range", item.source)
    except (CVError, av.error.FFmpegError) as e:
        if writer is not None:
            remove_node(root[VIDEOS], item.key)
        reason = e.reason if isinstance(e, CVError) else f"cannot be read by PyAV: {e}"
        record_failure(root, item, reason)
        return reason
    per_frame = source.frame_labels(frames)
    label = source.label
    attrs = {
        "fps": source.fps,
        "frames": frames,
        "height": int(height),
        "width": int(width),
        "source_height": source.source_height,
        "source_width": source.source_width,
        "source_bytes": source.source_bytes,
        "start": item.start,
        "end": item.end,
        "split": item.split,
        "label": label,
        "label_index": spec.classes.index(label) if label in spec.classes else -1,
    }
    if truncated:
        attrs.update(partial=True, declared_frames=truncated[0].declared, decoded_frames=frames)
    writer.finish(
        attrs, None if per_frame is None else _label_indices(per_frame, spec.frame_classes)
    )
    remove_node(root[FAILURES], item.key)
    return None
