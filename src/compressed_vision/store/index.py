"""Indexes of videos and failures: a pack's own (`packs/<name>.idx`) and the consolidated one
(`index.cvi`); reading the store's state from them, and consolidating.

An index is zstd-compressed JSON (with a content checksum) of columns: per video its key,
pack, byte offset, the byte size of each chunk and of its per-frame labels, and its attrs;
per failure its key and attrs. Attrs that every row has become columns, the rest stay per row.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from numcodecs import Zstd

from ..errors import CVError
from .layout import FORMAT, INDEX, INDEX_SUFFIX, PACK_SUFFIX, PACKS, VERSION, StoreFiles

_ZSTD = Zstd(level=9, checksum=True)


@dataclass(frozen=True)
class VideoRecord:
    """Where a video's codes are: chunks of `chunks[i]` bytes from byte `offset` of pack
    `pack`, then `labels` bytes of per-frame labels (0: none). `where` is the index file the
    record was read from (for messages)."""

    attrs: dict[str, Any]
    pack: str
    offset: int
    chunks: tuple[int, ...]
    labels: int
    where: str = INDEX


@dataclass
class Index:
    """Videos and failures by key, and the packs they come from."""

    packs: list[str] = field(default_factory=list)
    videos: dict[str, VideoRecord] = field(default_factory=dict)
    failures: dict[str, dict[str, Any]] = field(default_factory=dict)

    def add_video(self, key: str, record: VideoRecord) -> None:
        self.failures.pop(key, None)
        self.videos[key] = record

    def add_failure(self, key: str, attrs: dict[str, Any]) -> None:
        self.videos.pop(key, None)
        self.failures[key] = attrs

    def update(self, later: Index) -> None:
        """Take in a later index: its record of a key replaces ours."""
        self.packs += later.packs
        for key, record in later.videos.items():
            self.add_video(key, record)
        for key, attrs in later.failures.items():
            self.add_failure(key, attrs)


def _columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    common = [k for k in rows[0] if all(k in r for r in rows)] if rows else []
    return {
        "columns": {k: [r[k] for r in rows] for k in common},
        "extra": [{k: v for k, v in r.items() if k not in common} for r in rows],
    }


def _rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    columns = doc["columns"]
    return [
        {**{k: values[i] for k, values in columns.items()}, **extra}
        for i, extra in enumerate(doc["extra"])
    ]


def encode_index(index: Index) -> bytes:
    number = {name: i for i, name in enumerate(index.packs)}
    videos = sorted(index.videos.items())
    failures = sorted(index.failures.items())
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "packs": index.packs,
        "videos": {
            "key": [k for k, _ in videos],
            "pack": [number[r.pack] for _, r in videos],
            "offset": [r.offset for _, r in videos],
            "chunks": [list(r.chunks) for _, r in videos],
            "labels": [r.labels for _, r in videos],
            "attrs": _columns([r.attrs for _, r in videos]),
        },
        "failures": {"key": [k for k, _ in failures], "attrs": _columns([a for _, a in failures])},
    }
    return bytes(_ZSTD.encode(json.dumps(doc, separators=(",", ":")).encode()))


def decode_index(data: bytes, where: str) -> Index:
    """The index in `data`; ValueError/KeyError/TypeError/RuntimeError when it is damaged."""
    doc = json.loads(bytes(_ZSTD.decode(data)))
    if doc["format"] != FORMAT or doc["version"] != VERSION:
        raise ValueError(f"not a version {VERSION} index of a code store")
    v, f = doc["videos"], doc["failures"]
    packs = [str(p) for p in doc["packs"]]
    index = Index(packs)
    for key, pack, offset, chunks, labels, attrs in zip(
        v["key"], v["pack"], v["offset"], v["chunks"], v["labels"], _rows(v["attrs"]), strict=True
    ):
        if not isinstance(attrs, dict):
            raise TypeError(f"attrs of video {key} are not an object")
        sizes = tuple(int(n) for n in chunks)
        index.videos[str(key)] = VideoRecord(attrs, packs[pack], int(offset), sizes, labels, where)
    for key, attrs in zip(f["key"], _rows(f["attrs"]), strict=True):
        index.failures[str(key)] = attrs
    return index


def pack_index_path(name: str) -> str:
    return f"{PACKS}/{name}{INDEX_SUFFIX}"


def pack_path(name: str) -> str:
    return f"{PACKS}/{name}{PACK_SUFFIX}"


def read_index(files: StoreFiles, rel: str) -> Index:
    data = files.get(rel)
    try:
        return decode_index(data, rel)
    except Exception as e:  # garbled: zstd, JSON, structure
        raise CVError(f"unreadable index ({type(e).__name__}: {e})", files.location(rel)) from e


@dataclass
class State:
    """What a store holds: the merged index; the indexed packs that `index.cvi` does not
    cover yet; the packs without an index (being written, or left by a killed writer: their
    videos are not in the store)."""

    index: Index
    pending: list[str]
    unindexed: list[str]


def load_state(files: StoreFiles) -> State:
    """The consolidated index plus the packs indexed since: a listing of `packs/`, one read of
    `index.cvi`, and one read per pack index it does not cover yet."""
    names = files.listdir(PACKS)
    indexed = [n[: -len(INDEX_SUFFIX)] for n in names if n.endswith(INDEX_SUFFIX)]
    packs = {n[: -len(PACK_SUFFIX)] for n in names if n.endswith(PACK_SUFFIX)}
    try:
        index = read_index(files, INDEX)
    except FileNotFoundError:
        index = Index()
    covered = set(index.packs)
    pending = [name for name in indexed if name not in covered]  # sorted: by creation time
    for name in pending:
        index.update(read_index(files, pack_index_path(name)))
    return State(index, pending, sorted(packs - set(indexed) - covered))


def consolidate(files: StoreFiles) -> State:
    """Write `index.cvi` anew when packs were indexed since it was written."""
    state = load_state(files)
    if state.pending:
        files.put(INDEX, encode_index(state.index))
    return state


def remove_unindexed(files: StoreFiles) -> list[str]:
    """Delete the packs without an index (left by a killed writer; their videos are redone
    by the resumed build). Only while no writer is running."""
    state = load_state(files)
    for name in state.unindexed:
        files.fs.rm(files.path(pack_path(name)))
    return state.unindexed
