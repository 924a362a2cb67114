"""Reading and writing video files with PyAV.

Frames are uint8 numpy arrays of shape (T, H, W, 3), RGB. Every error a user can cause
(missing file, not a video, corrupt or truncated data, no frames) raises `VideoError`
naming the file and the reason; a file whose decoding stops early (a decode error, or fewer
frames than its container declares) raises `TruncatedVideo`, with both counts.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import TruncatedVideo, VideoError

Size = int | tuple[int, int] | None


@dataclass(frozen=True)
class VideoInfo:
    """What a container says about its first video stream."""

    path: str
    fps: float
    frames: int  # as declared by the container; 0 when unknown
    width: int
    height: int
    duration: float  # seconds; 0.0 when unknown


def _open(path: str | Path) -> av.container.InputContainer:
    path = Path(path)
    if not path.exists():
        raise VideoError("no such file", path)
    if not path.is_file():
        raise VideoError("is not a file", path)
    if path.stat().st_size == 0:
        raise VideoError("is empty (0 bytes)", path)
    try:  # metadata that is not UTF-8 (a damaged tag) is read with replacement characters
        container = av.open(str(path), metadata_errors="replace")
    except av.error.FFmpegError as e:
        raise VideoError(
            f"cannot be opened as a video (corrupt, truncated or not a video: {e})", path
        ) from e
    if not container.streams.video:
        kinds = sorted({stream.type for stream in container.streams})
        container.close()
        if not kinds:
            raise VideoError("holds no streams at all (an empty container, or truncated)", path)
        raise VideoError(f"has no video stream (only {' and '.join(kinds)})", path)
    if container.streams.video[0].codec_context is None:  # PyAV knows no decoder for it
        container.close()
        raise VideoError("its video stream has no decoder (an unknown or damaged codec)", path)
    return container


def probe_video(path: str | Path) -> VideoInfo:
    """Read the container's header (no decoding). Width and height are those stored: a video
    with rotation metadata is read turned upright (see `iter_frames`), its sides swapped by a
    quarter turn."""
    with _open(path) as container:
        stream = container.streams.video[0]
        fps = float(stream.average_rate or stream.guessed_rate or 25)
        duration = float(stream.duration * stream.time_base) if stream.duration else 0.0
        if not duration and container.duration:
            duration = container.duration / av.time_base
        return VideoInfo(
            str(path), fps, int(stream.frames or 0), stream.width, stream.height, duration
        )


def target_hw(height: int, width: int, size: Size) -> tuple[int, int, int, int]:
    """(resize_h, resize_w, out_h, out_w): resize to cover `size`, keeping aspect, then crop."""
    if size is None:
        return height, width, height, width
    out_h, out_w = (size, size) if isinstance(size, int) else size
    scale = max(out_h / height, out_w / width)
    return max(out_h, round(height * scale)), max(out_w, round(width * scale)), out_h, out_w


def _quarter_turns(frame: av.VideoFrame) -> int:
    """Counter-clockwise quarter turns that show the frame upright, from its display matrix
    (rotation metadata); 0 when it has none or its angle is not a multiple of 90 degrees."""
    degrees = frame.rotation
    return (degrees // 90) % 4 if degrees % 90 == 0 else 0


def _to_array(frame: av.VideoFrame, size: Size) -> np.ndarray:
    """Decoded frame -> RGB uint8, turned upright as its rotation metadata says (as players
    show it; mirroring is not applied), resized so it covers `size`, then centre-cropped."""
    turns = _quarter_turns(frame)
    height, width = (frame.width, frame.height) if turns % 2 else (frame.height, frame.width)
    rh, rw, oh, ow = target_hw(height, width, size)
    if (rh, rw) != (height, width):
        sh, sw = (rw, rh) if turns % 2 else (rh, rw)  # the stored frame's target size
        arr = frame.to_ndarray(width=sw, height=sh, format="rgb24", interpolation="AREA")
    else:
        arr = frame.to_ndarray(format="rgb24")
    if turns:
        arr = np.rot90(arr, turns)
    top, left = (rh - oh) // 2, (rw - ow) // 2
    return np.ascontiguousarray(arr[top : top + oh, left : left + ow])


@functools.lru_cache(maxsize=256)
def _frame_index(path: str, mtime_ns: int, size: int) -> tuple[list[int], list[tuple[int, int]]]:
    """(every frame's pts in presentation order, [(keyframe index, keyframe pts)]), read by
    demuxing the packets only (no decoding); cached per file version. Empty when any packet
    lacks a pts or two share one (then the caller decodes from the start)."""
    with _open(path) as container:
        stream = container.streams.video[0]
        pts, keys = [], []
        try:
            for packet in container.demux(stream):
                if packet.size == 0:
                    continue
                if packet.pts is None:
                    return [], []
                pts.append(packet.pts)
                if packet.is_keyframe:
                    keys.append(packet.pts)
        except av.error.FFmpegError:
            pass  # damaged past here: the frames before it index as usual
    order = sorted(pts)
    if len(set(order)) != len(order):
        return [], []
    return order, [(bisect.bisect_left(order, k), k) for k in sorted(keys)]


def _file_index(path: Path) -> tuple[list[int], list[tuple[int, int]]]:
    """`_frame_index` of the file as it is now (a rewritten file is indexed again)."""
    stat = path.stat()
    return _frame_index(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


def fewer_than_declared(frames: int, declared: int) -> bool:
    """Whether a video that ended after `frames` frames is short of the `declared` count
    (one frame of slack for edit lists)."""
    return frames < declared - 1


def stopped_early(path: str | Path, decoded: int, declared: int) -> TruncatedVideo:
    """The error of a video whose decoding ended after `decoded` of its `declared` frames."""
    return TruncatedVideo(
        f"truncated: decoding stopped after frame {decoded} of the {declared} frames the "
        "container declares",
        path,
        decoded,
        declared,
    )


def count_frames(path: str | Path) -> int:
    """Frames of a video, checked against the file without decoding: `TruncatedVideo` when
    the file holds the packets of fewer frames than its container declares (an interrupted
    download); counted by decoding when the container declares none."""
    declared, present = probe_video(path).frames, len(_file_index(Path(path))[0])
    if present and fewer_than_declared(present, declared):
        raise TruncatedVideo(
            f"truncated: the file holds {present} of the {declared} frames its container declares",
            path,
            present,
            declared,
        )
    return declared or present or sum(1 for _ in iter_frames(path))


def _seek_to(container, stream, path: Path, start: int) -> list[int] | None:
    """Seek to the last keyframe at or before frame `start`; returns the file's frame pts
    (to number decoded frames by), or None when the file cannot be seeked exactly."""
    order, keys = _file_index(path)
    before = [pts for index, pts in keys if index <= start]
    if not order or not before or before[-1] == order[0]:
        return None
    container.seek(before[-1], stream=stream, backward=True, any_frame=False)
    return order


def _elapsed(
    time: float | None, rel: int, src_fps: float, first: float | None, first_rel: int
) -> float:
    """Seconds since frame `start`: by the timestamps when both frames have one, else by the
    frame count at the source's average rate."""
    if time is None or first is None:
        return rel / src_fps
    return first_rel / src_fps + time - first


def iter_frames(
    path: str | Path,
    start: int = 0,
    count: int | None = None,
    stride: int = 1,
    fps: float | None = None,
    size: Size = None,
) -> Iterator[np.ndarray]:
    """Yield sampled frames one at a time, (H, W, 3) uint8; never holds the whole file.

    `start` skips that many source frames (seeking to the keyframe at or before it, then
    decoding forward: the frames are those of a decode from the start); then either every
    `stride`-th frame is kept or, with `fps`, the first frame at or after each time of a
    regular grid at that rate, timed by the frames' timestamps (so a variable-rate video is
    resampled by time; a grid time in a gap of the source takes no frame of its own; a rate
    above the source's keeps every frame); `count` caps the number of frames yielded.
    `size` is an int (square) or (height, width): the frame is resized to cover it, keeping
    its aspect, and centre-cropped. A frame with rotation metadata is turned upright first
    (multiples of 90 degrees, as players show it), so its sides may be swapped.
    """
    if (
        stride < 1
        or start < 0
        or (count is not None and count < 0)
        or (fps is not None and fps <= 0)
    ):
        raise ValueError("need stride >= 1, start >= 0, count >= 0 and fps > 0")
    path = Path(path)
    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        src_fps = float(stream.average_rate or stream.guessed_rate or 25)
        emitted, index, ended = 0, -1, False
        grid, first_time = 0, None  # with `fps`: next grid point; time of the first frame
        declared = int(stream.frames or 0)
        order = _seek_to(container, stream, path, start) if start > 0 else None
        try:
            for frame in container.decode(stream):
                index += 1
                if order is not None:
                    if frame.pts is None:
                        raise VideoError("a decoded frame has no timestamp after seeking", path)
                    index = bisect.bisect_left(order, frame.pts)
                if count is not None and emitted >= count:
                    break
                rel = index - start
                if rel < 0:
                    continue
                if fps is not None:
                    if first_time is None:
                        first_time = (frame.time, rel)
                    elapsed = _elapsed(frame.time, rel, src_fps, *first_time)
                    if elapsed + 1e-6 < grid / fps:
                        continue
                    grid = math.floor(elapsed * fps + 1e-6) + 1
                elif rel % stride:
                    continue
                yield _to_array(frame, size)
                emitted += 1
            else:
                ended = True
        except av.error.FFmpegError as e:
            if index < 0:
                raise VideoError(f"cannot decode its first frame ({e})", path) from e
            raise TruncatedVideo(
                f"corrupt or truncated: decoding failed after frame {index + 1} of "
                f"{declared or 'an unknown number of'} declared frames ({e})",
                path,
                index + 1,
                declared,
            ) from e
        if index < 0:
            raise VideoError("contains no video frames", path)
        if ended and fewer_than_declared(index + 1, declared):
            raise stopped_early(path, index + 1, declared)


def iter_video_chunks(path: str | Path, chunk: int = 64, **sampling) -> Iterator[np.ndarray]:
    """Yield (t, H, W, 3) uint8 chunks of at most `chunk` frames (see `iter_frames`). A
    truncated video yields every frame decoded before `TruncatedVideo` is raised."""
    buf: list[np.ndarray] = []
    try:
        for frame in iter_frames(path, **sampling):
            buf.append(frame)
            if len(buf) == chunk:
                yield np.stack(buf)
                buf = []
    except TruncatedVideo:
        if buf:
            yield np.stack(buf)
        raise
    if buf:
        yield np.stack(buf)


def keep_partial_chunks(
    chunks: Iterator[np.ndarray], keep_partial: bool, truncated: list[TruncatedVideo]
) -> Iterator[np.ndarray]:
    """`chunks` (of `iter_video_chunks`); with `keep_partial`, a truncated video ends them
    quietly after its decoded frames, the `TruncatedVideo` appended to `truncated`."""
    try:
        yield from chunks
    except TruncatedVideo as e:
        if not keep_partial:
            raise
        truncated.append(e)


def read_video(path: str | Path, **sampling) -> np.ndarray:
    """Read sampled frames into one (T, H, W, 3) uint8 array (see `iter_frames`)."""
    frames = list(iter_frames(path, **sampling))
    if not frames:
        raise VideoError("no frames left after sampling (start/count/fps select nothing)", path)
    return np.stack(frames)


def write_video(
    path: str | Path,
    frames: np.ndarray | Iterator[np.ndarray],
    fps: float = 25,
    crf: int = 18,
    gop: int | None = None,
) -> Path:
    """Write (T, H, W, 3) uint8 frames (an array or an iterator of chunks) as H.264 mp4,
    with a keyframe every `gop` frames (None: libx264's default, at most 250).

    Odd sizes are cropped to even (yuv420p needs it).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    chunks = [frames] if isinstance(frames, np.ndarray) else frames
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(path), "w") as container:
        stream = None
        for chunk in chunks:
            if chunk.ndim != 4 or chunk.shape[-1] != 3 or chunk.dtype != np.uint8:
                raise ValueError(
                    f"frames must be uint8 (T, H, W, 3), got {chunk.dtype} {chunk.shape}"
                )
            if stream is None:
                h, w = chunk.shape[1] // 2 * 2, chunk.shape[2] // 2 * 2
                stream = container.add_stream("libx264", rate=rate)
                stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
                stream.options = {"crf": str(crf), "preset": "medium"}
                if gop:
                    stream.options = {**stream.options, "g": str(gop), "keyint_min": str(gop)}
            for img in chunk:
                frame = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(img[:h, :w]), format="rgb24"
                )
                container.mux(stream.encode(frame))
        if stream is None:
            raise ValueError("no frames to write")
        container.mux(stream.encode())
    return path
