"""Writing packs: one writer streams many videos' code chunks into one pack object, then
commits the videos it finished by writing the pack's index (see `store.layout`)."""

from __future__ import annotations

import hashlib
import time
import uuid
from typing import Any

import numpy as np
from numcodecs import Zstd

from ..sources.manifest import Item
from .chunks import ChunkCodec
from .index import Index, VideoRecord, encode_index, pack_index_path, pack_path
from .layout import PACKS, StoreFiles, code_dtype, hash_block

PACK_VIDEOS = 1000  # videos per pack, at most
PACK_BYTES = 256 * 2**20  # a pack is closed once it holds this many bytes
LABELS = Zstd(level=5, checksum=True)  # per-frame labels (int16)


def new_pack_name() -> str:
    """Unique, and sorted by time of creation (a later pack's record of a key wins)."""
    return f"{time.time_ns():020d}-{uuid.uuid4().hex[:12]}"


class PackWriter:
    """Streams videos into a new pack; `close` (also on leaving a `with` block, even by an
    exception) commits the videos finished so far: the pack's index is written last."""

    def __init__(
        self,
        files: StoreFiles,
        codebook_size: int,
        chunk_steps: int,
        coder: ChunkCodec,
        max_videos: int = PACK_VIDEOS,
        max_bytes: int = PACK_BYTES,
    ):
        self.files, self.coder = files, coder
        self.dtype, self.chunk_steps = code_dtype(codebook_size), chunk_steps
        self.max_videos, self.max_bytes = max_videos, max_bytes
        self.name = new_pack_name()
        self.index = Index([self.name])
        self.offset = 0
        self._file: Any = None

    def write(self, data: bytes) -> None:
        """Append bytes to the pack (opened on the first write)."""
        if self._file is None:
            self.files.fs.makedirs(self.files.path(PACKS), exist_ok=True)
            self._file = self.files.fs.open(self.files.path(pack_path(self.name)), "wb")
        self._file.write(data)
        self.offset += len(data)

    def video(self, item: Item) -> VideoWriter:
        """A writer for the next video; it joins the pack when finished."""
        return VideoWriter(self, item)

    def fail(self, item: Item, reason: str) -> None:
        """Record that the item could not be stored (replacing any earlier record)."""
        self.index.add_failure(item.key, {"id": item.id, "source": item.source, "reason": reason})

    @property
    def full(self) -> bool:
        count = len(self.index.videos) + len(self.index.failures)
        return count >= self.max_videos or self.offset >= self.max_bytes

    def close(self) -> None:
        """Close the pack and commit it (an empty pack is removed)."""
        if self._file is not None:
            self._file.close()
        if self.index.videos or self.index.failures:
            self.files.put(pack_index_path(self.name), encode_index(self.index))
        elif self._file is not None:
            self.files.fs.rm(self.files.path(pack_path(self.name)))
        self._file = None

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class VideoWriter:
    """Streams one video's codes into its pack, one chunk of `chunk_steps` code steps at a
    time; the video joins the pack's index in `finish`."""

    def __init__(self, pack: PackWriter, item: Item):
        self.pack, self.item = pack, item
        self.offset = pack.offset
        self.chunks: list[int] = []
        self.steps = 0
        self.grid: tuple[int, int, int] = (0, 0, 0)  # (G, H', W') of its codes
        self._buffer: list[np.ndarray] = []
        self._hash = hashlib.sha256()

    def append(self, codes: np.ndarray) -> None:
        """Add (G, t, H', W') codes; whole chunks are written as soon as they are full."""
        self._buffer.append(codes.astype(self.pack.dtype))
        if sum(b.shape[1] for b in self._buffer) >= self.pack.chunk_steps:
            self._flush(final=False)

    def _flush(self, final: bool) -> None:
        if not self._buffer:
            return
        block, step = np.concatenate(self._buffer, axis=1), self.pack.chunk_steps
        n = block.shape[1] if final else block.shape[1] // step * step
        self._buffer = [block[:, n:]] if n < block.shape[1] else []
        for start in range(0, n, step):
            self._write(block[:, start : min(start + step, n)])

    def _write(self, chunk: np.ndarray) -> None:
        data = self.pack.coder.encode(chunk)
        self.pack.write(data)
        self.chunks.append(len(data))
        hash_block(self._hash, chunk)
        self.steps += chunk.shape[1]
        g, _, h, w = chunk.shape
        self.grid = (g, h, w)

    def checksum(self) -> str:
        """Write what is left; the sha256 of all the codes (see `layout.hash_block`)."""
        self._flush(final=True)
        return self._hash.hexdigest()

    def finish(self, attrs: dict[str, Any], frame_labels: np.ndarray | None) -> None:
        """Write what is left and the per-frame labels, then add the video to the pack's
        index with its attrs, `steps`, `code_shape` (G, T', H', W': the grid can be one
        smaller than H/s) and `sha256`."""
        sha256 = self.checksum()
        labels = b""
        if frame_labels is not None:
            labels = bytes(LABELS.encode(np.ascontiguousarray(frame_labels, dtype="<i2")))
            self.pack.write(labels)
        attrs = {"id": self.item.id, "source": self.item.source, **attrs}
        g, h, w = self.grid
        attrs.update(steps=self.steps, code_shape=[g, self.steps, h, w], sha256=sha256)
        record = VideoRecord(attrs, self.pack.name, self.offset, tuple(self.chunks), len(labels))
        self.pack.index.add_video(self.item.key, record)
