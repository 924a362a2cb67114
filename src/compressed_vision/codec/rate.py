"""The three rate figures of an encode: index CR, its entropy bound, and bytes after zstd.

- index CR: the paper's formula, raw 24-bit RGB bits over (number of indices * log2 K);
- entropy CR: the same raw bits over the indices' empirical entropy (per codebook,
  order 0): what an ideal memoryless entropy coder of the indices would reach;
- zstd CR: raw bytes over the bytes actually written by our lossless stage (zstd at a
  high level on the codebook-major uint8/uint16 array), which must beat the raw index size.

With a learned prior (`codec.lossless`), two more: the prior's cross-entropy (the bound of
its coder) and the bytes the learned coder actually writes, each chunk of `chunk_steps`
steps coded on its own (as a store does).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import zstandard

from .lossless.coder import chunk_bits, encode_chunk
from .lossless.model import IntegerPrior

ZSTD_LEVEL = 19


def index_dtype(codebook_size: int) -> np.dtype:
    return np.dtype(np.uint8) if codebook_size <= 256 else np.dtype(np.uint16)


def compress_codes(
    codes: np.ndarray | torch.Tensor, codebook_size: int, level: int = ZSTD_LEVEL
) -> bytes:
    """Lossless stage: codes (G, T', H', W') -> zstd bytes of the smallest integer type."""
    arr = np.asarray(codes.cpu() if torch.is_tensor(codes) else codes).astype(
        index_dtype(codebook_size)
    )
    return zstandard.ZstdCompressor(level=level).compress(np.ascontiguousarray(arr).tobytes())


def decompress_codes(data: bytes, shape: tuple[int, ...], codebook_size: int) -> np.ndarray:
    raw = zstandard.ZstdDecompressor().decompress(data)
    return np.frombuffer(raw, dtype=index_dtype(codebook_size)).reshape(shape).astype(np.int64)


def entropy_bits(codes: np.ndarray | torch.Tensor, codebook_size: int) -> float:
    """Total bits of the indices under each codebook's empirical (order-0) distribution.

    `codes` is (G, ...): codebook g's indices are counted separately."""
    arr = np.asarray(codes.cpu() if torch.is_tensor(codes) else codes)
    total = 0.0
    for g in range(arr.shape[0]):
        counts = np.bincount(arr[g].ravel(), minlength=codebook_size).astype(np.float64)
        p = counts[counts > 0] / counts.sum()
        total += float(-(p * np.log2(p)).sum()) * counts.sum()
    return total


@dataclass(frozen=True)
class RateFigures:
    index_cr: float
    entropy_cr: float
    zstd_cr: float
    raw_bytes: int  # uint8 RGB frames
    index_bytes: float  # indices at log2 K bits each
    zstd_bytes: int
    bound_bytes: float | None = None  # the learned prior's cross-entropy, in bytes
    learned_bytes: int | None = None  # written by the learned coder (headers included)

    @property
    def smallest_bytes(self) -> int:
        """What the better lossless stage writes."""
        return min(self.zstd_bytes, self.learned_bytes or self.zstd_bytes)

    def to_dict(self) -> dict:
        return asdict(self)


def learned_figures(
    codes: np.ndarray | torch.Tensor, prior: IntegerPrior, chunk_steps: int = 32
) -> tuple[float, int]:
    """(cross-entropy bound in bytes, bytes written) of the learned coder on codes
    (G, T', H', W'), chunk by chunk."""
    arr = np.asarray(codes.cpu() if torch.is_tensor(codes) else codes).astype(np.int64)
    chunks = [arr[:, i : i + chunk_steps] for i in range(0, arr.shape[1], chunk_steps)]
    bits = sum(chunk_bits(c, prior) for c in chunks)
    return bits / 8, sum(len(encode_chunk(c, prior)) for c in chunks)


def rate_figures(
    codes: np.ndarray | torch.Tensor,
    codebook_size: int,
    frames: int,
    height: int,
    width: int,
    prior: IntegerPrior | None = None,
    chunk_steps: int = 32,
) -> RateFigures:
    """All the figures for the codes (G, T', H', W') of one clip of T x H x W pixels (the
    learned ones only with a `prior`)."""
    raw_bits = frames * height * width * 3 * 8
    n = int(np.prod(codes.shape))
    index_bits = n * math.log2(codebook_size)
    zbytes = len(compress_codes(codes, codebook_size))
    bound, learned = (None, None) if prior is None else learned_figures(codes, prior, chunk_steps)
    return RateFigures(
        index_cr=raw_bits / index_bits,
        entropy_cr=raw_bits / max(entropy_bits(codes, codebook_size), 1.0),
        zstd_cr=raw_bits / (8 * zbytes),
        raw_bytes=raw_bits // 8,
        index_bytes=index_bits / 8,
        zstd_bytes=zbytes,
        bound_bytes=bound,
        learned_bytes=learned,
    )
