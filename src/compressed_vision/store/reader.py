"""Opening a store: its codec, its videos, windows of codes, failures.

Opening reads the root `zarr.json` (and the prior of a learned-coded store, see
`store.chunks`); the first question about the videos reads the index (a listing of `packs/`
and `index.cvi`, see `store.index`); a window of codes is one ranged read of the pack that
holds it.

A code file of `cvis codec encode` (.npz, `codec.files`) opens as a store of one video (its
codes held in memory; no failures, no labels), so every reader of codes takes either.

Damage is a `CVError` naming the file at fault: a garbled `zarr.json`, index or prior names
that file; corrupt attrs of a video name the index and the video; a chunk that is missing or
cannot be decoded names the pack, the video's key and the code steps it holds.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from ..codec.base import Codec, CodeSpec
from ..codec.checkpoint import KIND as OUR_KIND
from ..codec.config import CodecConfig
from ..codec.files import load_code_file
from ..codec.official.config import CodecKwargs
from ..codec.official.load import KIND as OFFICIAL_KIND
from ..errors import CVError
from ..sources.manifest import video_key
from .chunks import DEFAULT, chunk_codec
from .index import Index, State, VideoRecord, load_state, pack_path
from .layout import FORMAT, INDEX, ROOT_META, VERSION, StoreFiles, code_dtype, hash_block
from .packs import LABELS


@dataclass(frozen=True)
class VideoEntry:
    """A video of the store: its key, code steps, label index and all its attrs."""

    key: str
    steps: int
    label_index: int
    attrs: dict[str, Any]


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    """isinstance, where a bool is no number."""
    return isinstance(value, kind) and not isinstance(value, bool)


def _unreadable(e: Exception) -> str:
    return f"unreadable metadata ({type(e).__name__}: {e})"


def read_root_attrs(files: StoreFiles) -> dict[str, Any]:
    """The attrs of the root `zarr.json` (a zarr v3 group); `CVError` when there is no store,
    or the file is garbled or not a group's."""
    where = files.location(ROOT_META)
    try:
        doc = json.loads(files.get(ROOT_META))
    except FileNotFoundError as e:
        raise CVError("no code store here", files.url) from e
    except ValueError as e:
        raise CVError(_unreadable(e), where) from e
    if not isinstance(doc, dict) or not isinstance(doc.get("attributes", {}), dict):
        raise CVError(_unreadable(TypeError("not a zarr group's metadata")), where)
    if doc.get("zarr_format") != 3:
        raise CVError(f"zarr format {doc.get('zarr_format')}, not 3", where)
    if doc.get("node_type") == "array":
        raise CVError("is a zarr array, not a code store", files.url)
    return doc.get("attributes", {})


def check_version(attrs: dict[str, Any], url: str) -> None:
    """`CVError` unless these root attrs are a code store's of this version (an older store
    is refused with the command that converts it)."""
    if attrs.get("format") != FORMAT:
        raise CVError("is not a code store (no compressed_vision.store root attrs)", url)
    if attrs.get("version") == 1:
        raise CVError(
            "a store of format version 1 (one zarr group per video), which this version no "
            f"longer reads: convert it once with `cvis store migrate {url} NEW_STORE`",
            url,
        )
    if attrs.get("version") != VERSION:
        raise CVError(f"store format version {attrs.get('version')} != {VERSION}", url)


def _check_root_attrs(attrs: dict[str, Any], where: str) -> CodeSpec:
    """The shape of the codes (one codec kind's config) of a store's root attrs; `CVError`
    for a missing or mistyped value."""
    need = {
        "codec_kind": str,
        "codec": dict,
        "codec_fingerprint": str,
        "chunk_codec": dict,
        "chunk_steps": int,
        "classes": list,
        "frame_classes": list,
    }
    for key, kind in need.items():
        if not _is(attrs.get(key), kind):
            raise CVError(f"corrupt root attrs: {key!r} is {attrs.get(key)!r}", where)
    names = attrs["classes"] + attrs["frame_classes"]
    if attrs["chunk_steps"] < 1 or not all(isinstance(n, str) for n in names):
        raise CVError("corrupt root attrs: chunk_steps or class names", where)
    codec, kind = attrs["codec"], attrs["codec_kind"]
    if kind == OFFICIAL_KIND:
        return CodecKwargs.from_dict(codec, where)  # a `CheckpointError` when corrupt
    if kind != OUR_KIND:
        raise CVError(f"corrupt root attrs: unknown codec_kind {kind!r}", where)
    kinds = {"int": int, "float": (int, float), "bool": bool, "str": str}
    for f in fields(CodecConfig):
        value = codec.get(f.name)
        if f.name in codec and not (
            isinstance(value, bool) if f.type == "bool" else _is(value, kinds[f.type])
        ):
            raise CVError(f"corrupt root attrs: codec {f.name} is {value!r}", where)
    try:
        return CodecConfig.from_dict(codec)
    except (TypeError, ValueError) as e:
        raise CVError(f"corrupt root attrs: codec ({e})", where) from e


