"""Encoding one item into a pack of the store, streamed one encode window at a time, or
recording why it failed; and encoding a list of items into packs."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

import av
import numpy as np
import torch

from ..codec.base import Codec
from ..codec.files import WINDOW, frames_to_tensor
from ..codec.lossless import LearnedPrior
from ..errors import CVError, TruncatedVideo, VideoError
from ..sources.manifest import Item
from ..sources.source import open_source
from ..video.io import keep_partial_chunks
from .chunks import ChunkCodec
from .layout import StoreFiles
from .packs import PACK_VIDEOS, PackWriter, VideoWriter


@dataclass(frozen=True)
class BuildSpec:
    """What every video of a store shares (recorded in the store's root attrs)."""

    size: int | None = None  # frames resized (cover + centre crop) to size x size
    fps: float | None = None  # frames resampled to this rate; None keeps the source's
    chunk_steps: int = 32  # code steps per stored chunk
    classes: tuple[str, ...] = ()
    frame_classes: tuple[str, ...] = ()
    prior: LearnedPrior | None = None  # chunk codec: None is zstd, else learned coding


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
    pack: PackWriter,
    item: Item,
    codec: Codec,
    device: torch.device,
    spec: BuildSpec,
    keep_partial: bool = False,
) -> str | None:
    """Encode one item into `pack`, streaming one encode window of frames at a time.
    Returns None on success, or the reason it failed (then recorded in the pack as a
    failure). A video whose decoding stops early is such a failure; with `keep_partial` its
    decoded frames are stored instead, the entry marked "partial" with "declared_frames" and
    "decoded_frames". Errors of the store itself (disk full, ...) propagate."""
    if item.error is not None:
        pack.fail(item, item.error)
        return item.error
    try:
        source = open_source(item, spec.size, spec.fps)
        writer = pack.video(item)
        truncated: list[TruncatedVideo] = []
        chunks = keep_partial_chunks(source.chunks(window_frames(codec)), keep_partial, truncated)
        frames, height, width = write_chunks(writer, chunks, codec, device)
        if frames == 0:
            raise VideoError("no frames in the selected time range", item.source)
    except (CVError, av.error.FFmpegError) as e:
        reason = e.reason if isinstance(e, CVError) else f"cannot be read by PyAV: {e}"
        pack.fail(item, reason)
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
    return None


def encode_items(
    files: StoreFiles,
    items: Iterable[Item],
    codec: Codec,
    device: torch.device,
    spec: BuildSpec,
    coder: ChunkCodec,
    keep_partial: bool = False,
    pack_videos: int = PACK_VIDEOS,
) -> Iterator[tuple[Item, str | None]]:
    """Encode items into new packs, yielding (item, failure reason or None) for each. A pack
    is committed when full and when this generator ends or is closed (an exception, an
    interrupt): the items finished before are kept, the one in flight is redone by a resumed
    build. A hard kill loses the open pack's items (redone too)."""
    pack = None
    try:
        for item in items:
            if pack is None:
                pack = PackWriter(files, codec.codebook_size, spec.chunk_steps, coder, pack_videos)
            reason = encode_item(pack, item, codec, device, spec, keep_partial)
            if pack.full:
                pack.close()
                pack = None
            yield item, reason
    finally:
        if pack is not None:
            pack.close()
