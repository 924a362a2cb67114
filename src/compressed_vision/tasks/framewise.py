"""Frame-wise classification: a class per code step (the label of its middle frame), from
per-frame labels (annotated segments); unlabelled and padded steps (-1) are ignored."""

from __future__ import annotations

import torch

from .base import ClipTask, VideoRecord, need_classes, refuse


class FrameWise(ClipTask):
    """Target: the clip's per-step labels (steps,), -1 where unlabelled."""

    name = "frames"
    frame_wise = True

    def class_names(self, classes: list[str], frame_classes: list[str]) -> list[str]:
        return need_classes(frame_classes, "per-frame labels (annotated segments)")

    def check(self, videos: list[VideoRecord], where: str) -> None:
        refuse([v for v in videos if not v.has_frame_labels], "have no per-frame labels", where)

    def make(
        self, clip: torch.Tensor, variant: int, label: int, step_labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        assert step_labels is not None  # checked by `check` before training
        return clip, step_labels
