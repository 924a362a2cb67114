"""Training the prior on codes: every index of every chunk, predicted from its context slots
exactly as the coder sees them (a chunk's first step has no previous step)."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from .model import ContextPrior, PriorConfig


@dataclass
class Examples:
    """Every index of a set of chunks, grouped by codebook: slot rows (N, S), pass ids
    g * 2 + parity (N,) and targets (N,)."""

    rows: list[np.ndarray]
    gp: list[np.ndarray]
    target: list[np.ndarray]

    @property
    def count(self) -> int:
        return sum(len(t) for t in self.target)


def examples(chunks: Iterable[np.ndarray], cfg: PriorConfig, chunk_steps: int) -> Examples:
    """The training examples of codes (G, T, H, W), cut into chunks of `chunk_steps` steps."""
    big = cfg.num_codebooks
    rows: list[list[np.ndarray]] = [[] for _ in range(big)]
    gp: list[list[np.ndarray]] = [[] for _ in range(big)]
    target: list[list[np.ndarray]] = [[] for _ in range(big)]
    for codes in chunks:
        layout = cfg.layout(*codes.shape[2:])
        for first in range(0, codes.shape[1], chunk_steps):
            chunk = codes[:, first : first + chunk_steps]
            buf, steps = layout.load(chunk), np.arange(chunk.shape[1])
            for g, p in layout.passes:
                yx = layout.positions(p)
                r = layout.gather(buf, steps, g, p)
                rows[g].append(r.reshape(-1, r.shape[-1]).astype(np.int16))
                target[g].append(chunk[g][:, yx[:, 0], yx[:, 1]].reshape(-1).astype(np.int64))
                gp[g].append(np.full(target[g][-1].shape, g * 2 + p, dtype=np.int64))
    return Examples(
        [np.concatenate(r) for r in rows],
        [np.concatenate(x) for x in gp],
        [np.concatenate(x) for x in target],
    )


def cross_entropy_bits(model: ContextPrior, data: Examples, batch: int = 8192) -> float:
    """Total bits of `data` under the float prior."""
    total = 0.0
    with torch.no_grad():
        for g in range(len(data.rows)):
            for i in range(0, len(data.target[g]), batch):
                rows = torch.from_numpy(data.rows[g][i : i + batch].astype(np.int64))
                logits = model.logits(rows, torch.from_numpy(data.gp[g][i : i + batch]), g)
                t = torch.from_numpy(data.target[g][i : i + batch])
                total += float(F.cross_entropy(logits, t, reduction="sum")) / math.log(2)
    return total


def train_prior(
    data: Examples,
    cfg: PriorConfig,
    steps: int = 3000,
    batch: int = 4096,
    lr: float = 3e-3,
    seed: int = 0,
    show_progress: bool = False,
) -> ContextPrior:
    """Fit a prior to `data` with Adam (cosine schedule), each batch from one codebook."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = ContextPrior(cfg)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.05)
    sizes = np.array([len(t) for t in data.target], dtype=np.float64)
    bar = tqdm(range(steps), desc="prior", disable=not show_progress)
    for step in bar:
        g = int(rng.choice(len(sizes), p=sizes / sizes.sum()))
        pick = rng.integers(0, len(data.target[g]), batch)
        rows = torch.from_numpy(data.rows[g][pick].astype(np.int64))
        logits = model.logits(rows, torch.from_numpy(data.gp[g][pick]), g)
        loss = F.cross_entropy(logits, torch.from_numpy(data.target[g][pick]))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % 50 == 0:
            bar.set_postfix(bits_per_index=f"{loss.item() / math.log(2):.3f}")
    return model.eval()
