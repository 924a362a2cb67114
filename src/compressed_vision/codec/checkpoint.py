"""Saving and loading codecs as safetensors files with their config."""

from __future__ import annotations

import hashlib
from pathlib import Path

import torch

from ..checkpoint import load_checkpoint, save_checkpoint
from ..errors import CheckpointError
from .config import CodecConfig
from .model import VideoCodec

KIND = "codec"


def save_codec(path: str | Path, codec: VideoCodec) -> Path:
    return save_checkpoint(path, codec.state_dict(), KIND, codec.config.to_dict())


def load_codec(path: str | Path, device: str | torch.device = "cpu") -> VideoCodec:
    """Rebuild a codec from one checkpoint file, in eval mode."""
    state, config = load_checkpoint(path, KIND)
    try:
        codec = VideoCodec(CodecConfig.from_dict(config))
        codec.load_state_dict(state)
    except (ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"codec checkpoint does not match its config: {e}", path) from e
    return codec.to(device).eval()


def codec_fingerprint(codec: VideoCodec) -> str:
    """A hash of the codec's weights and config: codes are only valid with this codec."""
    h = hashlib.sha256(repr(sorted(codec.config.to_dict().items())).encode())
    for name, tensor in sorted(codec.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
