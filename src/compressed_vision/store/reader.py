"""Opening a store: its codec, its videos (complete ones only), windows of codes, failures."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr

from ..codec.checkpoint import codec_fingerprint
from ..codec.config import CodecConfig
from ..codec.model import VideoCodec
from ..errors import CVError
from .layout import FAILURES, FORMAT, VERSION, VIDEOS, open_root


@dataclass(frozen=True)
class VideoEntry:
    """A complete video of the store: its key, code steps, label index and all its attrs."""

    key: str
    steps: int
    label_index: int
    attrs: dict[str, Any]


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
        self.codec_config = CodecConfig.from_dict(attrs["codec"])
        self.fingerprint: str = attrs["codec_fingerprint"]
        self.classes: list[str] = list(attrs["classes"])
        self.frame_classes: list[str] = list(attrs["frame_classes"])
        self.chunk_steps: int = attrs["chunk_steps"]

    @property
    def root(self) -> zarr.Group:
        if self._root is None:
            try:
                self._root = open_root(self.url, "r", self.storage_options)
            except FileNotFoundError as e:  # zarr.errors.GroupNotFoundError too
                raise CVError("no code store here", self.url) from e
        return self._root

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_root": None}

    def check_codec(self, codec: VideoCodec) -> None:
        """Raise `CVError` unless `codec` is the one the store's codes were written with."""
        found = codec_fingerprint(codec)
        if found != self.fingerprint:
            raise CVError(
                f"this store's codes were written by codec {self.fingerprint}, not by the given "
                f"codec {found}: they cannot be read with it",
                self.url,
            )

    def _groups(self, name: str) -> dict[str, dict[str, Any]]:
        """name -> attrs of every group under `name` (metadata read concurrently)."""
        if name not in self.root:
            return {}
        return {
            key: node.attrs.asdict()
            for key, node in self.root[name].members()
            if isinstance(node, zarr.Group)
        }

    def entries(self, split: str | None = None) -> list[VideoEntry]:
        """Complete videos, sorted by key (optionally of one split only)."""
        return [
            VideoEntry(key, a["steps"], a["label_index"], a)
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
        return self.root[f"{VIDEOS}/{key}/codes"]

    def read(self, key: str, start: int, stop: int) -> np.ndarray:
        """Codes of steps [start, stop) of a video, (G, n, H', W'); only the chunks that
        hold them are read."""
        return self.codes(key)[:, start:stop]

    def frame_labels(self, key: str, start: int = 0, stop: int | None = None) -> np.ndarray | None:
        """Per-frame class indices of frames [start, stop), int16 (-1: none), or None when
        the video has none."""
        path = f"{VIDEOS}/{key}/frame_labels"
        return self.root[path][start:stop] if path in self.root else None
