"""Which already-coded indices each index is predicted from, and in which order they are coded.

A chunk of codes (G, T, H, W) is coded step by step; within a step, codebook by codebook;
within a codebook, with `spatial`, the positions of one checkerboard parity then the other
("passes"). Every index is predicted from a fixed list of context slots, each an index
already coded (or NONE when it is not available yet, or out of the picture):

- the previous step: the same codebook at the 3x3 positions around, and every other
  codebook at the same position (none for a chunk's first step);
- this step (with `cross`): every earlier codebook at the same position, and the codebook
  just before at the 8 positions around;
- this step (with `spatial`): the same codebook at the 4 side neighbours, for the second
  checkerboard parity (coded after the first).

and from "stillness" features: how many of a group of already-coded indices equal the index
one step before at the same place (out of how many are available), for the groups: the
codebook's 3x3 neighbourhood and all codebooks at the position, between the two previous
steps; with `cross`, the earlier codebooks at the position and the codebook just before at
the 3x3 neighbourhood, between this step and the previous; with `spatial`, the 4 side
neighbours between this step and the previous. They make a still scene (most indices
repeat) easy to recognise.

A slot's value is a row of a shared vocabulary: codebook g' entry k is row g' * K + k (equal
indices of different codebooks mean different things), NONE is row G * K, and each
feature's values have rows of their own after it. Everything is read with gathers from a
padded buffer of the chunk, identically in training, encoding and decoding.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

AROUND = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
SIDES = [(-1, 0), (0, -1), (0, 1), (1, 0)]
PAD_STEPS = 2  # steps of NONE before a chunk's first step
Place = tuple[int, int, int, int]  # (dt, codebook, dy, dx) relative to the coded index


@dataclass(frozen=True)
class Layout:
    """The slots and passes of codes with G codebooks of K entries on an H x W grid."""

    num_codebooks: int
    codebook_size: int
    height: int
    width: int
    spatial: bool = True
    cross: bool = True

    @property
    def none(self) -> int:
        """The vocabulary row of an unavailable slot."""
        return self.num_codebooks * self.codebook_size

    @property
    def parities(self) -> int:
        return 2 if self.spatial else 1

    @property
    def passes(self) -> list[tuple[int, int]]:
        """(codebook, parity) of each pass of a step, in coding order (a 1 x 1 grid has no
        second parity)."""
        parities = [p for p in range(self.parities) if len(self.yx[p])]
        return [(g, p) for g in range(self.num_codebooks) for p in parities]

    def _slots(self, g: int, parity: int) -> list[Place | None]:
        """The place of every slot for codebook g, or None: unavailable."""
        big = self.num_codebooks
        slots: list[Place | None] = [(-1, g, dy, dx) for dy, dx in AROUND]
        slots += [(-1, (g + j) % big, 0, 0) for j in range(1, big)]
        if self.cross:
            slots += [(0, g - j, 0, 0) if g - j >= 0 else None for j in range(1, big)]
            slots += [(0, g - 1, dy, dx) if g > 0 else None for dy, dx in AROUND if dy or dx]
        if self.spatial:
            slots += [(0, g, dy, dx) if parity == 1 else None for dy, dx in SIDES]
        return slots

    def _features(self, g: int, parity: int) -> list[list[Place | None]]:
        """Each stillness feature's places (compared with one step before)."""
        big = self.num_codebooks
        feats = [
            [(-1, g, dy, dx) for dy, dx in AROUND],
            [(-1, gg, 0, 0) for gg in range(big)],
        ]
        if self.cross:
            feats.append([(0, g - j, 0, 0) if g - j >= 0 else None for j in range(1, big)])
            feats.append([(0, g - 1, dy, dx) if g > 0 else None for dy, dx in AROUND])
        if self.spatial:
            feats.append([(0, g, dy, dx) if parity == 1 else None for dy, dx in SIDES])
        return feats

    @property
    def copy_slots(self) -> list[int]:
        """Slots that hold the predicted codebook's own indices (a copy is likely)."""
        slots = self._slots(0, 1)
        return [i for i, s in enumerate(slots) if s is not None and s[1] == 0]

    @property
    def num_slots(self) -> int:
        return len(self._slots(0, 0)) + len(self._features(0, 0))

    @cached_property
    def feature_sizes(self) -> list[int]:
        return [len(f) for f in self._features(0, 0)]

    @cached_property
    def feature_base(self) -> np.ndarray:
        """First vocabulary row of each feature (value = avail * (m + 1) + matches)."""
        sizes = [(m + 1) ** 2 for m in self.feature_sizes]
        return self.none + 1 + np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)

    @property
    def vocab(self) -> int:
        return int(self.none + 1 + sum((m + 1) ** 2 for m in self.feature_sizes))

    @property
    def strides(self) -> tuple[int, int, int]:
        """Buffer strides of a step, a codebook and a row (the grid is padded by one)."""
        sy = self.width + 2
        sg = (self.height + 2) * sy
        return self.num_codebooks * sg, sg, sy

    def positions(self, parity: int) -> np.ndarray:
        """(n, 2) positions (y, x) of a pass of this parity, in raster order."""
        yy, xx = np.mgrid[: self.height, : self.width]
        yx = np.stack([yy.ravel(), xx.ravel()], 1)
        return yx if not self.spatial else yx[(yx.sum(1) % 2) == parity]

    @cached_property
    def yx(self) -> list[np.ndarray]:
        """`positions` of each parity."""
        return [self.positions(p) for p in range(self.parities)]

    def _offset(self, place: Place | None, yx: np.ndarray) -> np.ndarray:
        """Buffer offsets of a place from each position's step base; an unavailable place
        is the padding corner of the previous step (always NONE)."""
        st, sg, sy = self.strides
        if place is None:
            return np.full(len(yx), -st, dtype=np.int64)
        dt, gg, dy, dx = place
        return dt * st + gg * sg + (yx[:, 0] + 1 + dy) * sy + (yx[:, 1] + 1 + dx)

    @cached_property
    def offsets(self) -> dict[tuple[int, int], tuple[np.ndarray, np.ndarray]]:
        """(codebook, parity) -> slot offsets (n, S0) and feature offsets (n, F, 9) (the
        places compared: the place one step earlier is at offset - step stride)."""
        out = {}
        for g, p in self.passes:
            yx = self.yx[p]
            slots = np.stack([self._offset(s, yx) for s in self._slots(g, p)], 1)
            feats = [f + [None] * (len(AROUND) - len(f)) for f in self._features(g, p)]
            pairs = np.stack([np.stack([self._offset(s, yx) for s in f], 1) for f in feats], 1)
            out[(g, p)] = slots, pairs
        return out

    def buffer(self, steps: int) -> np.ndarray:
        """An all-NONE flat buffer for `steps` steps, with PAD_STEPS padding steps in front."""
        return np.full((steps + PAD_STEPS) * self.strides[0], self.none, dtype=np.int64)

    def fill(self, buf: np.ndarray, t: int, g: int, yx: np.ndarray, idx: np.ndarray) -> None:
        """Write the indices `idx` of codebook g at positions `yx` of step t."""
        st, sg, sy = self.strides
        cell = (t + PAD_STEPS) * st + g * sg + (yx[:, 0] + 1) * sy + yx[:, 1] + 1
        buf[cell] = idx + g * self.codebook_size

    def load(self, codes: np.ndarray) -> np.ndarray:
        """The buffer of a whole chunk of codes (G, T, H, W)."""
        g, t, h, w = codes.shape
        buf = self.buffer(t).reshape(t + PAD_STEPS, g, h + 2, w + 2)
        shift = (np.arange(g) * self.codebook_size)[:, None, None, None]
        buf[PAD_STEPS:, :, 1:-1, 1:-1] = (codes.astype(np.int64) + shift).transpose(1, 0, 2, 3)
        return buf.reshape(-1)

    def gather(self, buf: np.ndarray, steps: np.ndarray | int, g: int, parity: int) -> np.ndarray:
        """Slot rows of pass (g, parity) at the given step(s): (n, S) or (len(steps), n, S),
        the slots' rows then the features' rows."""
        slots, pairs = self.offsets[(g, parity)]
        base = np.reshape((np.asarray(steps) + PAD_STEPS) * self.strides[0], (-1, 1, 1))
        rows = buf[base + slots]
        here = buf[base[..., None] + pairs]
        before = buf[base[..., None] + pairs - self.strides[0]]
        avail = (here != self.none) & (before != self.none)
        matches = (avail & (here == before)).sum(-1)
        m = np.asarray(self.feature_sizes)
        feats = self.feature_base + avail.sum(-1) * (m + 1) + matches
        out = np.concatenate([rows, feats], -1)
        return out[0] if np.ndim(steps) == 0 else out
