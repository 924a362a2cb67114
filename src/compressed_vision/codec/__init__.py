"""The neural video codec: config and presets, model, quantiser, training, checkpoints."""

from .checkpoint import codec_fingerprint, load_codec, save_codec
from .config import PRESETS, CodecConfig, compression_rate, preset
from .metrics import psnr
from .model import VideoCodec
from .train import train_codec

__all__ = [
    "PRESETS",
    "CodecConfig",
    "VideoCodec",
    "codec_fingerprint",
    "compression_rate",
    "load_codec",
    "preset",
    "psnr",
    "save_codec",
    "train_codec",
]
