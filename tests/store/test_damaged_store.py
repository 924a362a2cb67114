"""A damaged store at every door that reads it: `CodeStore`, `cvis store info`, `cvis store
verify`, the training datasets (`RandomCodeWindows`, `SequentialCodeWindows`) and the
downstream tasks' `CodeReader`.

- A garbled `zarr.json` (not JSON, the wrong structure, mistyped or missing attrs) is a
  `CVError` naming that file, so the store and, below the root, the video. Where it is the
  root's, every door refuses the store (the CLI: exit 2, `error: <file>: <reason>`). Where it
  is a video's, `store verify` reports that video as damaged and checks the others (exit 1),
  and the other doors refuse; where it is a video's codes array, only the doors that read
  codes (verify, the datasets) see it.
- A chunk file deleted, emptied, cut or with bytes flipped: reading a window that needs it is
  a `CVError` naming the chunk's file, the video and its code steps (not a zarr or numcodecs
  traceback, and never zeros for the lost chunk); the windows that do not need it read; verify
  reports the video.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from compressed_vision.cli import app
from compressed_vision.errors import CVError
from compressed_vision.store import (
    CodeStore,
    RandomCodeWindows,
    SequentialCodeWindows,
    build_store,
    folder_manifest,
)
from compressed_vision.tasks.data import CodeReader
from compressed_vision.video.io import write_video
from tests.store.conftest import clip

runner = CliRunner()
STEPS = 4  # code steps per window and per chunk


@pytest.fixture(scope="module")
def built(codec, tmp_path_factory) -> Path:
    """A store of 2 videos of 20 code steps (5 chunks each) and 12 steps, labelled."""
    root = tmp_path_factory.mktemp("damaged")
    write_video(root / "v" / "a" / "long.mp4", clip(20), fps=25)
    write_video(root / "v" / "b" / "short.mp4", clip(12, shift=5), fps=25)
    out = root / "s.zarr"
    build_store(folder_manifest(root / "v"), codec, str(out), progress=False, chunk_steps=STEPS)
    return out


@pytest.fixture
def store(built, tmp_path) -> tuple[Path, str]:
    """A fresh copy of the store to damage, and the key of its 20-step video."""
    out = tmp_path / "s.zarr"
    shutil.copytree(built, out)
    key = next(e.key for e in CodeStore(str(out)).entries() if e.steps == 20)
    return out, key


def edit_json(change: Callable[[dict], object]) -> Callable[[str], str]:
    """A zarr.json edit: `change` the parsed document in place."""

    def edit(text: str) -> str:
        doc = json.loads(text)
        change(doc)
        return json.dumps(doc)

    return edit


def halve(text: str) -> str:
    return text[: len(text) // 2]


def set_attr(**values) -> Callable[[str], str]:
    return edit_json(lambda d: d["attributes"].update(values))


# case -> (zarr.json under the store, with {key} for the video; the edit; the reason; the
# level: "root", "video" or "codes")
METADATA_CASES = {
    "root: not JSON (cut)": ("zarr.json", halve, "unreadable metadata .*JSONDecodeError", "root"),
    "root: a JSON list": ("zarr.json", lambda t: "[1, 2]", "unreadable metadata", "root"),
    "root: an array, not a group": (
        "zarr.json",
        edit_json(lambda d: d.update(node_type="array")),
        "is a zarr array, not a code store",
        "root",
    ),
    "root: zarr format 2": (
        "zarr.json",
        edit_json(lambda d: d.update(zarr_format=2)),
        "zarr format 2, not 3",
        "root",
    ),
    "root: no attrs": (
        "zarr.json",
        edit_json(lambda d: d.update(attributes={})),
        "is not a code store",
        "root",
    ),
    "root: classes missing": (
        "zarr.json",
        edit_json(lambda d: d["attributes"].pop("classes")),
        "corrupt root attrs: 'classes' is None",
        "root",
    ),
    "root: a codec value of the wrong type": (
        "zarr.json",
        edit_json(lambda d: d["attributes"]["codec"].update(channels="8")),
        "corrupt root attrs: codec channels is '8'",
        "root",
    ),
    "root: a codec value out of range": (
        "zarr.json",
        edit_json(lambda d: d["attributes"]["codec"].update(spatial_factor=3)),
        "corrupt root attrs: codec .*power of two",
        "root",
    ),
    "videos group: not JSON": ("videos/zarr.json", halve, "unreadable metadata", "root"),
    "video: not JSON (cut)": ("videos/{key}/zarr.json", halve, "unreadable metadata", "video"),
    "video: bytes flipped": (
        "videos/{key}/zarr.json",
        lambda t: t.replace("{", "\x00", 1),
        "unreadable metadata",
        "video",
    ),
    "video: attrs a list": (
        "videos/{key}/zarr.json",
        edit_json(lambda d: d.update(attributes=[1])),
        "unreadable metadata",
        "video",
    ),
    "video: steps a string": (
        "videos/{key}/zarr.json",
        set_attr(steps="20"),
        "corrupt attrs of video {key}: steps is '20'",
        "video",
    ),
    "video: frames missing": (
        "videos/{key}/zarr.json",
        edit_json(lambda d: d["attributes"].pop("frames")),
        "corrupt attrs of video {key}: frames is None",
        "video",
    ),
    "video: steps that do not fit the frames": (
        "videos/{key}/zarr.json",
        set_attr(steps=7),
        "corrupt attrs of video {key}: 7 code steps recorded for 20 frames",
        "video",
    ),
    "video: label index beyond the classes": (
        "videos/{key}/zarr.json",
        set_attr(label_index=5),
        "label_index beyond the classes",
        "video",
    ),
    "codes: not JSON": ("videos/{key}/codes/zarr.json", halve, "unreadable metadata", "codes"),
    "codes: an unknown data type": (
        "videos/{key}/codes/zarr.json",
        edit_json(lambda d: d.update(data_type="float99")),
        "unreadable metadata .*float99",
        "codes",
    ),
    "codes: float data": (
        "videos/{key}/codes/zarr.json",
        edit_json(lambda d: d.update(data_type="float32", fill_value=0.0)),
        "codes of float32",
        "codes",
    ),
    "codes: fewer steps than recorded": (
        "videos/{key}/codes/zarr.json",
        edit_json(lambda d: d.update(shape=[4, 3, 4, 4])),
        r"read as \(4, [0-3], 4, 4\), not \(4, 4, 4, 4\)|3 code steps stored, 20 recorded",
        "codes",
    ),
}


def damage_metadata(out: Path, key: str, case: str) -> tuple[Path, str]:
    """Apply the case; returns (the file the error must name, the reason)."""
    rel, edit, reason, level = METADATA_CASES[case]
    path = out / rel.format(key=key)
    path.write_text(edit(path.read_text()))
    named = out if reason in ("is a zarr array, not a code store", "is not a code store") else path
    if level == "codes" and "read as" in reason:
        named = path.parent  # the codes array, whose shape disagrees with its attrs
    return named, reason.format(key=re.escape(key))


def read_everything(url: str) -> list:
    """What a training run does: both datasets and the CodeReader, every window."""
    got = []
    for ds in (RandomCodeWindows(url, STEPS), SequentialCodeWindows(url, STEPS)):
        got += [ds[i] for i in range(len(ds))]
    reader = CodeReader(CodeStore(url))
    got += [reader.read(v, 0, STEPS, r.steps) for v, r in enumerate(reader.videos)]
    return got


def cli(*args) -> object:
    return runner.invoke(app, [str(a) for a in args])


def assert_cv_error(call: Callable[[], object], named: Path, reason: str) -> None:
    with pytest.raises(CVError) as info:
        call()
    assert str(named) in str(info.value) and re.search(reason, str(info.value)), info.value


def assert_cli_refuses(res, named: Path, reason: str) -> None:
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output, res.output
    assert f"error: {named}: " in res.output and re.search(reason, res.output), res.output


def test_the_undamaged_store_reads_everywhere(built):
    url = str(built)
    assert len(read_everything(url)) == 2 + (5 + 3) + 2
    assert cli("store", "info", url).exit_code == 0
    assert cli("store", "verify", url).exit_code == 0


@pytest.mark.parametrize("case", list(METADATA_CASES))
def test_garbled_metadata(case, store):
    out, key = store
    named, reason = damage_metadata(out, key, case)
    level, url = METADATA_CASES[case][3], str(out)
    if level == "codes":  # the metadata of videos is fine: only reading codes finds it
        assert len(CodeStore(url).entries()) == 2
        assert cli("store", "info", url).exit_code == 0
    else:
        assert_cv_error(lambda: CodeStore(url).entries(), named, reason)
        assert_cli_refuses(cli("store", "info", url), named, reason)
    assert_cv_error(lambda: read_everything(url), named, reason)
    res = cli("store", "verify", url)
    if level == "root":
        assert_cli_refuses(res, named, reason)
        return
    assert res.exit_code == 1 and "Traceback" not in res.output, res.output
    assert f"damaged: {key}: " in res.output and "2 videos checked, 1 damaged" in res.output
    assert re.search(reason, res.output), res.output


def flip(data: bytes, at: int, n: int = 3) -> bytes:
    """`data` with `n` bytes from `at` inverted."""
    return data[:at] + bytes(x ^ 0xFF for x in data[at : at + n]) + data[at + n :]


# case -> (how the chunk file of code steps 8-11 is damaged, the reason)
CHUNK_CASES: dict[str, tuple[Callable[[bytes], bytes] | None, str]] = {
    "deleted": (None, "missing chunk"),
    "emptied": (lambda b: b"", "damaged chunk: RuntimeError: Zstd decompression error"),
    "cut in half": (
        lambda b: b[: len(b) // 2],
        "damaged chunk: RuntimeError: Zstd decompression error",
    ),
    "magic number flipped": (
        lambda b: flip(b, 0),
        "damaged chunk: RuntimeError: Zstd decompression error",
    ),
    "bytes in the middle flipped": (
        lambda b: flip(b, len(b) // 2),
        "damaged chunk: RuntimeError: Zstd decompression error.*checksum",  # zstd checksum
    ),
    "zeroed": (lambda b: bytes(len(b)), "damaged chunk: RuntimeError: Zstd decompression error"),
}


@pytest.mark.parametrize("case", list(CHUNK_CASES))
def test_a_damaged_chunk_while_training(case, store):
    out, key = store
    chunk = out / "videos" / key / "codes" / "c" / "0" / "2" / "0" / "0"  # steps 8-11
    damage, reason = CHUNK_CASES[case]
    if damage is None:
        chunk.unlink()
    else:
        chunk.write_bytes(damage(chunk.read_bytes()))
    url = str(out)
    kind, _, detail = reason.partition(" chunk")
    reason = f"{kind} chunk of video {re.escape(key)} \\(code steps 8-11\\){detail}"
    sequential, random = SequentialCodeWindows(url, STEPS), RandomCodeWindows(url, STEPS)
    v = sequential.keys.index(key)
    reader = CodeReader(CodeStore(url))
    window = int(np.flatnonzero((sequential.index == [v, 8]).all(1))[0])
    assert_cv_error(lambda: sequential[window], chunk, reason)
    for start in (8, 6, 11):  # the windows that need steps 8-11
        assert_cv_error(lambda s=start: random.window(v, s), chunk, reason)
        assert_cv_error(lambda s=start: reader.read(v, s, STEPS, 20), chunk, reason)
    for start in (0, 4, 12, 16):  # the others read
        assert sequential.window(v, start)["valid"] == STEPS
        assert reader.read(v, start, STEPS, 20)[0].shape == (4, STEPS, 4, 4)
    res = cli("store", "verify", url)
    assert res.exit_code == 1 and f"damaged: {key}: {chunk}: " in res.output, res.output
