"""H.264 (libx264) and HEVC (libx265) through PyAV, in memory, with a CRF search for a rate.

Encoding: RGB frames are converted to yuv420p and encoded at preset "medium" and a constant
rate factor (CRF, fractional allowed). By default the encoder runs on one thread: the bitstream
then does not depend on the machine's core count, and no bits go to parallel coding (x264
under PyAV's default threading cuts frames into slices; x265's wavefronts are turned off with
`wpp=0`). `threads=0` lets the encoder choose.

Payload: the sum of the encoded packets' bytes, an Annex B stream with its parameter sets in
band, without the encoder's version/settings text (x264's user-data SEI, dropped from the
packets; x265's, switched off with `info=0`). No decoder needs it, and it would cost a 32-frame
128x128 clip about 600 (x264) to 4600 (x265) bytes, 20% to all of the budget at CR 480.
Decoding reads those same packets back. Container bytes: the packets muxed into an mp4.

Workarounds for the encoders in PyAV 18's wheels, found on this project's machines:
- x265 corrupts its heap on frames 64 or fewer pixels wide: the process aborts
  (`free(): invalid next size`) or the output changes from run to run. HEVC frames narrower
  than `HEVC_MIN_WIDTH` are padded on the right by replicating the last column (nearly free
  to code, and counted in the payload) and cropped back after decoding.
- x264's AVX-512 code gives different bytes from run to run for the same frames (an AMD EPYC
  with AVX-512; stable with `mbtree=0`, or without AVX-512), so on CPUs that report AVX-512
  x264 is capped at AVX2 (`asm=avx2`).
Odd sides are padded by one replicated row/column (yuv420p needs even sizes) and cropped back.
"""

from __future__ import annotations

import functools
import io
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import CVError
from .rate import (
    TOLERANCE,
    BaselineResult,
    byte_budget,
    check_frames,
    raw_bytes,
    within_tolerance,
)

CRF_MIN, CRF_MAX = 0.0, 51.0
HEVC_MIN_WIDTH = 96  # narrower frames are padded: see the module's docstring


@dataclass(frozen=True)
class MpegCodec:
    """How PyAV names one codec: its encoder, its decoder, its SEI NAL unit type."""

    encoder: str
    decoder: str
    sei_type: int


CODECS: dict[str, MpegCodec] = {
    "h264": MpegCodec("libx264", "h264", sei_type=6),
    "hevc": MpegCodec("libx265", "hevc", sei_type=39),  # prefix SEI
}


def _codec(name: str) -> MpegCodec:
    if name not in CODECS:
        raise CVError(f"unknown MPEG codec {name!r}; choose from {sorted(CODECS)}")
    return CODECS[name]


def _nal_units(data: bytes) -> list[tuple[bytes, bytes]]:
    """Split an Annex B byte stream into (start code, NAL unit) pairs."""
    marks = [m.start() for m in re.finditer(b"\x00\x00\x01", data)]
    if not marks:
        return [(b"", data)]
    first = marks[0] - 1 if marks[0] > 0 and data[marks[0] - 1] == 0 else marks[0]
    units = [(b"", data[:first])] if first else []
    for k, m in enumerate(marks):
        end = marks[k + 1] if k + 1 < len(marks) else len(data)
        if end < len(data) and data[end - 1] == 0:
            end -= 1  # the next unit's 4-byte start code
        begin = m - 1 if m > 0 and data[m - 1] == 0 else m
        units.append((data[begin : m + 3], data[m + 3 : end]))
    return units


def _is_user_data_sei(nal: bytes, codec: MpegCodec) -> bool:
    """An SEI NAL unit whose first message is user_data_unregistered (payload type 5)."""
    header = 1 if codec.sei_type == 6 else 2  # H.264 / HEVC NAL header bytes
    if len(nal) <= header:
        return False
    kind = nal[0] & 0x1F if header == 1 else (nal[0] >> 1) & 0x3F
    if kind != codec.sei_type:
        return False
    payload_type, j = 0, header
    while j < len(nal) and nal[j] == 0xFF:
        payload_type, j = payload_type + 255, j + 1
    return j < len(nal) and payload_type + nal[j] == 5


