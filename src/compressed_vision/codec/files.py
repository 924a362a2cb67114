"""Encoding video files to code files and back, streaming chunk by chunk. A code file
(.npz) is also a one-video store: `store.CodeStore` opens it, so every reader of codes
(decode, the datasets, `cvis train`) takes either."""

from __future__ import annotations

import json
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
import zstandard

from ..errors import CVError, TruncatedVideo, VideoError
from ..video.io import Size, iter_video_chunks, keep_partial_chunks, probe_video, write_video
from .base import Codec
from .rate import compress_codes, decompress_codes

WINDOW = 16  # code steps per encode window: memory is bounded by it


def frames_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """(T, H, W, 3) uint8 -> (1, 3, T, H, W) float in [0, 1]."""
    return torch.from_numpy(frames).permute(3, 0, 1, 2)[None].float().div_(255)


def tensor_to_frames(video: torch.Tensor) -> np.ndarray:
    """(1, 3, T, H, W) float in [0, 1] -> (T, H, W, 3) uint8."""
    return (video[0].clamp(0, 1) * 255).round().to(torch.uint8).permute(1, 2, 3, 0).cpu().numpy()


def encode_file(
    codec: Codec,
    path: str | Path,
    device: torch.device,
    size: Size = None,
    fps: float | None = None,
    keep_partial: bool = False,
) -> tuple[torch.Tensor, dict]:
    """Streaming encode of a video file, one encode window of frames at a time (memory is
    bounded by the window; the codes equal a whole-clip encode's, since the encoder works
    window by window either way). Returns codes (G, T', H', W') and metadata. A truncated
    video raises `TruncatedVideo`; with `keep_partial` its decoded frames are encoded and
    the metadata says "partial", with the declared and decoded frame counts."""
    info = probe_video(path)
    step = WINDOW * codec.temporal_factor
    parts, frames, height, width = [], 0, 0, 0
    truncated: list[TruncatedVideo] = []
    chunks = iter_video_chunks(path, chunk=step, size=size, fps=fps)
    for chunk in keep_partial_chunks(chunks, keep_partial, truncated):
        try:
            parts.append(codec.encode(frames_to_tensor(chunk).to(device), WINDOW)[0].cpu())
        except CVError as e:
            raise VideoError(e.reason, path) from e
        frames += len(chunk)
        height, width = chunk.shape[1:3]
    if not parts:
        raise truncated[0] if truncated else VideoError("no frames to encode", path)
    meta = {
        "codebook_size": codec.codebook_size,
        "source": str(path),
        "source_bytes": Path(path).stat().st_size,
        "fps": fps or info.fps,
        "frames": frames,
        "height": height,
        "width": width,
        "codec": codec.fingerprint(),
        "codec_kind": codec.kind,  # with the spec: a store opens the file (`store.reader`)
        "codec_spec": codec.spec.to_dict(),
    }
    if truncated:
        meta.update(partial=True, declared_frames=truncated[0].declared, decoded_frames=frames)
    return torch.cat(parts, dim=1), meta


def save_code_file(path: str | Path, codes: torch.Tensor, meta: dict) -> Path:
    """Codes through our lossless stage (zstd), with their shape and metadata, in one .npz."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    k = meta["codebook_size"]
    payload = np.frombuffer(compress_codes(codes, k), dtype=np.uint8)
    with open(path, "wb") as f:
        np.savez(f, zstd=payload, shape=np.array(codes.shape), meta=np.array(json.dumps(meta)))
    return path


# The metadata decoding needs, with its types (all positive).
META_TYPES = {"codebook_size": int, "fps": (int, float), "frames": int, "height": int, "width": int}


def load_code_file(path: str | Path) -> tuple[torch.Tensor, dict]:
    """The codes (G, T', H', W') and metadata of a code file written by `save_code_file`;
    anything else (missing, truncated, not such an .npz, codes that do not fit their own
    metadata) is a `CVError` naming the file and the reason."""
    path = Path(path)
    if not path.is_file():
        raise CVError("no such code file", path)
    not_ours = "not a code file written by `cvis codec encode`"
    if not zipfile.is_zipfile(path):
        raise CVError(f"{not_ours} (not a whole .npz archive: another format, or truncated)", path)
    try:
        with np.load(path) as data:  # allow_pickle=False: pickled data is refused, not run
            arrays = {key: data[key] for key in ("zstd", "shape", "meta")}
    except (OSError, KeyError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise CVError(f"{not_ours} ({e})", path) from e
    except (RuntimeError, MemoryError) as e:  # an unknown compression method, "encrypted",
        # or a damaged array header that asks for more memory than there is
        raise CVError(f"{not_ours} ({type(e).__name__}: {e})", path) from e
    try:
        codes, meta = _parse_code_file(**arrays)
    except (ValueError, zstandard.ZstdError) as e:
        raise CVError(f"corrupt code file: {e}", path) from e
    return torch.from_numpy(codes), meta


def _parse_code_file(
    zstd: np.ndarray, shape: np.ndarray, meta: np.ndarray
) -> tuple[np.ndarray, dict]:
    """The arrays of a code file -> (codes, metadata); ValueError for anything inconsistent."""
    if zstd.dtype != np.uint8 or zstd.ndim != 1:
        raise ValueError(f"'zstd' holds {zstd.dtype} {zstd.shape}, not the zstd bytes")
    if shape.dtype.kind not in "iu" or shape.shape != (4,) or (shape < 1).any():
        raise ValueError(f"'shape' is {shape.dtype} {shape.tolist()}, not (G, T', H', W')")
    info = json.loads(str(meta)) if meta.dtype.kind == "U" and meta.ndim == 0 else None
    if not isinstance(info, dict):
        raise ValueError("'meta' is not a JSON object")
    for key, kind in META_TYPES.items():
        value = info.get(key)
        if isinstance(value, bool) or not isinstance(value, kind) or value <= 0:
            raise ValueError(f"meta {key!r} is {value!r}, not a positive number")
    k = info["codebook_size"]
    codes = decompress_codes(zstd.tobytes(), tuple(int(n) for n in shape), k)
    if codes.max() >= k:
        raise ValueError(f"index {codes.max()} is not below the codebook size {k}")
    return codes, info


def decode_to_file(
    codec: Codec,
    codes: torch.Tensor,
    meta: dict,
    out: str | Path,
    device: torch.device,
    path: str | Path | None = None,
) -> Path:
    """Decode codes (G, T', H', W') to an H.264 mp4 at the source's size and rate (smaller
    for a codec whose output grid is: the official 2x-time codecs decode the centre, one code
    position less in H and W); codes the codec cannot take are a `CVError` naming `path`
    (their code file; default: their video)."""
    where = path or meta.get("source")
    if meta.get("codec") not in (None, codec.fingerprint()):
        raise CVError("these codes were written by a different codec (fingerprint mismatch)", where)
    have = (int(codes.shape[0]), meta["codebook_size"])
    need = (codec.num_codebooks, codec.codebook_size)
    if have != need:
        raise CVError(
            f"codes of {have[0]} codebooks of {have[1]} entries: the codec takes {need[0]} "
            f"codebooks of {need[1]}",
            where,
        )
    video = codec.decode(codes[None].to(device))[
        :, :, : meta["frames"], : meta["height"], : meta["width"]
    ]
    return write_video(out, tensor_to_frames(video), fps=meta["fps"])
