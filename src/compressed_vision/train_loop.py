"""The one training loop every stage uses (codec, augmenter, downstream tasks).

A `step_fn(model, batch) -> (loss, metrics)` says what a step computes; the loop does
the rest: device moves, AdamW with warmup + cosine decay, gradient clipping, mixed
precision on CUDA, a progress bar with the running metrics, and a checkpoint callback
every `checkpoint_every` steps, at the end and on Ctrl-C.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
from torch import nn
from tqdm.auto import tqdm

from .runtime import autocast

StepFn = Callable[[nn.Module, dict], tuple[torch.Tensor, dict[str, float]]]


@dataclass
class LoopConfig:
    steps: int = 1000
    lr: float = 1e-3
    weight_decay: float = 0.0
    warmup: int = 50
    grad_clip: float = 1.0
    checkpoint_every: int = 0  # 0: only at the end
    amp: bool = False
    cpu_budget_s: float = 0.0  # stop once the process has used this much CPU time (0: never)


def to_device(batch: dict, device: torch.device) -> dict:
    return {
        k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()
    }


def make_optimizer(model: nn.Module, cfg: LoopConfig) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)


def lr_at(step: int, cfg: LoopConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * 0.5 * (1 + math.cos(math.pi * min(progress, 1.0)))


def train(
    model: nn.Module,
    step_fn: StepFn,
    batches: Iterator[dict],
    cfg: LoopConfig,
    device: torch.device,
    desc: str = "train",
    optimizer: torch.optim.Optimizer | None = None,
    start_step: int = 0,
    on_checkpoint: Callable[[int, torch.optim.Optimizer], None] | None = None,
    show_progress: bool = True,
) -> list[dict[str, float]]:
    """Run steps `start_step`..`cfg.steps`; returns the metrics of every step."""
    model.to(device).train()
    optimizer = optimizer or make_optimizer(model, cfg)
    history: list[dict[str, float]] = []
    bar = tqdm(
        range(start_step, cfg.steps), desc=desc, disable=not show_progress, dynamic_ncols=True
    )
    step = start_step
    cpu_start = time.process_time()
    try:
        for step in bar:
            if cfg.cpu_budget_s and time.process_time() - cpu_start >= cfg.cpu_budget_s:
                break
            for group in optimizer.param_groups:
                group["lr"] = lr_at(step, cfg)
            batch = to_device(next(batches), device)
            with autocast(device, cfg.amp):
                loss, metrics = step_fn(model, batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if cfg.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            optimizer.step()
            metrics = {"loss": float(loss.detach()), **metrics}
            history.append(metrics)
            if step % 10 == 0 or step == cfg.steps - 1:
                bar.set_postfix({k: f"{v:.4g}" for k, v in metrics.items()})
            if on_checkpoint and cfg.checkpoint_every and (step + 1) % cfg.checkpoint_every == 0:
                on_checkpoint(step + 1, optimizer)
        else:
            step = cfg.steps
    except KeyboardInterrupt:
        if on_checkpoint:
            on_checkpoint(step, optimizer)
        raise
    if on_checkpoint:
        on_checkpoint(step, optimizer)
    return history


def infinite_batches(
    dataset: torch.utils.data.Dataset, batch_size: int, seed: int = 0, num_workers: int = 0
) -> Iterator[dict]:
    """Shuffled batches forever (a new order each epoch, reproducible from `seed`)."""
    gen = torch.Generator().manual_seed(seed)
    loader = torch.utils.data.DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=True,
        drop_last=len(dataset) >= batch_size,
        generator=gen,
        num_workers=num_workers,
        persistent_workers=num_workers > 0,
    )
    while True:
        yield from loader