def _strip_user_data(data: bytes, codec: MpegCodec) -> bytes:
    """Drop the encoder's user-data SEI units (its version and settings as text)."""
    return b"".join(
        code + nal for code, nal in _nal_units(data) if not _is_user_data_sei(nal, codec)
    )


@functools.cache
def _x264_params() -> str:
    """`asm=avx2` where the CPU has AVX-512 (see the module's docstring), else nothing."""
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
    except OSError:  # not Linux: leave x264's own CPU detection alone
        return ""
    return "asm=avx2" if "avx512f" in cpuinfo.split() else ""


def coded_size(height: int, width: int, codec: str) -> tuple[int, int]:
    """The (height, width) the encoder sees: even sides, HEVC at least `HEVC_MIN_WIDTH` wide."""
    height, width = height + height % 2, width + width % 2
    return height, max(width, HEVC_MIN_WIDTH) if codec == "hevc" else width


def _pad(frames: np.ndarray, codec: str) -> np.ndarray:
    """Replicate the last row/column up to the coded size."""
    _, h, w, _ = frames.shape
    ch, cw = coded_size(h, w, codec)
    if (ch, cw) != (h, w):
        frames = np.pad(frames, ((0, 0), (0, ch - h), (0, cw - w), (0, 0)), mode="edge")
    return frames


def mpeg_encode(
    frames: np.ndarray, crf: float, codec: str = "h264", fps: float = 25, threads: int = 1
) -> list[av.Packet]:
    """Encode uint8 (T, H, W, 3) at constant rate factor `crf` (0..51, fractional allowed).

    Returns Annex B packets, encoder text removed (see the module's docstring).
    """
    spec = _codec(codec)
    frames = _pad(check_frames(frames), codec)
    if not CRF_MIN <= crf <= CRF_MAX:
        raise CVError(f"crf must be in {CRF_MIN:g}..{CRF_MAX:g}, got {crf}")
    if not fps > 0:
        raise CVError(f"fps must be > 0, got {fps}")
    if threads < 0:
        raise CVError(f"threads must be >= 0 (0: the encoder's choice), got {threads}")
    ctx = av.CodecContext.create(spec.encoder, "w")
    ctx.width, ctx.height, ctx.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
    rate = Fraction(fps).limit_denominator(1001)
    ctx.time_base, ctx.framerate = 1 / rate, rate
    ctx.thread_count = threads
    if threads != 1:
        ctx.thread_type = "FRAME"  # frame threads, not slices
    options = {"crf": f"{crf:.4f}", "preset": "medium"}
    if codec == "hevc":
        options["x265-params"] = "log-level=error:info=0" + (":wpp=0" if threads == 1 else "")
    elif _x264_params():
        options["x264-params"] = _x264_params()
    ctx.options = options
    packets: list[av.Packet] = []
    for i, img in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format="yuv420p")
        frame.pts = i
        packets += ctx.encode(frame)
    packets += ctx.encode(None)
    out = []
    for p in packets:
        q = av.Packet(_strip_user_data(bytes(p), spec))
        q.pts, q.dts, q.time_base, q.is_keyframe = p.pts, p.dts, p.time_base, p.is_keyframe
        out.append(q)
    return out


def mpeg_decode(packets: list[av.Packet], codec: str, height: int, width: int) -> np.ndarray:
    """Decode packets back to uint8 (T, height, width, 3), cropping any padding."""
    ctx = av.CodecContext.create(_codec(codec).decoder, "r")
    frames: list[av.VideoFrame] = []
    try:
        for p in packets:
            frames += ctx.decode(av.Packet(bytes(p)))
        frames += ctx.decode(None)
    except av.error.FFmpegError as e:
        raise CVError(f"{codec} stream cannot be decoded: {e}") from e
    if not frames:
        raise CVError(f"{codec} stream decoded to no frames")
    return np.stack([f.to_ndarray(format="rgb24")[:height, :width] for f in frames])


