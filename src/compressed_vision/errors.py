"""The one exception family a user can cause: every message names the file and the reason."""

from __future__ import annotations

from pathlib import Path


class CVError(Exception):
    """An error caused by the user's input (a path, a file, a shape, a checkpoint)."""

    def __init__(self, reason: str, path: str | Path | None = None):
        self.reason = reason
        self.path = None if path is None else str(path)
        super().__init__(f"{self.path}: {reason}" if self.path else reason)


class VideoError(CVError):
    """A video file that is missing, unreadable, corrupt, empty or too small."""


class TruncatedVideo(VideoError):
    """A video whose decoding stopped early: `decoded` frames of the `declared` (0: unknown)."""

    def __init__(self, reason: str, path: str | Path, decoded: int, declared: int):
        super().__init__(reason, path)
        self.decoded, self.declared = decoded, declared


class CheckpointError(CVError):
    """A checkpoint of the wrong kind, version or format."""


class ShapeError(CVError):
    """A tensor whose shape the model cannot take."""
