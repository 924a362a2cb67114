"""Checkpoints: safetensors weights with the model's kind, version and config in the metadata."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .errors import CheckpointError

FORMAT_VERSION = 1


def save_checkpoint(
    path: str | Path, state: dict[str, torch.Tensor], kind: str, config: dict[str, Any]
) -> Path:
    """Write `state` atomically to `path` with `kind` and `config` as JSON metadata."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
    meta = {"kind": kind, "version": str(FORMAT_VERSION), "config": json.dumps(config)}
    tmp = path.with_name(path.name + ".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def read_metadata(path: str | Path) -> dict[str, str]:
    """The metadata of a checkpoint, with a clear error for anything that is not one of ours."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise CheckpointError("no such checkpoint file", path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError) as e:
        raise CheckpointError(f"not a safetensors checkpoint ({e})", path) from e
    if "kind" not in meta or "config" not in meta:
        raise CheckpointError("not a compressed_vision checkpoint (no kind/config metadata)", path)
    return meta


def load_checkpoint(
    path: str | Path, kind: str, map_location: str | torch.device = "cpu"
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load a checkpoint of the expected `kind`; returns (state_dict, config)."""
    meta = read_metadata(path)
    if meta["kind"] != kind:
        raise CheckpointError(f"is a {meta['kind']!r} checkpoint, expected {kind!r}", path)
    try:
        version, config = int(meta.get("version", 0)), json.loads(meta["config"])
    except ValueError as e:
        raise CheckpointError(f"corrupt checkpoint metadata ({e})", path) from e
    if version != FORMAT_VERSION:
        raise CheckpointError(
            f"checkpoint format version {version} is not supported "
            f"(this release reads version {FORMAT_VERSION})",
            path,
        )
    if not isinstance(config, dict):
        raise CheckpointError("corrupt checkpoint metadata (the config is not a JSON object)", path)
    return load_file(str(path), device=str(map_location)), config


def save_training_state(
    path: str | Path,
    optimizer: torch.optim.Optimizer,
    step: int,
    recipe: dict[str, Any] | None = None,
) -> Path:
    """The optimizer's state, the step reached and the run's recipe, as safetensors (for
    `--resume`)."""
    sd = optimizer.state_dict()
    tensors = {
        f"state.{idx}.{name}": (value if torch.is_tensor(value) else torch.tensor(value))
        for idx, entry in sd["state"].items()
        for name, value in entry.items()
    }
    config = {"step": step, "param_groups": sd["param_groups"], "recipe": recipe}
    return save_checkpoint(path, tensors, "training_state", config)


def load_training_state(
    path: str | Path, optimizer: torch.optim.Optimizer, recipe: dict[str, Any] | None = None
) -> int:
    """Restore the optimizer saved by `save_training_state`; returns the step to resume at.

    A run saved with a recipe is refused when `recipe` differs from it (naming the keys)."""
    tensors, config = load_checkpoint(path, "training_state")
    saved = config.get("recipe")
    if saved is not None and recipe is not None and saved != recipe:
        diff = sorted(k for k in set(saved) | set(recipe) if saved.get(k) != recipe.get(k))
        changes = "; ".join(f"{k}: {saved.get(k)!r} -> {recipe.get(k)!r}" for k in diff)
        raise CheckpointError(f"cannot resume with a different recipe ({changes})", path)
    state: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in tensors.items():
        _, idx, name = key.split(".", 2)
        state.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": state, "param_groups": config["param_groups"]})
    return int(config["step"])
