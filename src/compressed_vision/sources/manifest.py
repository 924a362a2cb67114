"""Manifests: the list of videos to put in a store, with their labels, from a source dataset.

- `folder_manifest`: every video under a folder (`sources.folder`: by suffix, recursively,
  hidden files skipped); the label is the name of the file's parent folder (the UCF-101
  layout). Files PyAV cannot read end up in the store's failure list.
- `kinetics_manifest`: a CSV with columns label, youtube_id, time_start, time_end (and
  optionally split). The video is looked up by file name among the videos under `root`: first
  `{youtube_id}_{time_start:06d}_{time_end:06d}.mp4`, an already trimmed clip that is used
  whole; else `{youtube_id}.mp4`, the full video, trimmed to [time_start, time_end) seconds.
  A row with an empty label, bad times (time_end <= time_start) or no video file becomes a
  failure of that item.
- `coin_manifest`: a JSON {"database": {id: {"class": ..., "subset": ..., "annotation":
  [{"segment": [start_s, end_s], "label": ...}, ...]}}} (the COIN layout); the video is
  `{id}.<a video suffix>` under `root`; the segments give per-frame labels. A malformed entry
  (or a segment that ends before it starts) or a missing video becomes a failure of that item.
- `synthetic_manifest`: the procedural dataset of `sources.synthetic`, so no files are needed.

Splits are ours whatever the dataset calls them (`split_name`): train, val and test (COIN's
`training` / `testing`, Kinetics' `validate` are mapped; other names are kept as they are),
both in the items and in the `split` asked for.

A duplicate id with different entries becomes a failure of that id; a `split` that no video
of the file has, a CSV without the columns, or a JSON without a database (or with a key given
twice) is a `CVError`.
"""

from __future__ import annotations

import csv
import hashlib
import json
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from ..errors import CVError
from .folder import find_videos
from .synthetic import CLASS_NAMES, SyntheticConfig


def video_key(item_id: str) -> str:
    """A readable, unique name for an item id (a hash is added when the id had to be
    changed to fit `[A-Za-z0-9._-]`)."""
    key = re.sub(r"[^A-Za-z0-9._-]+", "_", item_id).strip("._") or "video"
    if key != item_id:
        key += "-" + hashlib.sha1(item_id.encode()).hexdigest()[:8]
    return key


# A dataset's own split names -> ours (train / val / test).
SPLIT_NAMES = {"training": "train", "validation": "val", "validate": "val", "testing": "test"}


def split_name(name: str | None) -> str | None:
    """Our name of a dataset's split (None and "" for none; unknown names unchanged)."""
    name = (name or "").strip()
    return SPLIT_NAMES.get(name.lower(), name) or None


Segment = tuple[float, float, str]  # (start seconds, end seconds, label)


@dataclass(frozen=True)
class Item:
    """One video of a manifest. `error` is a problem found while reading the manifest: the
    item is recorded as a failure without being read."""

    id: str
    source: str
    label: str | None = None
    segments: tuple[Segment, ...] = ()
    start: float | None = None  # trim the source to [start, end) seconds
    end: float | None = None
    split: str | None = None
    error: str | None = None

    @property
    def key(self) -> str:
        return video_key(self.id)


@dataclass(frozen=True)
class Manifest:
    """Items sorted by id (unique), the class names of whole-video labels and of per-frame
    labels (a label's index in these lists is what the store and the datasets use)."""

    items: tuple[Item, ...]
    classes: tuple[str, ...]
    frame_classes: tuple[str, ...] = ()
    description: str = ""

    def __len__(self) -> int:
        return len(self.items)


def make_manifest(
    items: list[Item],
    description: str,
    classes: tuple[str, ...] | None = None,
    frame_classes: tuple[str, ...] | None = None,
) -> Manifest:
    """Sort by id, keep one of identical duplicates (a duplicate id with different entries is
    a failure of that id), and collect the class names (sorted) unless given."""
    unique: dict[str, Item] = {}
    for item in items:
        kept = unique.setdefault(item.id, item)
        if kept != item:
            error = f"duplicate id {item.id!r} with different entries in the {description}"
            unique[item.id] = Item(item.id, kept.source, error=error)
    ordered = tuple(sorted(unique.values(), key=lambda i: i.id))
    if classes is None:
        classes = tuple(sorted({i.label for i in ordered if i.label is not None}))
    if frame_classes is None:
        frame_classes = tuple(sorted({s[2] for i in ordered for s in i.segments}))
    return Manifest(ordered, classes, frame_classes, description)


