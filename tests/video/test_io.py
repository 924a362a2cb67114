from __future__ import annotations

import av
import numpy as np
import pytest

from compressed_vision.errors import VideoError
from compressed_vision.video.io import iter_video_chunks, probe_video, read_video, write_video
from tests.conftest import moving_frames


def _write_with(path, codec: str, frames: np.ndarray, pix_fmt: str = "yuv420p", rate: int = 25):
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
        for img in frames:
            c.mux(s.encode(av.VideoFrame.from_ndarray(img, format="rgb24")))
        c.mux(s.encode())
    return path


def test_round_trip_keeps_frames_fps_and_shape(clip_path):
    info = probe_video(clip_path)
    assert (info.width, info.height, info.fps) == (64, 48, 25.0)
    frames = read_video(clip_path)
    assert frames.shape == (20, 48, 64, 3) and frames.dtype == np.uint8
    err = np.abs(frames.astype(float) - moving_frames().astype(float)).mean()
    assert err < 4.0  # lossy at CRF 18, but close


def test_sampling_start_stride_count_and_fps(clip_path):
    full = read_video(clip_path)
    np.testing.assert_array_equal(read_video(clip_path, start=3, stride=4, count=3), full[3:15:4])
    assert len(read_video(clip_path, fps=12.5)) == 10  # every other frame of 25 fps
    np.testing.assert_array_equal(read_video(clip_path, fps=12.5), full[::2])
    assert len(read_video(clip_path, fps=100)) == 20  # above the source rate: every frame


def test_resize_covers_then_centre_crops(clip_path):
    assert read_video(clip_path, size=32).shape == (20, 32, 32, 3)
    assert read_video(clip_path, size=(24, 40)).shape == (20, 24, 40, 3)


def test_streaming_chunks_equal_whole_read(clip_path):
    chunks = list(iter_video_chunks(clip_path, chunk=6))
    assert [len(c) for c in chunks] == [6, 6, 6, 2]
    np.testing.assert_array_equal(np.concatenate(chunks), read_video(clip_path))


@pytest.mark.parametrize(
    "suffix,codec,pix_fmt",
    [
        ("mkv", "libx264", "yuv420p"),
        ("avi", "mpeg4", "yuv420p"),
        ("webm", "libvpx-vp9", "yuv420p"),
        ("gif", "gif", "rgb8"),
    ],
)
def test_reads_other_containers(tmp_path, suffix, codec, pix_fmt):
    frames = moving_frames(8, 32, 32)
    path = _write_with(tmp_path / f"v.{suffix}", codec, frames, pix_fmt, rate=10)
    out = read_video(path)
    assert out.shape == (8, 32, 32, 3)


def test_write_accepts_chunk_iterators(tmp_path):
    frames = moving_frames(10, 32, 32)
    path = write_video(tmp_path / "chunks.mp4", iter([frames[:4], frames[4:]]), fps=10)
    assert read_video(path).shape == (10, 32, 32, 3)


def test_missing_file(tmp_path):
    with pytest.raises(VideoError, match="no such file") as e:
        read_video(tmp_path / "nope.mp4")
    assert "nope.mp4" in str(e.value)


def test_not_a_video(tmp_path):
    path = tmp_path / "notes.mp4"
    path.write_text("this is not a video\n" * 50)
    with pytest.raises(VideoError, match="cannot be opened as a video") as e:
        read_video(path)
    assert str(path) in str(e.value)


def test_zero_byte_file(tmp_path):
    path = tmp_path / "empty.mp4"
    path.touch()
    with pytest.raises(VideoError, match="empty"):
        read_video(path)


def test_truncated_video(tmp_path, clip_path):
    data = clip_path.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError) as e:
        read_video(cut)
    assert "cut.mp4" in str(e.value)


def test_zero_frame_video(tmp_path):
    path = tmp_path / "zero.avi"
    with av.open(str(path), "w") as c:
        s = c.add_stream("mpeg4", rate=25)
        s.width, s.height, s.pix_fmt = 32, 32, "yuv420p"
        c.start_encoding()
    with pytest.raises(VideoError, match="contains no video frames") as e:
        read_video(path)
    assert "zero.avi" in str(e.value)


def test_start_seeks_to_a_keyframe_and_gives_the_frames_of_a_full_decode(tmp_path, monkeypatch):
    from compressed_vision.video import io

    path = write_video(tmp_path / "gop.mp4", moving_frames(120, 32, 48), fps=25, gop=16)
    full = read_video(path)
    seeks = []
    real_seek = io._seek_to
    monkeypatch.setattr(io, "_seek_to", lambda *a: seeks.append(real_seek(*a)) or seeks[-1])
    for start in (1, 15, 16, 17, 40, 64, 100, 115):
        np.testing.assert_array_equal(read_video(path, start=start, count=6), full[start:][:6])
        np.testing.assert_array_equal(read_video(path, start=start, stride=3), full[start::3])
    assert all(order is not None for order in seeks[4:])  # frame 16 on: a keyframe to seek to
    assert seeks[:4] == [None] * 4  # before the second keyframe: decoded from the start
