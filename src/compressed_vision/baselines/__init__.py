"""Classical codec baselines (JPEG, H.264, HEVC) at a matched compression rate.

The compression rate of a classical codec is raw uint8 RGB bytes over coded payload bytes
(see `rate`); `jpeg_at_rate` and `mpeg_at_rate` search a codec's setting for a target rate;
`copies.recompress_copies` re-compresses a dataset once, the preparation step of `cvis train`
on jpeg / h264 / hevc / decoded inputs.
"""

from .jpeg import jpeg_at_rate, jpeg_decode, jpeg_encode, jpeg_roundtrip
from .mpeg import CODECS, mpeg_at_rate, mpeg_decode, mpeg_encode, mpeg_roundtrip
from .quality import frames_ms_ssim, frames_psnr
from .rate import TOLERANCE, BaselineResult, byte_budget, raw_bytes
from .recompress import METHODS, at_rate, recompress

__all__ = [
    "CODECS",
    "METHODS",
    "TOLERANCE",
    "BaselineResult",
    "at_rate",
    "byte_budget",
    "frames_ms_ssim",
    "frames_psnr",
    "jpeg_at_rate",
    "jpeg_decode",
    "jpeg_encode",
    "jpeg_roundtrip",
    "mpeg_at_rate",
    "mpeg_decode",
    "mpeg_encode",
    "mpeg_roundtrip",
    "raw_bytes",
    "recompress",
]