def _need_dir(root: str | Path) -> Path:
    root = Path(root)
    if not root.is_dir():
        raise CVError("is not a folder", root)
    return root


def folder_manifest(root: str | Path) -> Manifest:
    """A folder of videos, label = parent folder's name (None for files directly in root)."""
    root = _need_dir(root)
    items = [
        Item(
            id=path.relative_to(root).as_posix(),
            source=str(path),
            label=None if path.parent == root else path.parent.name,
        )
        for path in find_videos(root)
    ]
    return make_manifest(items, f"folder {root}")


def kinetics_manifest(csv_path: str | Path, root: str | Path, split: str | None = None) -> Manifest:
    """A Kinetics-style CSV (see the module docstring for how files are found and trimmed)."""
    csv_path, root = Path(csv_path), _need_dir(root)
    by_name: dict[str, Path] = {}
    for path in find_videos(root):
        by_name.setdefault(path.name, path)
    try:
        with open(csv_path, newline="") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise CVError(f"cannot read the CSV ({e})", csv_path) from e
    need = {"label", "youtube_id", "time_start", "time_end"}
    if not rows or not need <= set(rows[0]):
        raise CVError(f"a Kinetics CSV needs the columns {sorted(need)}", csv_path)
    splits = [split_name(row.get("split")) for row in rows]
    wanted = _need_split(split, set(splits), csv_path)
    items = []
    for line, (row, row_split) in enumerate(zip(rows, splits, strict=True), start=2):
        if wanted is not None and row_split != wanted:
            continue
        yid = (row["youtube_id"] or "").strip()  # None: a short row
        try:
            start, end = float(row["time_start"]), float(row["time_end"])
        except (TypeError, ValueError):
            items.append(Item(yid, "", error=f"{csv_path} line {line}: bad time_start/time_end"))
            continue
        item_id = f"{yid}_{int(start):06d}_{int(end):06d}"
        label = (row["label"] or "").strip() or None
        common = {"label": label, "split": row_split}
        clip, full = by_name.get(f"{item_id}.mp4"), by_name.get(f"{yid}.mp4")
        if label is None:
            error = f"label missing in the CSV ({csv_path} line {line})"
        elif end <= start:
            error = f"time_end <= time_start ({csv_path} line {line})"
        elif clip is None and full is None:
            error = f"video file not found under {root} (looked for {item_id}.mp4 and {yid}.mp4)"
        else:
            error = None
        if error is not None or clip is not None:
            source = str(clip or root / f"{item_id}.mp4")
            items.append(Item(item_id, source, error=error, **common))
        else:
            items.append(Item(item_id, str(full), start=start, end=end, **common))
    return make_manifest(items, f"kinetics csv {csv_path}")


def coin_manifest(json_path: str | Path, root: str | Path, split: str | None = None) -> Manifest:
    """A COIN-style JSON of annotated segments per video (see the module docstring)."""
    json_path, root = Path(json_path), _need_dir(root)
    try:
        doc = json.loads(json_path.read_text(), object_pairs_hook=_unique_keys)
    except (OSError, ValueError) as e:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CVError(f"cannot read the JSON ({e})", json_path) from e
    database = doc.get("database") if isinstance(doc, dict) else None
    if not isinstance(database, dict):
        raise CVError("not a COIN-style JSON: no 'database' object of videos by id", json_path)
    subsets = {vid: _subset(entry) for vid, entry in database.items()}
    wanted = _need_split(split, set(subsets.values()), json_path)
    by_stem: dict[str, Path] = {}
    for path in find_videos(root):
        by_stem.setdefault(path.stem, path)
    items = []
    for vid, entry in database.items():
        if wanted is not None and subsets[vid] != wanted:
            continue
        try:
            label, segments = _coin_entry(entry)
        except (KeyError, IndexError, TypeError, ValueError) as e:
            items.append(Item(vid, "", error=f"{json_path}: bad entry for video {vid} ({e})"))
            continue
        path = by_stem.get(vid)
        items.append(
            Item(
                vid,
                str(path or root / vid),
                label=label,
                segments=segments,
                split=subsets[vid],
                error=None if path else f"video file not found under {root} (looked for {vid}.*)",
            )
        )
    return make_manifest(items, f"coin json {json_path}")


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object -> dict; ValueError for a key given twice (json keeps the last silently)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key!r} appears twice")
        out[key] = value
    return out


