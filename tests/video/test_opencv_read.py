"""The RGB pipeline's second decoder, OpenCV: the same frames as PyAV's `read_video` at the
stored size from any start (keyframe seeking over several GOPs), close when resized, and
the same failures."""

from __future__ import annotations

import numpy as np
import pytest

from compressed_vision.baselines.mpeg import mpeg_encode
from compressed_vision.errors import TruncatedVideo, VideoError
from compressed_vision.sources.manifest import folder_manifest
from compressed_vision.tasks.config import TaskConfig
from compressed_vision.tasks.data import PixelReader
from compressed_vision.video.io import read_video, write_video
from compressed_vision.video.opencv_read import check_decoder, read_clip_opencv
from tests.conftest import moving_frames


@pytest.fixture
def video(tmp_path):
    return write_video(tmp_path / "v" / "a.mp4", moving_frames(40, 48, 64), gop=8)


@pytest.mark.parametrize("start", [0, 5, 8, 19, 30])
def test_the_same_frames_as_pyav_from_any_start(video, start):
    ours = read_clip_opencv(video, start, 6)
    assert np.array_equal(ours, read_video(video, start=start, count=6))


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_a_raw_bitstream_without_an_index_is_read_from_any_start(tmp_path, codec):
    """The baselines' copies are raw bitstreams, where OpenCV's seek stays at frame 0."""
    raw = tmp_path / f"a.{codec}"
    raw.write_bytes(b"".join(bytes(p) for p in mpeg_encode(moving_frames(24, 48, 64), 20, codec)))
    full = read_video(raw)
    for start in (0, 3, 13, 20):
        assert np.array_equal(read_clip_opencv(raw, start, 6), full[start : start + 6])


def test_resized_frames_are_close_and_the_end_is_the_end(video):
    ours = read_clip_opencv(video, 10, 4, 32)
    theirs = read_video(video, start=10, count=4, size=32)
    assert ours.shape == theirs.shape == (4, 32, 32, 3)
    assert np.abs(ours.astype(int) - theirs).mean() < 3
    assert len(read_clip_opencv(video, 36, 10)) == 4  # the video ends: what is left


def test_failures_name_the_file(tmp_path, video):
    data = video.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match="cut.mp4"):
        read_clip_opencv(cut, 0, 4)
    text = tmp_path / "text.mp4"
    text.write_text("not a video")
    with pytest.raises(VideoError, match="text.mp4: cannot be opened"):
        read_clip_opencv(text, 0, 4)
    with pytest.raises(VideoError, match="unknown decoder 'ffplay'"):
        check_decoder("ffplay")
    with pytest.raises(VideoError, match="unknown decoder"):
        TaskConfig(inputs="rgb", videos="x", decoder="ffplay")
    assert issubclass(TruncatedVideo, VideoError)


def test_the_pixel_reader_reads_the_same_clips_with_either(video):
    manifest = folder_manifest(video.parent)
    readers = [PixelReader(manifest, 48, 1, "v", decoder=d) for d in ("pyav", "opencv")]
    clips = [r.read(0, 9, 8, 40) for r in readers]
    assert np.array_equal(clips[0][0].numpy(), clips[1][0].numpy())
