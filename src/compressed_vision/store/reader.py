"""Opening a store: its codec, its videos (complete ones only), windows of codes, failures.

Damage is a `CVError` naming the file at fault: a garbled `zarr.json` (of the root, of a
video or of its codes) names that file, so the store and the video; a chunk that is missing
or cannot be decoded names the chunk's file, the video's id and the code steps it holds.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
import zarr
from zarr.core.sync import sync

from ..codec.base import Codec, CodeSpec
from ..codec.checkpoint import KIND as OUR_KIND
from ..codec.config import CodecConfig
from ..codec.lossless import CodingError, LearnedPrior, chunk_shape, decode_chunk
from ..errors import CheckpointError, CVError
from ..official.config import CodecKwargs
from ..official.load import KIND as OFFICIAL_KIND
from .layout import FAILURES, FORMAT, VERSION, VIDEOS, open_root
from .learned import LEARNED, chunk_key, get, read_prior


@dataclass(frozen=True)
class VideoEntry:
    """A complete video of the store: its key, code steps, label index and all its attrs."""

    key: str
    steps: int
    label_index: int
    attrs: dict[str, Any]


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    """isinstance, where a bool is no number."""
    return isinstance(value, kind) and not isinstance(value, bool)


def _unreadable(e: Exception) -> str:
    return f"unreadable metadata ({type(e).__name__}: {e})"


def open_store_root(url: str, mode: str = "r", storage_options: dict | None = None) -> zarr.Group:
    """`open_root`, with a missing store and a garbled root `zarr.json` as `CVError`s."""
    try:
        root = open_root(url, mode, storage_options)
    except zarr.errors.ContainsArrayError as e:
        raise CVError("is a zarr array, not a code store", url) from e
    except FileNotFoundError as e:  # zarr.errors.GroupNotFoundError too
        raise CVError("no code store here", url) from e
    except Exception as e:  # a garbled zarr.json: JSON, type or validation errors of zarr
        raise CVError(_unreadable(e), f"{url.rstrip('/')}/zarr.json") from e
    if root.metadata.zarr_format != 3:
        raise CVError(f"zarr format {root.metadata.zarr_format}, not 3", f"{url}/zarr.json")
    return root


def _check_root_attrs(attrs: dict[str, Any], where: str) -> CodeSpec:
    """The shape of the codes (one codec kind's config) of a store's root attrs; `CVError`
    for a missing or mistyped value. Stores without `codec_kind` hold our codecs' codes."""
    need = {
        "codec": dict,
        "codec_fingerprint": str,
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
    codec, kind = attrs["codec"], attrs.get("codec_kind", OUR_KIND)
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


class CodeStore:
    """A store opened for reading. Pickles as its URL (zarr handles are reopened lazily), so
    it can be handed to DataLoader workers."""

    def __init__(self, url: str, storage_options: dict[str, Any] | None = None):
        self.url, self.storage_options = str(url), storage_options
        self._root: zarr.Group | None = None
        attrs = self.root.attrs.asdict()
        if attrs.get("format") != FORMAT:
            raise CVError("is not a code store (no compressed_vision.store root attrs)", url)
        if attrs.get("version") != VERSION:
            raise CVError(f"store format version {attrs.get('version')} != {VERSION}", url)
        self.attrs = attrs
        self.codec_config = _check_root_attrs(attrs, self.location("zarr.json"))
        self.fingerprint: str = attrs["codec_fingerprint"]
        self.classes: list[str] = list(attrs["classes"])
        self.frame_classes: list[str] = list(attrs["frame_classes"])
        self.chunk_steps: int = attrs["chunk_steps"]
        self.lossless: str = attrs.get("lossless", "zstd")
        if self.lossless not in ("zstd", "learned"):
            raise CVError(f"unknown lossless stage {self.lossless!r}", self.location("zarr.json"))
        self._prior: LearnedPrior | None = None

    @property
    def root(self) -> zarr.Group:
        if self._root is None:
            self._root = open_store_root(self.url, "r", self.storage_options)
        return self._root

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_root": None, "_prior": None}

    @property
    def prior(self) -> LearnedPrior:
        """The prior of a learned-coded store (read from the store once)."""
        if self._prior is None:
            where = self.location("prior.safetensors")
            try:
                self._prior = read_prior(self.root, self.fingerprint, where)
            except CheckpointError as e:
                raise CVError(e.reason, where) from e
            if self._prior.fingerprint != self.attrs.get("prior_fingerprint"):
                raise CVError("the store's prior is not the one its codes were written with", where)
        return self._prior

    def location(self, *parts: str) -> str:
        """The path (or URL) of a file of the store, for messages."""
        return "/".join([self.url.rstrip("/"), *parts])

    def check_codec(self, codec: Codec) -> None:
        """Raise `CVError` unless `codec` is the one the store's codes were written with."""
        found = codec.fingerprint()
        if found != self.fingerprint:
            raise CVError(
                f"this store's codes were written by codec {self.fingerprint}, not by the given "
                f"codec {found}: they cannot be read with it",
                self.url,
            )

    def _node(self, path: str, missing: str | None = None) -> zarr.Group | zarr.Array | None:
        """The node at `path`, or None when there is none and `missing` is None (else a
        `CVError` saying it is missing); a garbled `zarr.json` is a `CVError` naming it."""
        try:
            return self.root[path]
        except KeyError as e:
            if missing is None:
                return None
            raise CVError(missing, self.location(path)) from e
        except Exception as e:
            raise CVError(_unreadable(e), self.location(path, "zarr.json")) from e

    def scan(self, name: str) -> tuple[dict[str, dict[str, Any]], dict[str, CVError]]:
        """(key -> attrs of every group under `name`, key -> error of each group whose
        metadata cannot be read); metadata is read concurrently."""
        parent = self._node(name)
        if parent is None:
            return {}, {}
        try:
            return {
                key: node.attrs.asdict()
                for key, node in parent.members()
                if isinstance(node, zarr.Group)
            }, {}
        except Exception:  # some member's metadata is garbled: read them one by one
            pass
        found, errors = {}, {}
        for key in sync(_list_dir(parent)):
            try:
                node = self._node(f"{name}/{key}")
            except CVError as e:
                errors[key] = e
                continue
            if isinstance(node, zarr.Group):  # None: not a node (zarr's listing skips it)
                found[key] = node.attrs.asdict()
        return found, errors

    def _groups(self, name: str) -> dict[str, dict[str, Any]]:
        found, errors = self.scan(name)
        if errors:
            raise next(iter(errors.values()))
        return found

    def entry(self, key: str, attrs: dict[str, Any]) -> VideoEntry:
        """The entry of a complete video; `CVError` naming it when its attrs are corrupt."""
        where = self.location(VIDEOS, key, "zarr.json")
        for name in ("steps", "frames", "height", "width", "label_index"):
            value = attrs.get(name)
            if not _is(value, int) or value < (-1 if name == "label_index" else 1):
                raise CVError(f"corrupt attrs of video {key}: {name} is {value!r}", where)
        if not _is(attrs.get("fps"), (int, float)) or not attrs["fps"] > 0:
            raise CVError(f"corrupt attrs of video {key}: fps is {attrs.get('fps')!r}", where)
        if attrs["label_index"] >= len(self.classes):
            raise CVError(f"corrupt attrs of video {key}: label_index beyond the classes", where)
        shape = self.codec_config.code_shape(attrs["frames"], attrs["height"], attrs["width"])
        if shape[1] != attrs["steps"]:
            raise CVError(
                f"corrupt attrs of video {key}: {attrs['steps']} code steps recorded for "
                f"{attrs['frames']} frames",
                where,
            )
        if attrs.get("code_shape", list(shape)) != list(shape):
            raise CVError(
                f"corrupt attrs of video {key}: codes {attrs['code_shape']} recorded, the "
                f"codec gives {list(shape)} for {attrs['frames']} frames of "
                f"{attrs['height']}x{attrs['width']}",
                where,
            )
        return VideoEntry(key, attrs["steps"], attrs["label_index"], attrs)

    def entries(self, split: str | None = None) -> list[VideoEntry]:
        """Complete videos, sorted by key (optionally of one split only)."""
        return [
            self.entry(key, a)
            for key, a in sorted(self._groups(VIDEOS).items())
            if a.get("complete") and (split is None or a.get("split") == split)
        ]

    def incomplete(self) -> list[str]:
        """Videos whose writing was interrupted (a resumed build redoes them)."""
        return sorted(k for k, a in self._groups(VIDEOS).items() if not a.get("complete"))

    def failures(self) -> dict[str, dict[str, Any]]:
        """key -> {"id", "source", "reason"} of every item that could not be stored."""
        return dict(sorted(self._groups(FAILURES).items()))

    def codes(self, key: str) -> zarr.Array:
        """The (G, T', H', W') codes array of a video (lazy: index it to read)."""
        codes = self._node(f"{VIDEOS}/{key}/codes", missing=f"video {key} has no codes array")
        g = self.codec_config.num_codebooks
        if (
            not isinstance(codes, zarr.Array)
            or codes.ndim != 4
            or codes.shape[0] != g
            or codes.dtype.kind != "u"
        ):
            raise CVError(
                f"video {key}: codes of {codes.dtype} {codes.shape}, not ({g}, T', H', W') "
                "unsigned",
                self.location(VIDEOS, key, "codes", "zarr.json"),
            )
        return codes

    def read(self, key: str, start: int, stop: int) -> np.ndarray:
        """Codes of steps [start, stop) of a video, (G, n, H', W'); only the chunks that
        hold them are read. A chunk that is missing, cannot be decoded or holds indices
        beyond the codebook is a `CVError` naming it."""
        codes = self.codes(key)
        if self.lossless == "learned":
            return self._read_learned(key, codes, start, min(stop, codes.shape[1]))
        stop, step, error = min(stop, codes.shape[1]), codes.chunks[1], None
        try:
            out = codes[:, start:stop]
        except Exception as e:  # find the chunk at fault, below
            out, error = None, e
        for first in range(start // step * step, stop, step):
            lo, hi = max(first, start) - start, min(first + step, stop) - start
            self._check_chunk(key, codes, first, None if out is None else out[:, lo:hi])
        if out is None:
            raise CVError(
                f"the codes of video {key} cannot be read ({type(error).__name__}: {error})",
                self.location(VIDEOS, key, "codes"),
            ) from error
        return out

    def _read_learned(self, key: str, codes: zarr.Array, start: int, stop: int) -> np.ndarray:
        """Steps [start, stop) of a learned-coded video: each chunk decoded from its first
        step up to what is needed."""
        step, (g, total, h, w) = codes.chunks[1], codes.shape
        parts = [np.zeros((g, 0, h, w), dtype=codes.dtype)]
        for first in range(start // step * step, stop, step):
            index, want = first // step, min(first + step, stop) - first
            where = self.location(VIDEOS, key, LEARNED, str(index))
            what = f"chunk {index} of video {key} (code steps {first}-{first + step - 1})"
            data = get(self.root, chunk_key(codes.store_path.path.rsplit("/", 1)[0], index))
            if data is None:
                raise CVError(f"missing {what}", where)
            try:
                shape = chunk_shape(data)
                if shape != (min(step, total - first), h, w):
                    raise CodingError(f"holds {shape} (steps, height, width)")
                part = decode_chunk(data, self.prior.integer, want)
            except CodingError as e:
                raise CVError(f"damaged {what}: {e}", where) from e
            parts.append(part[:, max(start - first, 0) :].astype(codes.dtype))
        return np.concatenate(parts, axis=1)

    def _check_chunk(self, key: str, codes: zarr.Array, first: int, part: np.ndarray | None):
        """Raise `CVError` when the chunk from code step `first` cannot be read (`part` None:
        it raised), is missing (only then do its codes read as all zeros), or holds indices
        >= K."""
        name = codes.metadata.encode_chunk_key((0, first // codes.chunks[1], 0, 0))
        where = self.location(VIDEOS, key, "codes", *name.split("/"))
        what = f"chunk of video {key} (code steps {first}-{first + codes.chunks[1] - 1})"
        if part is None:
            try:
                part = codes[:, first : first + codes.chunks[1]]
            except Exception as e:
                raise CVError(f"damaged {what}: {type(e).__name__}: {e}", where) from e
        if not part.any():
            store, path = codes.store_path.store, f"{codes.store_path.path}/{name}"
            if not sync(store.exists(path)):
                raise CVError(f"missing {what}", where)
        if part.size and int(part.max()) >= self.codec_config.codebook_size:
            raise CVError(
                f"damaged {what}: index {int(part.max())} is not below the codebook size "
                f"{self.codec_config.codebook_size}",
                where,
            )

    def frame_labels(self, key: str, start: int = 0, stop: int | None = None) -> np.ndarray | None:
        """Per-frame class indices of frames [start, stop), int16 (-1: none), or None when
        the video has none."""
        path = f"{VIDEOS}/{key}/frame_labels"
        labels = self._node(path)
        if labels is None:
            return None
        try:
            return labels[start:stop]
        except Exception as e:
            reason = f"damaged per-frame labels of video {key} ({type(e).__name__}: {e})"
            raise CVError(reason, self.location(path)) from e


async def _list_dir(group: zarr.Group) -> list[str]:
    return [key async for key in group.store.list_dir(group.path)]
