"""The neural video codec: config and presets, model, quantiser, training, checkpoints; the
`Codec` interface every codec (ours, the official ones) implements and `load_codec`."""

from .base import Codec, CodeSpec, codec_fingerprint, common_region
from .checkpoint import load_codec, load_video_codec, save_codec
from .config import PRESETS, CodecConfig, compression_rate, preset
from .metrics import psnr
from .model import VideoCodec
from .train import train_codec

__all__ = [
    "PRESETS",
    "Codec",
    "CodeSpec",
    "CodecConfig",
    "VideoCodec",
    "codec_fingerprint",
    "common_region",
    "compression_rate",
    "load_codec",
    "load_video_codec",
    "preset",
    "psnr",
    "save_codec",
    "train_codec",
]
