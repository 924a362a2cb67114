"""`cvis eval`: score a trained classifier on the held-out split of its data, or of other
data given by overrides (another store of the same codec, another folder of videos)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..models import load_classifier
from ..runtime import resolve_device
from .config import TaskConfig
from .train import check_compatible, evaluate_clips, prepare


def run_eval(
    checkpoint: str | Path, out: str | Path | None = None, show_progress: bool = True, **overrides
) -> dict[str, Any]:
    """Held-out scores of `checkpoint`; the data is the run's own (its saved config) with
    the non-None `overrides` (TaskConfig fields) on top. Writes `out` (JSON) when given."""
    model, ckpt = load_classifier(checkpoint)
    cfg = TaskConfig(**ckpt["train_config"]).update(**overrides)
    prep = prepare(cfg, show_progress)
    check_compatible(ckpt, prep, Path(checkpoint))
    device = resolve_device(cfg.device)
    result = {
        "checkpoint": str(checkpoint),
        "task": cfg.task,
        "inputs": cfg.inputs,
        "data": cfg.store or cfg.videos,
        "split": cfg.test_split if cfg.split_by == "video" else "time",
        "trained_steps": ckpt.get("step"),
        "metrics": evaluate_clips(model, prep, device, cfg.eval_batch, cfg.workers),
    }
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2) + "\n")
    return result
