"""PyTorch datasets of code windows read from a store.

An item is a dict: "codes" (G, T', H', W') int64, or "latents" (D, T', H', W') float when a
codec is given (its `quantize`, a codebook lookup; to look codes up on the GPU instead, keep
the indices and use `compressed_vision.models.CodebookLookup` in the model), "label" (class
index, -1 when none), "video" (index of the video in `dataset.keys`), "start" (first code
step), "valid" (real steps: a window running past a video's end is padded by repeating its
last step) and, when the store has per-frame labels, "frame_labels" (T',) int64.

Per-frame labels are subsampled to code steps: code step j covers frames [j*tf, (j+1)*tf)
(tf = the codec's temporal factor) and takes the label of its middle frame, j*tf + tf//2
(the last frame when that is past the end); padded steps get -1.

Both datasets are plain map-style datasets: they pickle as the store's URL plus a small
index, so they work with DataLoader workers and with DistributedSampler.
"""

from __future__ import annotations

import copy

import numpy as np
import torch
from torch.utils.data import Dataset

from ..codec.base import Codec
from ..errors import CVError
from .reader import CodeStore

SHAPE = ("frames", "height", "width")


class _CodeWindows(Dataset):
    def __init__(
        self,
        store: CodeStore | str,
        steps: int,
        codec: Codec | None = None,
        split: str | None = None,
    ):
        if steps < 1:
            raise ValueError("a window needs at least one code step")
        self.store = store if isinstance(store, CodeStore) else CodeStore(store)
        self.steps = steps
        self.codec: Codec | None = None
        if codec is not None:
            self.store.check_codec(codec)
            self.codec = copy.deepcopy(codec).cpu().eval()
        entries = self.store.entries(split)
        self.keys = [e.key for e in entries]
        self.lengths = np.array([e.steps for e in entries], dtype=np.int64)
        self.labels = np.array([e.label_index for e in entries], dtype=np.int64)
        self.frames = np.array([e.attrs["frames"] for e in entries], dtype=np.int64)
        cfg = self.store.codec_config
        self.shapes = [cfg.code_shape(*(e.attrs[k] for k in SHAPE)) for e in entries]
        self.per_frame = bool(self.store.frame_classes)
        self.temporal_factor = self.store.codec_config.temporal_factor

    def _frame_labels(self, v: int, start: int, valid: int) -> torch.Tensor:
        tf = self.temporal_factor
        out = torch.full((self.steps,), -1, dtype=torch.long)
        frames = np.minimum(np.arange(start, start + valid) * tf + tf // 2, self.frames[v] - 1)
        labels = self.store.frame_labels(self.keys[v], int(frames[0]), int(frames[-1]) + 1)
        if labels is not None:
            out[:valid] = torch.from_numpy(labels[frames - frames[0]].astype(np.int64))
        return out

    def window(self, v: int, start: int) -> dict:
        """The window of `steps` code steps of video `v` from step `start`."""
        codes = self.store.read(self.keys[v], start, start + self.steps)
        g, steps, h, w = self.shapes[v]
        valid = min(self.steps, steps - start)
        if codes.shape != (g, valid, h, w):
            raise CVError(
                f"video {self.keys[v]}: codes of steps {start}.. read as {codes.shape}, not "
                f"{(g, valid, h, w)} as its attrs say ({steps} steps of {h}x{w})",
                self.store.pack_location(self.keys[v]),
            )
        if valid < self.steps:
            codes = np.pad(codes, ((0, 0), (0, self.steps - valid), (0, 0), (0, 0)), mode="edge")
        indices = torch.from_numpy(codes.astype(np.int64))
        item = {"label": int(self.labels[v]), "video": v, "start": start, "valid": valid}
        if self.codec is not None:
            with torch.no_grad():
                item["latents"] = self.codec.quantize(indices[None])[0]
        else:
            item["codes"] = indices
        if self.per_frame:
            item["frame_labels"] = self._frame_labels(v, start, valid)
        return item


class RandomCodeWindows(_CodeWindows):
    """Training: item i is a window of `steps` code steps at a random start in video i (a new
    start every time; the randomness is torch's, which DataLoader seeds per worker/epoch)."""

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        last = max(int(self.lengths[index]) - self.steps, 0)
        return self.window(index, int(torch.randint(last + 1, ())))


class SequentialCodeWindows(_CodeWindows):
    """Evaluation: every window of every video, in order, `stride` steps apart (default: no
    overlap); the windows cover each video to its end (the last one padded if short)."""

    def __init__(
        self,
        store: CodeStore | str,
        steps: int,
        codec: Codec | None = None,
        split: str | None = None,
        stride: int | None = None,
    ):
        super().__init__(store, steps, codec, split)
        stride = stride or steps
        windows = [
            (v, s)
            for v, n in enumerate(self.lengths.tolist())
            for s in range(0, n, stride)
            if s == 0 or s + steps - stride < n
        ]
        self.index = np.array(windows, dtype=np.int64).reshape(-1, 2)

    def __len__(self) -> int:
        return len(self.index)

    def __getitem__(self, index: int) -> dict:
        if not 0 <= index < len(self):
            raise IndexError(index)
        v, start = self.index[index].tolist()
        return self.window(v, start)