def _sha256(codes: np.ndarray, codebook_size: int) -> str:
    """The checksum a store records for a video's codes (G, T', H', W'), as it stores them."""
    h = hashlib.sha256()
    hash_block(h, codes.astype(code_dtype(codebook_size)))
    return h.hexdigest()


def open_code_file(path: str) -> tuple[dict[str, Any], State, np.ndarray]:
    """A code file (.npz of `cvis codec encode`) as a store of one video: its root attrs,
    its state and its codes (G, T', H', W'); `CVError` for a file written without its
    codec's spec (by an older version: encode again). The file's own guard is its zstd
    checksum (a damaged file does not open); the video's sha256 is that of the codes read."""
    codes, meta = load_code_file(path)
    if not isinstance(meta.get("codec_spec"), dict) or not isinstance(meta.get("codec"), str):
        raise CVError("a code file without its codec's spec cannot be read as a store", path)
    g, steps, h, w = codes.shape
    attrs = {
        "format": FORMAT,
        "version": VERSION,
        "codec_kind": meta.get("codec_kind"),
        "codec": meta["codec_spec"],
        "codec_fingerprint": meta["codec"],
        "chunk_codec": DEFAULT,
        "size": None,
        "fps": meta["fps"],
        "chunk_steps": steps,
        "classes": [],
        "frame_classes": [],
    }
    source = str(meta.get("source", path))
    video = {
        "id": source,
        "source": source,
        **{k: meta[k] for k in ("fps", "frames", "height", "width")},
        "label": None,
        "label_index": -1,
        "steps": steps,
        "code_shape": [g, steps, h, w],
        "source_bytes": meta.get("source_bytes", 0),
        "sha256": _sha256(codes.numpy(), meta["codebook_size"]),
    }
    video.update(
        {k: meta[k] for k in ("partial", "declared_frames", "decoded_frames") if k in meta}
    )
    record = VideoRecord(video, "", 0, (codes.nbytes,), 0, path)
    key = video_key(Path(source).name)
    return attrs, State(Index(videos={key: record}), [], []), codes.numpy()


