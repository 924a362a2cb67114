"""The lossless coding of one chunk of codes: the single place where code chunks are
compressed and decompressed (the writer, the reader and `verify` all go through it).

A store records its chunk codec in the root attrs (`chunk_codec`): `{"name": "zstd",
"level": 5}`, or `{"name": "learned", "prior": <the prior's fingerprint>}`, coding each
chunk on its own with `codec.lossless` and the prior the store holds as `prior.safetensors`
(so a store is read without any other file). `chunk_codec` makes the coder from the root
attrs and the store's files. Another lossless coder plugs in as one more class with
`open`/`encode`/`decode` and one more name in `CODERS`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from numcodecs import Zstd

from ..codec.lossless import (
    CodingError,
    LearnedPrior,
    decode_chunk,
    encode_chunk,
    load_prior,
    save_prior,
)
from ..errors import CVError
from .layout import StoreFiles

PRIOR_FILE = "prior.safetensors"


class ChunkCodec(Protocol):
    def encode(self, block: np.ndarray) -> bytes:
        """The bytes of a (G, t, H', W') block of codes."""

    def decode(
        self, data: bytes, shape: tuple[int, ...], dtype: np.dtype, steps: int | None = None
    ) -> np.ndarray:
        """The block back, or its first `steps` code steps (a window that ends inside it);
        raises (any exception) when `data` is damaged."""


class ZstdChunks:
    """zstd with a content checksum: a damaged chunk fails to decode."""

    def __init__(self, level: int = 5):
        self._zstd = Zstd(level=level, checksum=True)

    @classmethod
    def open(cls, files: StoreFiles, codec_fingerprint: str, level: int = 5) -> ZstdChunks:
        return cls(level)

    def encode(self, block: np.ndarray) -> bytes:
        return bytes(self._zstd.encode(np.ascontiguousarray(block)))

    def decode(
        self, data: bytes, shape: tuple[int, ...], dtype: np.dtype, steps: int | None = None
    ) -> np.ndarray:
        raw = self._zstd.decode(data)
        return np.frombuffer(raw, dtype=dtype).reshape(shape)[:, :steps]


class LearnedChunks:
    """Range coding with a learned context prior (`codec.lossless`): smaller than zstd,
    slower to read. A damaged chunk raises `CodingError`, never returns wrong indices."""

    def __init__(self, prior: LearnedPrior):
        self.prior = prior

    @classmethod
    def open(cls, files: StoreFiles, codec_fingerprint: str, prior: str) -> LearnedChunks:
        """The coder with the store's prior, refused unless it is the one the record names
        and belongs to the store's codec."""
        return cls(read_prior(files, prior, codec_fingerprint))

    def encode(self, block: np.ndarray) -> bytes:
        return encode_chunk(block, self.prior.integer)

    def decode(
        self, data: bytes, shape: tuple[int, ...], dtype: np.dtype, steps: int | None = None
    ) -> np.ndarray:
        """Only the steps asked for are decoded (each depends on the ones before): the
        words' checksum is checked, the whole chunk's indices' checksum when all are read."""
        codes = decode_chunk(data, self.prior.integer, steps)
        g, t, h, w = shape
        expected = (g, t if steps is None else min(steps, t), h, w)
        if codes.shape != expected:
            raise CodingError(f"holds codes of shape {codes.shape}, not {expected}")
        return codes.astype(dtype)


CODERS: dict[str, type[ZstdChunks] | type[LearnedChunks]] = {
    "zstd": ZstdChunks,
    "learned": LearnedChunks,
}
DEFAULT: dict[str, Any] = {"name": "zstd", "level": 5}


def learned_record(prior: LearnedPrior) -> dict[str, Any]:
    """The `chunk_codec` record of a store learned-coded with `prior`."""
    return {"name": "learned", "prior": prior.fingerprint}


def chunk_codec(attrs: dict[str, Any], files: StoreFiles) -> ChunkCodec:
    """The coder the root attrs of the store in `files` name (`chunk_codec`); ValueError or
    TypeError for an unknown or malformed record, `CVError` naming the prior's file when a
    learned store's prior is missing, damaged or not its own."""
    config = attrs["chunk_codec"]
    options = {k: v for k, v in config.items() if k != "name"}
    if config.get("name") not in CODERS:
        raise ValueError(f"unknown chunk codec {config.get('name')!r}; known: {sorted(CODERS)}")
    return CODERS[config["name"]].open(files, attrs["codec_fingerprint"], **options)


def write_prior(files: StoreFiles, prior: LearnedPrior) -> None:
    """Put the prior into the store (`prior.safetensors`)."""
    with tempfile.TemporaryDirectory() as tmp:
        files.put(PRIOR_FILE, save_prior(Path(tmp) / PRIOR_FILE, prior).read_bytes())


def read_prior(files: StoreFiles, fingerprint: str, codec_fingerprint: str) -> LearnedPrior:
    """The store's prior; `CVError` naming its file unless it has this fingerprint and belongs
    to the codec of this fingerprint."""
    where = files.location(PRIOR_FILE)
    try:
        data = files.get(PRIOR_FILE)
    except FileNotFoundError as e:
        raise CVError("the store is learned-coded but holds no prior", where) from e
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / PRIOR_FILE
        path.write_bytes(data)
        try:
            prior = load_prior(path, codec_fingerprint)
        except CVError as e:  # named after the temporary file
            raise CVError(e.reason, where) from e
    if prior.fingerprint != fingerprint:
        raise CVError("the store's prior is not the one its codes were written with", where)
    return prior
