"""Bad and unusual videos at every door: `read_video` / `iter_frames`, `cvis codec encode`
and `cvis store build`, table-driven.

A video that cannot be read (truncated at several points, a container without frames, audio
only, a folder named like a video) is a `VideoError` naming the file and the reason; from
`cvis codec encode`, exit code 2 with `error: <file>: <reason>` and no code file; in
`cvis store build`, a failure of that one item (id, source, reason) while the job goes on.

An unusual video that can be read is read correctly, which here means:
- odd sizes (33x17) and 1x1: every frame, at the stored size (no rounding to even sizes),
  close to the frames written; the codec pads to its downsampling factor, so 33x17 encodes
  to codes of ceil(17/8) x ceil(33/8) and the code file and the store record 17x33; a 1x1
  video is smaller than the codec's downsampling: refused at encoding, with the reason;
- variable frame rate: every frame, in order; resampled with `fps`, the frame at or after
  each grid time by the frames' timestamps (not by their count);
- rotation metadata (a display matrix of +-90 or 180 degrees): the frames turned upright as
  a player shows them, so a quarter turn swaps height and width, in what `read_video`
  returns, in the code file's metadata and in the store's attrs;
- a metadata tag that is not UTF-8 (found by `benchmarks/fuzz.py`): read, the tag with
  replacement characters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
from typer.testing import CliRunner

from compressed_vision.cli.main import app
from compressed_vision.codec import save_codec
from compressed_vision.codec.files import load_code_file
from compressed_vision.errors import TruncatedVideo, VideoError
from compressed_vision.sources.folder import VIDEO_SUFFIXES
from compressed_vision.store import CodeStore
from compressed_vision.video.io import iter_frames, read_video, write_video
from tests.conftest import moving_frames
from tests.store.conftest import tiny_codec

runner = CliRunner()
FRAMES = 60  # of the truncated videos


def write_with(
    path: Path,
    frames: np.ndarray,
    codec: str = "libx264",
    pix_fmt: str = "yuv420p",
    times: list[int] | None = None,
    rotation: int | None = None,
    faststart: bool = False,
) -> Path:
    """`frames` in a container of `path`'s suffix; `times`: each frame's time in 1/25 s
    (variable frame rate); `rotation`: display-matrix degrees, counter-clockwise."""
    options = {"movflags": "faststart"} if faststart else {}
    with av.open(str(path), "w", options=options) as c:
        s = c.add_stream(codec, rate=25)
        s.height, s.width = frames.shape[1:3]
        s.pix_fmt = pix_fmt
        if times is not None:
            s.time_base = Fraction(1, 1000)
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if times is not None:
                frame.pts, frame.time_base = times[i] * 40, Fraction(1, 1000)
            c.mux(s.encode(frame))
        c.mux(s.encode())
    return path


def boxes(data: bytes) -> dict[str, tuple[int, int]]:
    """The top-level boxes of an mp4: type -> (first byte, end)."""
    found, at = {}, 0
    while at + 8 <= len(data):
        size = int.from_bytes(data[at : at + 4], "big")
        found[data[at + 4 : at + 8].decode()] = (at, at + size)
        at += size
    return found


def truncated(path: Path, where: str, faststart: bool = True) -> Path:
    """A 60-frame 32x32 mp4 cut at `where`: "index+40" (40 bytes into the index, the moov
    box), "index/2" (half-way through it), "index end" (just after it: the frame data's
    header only) or "frames/N" (1/N of the way through the frame data, the mdat box). With
    the index up front (faststart) the container still declares every frame. Cut points
    are set by the boxes: libx264's bytes vary from run to run, the boxes' sizes in the
    index do not."""
    data = write_with(path, moving_frames(FRAMES, 32, 32), faststart=faststart).read_bytes()
    (index, index_end), (frames, frames_end) = boxes(data)["moov"], boxes(data)["mdat"]
    if where.startswith("frames/"):
        cut = frames + int((frames_end - frames) / float(where.removeprefix("frames/")))
    else:
        cut = {"index+40": index + 40, "index/2": (index + index_end) // 2}.get(where)
        cut = index_end + 16 if cut is None else cut
    path.write_bytes(data[:cut])
    return path


def zero_frames(path: Path, codec: str) -> Path:
    """A container with a video stream and not one frame."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=25)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        c.start_encoding()
    return path


