"""Whole-video classification: a clip's target is its video's label."""

from __future__ import annotations

import torch

from .base import ClipTask, VideoRecord, need_classes, refuse


class WholeVideo(ClipTask):
    """Target: the clip's video label; held-out clips are also scored per video."""

    name = "video"
    by_video = True

    def class_names(self, classes: list[str], frame_classes: list[str]) -> list[str]:
        return need_classes(classes, "whole-video labels")

    def check(self, videos: list[VideoRecord], where: str) -> None:
        refuse([v for v in videos if v.label < 0], "have no label of the store's classes", where)

    def make(
        self, clip: torch.Tensor, variant: int, label: int, step_labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return clip, torch.tensor(label)
