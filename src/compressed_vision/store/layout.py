"""The store's layout, shared by the writer and the reader.

```
STORE/                        a local path or any fsspec URL (memory://, s3://, gs://, ...)
  zarr.json                   a zarr v3 group; attrs: format, version (2), codec_kind
                              ("codec": ours, or "official_codec"), codec (the shape of its
                              codes: its config), codec_fingerprint, chunk_codec (the
                              lossless coding of the chunks, see `store.chunks`), size, fps,
                              chunk_steps, classes, frame_classes
  prior.safetensors           the prior of a learned-coded store (chunk_codec "learned")
  index.cvi                   the consolidated index: every video and failure of the packs
                              it names (what opening a store reads)
  packs/<name>.pack           many videos' code chunks (each coded on its own by the chunk
                              codec) and per-frame labels, back to back, written as one
                              stream by one writer
  packs/<name>.idx            the pack's index, written once the pack is complete: its
                              videos (attrs, byte offset, chunk sizes) and failures
```

A video exists for readers only once the index of its pack exists: a writer writes it last,
after the pack is closed, so a reader never sees half a video. An index (`.idx` or
`index.cvi`) is zstd-compressed JSON of columns; `index.cvi` covers the packs it names, the
reader adds any `.idx` written since (a later pack's record of a key replaces an earlier one).
A video's attrs: id, source, fps, frames, height, width, steps, code_shape (G, T', H', W':
for the official 2x-time codecs one smaller than H/s, W/s), label, label_index, split,
sha256, ...
"""

from __future__ import annotations

import json
from typing import Any

import fsspec
import numpy as np
from fsspec.implementations.local import LocalFileSystem

FORMAT = "compressed_vision.store"
VERSION = 2
ROOT_META = "zarr.json"
INDEX = "index.cvi"
PACKS = "packs"
PACK_SUFFIX, INDEX_SUFFIX = ".pack", ".idx"


def code_dtype(codebook_size: int) -> np.dtype:
    """Little-endian uint8 for K <= 256, else uint16."""
    return np.dtype("u1") if codebook_size <= 256 else np.dtype("<u2")


def hash_block(h: Any, block: np.ndarray) -> None:
    """Feed a (G, t, H', W') block of codes into a hash, time-major: the checksum of a video
    is the sha256 of its codes laid out as (T', G, H', W') in C order, so it can be computed
    while streaming along time."""
    h.update(np.ascontiguousarray(block.transpose(1, 0, 2, 3)).tobytes())


class StoreFiles:
    """The files of a store on its fsspec filesystem. Pickles with the filesystem."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None):
        self.url, self.storage_options = str(url), storage_options
        self.fs, self.root = fsspec.core.url_to_fs(self.url, **(storage_options or {}))
        self.root = self.root.rstrip("/")

    def path(self, *parts: str) -> str:
        return "/".join([self.root, *parts])

    def location(self, *parts: str) -> str:
        """The path (or URL) of a file of the store, for messages."""
        return "/".join([self.url.rstrip("/"), *parts])

    def put(self, rel: str, data: bytes) -> None:
        """Write a whole file atomically: a single put on object stores, a rename locally."""
        path = self.path(rel)
        if isinstance(self.fs, LocalFileSystem):
            self.fs.makedirs(self.fs._parent(path), exist_ok=True)
            self.fs.pipe_file(path + ".tmp", data)
            self.fs.mv(path + ".tmp", path)
        else:
            self.fs.pipe_file(path, data)

    def get(self, rel: str, start: int | None = None, end: int | None = None) -> bytes:
        """A whole file, or bytes [start, end) of it: one request."""
        return self.fs.cat_file(self.path(rel), start, end)

    def listdir(self, rel: str) -> list[str]:
        """Names of the files in a folder ([] when there is none)."""
        try:
            return sorted(p.rsplit("/", 1)[-1] for p in self.fs.ls(self.path(rel), detail=False))
        except FileNotFoundError:
            return []


def is_memory(url: str) -> bool:
    return str(url).startswith("memory://")


def group_metadata(attrs: dict[str, Any]) -> bytes:
    """The root `zarr.json`: a zarr v3 group holding the store's attrs."""
    doc = {"zarr_format": 3, "node_type": "group", "attributes": attrs}
    return json.dumps(doc, indent=2).encode()
