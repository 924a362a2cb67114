"""Streaming a long video (a walking tour, or a file) into a code store: one encode window of
frames at a time through the store's own `VideoWriter`, so memory stays flat however long the
video is, with a progress bar in frames that shows the time left.

A tour is stored like any other video (its codes, the district of every frame as per-frame
labels, `frame_classes` = the district names) plus its config in the attr "tour", from
which every other label is recomputed without rendering.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..codec.base import Codec
from ..errors import TruncatedVideo, VideoError
from ..sources.manifest import Item
from ..sources.source import open_source
from ..store.build import prepare_root
from ..store.index import consolidate
from ..store.packs import PackWriter
from ..store.reader import CodeStore, VideoEntry
from ..store.writer import BuildSpec, window_frames, write_chunks
from ..video.io import keep_partial_chunks, probe_video
from .tour import TourConfig, WalkingTour


def stream_into_store(
    out: str,
    item: Item,
    chunks: Iterable[np.ndarray],
    codec: Codec,
    device: torch.device,
    spec: BuildSpec,
    attrs: dict[str, Any],
    frame_labels: np.ndarray | None = None,
    total: int | None = None,
    progress: bool = True,
    keep_partial: bool = False,
) -> VideoEntry:
    """Encode `chunks` ((t, H, W, 3) uint8, each `window_frames(codec)` long but the last) into
    a pack of its own in the store at `out`, as `item.key`; the entry becomes visible when
    complete. With `keep_partial` a truncated video is stored as far as it decodes, marked
    partial."""
    codec = codec.to(device).eval()
    files, coder = prepare_root(out, codec, spec)
    with PackWriter(files, codec.codebook_size, spec.chunk_steps, coder) as pack:
        writer = pack.video(item)
        truncated: list[TruncatedVideo] = []
        chunks = keep_partial_chunks(iter(chunks), keep_partial, truncated)
        with tqdm(total=total, unit="frame", desc=f"encode {item.id}", disable=not progress) as bar:
            frames, height, width = write_chunks(writer, chunks, codec, device, bar.update)
        if frames == 0:
            raise VideoError("no frames to encode", item.source)
        base = {"frames": frames, "height": int(height), "width": int(width), "label": None}
        if truncated:
            base.update(partial=True, declared_frames=truncated[0].declared, decoded_frames=frames)
        writer.finish({**base, "label_index": -1, **attrs}, frame_labels)
    consolidate(files)
    return next(e for e in CodeStore(out).entries() if e.key == item.key)


def tour_spec(cfg: TourConfig, chunk_steps: int = 32) -> BuildSpec:
    """The store settings shared by every tour of one world (size, rate, district names)."""
    return BuildSpec(
        size=cfg.size, fps=cfg.fps, chunk_steps=chunk_steps, frame_classes=cfg.district_names
    )


def stored_tour(out: str, key: str, cfg: TourConfig) -> VideoEntry | None:
    """The complete entry of this very tour in the (existing) store at `out`, or None."""
    for entry in CodeStore(out).entries():
        if entry.key == key and "tour" in entry.attrs:
            return entry if TourConfig.from_dict(entry.attrs["tour"]) == cfg else None
    return None


def encode_tour(
    tour: WalkingTour,
    codec: Codec,
    out: str,
    key: str,
    device: torch.device,
    split: str | None = None,
    chunk_steps: int = 32,
    progress: bool = True,
) -> VideoEntry:
    """Render and encode a tour into the store at `out` as `key`, streamed; a tour
    already there (same config, same codec) is kept as it is."""
    cfg = tour.cfg
    spec = tour_spec(cfg, chunk_steps)
    prepare_root(out, codec, spec)  # refuses a store of another codec or settings
    done = stored_tour(out, key, cfg)
    if done is not None:
        return done
    source = "walking_tour:" + ",".join(f"{k}={v}" for k, v in cfg.to_dict().items())
    attrs = {"fps": cfg.fps, "split": split, "tour": cfg.to_dict(), "source_bytes": 0}
    return stream_into_store(
        out,
        Item(key, source, split=split),
        tour.chunks(window_frames(codec)),
        codec,
        device,
        spec,
        attrs,
        tour.labels().district,
        total=tour.frames,
        progress=progress,
    )


def encode_long_file(
    path: str | Path,
    codec: Codec,
    out: str,
    device: torch.device,
    size: int | None = None,
    fps: float | None = None,
    chunk_steps: int = 32,
    progress: bool = True,
    keep_partial: bool = False,
) -> VideoEntry:
    """Encode one (long) video file into the store at `out`, streamed, with the time left;
    the key is the file's name (see `stream_into_store` for `keep_partial`)."""
    path = Path(path)
    info = probe_video(path)
    total = round(info.duration * (fps or info.fps)) or info.frames or None
    item = Item(path.name, str(path))
    source = open_source(item, size, fps)
    attrs = {
        "fps": source.fps,
        "source_height": source.source_height,
        "source_width": source.source_width,
        "source_bytes": source.source_bytes,
    }
    spec = BuildSpec(size=size, fps=fps, chunk_steps=chunk_steps)
    chunks = source.chunks(window_frames(codec))
    return stream_into_store(
        out, item, chunks, codec, device, spec, attrs, None, total, progress, keep_partial
    )
