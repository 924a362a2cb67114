"""Saving and loading codecs: ours as safetensors files with their config; `load_codec`
also opens the official codecs (a released `.pkl` or a converted file)."""

from __future__ import annotations

from pathlib import Path

import torch

from ..checkpoint import load_checkpoint, read_metadata, save_checkpoint
from ..errors import CheckpointError
from .base import Codec
from .config import CodecConfig
from .model import VideoCodec

KIND = VideoCodec.kind


# Codecs shipped inside the package (trained by `make weights`, see the README).
SHIPPED = {
    "cr30": "codec_cr30.safetensors",
    "cr240": "codec_cr240.safetensors",
    "cr480": "codec_cr480.safetensors",
}
SHIPPED_NAMES = ", ".join(SHIPPED)
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


def load_video_codec(path: str | Path, device: str | torch.device = "cpu") -> VideoCodec:
    """One of our codecs from its checkpoint file (or a shipped codec's name), in eval mode:
    what training and export take."""
    path = resolve_codec_path(path)
    state, config = load_checkpoint(path, KIND)
    try:
        codec = VideoCodec(CodecConfig.from_dict(config))
        codec.load_state_dict(state)
    except (ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"codec checkpoint does not match its config: {e}", path) from e
    return codec.to(device).eval()


def load_codec(spec: str | Path, device: str | torch.device = "cpu") -> Codec:
    """Any codec, in eval mode on `device`: a shipped codec's name (`cvis codec list`), one of
    our checkpoints, an official `.pkl` (read with the restricted unpickler: a file naming
    any global outside its allow-list is refused before anything in it runs) or an official
    codec converted by `cvis official convert`. Anything else is a `CheckpointError` naming
    the file and what it is."""
    # The official port builds on this package's modules, so it is imported on use.
    from .official.load import KIND as OFFICIAL_KIND
    from .official.load import is_pickle, load_official

    path = resolve_codec_path(spec)
    if not path.is_file():
        raise CheckpointError(
            f"no such checkpoint file (nor a shipped codec: {SHIPPED_NAMES})", path
        )
    if is_pickle(path):
        return load_official(path, device)
    kind = read_metadata(path)["kind"]
    if kind == OFFICIAL_KIND:
        return load_official(path, device)
    if kind != KIND:
        raise CheckpointError(
            f"is a {kind!r} checkpoint, expected {KIND!r} (one of ours) or {OFFICIAL_KIND!r} "
            "(a converted official codec): it is not a codec",
            path,
        )
    return load_video_codec(path, device)
