"""Device selection, seeding and small runtime helpers shared by every stage."""

from __future__ import annotations

import random

import numpy as np
import torch


def resolve_device(device: str | torch.device | None = None) -> torch.device:
    """`None` or "auto" picks CUDA when available, else the CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and PyTorch (all devices)."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def autocast(device: torch.device, enabled: bool):
    """bfloat16 autocast when `enabled`, on CUDA and on the CPU (where it pays on processors
    with native bfloat16, e.g. AVX512-BF16 or AMX: 1.5x per codec training step on this
    project's CPU; elsewhere it is emulated and slower); a no-op on other devices."""
    return torch.autocast(
        device_type=device.type,
        dtype=torch.bfloat16,
        enabled=enabled and device.type in ("cuda", "cpu"),
    )