def container_bytes(packets: list[av.Packet], codec: str, height: int, width: int) -> int:
    """Size of the packets muxed, unchanged, into an mp4 in memory."""
    buf = io.BytesIO()
    tb = packets[0].time_base
    coded_h, coded_w = coded_size(height, width, codec)
    with av.open(buf, "w", format="mp4") as out:
        stream = out.add_mux_stream(
            _codec(codec).decoder, width=coded_w, height=coded_h, time_base=tb
        )
        for p in packets:
            q = av.Packet(bytes(p))
            q.pts, q.dts, q.time_base, q.is_keyframe = p.pts, p.dts, p.time_base, p.is_keyframe
            q.stream = stream
            out.mux(q)
    return len(buf.getvalue())


def _result(
    frames: np.ndarray,
    packets: list[av.Packet],
    crf: float,
    codec: str,
    target_cr: float | None,
) -> BaselineResult:
    """Decode `packets` (the encode of `frames` at `crf`) into a result."""
    t, h, w, _ = frames.shape
    decoded = mpeg_decode(packets, codec, h, w)
    if decoded.shape != frames.shape:
        raise CVError(f"{codec} decoded {decoded.shape[0]} frames of {t}")
    return BaselineResult(
        codec=codec,
        setting_name="crf",
        setting=float(crf),
        payload_bytes=sum(p.size for p in packets),
        container_bytes=container_bytes(packets, codec, h, w),
        raw_bytes=raw_bytes(frames),
        target_cr=target_cr,
        frames=decoded,
    )


def mpeg_roundtrip(
    frames: np.ndarray, crf: float, codec: str = "h264", fps: float = 25, threads: int = 1
) -> BaselineResult:
    """Encode and decode `frames` at one CRF."""
    frames = check_frames(frames)
    return _result(frames, mpeg_encode(frames, crf, codec, fps, threads), crf, codec, None)


def mpeg_at_rate(
    frames: np.ndarray,
    target_cr: float,
    codec: str = "h264",
    fps: float = 25,
    steps: int = 14,
    tol: float = TOLERANCE,
    threads: int = 1,
) -> BaselineResult:
    """The CRF whose payload lands closest to `raw_bytes / target_cr`, at most `tol` above it.

    Bisection over CRF as a float in 0..51 (payload falls as CRF rises): one encode at CRF 51,
    then at most `steps` more, stopping early within 1% of the budget. If even CRF 51
    overshoots the budget by more than `tol`, its result comes back with `reachable=False`.
    `within_tolerance` says whether the payload is within `tol` of the budget.
    """
    frames = check_frames(frames)
    _codec(codec)
    budget = byte_budget(frames, target_cr)
    limit = budget * (1 + tol)

    def closer(a: int, b: int) -> bool:  # is size a a better match than size b?
        return abs(a - budget) < abs(b - budget)

    best_crf, best = CRF_MAX, mpeg_encode(frames, CRF_MAX, codec, fps, threads)
    best_size, encodes = sum(p.size for p in best), 1
    reachable = best_size <= limit
    lo, hi = CRF_MIN, CRF_MAX  # size(lo) > budget >= size(hi), roughly
    while reachable and encodes <= steps and abs(best_size / budget - 1) > 0.01:
        mid = (lo + hi) / 2
        packets = mpeg_encode(frames, mid, codec, fps, threads)
        size, encodes = sum(p.size for p in packets), encodes + 1
        if size <= limit and closer(size, best_size):
            best_crf, best, best_size = mid, packets, size
        lo, hi = (mid, hi) if size > budget else (lo, mid)
    result = _result(frames, best, best_crf, codec, target_cr)
    result.reachable = reachable
    result.within_tolerance = within_tolerance(result.payload_bytes, budget, tol)
    result.encodes = encodes
    return result
