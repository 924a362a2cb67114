"""Loading official checkpoints (`.pkl`) and converting them to our safetensors format."""

from __future__ import annotations

from pathlib import Path

import torch

from ...checkpoint import load_checkpoint, save_checkpoint
from ...errors import CheckpointError
from .config import augmenter_kwargs_from_config, codec_kwargs_from_config
from .convert import augmenter_dims, official_state_dict
from .model import OfficialModel
from .unpickle import read_official_checkpoint

KIND = OfficialModel.kind
_PICKLE_SUFFIXES = (".pkl", ".pickle")


def is_pickle(path: Path) -> bool:
    """Pickles of protocol 2+ start with the PROTO opcode 0x80; safetensors never do."""
    if path.suffix.lower() in _PICKLE_SUFFIXES:
        return True
    if path.suffix.lower() == ".safetensors":
        return False
    with path.open("rb") as f:
        return f.read(1) == b"\x80"


def _load_state(model: OfficialModel, state: dict[str, torch.Tensor], path: Path) -> None:
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise CheckpointError(
            f"weights do not match the config (missing {missing[:5]}, unexpected {unexpected[:5]})",
            path,
        )
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(expected[key].shape):
            raise CheckpointError(
                f"{key} has shape {tuple(tensor.shape)}, the config implies "
                f"{tuple(expected[key].shape)}",
                path,
            )
    model.load_state_dict(state, strict=True)


def _from_pickle(path: Path) -> OfficialModel:
    data = read_official_checkpoint(path)
    codec = codec_kwargs_from_config(data["config"], path)
    augmenter = augmenter_kwargs_from_config(data.get("augm_config"), path)
    dims = None
    if augmenter is not None:
        dims = augmenter_dims(data.get("augm_params") or {}, augmenter, path)
    model = OfficialModel(codec, augmenter, dims, source=path.name)
    _load_state(model, official_state_dict(data, codec, augmenter, path), path)
    return model


def _from_safetensors(path: Path) -> OfficialModel:
    state, config = load_checkpoint(path, kind=KIND)
    model = OfficialModel.from_config(config, path)
    _load_state(model, state, path)
    return model


def load_official(path: str | Path, device: str | torch.device = "cpu") -> OfficialModel:
    """Load an official checkpoint, either the released `.pkl` or one converted by
    `convert_official`; both give identical outputs. The model is in eval mode on `device`.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError("no such checkpoint file", path)
    model = _from_pickle(path) if is_pickle(path) else _from_safetensors(path)
    return model.to(device).eval()


def convert_official(pkl_path: str | Path, out_path: str | Path) -> Path:
    """Convert an official `.pkl` to our safetensors checkpoint (kind 'official_codec')."""
    model = _from_pickle(Path(pkl_path))
    return save_checkpoint(out_path, model.state_dict(), kind=KIND, config=model.config())