class CodeStore:
    """A store opened for reading (a local path or any fsspec URL), or a code file (.npz)
    as a store of one video. Pickles with its index, so it can be handed to DataLoader
    workers."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None):
        self.files = StoreFiles(url, storage_options)
        self.url, self.storage_options = self.files.url, storage_options
        self._state: State | None = None
        self._codes: np.ndarray | None = None  # a code file's
        if self.url.endswith(".npz"):
            attrs, self._state, self._codes = open_code_file(self.url)
        else:
            attrs = read_root_attrs(self.files)
            check_version(attrs, self.url)
        self.attrs = attrs
        self.codec_config = _check_root_attrs(attrs, self.location(ROOT_META))
        try:
            self.coder = chunk_codec(attrs, self.files)
        except (TypeError, ValueError) as e:
            raise CVError(f"corrupt root attrs: chunk_codec ({e})", self.location(ROOT_META)) from e
        self.fingerprint: str = attrs["codec_fingerprint"]
        self.classes: list[str] = list(attrs["classes"])
        self.frame_classes: list[str] = list(attrs["frame_classes"])
        self.chunk_steps: int = attrs["chunk_steps"]
        self.dtype = code_dtype(self.codec_config.codebook_size)

    @property
    def state(self) -> State:
        """The index of the videos and failures (read once, on first use)."""
        if self._state is None:
            self._state = load_state(self.files)
        return self._state

    def location(self, *parts: str) -> str:
        """The path (or URL) of a file of the store (a code file: itself), for messages."""
        return self.url if self._codes is not None else self.files.location(*parts)

    def check_codec(self, codec: Codec) -> None:
        """Raise `CVError` unless `codec` is the one the store's codes were written with."""
        found = codec.fingerprint()
        if found != self.fingerprint:
            raise CVError(
                f"this store's codes were written by codec {self.fingerprint}, not by the given "
                f"codec {found}: they cannot be read with it",
                self.url,
            )

    def entry(self, key: str, attrs: dict[str, Any]) -> VideoEntry:
        """The entry of a video; `CVError` naming its index when its attrs are corrupt."""
        record = self.state.index.videos.get(key)
        where = self.location(record.where if record else INDEX)
        for name in ("steps", "frames", "height", "width", "label_index"):
            value = attrs.get(name)
            if not _is(value, int) or value < (-1 if name == "label_index" else 1):
                raise CVError(f"corrupt attrs of video {key}: {name} is {value!r}", where)
        if not _is(attrs.get("fps"), (int, float)) or not attrs["fps"] > 0:
            raise CVError(f"corrupt attrs of video {key}: fps is {attrs.get('fps')!r}", where)
        if attrs["label_index"] >= len(self.classes):
            raise CVError(f"corrupt attrs of video {key}: label_index beyond the classes", where)
        shape = self.codec_config.code_shape(attrs["frames"], attrs["height"], attrs["width"])
        steps = shape[1]
        if steps != attrs["steps"]:
            raise CVError(
                f"corrupt attrs of video {key}: {attrs['steps']} code steps recorded for "
                f"{attrs['frames']} frames",
                where,
            )
        if attrs.get("code_shape") != list(shape):
            raise CVError(
                f"corrupt attrs of video {key}: codes {attrs.get('code_shape')} recorded, the "
                f"codec gives {list(shape)} for {attrs['frames']} frames of "
                f"{attrs['height']}x{attrs['width']}",
                where,
            )
        if record is not None and len(record.chunks) != -(-steps // self.chunk_steps):
            raise CVError(f"corrupt index of video {key}: {len(record.chunks)} chunks", where)
        return VideoEntry(key, attrs["steps"], attrs["label_index"], attrs)

    def entries(self, split: str | None = None) -> list[VideoEntry]:
        """The videos, sorted by key (optionally of one split only)."""
        return [
            self.entry(key, r.attrs)
            for key, r in sorted(self.state.index.videos.items())
            if split is None or r.attrs.get("split") == split
        ]

    def incomplete(self) -> list[str]:
        """Packs without an index: being written, or left by a killed build (whose videos
        are not in the store; a resumed build redoes them)."""
        return self.state.unindexed

    def failures(self) -> dict[str, dict[str, Any]]:
        """key -> {"id", "source", "reason"} of every item that could not be stored."""
        return dict(sorted(self.state.index.failures.items()))

    def pack_location(self, key: str) -> str:
        """The pack file that holds a video's codes, for messages."""
        return self.location(pack_path(self._record(key).pack))

    def _record(self, key: str) -> VideoRecord:
        record = self.state.index.videos.get(key)
        if record is None:
            raise CVError(f"no video {key} in the store", self.url)
        return record

    def codes(self, key: str) -> np.ndarray:
        """All the (G, T', H', W') codes of a video."""
        return self.read(key, 0, self._record(key).attrs["steps"])

    def read(self, key: str, start: int, stop: int) -> np.ndarray:
        """Codes of steps [start, stop) of a video, (G, n, H', W'): one read of the byte
        range of the pack that holds the chunks needed. A chunk that is missing, cannot be
        decoded or holds indices beyond the codebook is a `CVError` naming it."""
        record = self._record(key)
        g, steps, h, w = self.codec_config.code_shape(
            *(record.attrs[k] for k in ("frames", "height", "width"))
        )
        stop, step = min(stop, steps), self.chunk_steps
        if start >= stop:
            return np.zeros((g, 0, h, w), self.dtype)
        if self._codes is not None:
            return self._codes[:, start:stop].astype(self.dtype)
        first, last = start // step, (stop - 1) // step
        ends = np.concatenate([[0], np.cumsum(record.chunks)])
        where = self.location(pack_path(record.pack))
        try:
            data = self.files.get(
                pack_path(record.pack),
                record.offset + int(ends[first]),
                record.offset + int(ends[last + 1]),
            )
        except FileNotFoundError as e:
            raise CVError(f"missing pack of video {key}", where) from e
        blocks = []
        for c in range(first, last + 1):
            lo, hi = int(ends[c] - ends[first]), int(ends[c + 1] - ends[first])
            n = min(step, steps - c * step)
            what = f"chunk of video {key} (code steps {c * step}-{c * step + n - 1})"
            if len(data) < hi:
                raise CVError(f"missing {what}: the pack ends before it", where)
            need = min(n, stop - c * step)  # a window ending inside the chunk
            try:
                block = self.coder.decode(
                    data[lo:hi], (g, n, h, w), self.dtype, need if need < n else None
                )
            except Exception as e:
                raise CVError(f"damaged {what}: {type(e).__name__}: {e}", where) from e
            if block.size and int(block.max()) >= self.codec_config.codebook_size:
                raise CVError(
                    f"damaged {what}: index {int(block.max())} is not below the codebook "
                    f"size {self.codec_config.codebook_size}",
                    where,
                )
            blocks.append(block)
        return np.concatenate(blocks, axis=1)[:, start - first * step : stop - first * step]

    def frame_labels(self, key: str, start: int = 0, stop: int | None = None) -> np.ndarray | None:
        """Per-frame class indices of frames [start, stop), int16 (-1: none), or None when
        the video has none (one read)."""
        record = self._record(key)
        if not record.labels:
            return None
        begin = record.offset + sum(record.chunks)
        where = self.location(pack_path(record.pack))
        try:
            data = self.files.get(pack_path(record.pack), begin, begin + record.labels)
            labels = np.frombuffer(LABELS.decode(data), dtype="<i2")
        except Exception as e:
            reason = f"damaged per-frame labels of video {key} ({type(e).__name__}: {e})"
            raise CVError(reason, where) from e
        return labels[start:stop]