def _subset(entry: Any) -> str | None:
    """A COIN entry's split (its "subset", by our name) when it has one, a string."""
    subset = entry.get("subset") if isinstance(entry, dict) else None
    return split_name(subset) if isinstance(subset, str) else None


def _coin_entry(entry: Any) -> tuple[str | None, tuple[Segment, ...]]:
    """A COIN database entry -> (class, segments); TypeError/ValueError (or KeyError,
    IndexError) for an entry, class or segment that is malformed."""
    if not isinstance(entry, dict):
        raise TypeError(f"the entry is not an object but {entry!r}")
    label = entry.get("class")
    if label is not None and not isinstance(label, str):
        raise TypeError(f"class {label!r} is not a string")
    segments = tuple(
        (float(a["segment"][0]), float(a["segment"][1]), str(a["label"]))
        for a in entry.get("annotation", [])
    )
    for start, end, _ in segments:
        if end < start:
            raise ValueError(f"segment [{start}, {end}] ends before it starts")
    return label, segments


def _need_split(split: str | None, splits: set[str | None], path: Path) -> str | None:
    """Our name of the split asked for; refuse one that no row/entry of the file has (it
    would make an empty store)."""
    wanted = split_name(split)
    if wanted is not None and wanted not in splits:
        found = ", ".join(sorted(s for s in splits if isinstance(s, str))) or "none"
        raise CVError(f"no videos of split {split!r} (its splits: {found})", path)
    return wanted


def synthetic_source(cfg: SyntheticConfig, index: int) -> str:
    """The source string of synthetic item `index`: everything needed to render it."""
    params = {f.name: getattr(cfg, f.name) for f in fields(cfg) if f.name != "num_videos"}
    return f"synthetic:{index}?{urlencode(params)}"


def parse_synthetic(spec: str) -> tuple[int | None, SyntheticConfig]:
    """'synthetic[:INDEX][?key=value&...]' -> (index or None, config)."""
    head, _, query = spec.partition("?")
    _, _, index = head.partition(":")
    types = {f.name: f.type for f in fields(SyntheticConfig)}
    params = {}
    for k, v in parse_qsl(query):
        if k not in types:
            raise CVError(f"unknown synthetic option {k!r}; choose from {sorted(types)}", spec)
        params[k] = float(v) if types[k] == "float" else int(v)
    return (int(index) if index else None), SyntheticConfig(**params)


def synthetic_manifest(cfg: SyntheticConfig, test_videos: int = 0) -> Manifest:
    """The synthetic dataset; whole-video labels of single-segment videos are known here,
    those of multi-segment videos (their most frequent frame label) when rendered. With
    `test_videos`, the last that many videos are the test split and the others train."""
    if not 0 <= test_videos <= cfg.num_videos:
        raise CVError(f"test_videos is {test_videos}, not in [0, {cfg.num_videos}]")
    first_test = cfg.num_videos - test_videos
    items = [
        Item(
            f"synthetic-{i:06d}",
            synthetic_source(cfg, i),
            label=CLASS_NAMES[i % cfg.num_classes] if cfg.segments <= 1 else None,
            split=None if not test_videos else "test" if i >= first_test else "train",
        )
        for i in range(cfg.num_videos)
    ]
    frame_classes = CLASS_NAMES if cfg.segments > 1 else ()
    return make_manifest(items, f"synthetic {cfg}", CLASS_NAMES, frame_classes)


def manifest_from_source(
    source: str | Path, root: str | Path | None = None, split: str | None = None
) -> Manifest:
    """Pick the manifest by the source: 'synthetic[?...]' (SyntheticConfig fields, and
    `test_videos`: the last that many are the test split), a folder, a .csv or a .json
    (`root` defaults to the file's folder)."""
    text = str(source)
    if text == "synthetic" or text.startswith(("synthetic?", "synthetic:")):
        head, _, query = text.partition("?")
        params = dict(parse_qsl(query))
        test_videos = int(params.pop("test_videos", 0))
        return synthetic_manifest(parse_synthetic(f"{head}?{urlencode(params)}")[1], test_videos)
    path = Path(source)
    if path.is_dir():
        return folder_manifest(path)
    if not path.is_file():
        raise CVError("no such file or folder", path)
    if path.suffix.lower() == ".csv":
        return kinetics_manifest(path, root or path.parent, split)
    if path.suffix.lower() == ".json":
        return coin_manifest(path, root or path.parent, split)
    raise CVError("a source is a folder of videos, a .csv, a .json or 'synthetic'", path)
