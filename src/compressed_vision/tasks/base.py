"""What a task is: how a clip read from a video becomes (input, target), the classes it
predicts, its loss, and its scores on held-out clips.

Clips are measured in code steps (one step = `temporal_factor` frames), for codes and for
pixels alike, so a pixel clip covers exactly the frames of the code window it matches.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..errors import CVError


@dataclass(frozen=True)
class VideoRecord:
    """A video of a dataset: its key, length in code steps, label index (-1: none), whether
    it has per-frame labels, and its split (None: not given)."""

    key: str
    steps: int
    label: int
    has_frame_labels: bool
    split: str | None


class ClipTask:
    """Base: one variant, a clip of `steps` steps, the video's label as the target."""

    name = "base"
    frame_wise = False
    by_video = False  # held-out clips of a video share its target: also score per video
    variants = 1  # kinds of clip drawn (speeds, directions); the variant is drawn uniformly

    def class_names(self, classes: list[str], frame_classes: list[str]) -> list[str]:
        """The classes predicted, given the source's classes (raises CVError if unusable)."""
        raise NotImplementedError

    def check(self, videos: list[VideoRecord], where: str) -> None:
        """Raise CVError (before any training) if a video lacks what the task needs."""

    def span(self, steps: int, variant: int) -> int:
        """Steps to read for a clip of `steps` steps of this variant."""
        return steps

    def make(
        self, clip: torch.Tensor, variant: int, label: int, step_labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(input (C, steps, ...), target) from a clip of `span` steps."""
        raise NotImplementedError

    def loss(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits.float(), target, ignore_index=-1)


def need_classes(names: list[str], what: str) -> list[str]:
    if not names:
        raise CVError(f"the task needs {what}, and this dataset has none")
    return names


def refuse(bad: list[VideoRecord], reason: str, where: str) -> None:
    """CVError naming up to three of the `bad` videos, if any."""
    if bad:
        names = ", ".join(v.key for v in bad[:3]) + (" ..." if len(bad) > 3 else "")
        raise CVError(f"{len(bad)} video(s) {reason}: {names}", where)


class Scores:
    """Accumulates held-out scores: clip top-1/top-5 (%), video top-1 when the task scores
    per video (softmax averaged over each video's clips), or for frame-wise tasks per-step
    top-1/top-5 (%) over the labelled steps."""

    def __init__(self, task: ClipTask):
        self.frame_wise, self.by_video = task.frame_wise, task.by_video
        self.top1 = self.top5 = self.total = 0
        self.per_video: dict[int, list[torch.Tensor]] = defaultdict(list)
        self.video_label: dict[int, int] = {}

    def add(self, logits: torch.Tensor, target: torch.Tensor, videos: torch.Tensor) -> None:
        logits = logits.float().cpu()
        target = target.cpu()
        if self.frame_wise:
            logits, target = logits.transpose(1, 2).flatten(0, 1), target.flatten()
            keep = target >= 0
            logits, target = logits[keep], target[keep]
        elif self.by_video:
            for row, t, v in zip(logits.softmax(1), target.tolist(), videos.tolist(), strict=True):
                self.per_video[v].append(row)
                self.video_label[v] = t
        if len(target) == 0:
            return
        topk = logits.topk(min(5, logits.shape[1]), dim=1).indices
        self.top1 += int((topk[:, 0] == target).sum())
        self.top5 += int((topk == target[:, None]).any(1).sum())
        self.total += len(target)

    def result(self) -> dict[str, float]:
        if self.total == 0:
            raise CVError("no labelled clip in the held-out split: nothing to score")
        out = {"top1": 100.0 * self.top1 / self.total, "top5": 100.0 * self.top5 / self.total}
        if self.per_video:
            hits = [
                int(torch.stack(rows).mean(0).argmax()) == self.video_label[v]
                for v, rows in self.per_video.items()
            ]
            out["video_top1"] = 100.0 * sum(hits) / len(hits)
        out["labelled_steps" if self.frame_wise else "clips"] = float(self.total)
        return out
