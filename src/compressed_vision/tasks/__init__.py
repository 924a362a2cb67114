"""Downstream tasks over codes or pixels: whole-video and frame-wise classification, the
label-free real-footage tasks (playback speed, arrow of time), their data, training (one
process or DDP), evaluation and checkpoints."""

from .config import TaskConfig, load_config
from .eval import run_eval
from .train import TASKS, prepare, run_training

__all__ = [
    "TASKS",
    "TaskConfig",
    "load_config",
    "prepare",
    "run_eval",
    "run_training",
]
