"""Entropy coding one chunk of codes with the prior and `constriction`'s range coder.

A coded chunk is a header, then the range coder's 32-bit words (little-endian):

    magic "CVL1" | steps, height, width, words (uint32 each) | crc32 of the words |
    crc32 of the indices (G, T, H, W as uint16)

Each chunk is coded on its own (its first step has no previous step), in the order of
`Layout.passes` within each step. The prior's integer frequencies make the bitstream a
function of the indices and the prior only. Decoding checks the header, the length and the
words' checksum before decoding and, when the whole chunk is decoded, the indices'
checksum: a damaged chunk raises `CodingError`, never returns wrong indices.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator

import constriction
import numpy as np

from .model import IntegerPrior

MAGIC = b"CVL1"
HEADER = struct.Struct("<4s6I")
BATCH = 4096  # indices per prior evaluation when encoding


class CodingError(ValueError):
    """A coded chunk that is truncated, damaged or not a coded chunk."""


def _family() -> constriction.stream.model.Categorical:
    return constriction.stream.model.Categorical(perfect=False)


def _index_crc(codes: np.ndarray) -> int:
    return zlib.crc32(np.ascontiguousarray(codes, dtype="<u2").tobytes())


def _coding_order(
    codes: np.ndarray, prior: IntegerPrior
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(symbols (n,), integer frequencies (n, K)) of each pass of a chunk, in coding order."""
    big, steps, height, width = codes.shape
    if big != prior.cfg.num_codebooks:
        raise ValueError(f"codes of {big} codebooks, the prior is for {prior.cfg.num_codebooks}")
    layout = prior.cfg.layout(height, width)
    buf = layout.load(codes)
    block = max(1, BATCH // (height * width))
    for t0 in range(0, steps, block):
        t = np.arange(t0, min(t0 + block, steps))
        freqs, symbols = {}, {}
        for g, p in layout.passes:
            yx = layout.yx[p]
            rows = layout.gather(buf, t, g, p)
            freqs[g, p] = prior.frequencies(rows.reshape(-1, rows.shape[-1]), g, p).reshape(
                len(t), len(yx), -1
            )
            symbols[g, p] = codes[g][t][:, yx[:, 0], yx[:, 1]].astype(np.int32)
        for i in range(len(t)):
            for gp in layout.passes:
                yield symbols[gp][i], freqs[gp][i]


def encode_chunk(codes: np.ndarray, prior: IntegerPrior) -> bytes:
    """Code the indices (G, T, H, W) of one chunk."""
    encoder = constriction.stream.queue.RangeEncoder()
    for symbols, freqs in _coding_order(codes, prior):
        encoder.encode(symbols, _family(), freqs)
    words = encoder.get_compressed().astype("<u4")
    steps, height, width = codes.shape[1:]
    head = HEADER.pack(
        MAGIC, steps, height, width, len(words), zlib.crc32(words.tobytes()), _index_crc(codes)
    )
    return head + words.tobytes()


def chunk_bits(codes: np.ndarray, prior: IntegerPrior) -> float:
    """The cross-entropy of a chunk's indices under the prior's integer frequencies: the
    bound that the coded words approach."""
    total = 0.0
    for symbols, freqs in _coding_order(codes, prior):
        p = freqs[np.arange(len(symbols)), symbols] / freqs.sum(1)
        total -= float(np.log2(p).sum())
    return total


def chunk_shape(data: bytes) -> tuple[int, int, int]:
    """(steps, height, width) of a coded chunk, from its header."""
    return _parse(data)[1:4]


def _parse(data: bytes) -> tuple[np.ndarray, int, int, int, int]:
    if len(data) < HEADER.size:
        raise CodingError(f"truncated: {len(data)} bytes, shorter than the header")
    magic, steps, height, width, count, words_crc, index_crc = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise CodingError("not a learned-coded chunk (bad magic)")
    if len(data) != HEADER.size + 4 * count:
        raise CodingError(
            f"truncated or padded: {len(data)} bytes, expected {HEADER.size + 4 * count}"
        )
    body = data[HEADER.size :]
    if zlib.crc32(body) != words_crc:
        raise CodingError("damaged: checksum of the coded words does not match")
    return np.frombuffer(body, dtype="<u4").astype(np.uint32), steps, height, width, index_crc


def decode_chunk(data: bytes, prior: IntegerPrior, steps: int | None = None) -> np.ndarray:
    """The indices (G, T, H, W) of a coded chunk, int64; `steps` decodes only the first ones
    (the indices' checksum is then not checked, the words' checksum is)."""
    words, total, height, width, index_crc = _parse(data)
    count = total if steps is None else min(steps, total)
    layout = prior.cfg.layout(height, width)
    buf = layout.buffer(count)
    out = np.empty((prior.cfg.num_codebooks, count, height, width), dtype=np.int64)
    decoder = constriction.stream.queue.RangeDecoder(words)
    family, k = _family(), prior.cfg.codebook_size
    try:
        for t in range(count):
            for g, p in layout.passes:
                yx = layout.yx[p]
                freqs = prior.frequencies(layout.gather(buf, t, g, p), g, p)
                symbols = decoder.decode(family, freqs)
                layout.fill(buf, t, g, yx, symbols)
                out[g, t, yx[:, 0], yx[:, 1]] = symbols
    except (ValueError, RuntimeError, OverflowError) as e:
        raise CodingError(f"damaged: the range decoder failed ({e})") from e
    if out.size and (out.min() < 0 or out.max() >= k):
        raise CodingError("damaged: decoded indices outside the codebook")
    if count == total and _index_crc(out) != index_crc:
        raise CodingError("damaged: checksum of the decoded indices does not match")
    return out
