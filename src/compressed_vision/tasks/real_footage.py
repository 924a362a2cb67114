"""Tasks any folder of real video can serve as a benchmark for, with no human labels.

- Playback speed: a clip is played at 1x, 2x or 4x (every 1st, 2nd or 4th code step, or
  frame for pixels); the class is the speed.
- Arrow of time: a clip is played forwards or backwards; the class is the direction.

A clip spans the same frames for both inputs. Pixel clips are resampled in frames (every
s-th frame; frames in reverse order); code clips in code steps, each of which holds
`temporal_factor` frames in their own order: a 2x code clip keeps every 2nd step, and a
"backwards" code clip reverses the order of the steps, not the frames inside a step.
"""

from __future__ import annotations

import torch

from .base import ClipTask

SPEEDS = (1, 2, 4)
DIRECTIONS = ("forward", "backward")


class PlaybackSpeed(ClipTask):
    """Which of `SPEEDS` a clip plays at."""

    name = "speed"
    variants = len(SPEEDS)

    def class_names(self, classes: list[str], frame_classes: list[str]) -> list[str]:
        return [f"{s}x" for s in SPEEDS]

    def span(self, steps: int, variant: int) -> int:
        return steps * SPEEDS[variant]

    def make(
        self, clip: torch.Tensor, variant: int, label: int, step_labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        speed = SPEEDS[variant]
        return clip[:, ::speed].contiguous(), torch.tensor(variant)


class ArrowOfTime(ClipTask):
    """Whether a clip plays forwards (0) or backwards (1)."""

    name = "arrow"
    variants = len(DIRECTIONS)

    def class_names(self, classes: list[str], frame_classes: list[str]) -> list[str]:
        return list(DIRECTIONS)

    def make(
        self, clip: torch.Tensor, variant: int, label: int, step_labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return (clip.flip(1) if variant else clip), torch.tensor(variant)
