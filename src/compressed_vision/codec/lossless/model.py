"""The learned prior: a small network from the context slots of an index to a distribution
over the K entries of its codebook.

Float (`ContextPrior`, trained with PyTorch) and integer (`IntegerPrior`, what codes):
slot rows are embedded (one table shared by all slots), each slot projected by its own
matrix and summed with a per-(codebook, parity) bias; two ReLU layers; a per-codebook output
layer, plus a learned "copy" bonus for the entries that the predicted codebook's own
neighbours hold. The integer prior is the float one rounded to fixed point: every sum of
products is of integers far below 2**53, so float64 arithmetic is exact in any order, and
the quantised frequencies (integers) are identical on every machine, CPU or GPU.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .context import Layout

# Fixed point: embeddings and first-layer weights carry EMB_BITS fractional bits (their
# products 2 * EMB_BITS), activations ACT_BITS, later weights WEIGHT_BITS; logits are looked
# up in steps of 1 / 2**LUT_BITS nat, down to LUT_NATS below the largest.
EMB_BITS, ACT_BITS, WEIGHT_BITS, LUT_BITS, LUT_NATS = 7, 8, 10, 6, 24
ACT_MAX = 2**15  # activations are clamped to [0, ACT_MAX) (128.0)
FREQ_BITS = 16  # the most likely entry's frequency


@dataclass(frozen=True)
class PriorConfig:
    num_codebooks: int
    codebook_size: int
    embed_dim: int = 16
    hidden: int = 64
    spatial: bool = True
    cross: bool = True

    def layout(self, height: int, width: int) -> Layout:
        return Layout(
            self.num_codebooks, self.codebook_size, height, width, self.spatial, self.cross
        )

    @property
    def num_slots(self) -> int:
        return self.layout(1, 1).num_slots

    @property
    def copy_slots(self) -> list[int]:
        return self.layout(1, 1).copy_slots

    @property
    def vocab(self) -> int:
        return self.layout(1, 1).vocab

    def to_dict(self) -> dict:
        return asdict(self)


class ContextPrior(nn.Module):
    """The float prior, for training: `logits(rows, gp)` for slot rows (N, S) of passes
    gp = g * 2 + parity, all of one codebook g."""

    def __init__(self, cfg: PriorConfig):
        super().__init__()
        self.cfg = cfg
        big, k, d, h, s = (
            cfg.num_codebooks,
            cfg.codebook_size,
            cfg.embed_dim,
            cfg.hidden,
            cfg.num_slots,
        )
        self.embed = nn.Parameter(torch.randn(cfg.vocab, d) * 0.5)
        self.proj = nn.Parameter(torch.randn(s, d, h) / math.sqrt(s * d))
        self.bias1 = nn.Parameter(torch.zeros(big * 2, h))
        self.fc = nn.Linear(h, h)
        self.out = nn.Parameter(torch.zeros(big, h, k))
        self.out_bias = nn.Parameter(torch.zeros(big, k))
        self.copy = nn.Linear(h, len(cfg.copy_slots))
        nn.init.zeros_(self.copy.weight)

    def logits(self, rows: torch.Tensor, gp: torch.Tensor, g: int) -> torch.Tensor:
        x = self.embed[rows]  # (N, S, d)
        h = F.relu(torch.einsum("nsd,sdh->nh", x, self.proj) + self.bias1[gp])
        h = F.relu(self.fc(h))
        logits = h @ self.out[g] + self.out_bias[g]
        copy = rows[:, self.cfg.copy_slots]
        valid = copy != self.cfg.num_codebooks * self.cfg.codebook_size
        local = (copy - g * self.cfg.codebook_size).clamp(0, self.cfg.codebook_size - 1)
        return logits.scatter_add(1, local, self.copy(h) * valid)


def _round(x: torch.Tensor, bits: int) -> np.ndarray:
    return torch.round(x.detach().double() * 2**bits).numpy()


def integer_state(model: ContextPrior) -> dict[str, torch.Tensor]:
    """The float prior rounded to the integers the coder uses (int32 tensors)."""
    w = WEIGHT_BITS + ACT_BITS
    state = {
        "embed": _round(model.embed, EMB_BITS),
        "proj": _round(model.proj, EMB_BITS),
        "bias1": _round(model.bias1, 2 * EMB_BITS),
        "fc_weight": _round(model.fc.weight.T, WEIGHT_BITS),
        "fc_bias": _round(model.fc.bias, w),
        "out": _round(model.out, WEIGHT_BITS),
        "out_bias": _round(model.out_bias, w),
        "copy_weight": _round(model.copy.weight.T, WEIGHT_BITS),
        "copy_bias": _round(model.copy.bias, w),
    }
    return {k: torch.from_numpy(v.astype(np.int32)) for k, v in state.items()}


def frequency_table() -> np.ndarray:
    """Integer frequency of an entry `j` steps of 1 / 2**LUT_BITS nat below the largest."""
    j = np.arange(LUT_NATS << LUT_BITS)
    return np.maximum(1, np.floor(2.0**FREQ_BITS * np.exp(-j / 2.0**LUT_BITS) + 0.5))


class IntegerPrior:
    """The prior in exact integer arithmetic (float64 holding integers): `frequencies` gives
    the integer frequencies (N, K) that the entropy coder uses."""

    def __init__(self, cfg: PriorConfig, state: dict[str, torch.Tensor]):
        self.cfg = cfg
        a = {k: v.numpy().astype(np.float64) for k, v in state.items()}
        # slot s of row r contributes embed[r] @ proj[s]: one table per slot, stacked as
        # rows s * V + r of one int32 matrix (S * V, H) (integer sums are exact in any order)
        tables = np.einsum("vd,sdh->svh", a["embed"], a["proj"])
        if np.abs(tables).max() >= 2**24:
            raise ValueError("prior weights out of the fixed-point range")
        self.tables = tables.reshape(-1, tables.shape[-1]).astype(np.int32)
        self.slot_base = np.arange(cfg.num_slots) * tables.shape[1]
        self.bias1, self.fc_w, self.fc_b = a["bias1"], a["fc_weight"], a["fc_bias"]
        self.out, self.out_b = a["out"], a["out_bias"]
        self.copy_w, self.copy_b = a["copy_weight"], a["copy_bias"]
        self.lut = frequency_table()

    def frequencies(self, rows: np.ndarray, g: int, parity: int) -> np.ndarray:
        """Integer frequencies (N, K) (float64 holding integers >= 1) for slot rows (N, S)
        of pass (g, parity)."""
        cfg = self.cfg
        z = np.take(self.tables, rows + self.slot_base, axis=0).sum(1) + self.bias1[g * 2 + parity]
        h = np.clip(np.floor(z / 2.0 ** (2 * EMB_BITS - ACT_BITS)), 0, ACT_MAX - 1)
        z = h @ self.fc_w + self.fc_b
        h = np.clip(np.floor(z / 2.0**WEIGHT_BITS), 0, ACT_MAX - 1)
        logits = h @ self.out[g] + self.out_b[g]
        copy = rows[:, cfg.copy_slots]
        gates = (h @ self.copy_w + self.copy_b) * (copy != cfg.num_codebooks * cfg.codebook_size)
        local = np.clip(copy - g * cfg.codebook_size, 0, cfg.codebook_size - 1)
        np.add.at(logits, (np.arange(len(rows))[:, None], local), gates)
        steps = np.floor(
            (logits.max(1, keepdims=True) - logits) / 2.0 ** (WEIGHT_BITS + ACT_BITS - LUT_BITS)
        )
        return self.lut[np.minimum(steps, len(self.lut) - 1).astype(np.int64)]
