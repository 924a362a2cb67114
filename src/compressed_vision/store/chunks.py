"""The lossless coding of one chunk of codes: the single place where code chunks are
compressed and decompressed (the writer, the reader and `verify` all go through it).

A store records its chunk codec in the root attrs (`chunk_codec`, e.g. `{"name": "zstd",
"level": 5}`); `chunk_codec` makes the coder from that record. Another lossless coder plugs
in as one more class with `encode`/`decode` and one more name in `CODERS`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from numcodecs import Zstd


class ChunkCodec(Protocol):
    def encode(self, block: np.ndarray) -> bytes:
        """The bytes of a (G, t, H', W') block of codes."""

    def decode(self, data: bytes, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        """The block back; raises (any exception) when `data` is damaged."""


class ZstdChunks:
    """zstd with a content checksum: a damaged chunk fails to decode."""

    def __init__(self, level: int = 5):
        self._zstd = Zstd(level=level, checksum=True)

    def encode(self, block: np.ndarray) -> bytes:
        return bytes(self._zstd.encode(np.ascontiguousarray(block)))

    def decode(self, data: bytes, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
        raw = self._zstd.decode(data)
        return np.frombuffer(raw, dtype=dtype).reshape(shape)


CODERS: dict[str, type] = {"zstd": ZstdChunks}
DEFAULT: dict[str, Any] = {"name": "zstd", "level": 5}


def chunk_codec(config: dict[str, Any]) -> ChunkCodec:
    """The coder a store's `chunk_codec` record names; ValueError for an unknown one."""
    options = {k: v for k, v in config.items() if k != "name"}
    if config.get("name") not in CODERS:
        raise ValueError(f"unknown chunk codec {config.get('name')!r}; known: {sorted(CODERS)}")
    return CODERS[config["name"]](**options)
