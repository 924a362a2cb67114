"""The store's layout on disk, shared by the writer and the reader.

```
STORE/                       zarr v3 group (a local path or any fsspec URL)
  zarr.json                  root attrs: format, version, codec_kind ("codec": ours, or
                             "official_codec"; absent in older stores: ours), codec (the
                             shape of its codes: its config), codec_fingerprint, size, fps,
                             chunk_steps, classes, frame_classes
  videos/<key>/              one group per video; attrs: id, source, fps, frames, height,
                             width, steps, code_shape (G, T', H', W': for the official 2x-time
                             codecs one smaller than H/s, W/s), label, label_index, split,
                             sha256, complete, ...
  videos/<key>/codes         (G, T', H', W') uint8 (uint16 when K > 256), chunked along
                             time (`chunk_steps` code steps per chunk), zstd-compressed
                             with a content checksum (a damaged chunk fails to decode)
  videos/<key>/frame_labels  (frames,) int16 per-frame class indices, -1 = none (optional)
  failures/<key>/            one group per failed item; attrs: id, source, reason
```

A video exists for readers only once its group's attrs say `complete: true`: the writer sets
that last, after every chunk is written, so a reader never sees half a video.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np
import zarr

FORMAT = "compressed_vision.store"
VERSION = 1
VIDEOS = "videos"
FAILURES = "failures"


def video_key(item_id: str) -> str:
    """A zarr node name for an item id: readable, and unique (a hash is added when the id
    had to be changed to fit zarr's naming rules)."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", item_id).strip("._") or "video"
    if key != item_id:
        key += "-" + hashlib.sha1(item_id.encode()).hexdigest()[:8]
    return key


def code_dtype(codebook_size: int) -> np.dtype:
    """Little-endian uint8 for K <= 256, else uint16."""
    return np.dtype("u1") if codebook_size <= 256 else np.dtype("<u2")


def hash_block(h: Any, block: np.ndarray) -> None:
    """Feed a (G, t, H', W') block of codes into a hash, time-major: the checksum of a video
    is the sha256 of its codes laid out as (T', G, H', W') in C order, so it can be computed
    while streaming along time."""
    h.update(np.ascontiguousarray(block.transpose(1, 0, 2, 3)).tobytes())


def open_root(
    url: str, mode: str = "r", storage_options: dict[str, Any] | None = None
) -> zarr.Group:
    """Open a store's root group: a local path or an fsspec URL (memory://, s3://, ...)."""
    extra = {"storage_options": storage_options} if storage_options else {}
    return zarr.open_group(str(url), mode=mode, **extra)


def is_memory(url: str) -> bool:
    return str(url).startswith("memory://")
