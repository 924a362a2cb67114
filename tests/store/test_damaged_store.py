"""A damaged store at every door that reads it: `CodeStore`, `cvis store info`, `cvis store
verify`, the training datasets (`RandomCodeWindows`, `SequentialCodeWindows`) and the
downstream tasks' `CodeReader`.

- A garbled root `zarr.json` or index (not JSON or zstd, the wrong structure, mistyped or
  missing attrs) is a `CVError` naming that file: every door refuses the store (the CLI:
  exit 2, `error: <file>: <reason>`). Corrupt attrs of one video name the index and the
  video: `store verify` reports that video as damaged and checks the others (exit 1), and
  the other doors refuse; a record pointing past its pack is seen only by the doors that
  read codes (verify, the datasets).
- A chunk with bytes zeroed or flipped (zstd-coded or learned-coded), a pack cut short or
  deleted: reading a window that needs it is a `CVError` naming the pack, the video and its
  code steps (not a numcodecs or range-coder traceback, and never zeros or wrong indices
  for lost bytes); the windows that do not need it read; verify reports the video.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from compressed_vision.cli.main import app
from compressed_vision.errors import CVError
from compressed_vision.sources import folder_manifest
from compressed_vision.store import CodeStore, RandomCodeWindows, SequentialCodeWindows, build_store
from compressed_vision.store.index import decode_index, encode_index, pack_path
from compressed_vision.store.layout import INDEX
from compressed_vision.tasks.data import CodeReader
from compressed_vision.video.io import write_video
from tests.store.conftest import clip
from tests.store.test_learned_store import tiny_prior

runner = CliRunner()
STEPS = 4  # code steps per window and per chunk


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> Path:
    """2 videos of 20 code steps (5 chunks each) and 12 steps, labelled."""
    root = tmp_path_factory.mktemp("damaged")
    write_video(root / "v" / "a" / "long.mp4", clip(20), fps=25)
    write_video(root / "v" / "b" / "short.mp4", clip(12, shift=5), fps=25)
    return root / "v"


def _build(videos: Path, codec, prior=None) -> Path:
    out = videos.parent / ("learned.zarr" if prior else "s.zarr")
    manifest = folder_manifest(videos)
    build_store(manifest, codec, str(out), progress=False, chunk_steps=STEPS, prior=prior)
    return out


@pytest.fixture(scope="module")
def built(videos, codec) -> Path:
    """A store of the 2 videos (zstd-coded chunks)."""
    return _build(videos, codec)


@pytest.fixture(scope="module")
def built_learned(videos, codec) -> Path:
    """The store learned-coded (with a tiny prior)."""
    return _build(videos, codec, tiny_prior(codec))


def fresh(built: Path, tmp_path: Path) -> tuple[Path, str]:
    """A fresh copy of a store to damage, and the key of its 20-step video."""
    out = tmp_path / "s.zarr"
    shutil.copytree(built, out)
    key = next(e.key for e in CodeStore(str(out)).entries() if e.steps == 20)
    return out, key


@pytest.fixture
def store(built, tmp_path) -> tuple[Path, str]:
    return fresh(built, tmp_path)


def edit_json(change: Callable[[dict], object]) -> Callable[[bytes], bytes]:
    """A zarr.json edit: `change` the parsed document in place."""

    def edit(data: bytes) -> bytes:
        doc = json.loads(data)
        change(doc)
        return json.dumps(doc).encode()

    return edit


def edit_index(change: Callable[[dict], object], **fields) -> Callable[[bytes], bytes]:
    """An index edit: `change` the attrs of the 20-step video in place, and replace these
    `fields` of its record."""

    def edit(data: bytes) -> bytes:
        index = decode_index(data, INDEX)
        key = next(k for k, r in index.videos.items() if r.attrs["steps"] == 20)
        change(index.videos[key].attrs)
        index.videos[key] = dataclasses.replace(index.videos[key], **fields)
        return encode_index(index)

    return edit


def halve(data: bytes) -> bytes:
    return data[: len(data) // 2]


def set_attr(**values) -> Callable[[bytes], bytes]:
    return edit_index(lambda a: a.update(values))


# case -> (file under the store; the edit; the reason, with {key} for the video; the level:
# "root", "video" or "codes")
METADATA_CASES = {
    "root: not JSON (cut)": ("zarr.json", halve, "unreadable metadata .*JSONDecodeError", "root"),
    "root: a JSON list": ("zarr.json", lambda t: b"[1, 2]", "unreadable metadata", "root"),
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
    "root: an unknown chunk codec": (
        "zarr.json",
        edit_json(lambda d: d["attributes"]["chunk_codec"].update(name="zip")),
        "corrupt root attrs: chunk_codec .*unknown chunk codec 'zip'",
        "root",
    ),
    "root: an unknown codec kind": (
        "zarr.json",
        edit_json(lambda d: d["attributes"].update(codec_kind="vae")),
        "corrupt root attrs: unknown codec_kind 'vae'",
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
    "index: cut": (INDEX, halve, "unreadable index", "root"),
    "index: bytes flipped": (
        INDEX,
        lambda b: flip(b, len(b) // 2),
        "unreadable index .*(checksum|Zstd)",
        "root",
    ),
    "video: steps a string": (
        INDEX,
        set_attr(steps="20"),
        "corrupt attrs of video {key}: steps is '20'",
        "video",
    ),
    "video: frames missing": (
        INDEX,
        edit_index(lambda a: a.pop("frames")),
        "corrupt attrs of video {key}: frames is None",
        "video",
    ),
    "video: steps that do not fit the frames": (
        INDEX,
        set_attr(steps=7),
        "corrupt attrs of video {key}: 7 code steps recorded for 20 frames",
        "video",
    ),
    "video: a code shape the codec does not give": (
        INDEX,
        set_attr(code_shape=[4, 20, 5, 4]),
        "corrupt attrs of video {key}: codes \\[4, 20, 5, 4\\] recorded, the codec gives",
        "video",
    ),
    "video: label index beyond the classes": (
        INDEX,
        set_attr(label_index=5),
        "label_index beyond the classes",
        "video",
    ),
    "video: chunks missing from its record": (
        INDEX,
        edit_index(lambda a: None, chunks=(10, 10)),
        "corrupt index of video {key}: 2 chunks",
        "video",
    ),
    "video: an offset past its pack": (
        INDEX,
        edit_index(lambda a: None, offset=10**6),
        "missing chunk of video {key} .*the pack ends before it",
        "codes",
    ),
}


def damage_metadata(out: Path, key: str, case: str) -> tuple[Path, str]:
    """Apply the case; returns (the file the error must name, the reason)."""
    rel, edit, reason, level = METADATA_CASES[case]
    path = out / rel
    path.write_bytes(edit(path.read_bytes()))
    named = out if reason in ("is a zarr array, not a code store", "is not a code store") else path
    if level == "codes":
        named = out / pack_path(CodeStore(str(out)).state.index.videos[key].pack)
    return named, reason.format(key=re.escape(key))


def flip(data: bytes, at: int, n: int = 3) -> bytes:
    """`data` with `n` bytes from `at` inverted."""
    return data[:at] + bytes(x ^ 0xFF for x in data[at : at + n]) + data[at + n :]


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


# chunk codec -> case -> (how the bytes of the chunk of code steps 8-11 are damaged, the reason)
ZSTD_CASES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "zeroed": (lambda b: bytes(len(b)), "damaged chunk: RuntimeError: Zstd decompression error"),
    "magic number flipped": (
        lambda b: flip(b, 0),
        "damaged chunk: RuntimeError: Zstd decompression error",
    ),
    "bytes in the middle flipped": (
        lambda b: flip(b, len(b) // 2),
        "damaged chunk: RuntimeError: Zstd decompression error",
    ),
    "checksum flipped": (
        lambda b: flip(b, len(b) - 1, 1),
        "damaged chunk: RuntimeError: Zstd decompression error.*checksum",  # zstd checksum
    ),
}
LEARNED_CASES: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "zeroed": (lambda b: bytes(len(b)), "damaged chunk: CodingError: not a learned-coded chunk"),
    "magic number flipped": (
        lambda b: flip(b, 0),
        "damaged chunk: CodingError: not a learned-coded chunk",
    ),
    "length in the header flipped": (
        lambda b: flip(b, 16, 1),
        "damaged chunk: CodingError: truncated or padded",
    ),
    "bytes in the middle flipped": (
        lambda b: flip(b, len(b) // 2),
        "damaged chunk: CodingError: damaged: checksum of the coded words does not match",
    ),
    "last coded word flipped": (
        lambda b: flip(b, len(b) - 1, 1),
        "damaged chunk: CodingError: damaged: checksum of the coded words does not match",
    ),
}
CHUNK_CASES = {"zstd": ZSTD_CASES, "learned": LEARNED_CASES}


def chunk_bytes(out: Path, key: str, chunk: int) -> tuple[Path, int, int]:
    """(the pack, the first byte, the end) of a chunk of a video."""
    record = CodeStore(str(out)).state.index.videos[key]
    start = record.offset + sum(record.chunks[:chunk])
    return out / pack_path(record.pack), start, start + record.chunks[chunk]


@pytest.mark.parametrize(
    "coder, case", [(coder, case) for coder, cases in CHUNK_CASES.items() for case in cases]
)
def test_a_damaged_chunk_while_training(coder, case, request, tmp_path):
    out, key = fresh(
        request.getfixturevalue("built_learned" if coder == "learned" else "built"), tmp_path
    )
    pack, start, end = chunk_bytes(out, key, 2)  # steps 8-11
    damage, reason = CHUNK_CASES[coder][case]
    data = pack.read_bytes()
    pack.write_bytes(data[:start] + damage(data[start:end]) + data[end:])
    url = str(out)
    kind, _, detail = reason.partition(" chunk")
    reason = f"{kind} chunk of video {re.escape(key)} \\(code steps 8-11\\){detail}"
    sequential, random = SequentialCodeWindows(url, STEPS), RandomCodeWindows(url, STEPS)
    v = sequential.keys.index(key)
    reader = CodeReader(CodeStore(url))
    window = int(np.flatnonzero((sequential.index == [v, 8]).all(1))[0])
    assert_cv_error(lambda: sequential[window], pack, reason)
    for start in (8, 6, 11):  # the windows that need steps 8-11
        assert_cv_error(lambda s=start: random.window(v, s), pack, reason)
        assert_cv_error(lambda s=start: reader.read(v, s, STEPS, 20), pack, reason)
    for start in (0, 4, 12, 16):  # the others read
        assert sequential.window(v, start)["valid"] == STEPS
        assert reader.read(v, start, STEPS, 20)[0].shape == (4, STEPS, 4, 4)
    res = cli("store", "verify", url)
    assert res.exit_code == 1 and f"damaged: {key}: {pack}: " in res.output, res.output


def test_a_pack_cut_short_or_deleted(store):
    """Cut at the chunk of steps 8-11: the windows before it read, the others name the pack
    and the first chunk they miss; a deleted pack is named as missing."""
    out, key = store
    pack, start, _ = chunk_bytes(out, key, 2)
    pack.write_bytes(pack.read_bytes()[:start])
    store = CodeStore(str(out))
    assert store.read(key, 0, 8).shape == (4, 8, 4, 4)
    reason = f"missing chunk of video {re.escape(key)} \\(code steps 8-11\\)"
    assert_cv_error(lambda: store.read(key, 4, 12), pack, reason)
    pack.unlink()
    assert_cv_error(lambda: CodeStore(str(out)).read(key, 0, 4), pack, "missing pack of video")
    res = cli("store", "verify", str(out))
    assert res.exit_code == 1 and "2 videos checked, 2 damaged" in res.output, res.output