def audio_only(path: Path, codec: str, rate: int = 44100) -> Path:
    """One second of a 440 Hz tone, and no video stream."""
    with av.open(str(path), "w") as c:
        s = c.add_stream(codec, rate=rate)
        s.layout = "mono"
        tone = np.sin(2 * np.pi * 440 * np.arange(rate) / rate) * 0.3
        frame = av.AudioFrame.from_ndarray(tone.astype(np.float32)[None], "flt", "mono")
        frame.sample_rate, frame.pts = rate, 0
        c.mux(s.encode(frame))
        c.mux(s.encode())
    return path


def unknown_codec(path: Path) -> Path:
    """A good mp4 whose sample entry names a codec no decoder knows ('avc1' -> 'zzzz')."""
    write_with(path, moving_frames(5, 32, 32))
    data = path.read_bytes()
    entry = data.index(b"avc1", data.index(b"stsd"))
    path.write_bytes(data[:entry] + b"zzzz" + data[entry + 4 :])
    return path


def folder(path: Path) -> Path:
    path.mkdir()
    return path


def not_utf8_metadata(path: Path) -> Path:
    """A good mp4 whose handler name (a metadata tag) is not valid UTF-8."""
    write_with(path, moving_frames(5, 32, 32))
    data = path.read_bytes()
    assert data.count(b"VideoHandler") == 1
    path.write_bytes(data.replace(b"VideoHandler", b"Vide\xc3\x28andler"))
    return path


VFR_TIMES = [0, 1, 2, 5, 6, 20, 21, 22, 40, 41]  # in 1/25 s: gaps of 0.12, 0.56, 0.72 s


def marked(frames: int = 5, height: int = 32, width: int = 48) -> np.ndarray:
    """Dark frames with a bright 8x8 block in the top-left corner."""
    out = np.full((frames, height, width, 3), 30, np.uint8)
    out[:, :8, :8] = 230
    return out


def close(got: np.ndarray, want: np.ndarray, tol: float = 12.0) -> bool:
    return got.shape == want.shape and np.abs(got.astype(float) - want).mean() < tol


# -- what each case must give ----------------------------------------------------------------


def reads_as(want: np.ndarray) -> Callable[[Path], None]:
    """Every frame, at the stored (or upright) size, close to `want`."""

    def check(path: Path) -> None:
        got = read_video(path)
        assert close(got, want), (got.shape, want.shape)
        streamed = list(iter_frames(path))
        np.testing.assert_array_equal(np.stack(streamed), got)

    return check


def reads_vfr(path: Path) -> None:
    """Every frame in order; at 5 fps, by the timestamps: each grid time 0, 0.2, 0.4, ...
    takes the first frame at or after it that no earlier grid time took."""
    src = moving_frames(len(VFR_TIMES), 32, 32)
    reads_as(src)(path)
    times = [t / 25 for t in VFR_TIMES]
    want, grid = [], 0
    for i, t in enumerate(times):  # the rule, spelled out
        if t + 1e-6 >= grid / 5:
            want.append(i)
            grid = int(t * 5 + 1e-6) + 1
    assert want == [0, 3, 5, 8]  # 0.0, 0.2, 0.8 (grid 0.4 to 0.8 fall in the gap), 1.6
    assert close(read_video(path, fps=5), src[want])


