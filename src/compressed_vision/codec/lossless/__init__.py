"""The learned lossless stage: a causal context prior over code indices and range coding
with `constriction` (see `context` for what each index is predicted from)."""

from .checkpoint import LearnedPrior, load_prior, save_prior
from .coder import CodingError, chunk_shape, decode_chunk, encode_chunk
from .model import ContextPrior, IntegerPrior, PriorConfig

__all__ = [
    "CodingError",
    "ContextPrior",
    "IntegerPrior",
    "LearnedPrior",
    "PriorConfig",
    "chunk_shape",
    "decode_chunk",
    "encode_chunk",
    "load_prior",
    "save_prior",
]
