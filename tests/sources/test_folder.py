"""One definition of a folder of videos, used by every reader of folders."""

from __future__ import annotations

import pytest

from compressed_vision.bench.downstream import resize_folder
from compressed_vision.codec.data import training_clips
from compressed_vision.errors import VideoError
from compressed_vision.sources import folder_manifest
from compressed_vision.sources.folder import VIDEO_SUFFIXES, find_videos
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames


@pytest.fixture
def mixed(tmp_path):
    """Videos (any suffix case, nested) beside files that are no videos and hidden ones."""
    root = tmp_path / "mixed"
    for name in ("b/v1.mp4", "a/V0.MKV", "top.mov"):
        write_video(root / name, moving_frames(20, 32, 32), fps=25)
    for name in ("notes.txt", "a/index.json", ".hidden.mp4", ".cache/x.mp4", "b/.v2.mp4"):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(b"x")
    return root


def test_find_videos_by_suffix_recursive_sorted_hidden_skipped(mixed):
    found = [p.relative_to(mixed).as_posix() for p in find_videos(mixed)]
    assert found == ["a/V0.MKV", "b/v1.mp4", "top.mov"]
    assert find_videos(mixed / "top.mov") == [mixed / "top.mov"]  # a file is itself
    assert {".mp4", ".webm", ".avi", ".mkv", ".mov"} <= VIDEO_SUFFIXES
    with pytest.raises(VideoError, match="no such folder or file"):
        find_videos(mixed / "absent")


def test_every_reader_of_a_folder_lists_the_same_videos(mixed, tmp_path):
    """The manifest (store, RGB pipeline), the codec's training clips and the benchmark's
    resized copies all take the videos `find_videos` lists, and nothing else."""
    expected = ["a/V0.MKV", "b/v1.mp4", "top.mov"]
    assert [i.id for i in folder_manifest(mixed).items] == expected
    train, _ = training_clips([str(mixed)], 4, 32)
    (clips,) = train.datasets
    assert len(clips.videos) == 3
    out = resize_folder(mixed, tmp_path / "resized", 32)
    copies = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert copies == ["a/V0.mp4", "b/v1.mp4", "top.mp4"]