def reads_upright(turns: int) -> Callable[[Path], None]:
    """The marked frames turned `turns` counter-clockwise quarter turns, as players show
    them; resizing works on the upright frame."""
    upright = np.rot90(marked(), turns, axes=(1, 2))

    def check(path: Path) -> None:
        reads_as(upright)(path)
        small = read_video(path, size=(upright.shape[1] // 2, upright.shape[2] // 2))
        assert close(small, upright[:, ::2, ::2], tol=20)

    return check


@dataclass(frozen=True)
class Case:
    make: Callable[[Path], Path]  # writes the file at (or next to) the given path
    read: str | Callable[[Path], None]  # the refusal's reason, or the check of a good read
    # the refusal's reason, or (frames, height, width); None: refused as by the reader
    encode: str | tuple[int, int, int] | None = None


TRUNCATED_BY_DECODING = r"truncated: decoding stopped after frame \d+ of the 60 frames"
NOT_OPENED = "cannot be opened as a video"
AUDIO = re.escape("has no video stream (only audio)")

CASES = {
    "cut 40 bytes into the index": Case(
        lambda p: truncated(p.with_suffix(".mp4"), "index+40"), "holds no streams at all"
    ),
    "cut half-way through the index": Case(
        lambda p: truncated(p.with_suffix(".mp4"), "index/2"), NOT_OPENED
    ),
    "cut just after the index": Case(
        lambda p: truncated(p.with_suffix(".mp4"), "index end"), "contains no video frames"
    ),
    "cut in the first frame": Case(
        lambda p: truncated(p.with_suffix(".mp4"), "frames/10"), "cannot decode its first frame"
    ),
    "cut half-way through the frames": Case(
        lambda p: truncated(p.with_suffix(".mp4"), "frames/2"), TRUNCATED_BY_DECODING
    ),
    "cut in the last frames": Case(
        lambda p: truncated(p.with_suffix(".mp4"), "frames/1.05"), TRUNCATED_BY_DECODING
    ),
    "index at the end, cut half-way through the frames": Case(
        lambda p: truncated(p.with_suffix(".mp4"), "frames/2", faststart=False), NOT_OPENED
    ),
    "mp4 with zero frames": Case(
        lambda p: zero_frames(p.with_suffix(".mp4"), "libx264"), "holds no streams at all"
    ),
    "avi with zero frames": Case(
        lambda p: zero_frames(p.with_suffix(".avi"), "mpeg4"), "contains no video frames"
    ),
    "mkv with zero frames": Case(
        lambda p: zero_frames(p.with_suffix(".mkv"), "libx264"), NOT_OPENED
    ),
    "audio only: aac in m4a": Case(lambda p: audio_only(p.with_suffix(".m4a"), "aac"), AUDIO),
    "audio only: mp3": Case(lambda p: audio_only(p.with_suffix(".mp3"), "libmp3lame"), AUDIO),
    "audio only: wav in mkv": Case(
        lambda p: audio_only(p.with_suffix(".mkv"), "pcm_s16le", 16000), AUDIO
    ),
    "a video stream of an unknown codec": Case(
        lambda p: unknown_codec(p.with_suffix(".mp4")), "its video stream has no decoder"
    ),
    "a folder named x.mp4": Case(lambda p: folder(p.with_name("x.mp4")), "is not a file"),
    "1x1 pixels": Case(
        lambda p: write_with(p.with_suffix(".mp4"), moving_frames(5, 1, 1), pix_fmt="yuv444p"),
        reads_as(moving_frames(5, 1, 1)),
        r"frames of 1x1 \(5 frames\) are smaller than the codec's 8x spatial downsampling",
    ),
    "33x17 H.264 4:4:4": Case(
        lambda p: write_with(p.with_suffix(".mp4"), moving_frames(5, 17, 33), pix_fmt="yuv444p"),
        reads_as(moving_frames(5, 17, 33)),
        (5, 17, 33),
    ),
    "33x17 MPEG-4 in avi": Case(
        lambda p: write_with(p.with_suffix(".avi"), moving_frames(5, 17, 33), codec="mpeg4"),
        reads_as(moving_frames(5, 17, 33)),
        (5, 17, 33),
    ),
    "metadata that is not UTF-8": Case(
        lambda p: not_utf8_metadata(p.with_suffix(".mp4")),
        reads_as(moving_frames(5, 32, 32)),
        (5, 32, 32),
    ),
    "variable frame rate mp4": Case(
        lambda p: write_with(p.with_suffix(".mp4"), moving_frames(10, 32, 32), times=VFR_TIMES),
        reads_vfr,
        (10, 32, 32),
    ),
    "variable frame rate mkv": Case(
        lambda p: write_with(p.with_suffix(".mkv"), moving_frames(10, 32, 32), times=VFR_TIMES),
        reads_vfr,
        (10, 32, 32),
    ),
    "rotated 90 degrees": Case(
        lambda p: write_with(p.with_suffix(".mp4"), marked(), rotation=90),
        reads_upright(1),
        (5, 48, 32),
    ),
    "rotated -90 degrees": Case(
        lambda p: write_with(p.with_suffix(".mp4"), marked(), rotation=-90),
        reads_upright(3),
        (5, 48, 32),
    ),
    "rotated 180 degrees": Case(
        lambda p: write_with(p.with_suffix(".mp4"), marked(), rotation=180),
        reads_upright(2),
        (5, 32, 48),
    ),
}


def encode_expect(case: str) -> str | tuple[int, int, int]:
    c = CASES[case]
    return c.read if c.encode is None else c.encode


@pytest.fixture(scope="module")
def codec_path(tmp_path_factory) -> Path:
    return save_codec(tmp_path_factory.mktemp("codec") / "tiny.safetensors", tiny_codec())


def make_case(name: str, where: Path) -> Path:
    where.mkdir(parents=True, exist_ok=True)
    return CASES[name].make(where / "case")


def assert_names_file_and_reason(error: Exception, path: Path, reason: str) -> None:
    assert str(path) in str(error) and re.search(reason, str(error)), str(error)


@pytest.mark.parametrize("case", list(CASES))
def test_read_video_and_iter_frames(case, tmp_path):
    path = make_case(case, tmp_path)
    expect = CASES[case].read
    if callable(expect):
        expect(path)
        return
    with pytest.raises(VideoError) as info:
        read_video(path)
    assert_names_file_and_reason(info.value, path, expect)
    streamed = []
    with pytest.raises(VideoError) as info:
        for frame in iter_frames(path):
            streamed.append(frame)
    assert_names_file_and_reason(info.value, path, expect)
    if isinstance(info.value, TruncatedVideo):  # the frames before the cut come first
        assert len(streamed) == info.value.decoded and 0 < info.value.decoded < FRAMES
        assert info.value.declared == FRAMES
    else:
        assert not streamed


@pytest.mark.parametrize("case", list(CASES))
def test_cvis_codec_encode(case, codec_path, tmp_path):
    path = make_case(case, tmp_path / "in")
    out = tmp_path / "codes.npz"
    args = ["codec", "encode", path, "--out", out, "--codec", codec_path, "--device", "cpu"]
    res = runner.invoke(app, [str(a) for a in args])
    expect = encode_expect(case)
    if isinstance(expect, str):
        assert res.exit_code == 2, res.output
        assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output
        assert f"error: {path}: " in res.output and re.search(expect, res.output), res.output
        assert not out.exists()
        return
    assert res.exit_code == 0, res.output
    codes, meta = load_code_file(out)
    frames, height, width = expect
    assert (meta["frames"], meta["height"], meta["width"]) == expect
    assert tuple(codes.shape) == (4, frames, -(-height // 8), -(-width // 8))


@pytest.mark.parametrize("case", list(CASES))
def test_cvis_store_build(case, codec_path, tmp_path):
    """The case next to a good video: the good one is stored, the case is stored or recorded
    as a failure, the job goes on (exit 0). A folder, and a file without a video suffix (an
    .m4a or .mp3 of audio only: `sources.folder`), is no item of a folder of videos."""
    videos = tmp_path / "videos"
    good = write_video(videos / "good.mp4", moving_frames(6, 32, 32))
    path = make_case(case, videos)
    out = tmp_path / "s.zarr"
    args = ["store", "build", videos, "--codec", codec_path, "--out", out, "--device", "cpu"]
    res = runner.invoke(app, [str(a) for a in args] + ["--chunk-steps", "4"])
    assert res.exit_code == 0, res.output
    store = CodeStore(str(out))
    entries = {e.attrs["id"]: e for e in store.entries()}
    failures = {f["id"]: f for f in store.failures().values()}
    assert entries[good.name].attrs["frames"] == 6
    expect, item = encode_expect(case), path.name
    if path.is_dir() or path.suffix not in VIDEO_SUFFIXES:
        assert set(entries) == {good.name} and not failures
    elif isinstance(expect, str):
        assert set(entries) == {good.name} and set(failures) == {item}, (entries, failures)
        assert failures[item]["source"] == str(path)
        assert re.search(expect, failures[item]["reason"]), failures[item]
    else:
        assert not failures, failures
        attrs = entries[item].attrs
        assert (attrs["frames"], attrs["height"], attrs["width"]) == expect
        codes = store.codes(entries[item].key)
        assert codes.shape == (4, expect[0], -(-expect[1] // 8), -(-expect[2] // 8))


def test_a_folder_named_like_a_video_in_a_kinetics_csv_is_a_failure(codec_path, tmp_path):
    """A CSV row whose video is a folder: not found (only files are videos), recorded."""
    videos = tmp_path / "videos"
    write_video(videos / "good.mp4", moving_frames(6, 32, 32))
    (videos / "x.mp4").mkdir()
    csv = tmp_path / "k.csv"
    csv.write_text("label,youtube_id,time_start,time_end\na,good,0,1\na,x,0,1\n")
    out = tmp_path / "s.zarr"
    args = ["store", "build", csv, "--root", videos, "--codec", codec_path, "--out", out]
    res = runner.invoke(app, [str(a) for a in args] + ["--device", "cpu"])
    assert res.exit_code == 0, res.output
    store = CodeStore(str(out))
    assert [e.attrs["id"] for e in store.entries()] == ["good_000000_000001"]
    (failure,) = store.failures().values()
    assert failure["id"] == "x_000000_000001" and "video file not found" in failure["reason"]


def test_the_other_readers_keep_the_same_rule(tmp_path):
    """A truncated video (the index up front, so it declares 60 frames; half the frame data
    present) beside a good one: the RGB pipeline lists it as a failure when it reads the
    folder (from the packets, without decoding), codec training data skips it with a
    warning naming the file, and the baselines make no copy of it; the good one is used."""
    from compressed_vision.baselines.copies import recompress_copies
    from compressed_vision.codec.data import training_clips
    from compressed_vision.sources.manifest import folder_manifest
    from compressed_vision.tasks.data import PixelReader

    videos = tmp_path / "videos"
    videos.mkdir()
    write_video(videos / "good.mp4", moving_frames(FRAMES, 32, 32))
    bad = truncated(videos / "cut.mp4", "frames/2")
    manifest = folder_manifest(videos)
    pixels = PixelReader(manifest, 32, 1, str(videos))
    assert [v.key for v in pixels.videos] == ["good.mp4"]
    (reason,) = pixels.failures.values()
    assert re.search(r"truncated: the file holds \d+ of the 60 frames", reason)
    with pytest.warns(UserWarning, match=f"skipping {re.escape(str(bad))}: .*truncated"):
        train, _ = training_clips([str(videos)], 8, 32)
    (clips,) = train.datasets
    assert len(clips.videos) == 1
    copies, summary = recompress_copies(manifest, "jpeg", 20, 32, tmp_path / "copies", False)
    assert summary["videos"] == 1 and list(copies) == [
        i.id for i in manifest.items if "good" in i.id
    ]
