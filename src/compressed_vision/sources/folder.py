"""A folder of files, defined once: every file under it with one of the wanted suffixes
(any case), recursively, hidden files and folders (a name starting with ".") skipped, in a
stable (sorted) order. A folder of videos is this with `VIDEO_SUFFIXES`; the manifests, the
codec's training clips and the benchmarks all list videos with `find_videos`."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from ..errors import VideoError

VIDEO_SUFFIXES = frozenset(
    {".mp4", ".avi", ".mkv", ".webm", ".mov", ".gif", ".m4v", ".mpg", ".mpeg", ".flv"}
)


def find_files(root: str | Path, suffixes: Iterable[str]) -> list[Path]:
    """Every non-hidden file under `root` (recursive) whose suffix is one of `suffixes`,
    sorted; `root` itself when it is a file. `VideoError` when `root` does not exist."""
    root, wanted = Path(root), frozenset(suffixes)
    if root.is_file():
        return [root]
    if not root.is_dir():
        raise VideoError("no such folder or file", root)
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        found += [
            Path(folder) / name
            for name in files
            if not name.startswith(".") and Path(name).suffix.lower() in wanted
        ]
    return sorted(found)


def find_videos(root: str | Path) -> list[Path]:
    """Every video file under `root` (see the module docstring)."""
    return find_files(root, VIDEO_SUFFIXES)
