"""A second decoder for the RGB pipeline: OpenCV's own FFmpeg build (`pip install
opencv-python-headless`, the `fast` extra), about twice as fast as PyAV on short clips on this
CPU. Frames are those of `read_video` exactly at the stored size; resized, OpenCV's area
interpolation differs from FFmpeg's by a few levels."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..errors import VideoError
from .io import Size, fewer_than_declared, probe_video, stopped_early, target_hw

DECODERS = ("pyav", "opencv")


def opencv_available() -> bool:
    return importlib.util.find_spec("cv2") is not None


def fastest_decoder() -> str:
    """ "opencv" where it is installed, else "pyav"."""
    return "opencv" if opencv_available() else "pyav"


def check_decoder(name: str) -> None:
    """Refuse an unknown decoder, or OpenCV where it is not installed."""
    if name not in DECODERS:
        raise VideoError(f"unknown decoder {name!r}; choose from {', '.join(DECODERS)}")
    if name == "opencv" and not opencv_available():
        raise VideoError("the opencv decoder needs `pip install opencv-python-headless`")


def read_clip_opencv(path: str | Path, start: int, count: int, size: Size = None) -> np.ndarray:
    """Frames [start, start + count) of a video as (T, H, W, 3) uint8 RGB, turned upright,
    resized to cover `size` and centre-cropped (as `read_video`). Seeks to the keyframe
    before `start` (the first frame in a raw bitstream) and decodes forward. Fewer frames
    than asked: the video ends, or `TruncatedVideo` when its container declares more."""
    import cv2

    cv2.setNumThreads(1)
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    if not capture.isOpened():
        raise VideoError("cannot be opened as a video by OpenCV", path)
    try:
        if start:
            _seek(capture, start, path)
        frames = []
        while len(frames) < count:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(_resized(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), size))
    finally:
        capture.release()
    declared = probe_video(path).frames if len(frames) < count else 0
    if fewer_than_declared(start + len(frames), declared):
        raise stopped_early(path, start + len(frames), declared)
    if not frames:
        raise VideoError(f"no frames from frame {start} on", path)
    return np.stack(frames)


def _seek(capture: object, start: int, path: str | Path) -> None:
    """Put the capture before frame `start`. A raw bitstream (.h264, .hevc) has no index: there
    OpenCV's seek silently stays at frame 0, so it decodes forward to `start` instead."""
    import cv2

    capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    position = round(capture.get(cv2.CAP_PROP_POS_FRAMES))
    if position > start:
        raise VideoError(f"cannot seek to frame {start} (OpenCV is at frame {position})", path)
    for _ in range(start - position):
        if not capture.grab():
            break


def _resized(frame: np.ndarray, size: Size) -> np.ndarray:
    import cv2

    height, width = frame.shape[:2]
    rh, rw, oh, ow = target_hw(height, width, size)
    if (rh, rw) != (height, width):
        frame = cv2.resize(frame, (rw, rh), interpolation=cv2.INTER_AREA)
    top, left = (rh - oh) // 2, (rw - ow) // 2
    return np.ascontiguousarray(frame[top : top + oh, left : left + ow])
