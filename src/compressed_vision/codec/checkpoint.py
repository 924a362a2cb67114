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


# Codecs shipped inside the package (trained by `make weights`, see the README).
SHIPPED = {"cr30": "codec_cr30.safetensors", "cr240": "codec_cr240.safetensors"}
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "weights"


def save_codec(path: str | Path, codec: VideoCodec, half: bool = False) -> Path:
    """Write a codec; `half` stores float weights as float16 (half the size; they load back
    into float32, and the rounded weights are then the codec)."""
    state = codec.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    return save_checkpoint(path, state, KIND, codec.config.to_dict())


def resolve_shipped(spec: str | Path, shipped: dict[str, str]) -> Path:
    """A name in `shipped` (name -> file in the package's weights) or a path -> a path."""
    return WEIGHTS_DIR / shipped[str(spec)] if str(spec) in shipped else Path(spec)


def resolve_codec_path(spec: str | Path) -> Path:
    """A shipped codec's name ("cr30", "cr240") or a checkpoint path -> a path."""
    return resolve_shipped(spec, SHIPPED)


def load_codec(path: str | Path, device: str | torch.device = "cpu") -> VideoCodec:
    """Rebuild a codec from one checkpoint file (or a shipped codec's name), in eval mode."""
    path = resolve_codec_path(path)
    state, config = load_checkpoint(path, KIND)
    try:
        codec = VideoCodec(CodecConfig.from_dict(config))
        codec.load_state_dict(state)
    except (ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"codec checkpoint does not match its config: {e}", path) from e
    return codec.to(device).eval()


# Config fields added after codecs were first shipped, with the value every earlier codec has:
# left out of the fingerprint at that value, so existing codecs (and their stores) keep theirs.
LATER_FIELDS = {"decoder_channels": 0, "quantizer": "vq"}


def codec_fingerprint(codec: VideoCodec) -> str:
    """A hash of the codec's weights and config: codes are only valid with this codec."""
    config = {
        k: v
        for k, v in codec.config.to_dict().items()
        if k not in LATER_FIELDS or v != LATER_FIELDS[k]
    }
    h = hashlib.sha256(repr(sorted(config.items())).encode())
    for name, tensor in sorted(codec.state_dict().items()):
        h.update(name.encode())
        h.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]
