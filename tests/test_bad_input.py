"""Bad input at every door: code files, checkpoints (ours and the official pickles),
manifests and configs. Each case ends as a `CVError` whose message names the file and the
reason (from the CLI: exit code 2, `error: <file>: <reason>`, no traceback), or, where the
README documents it ("The code store": bad input never stops the job), as a failure of that
one item recorded in the store; and nothing is left half-written."""

from __future__ import annotations

import json
import os
import pickle
import re
import shlex
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file
from typer.testing import CliRunner

from compressed_vision.augment.network import SHIPPED as SHIPPED_AUGMENTERS
from compressed_vision.augment.network import load_augmenter
from compressed_vision.cli.main import app
from compressed_vision.codec import VideoCodec, codec_fingerprint, load_codec, save_codec
from compressed_vision.codec.checkpoint import WEIGHTS_DIR
from compressed_vision.codec.files import decode_to_file, load_code_file, save_code_file
from compressed_vision.codec.official import load_official
from compressed_vision.codec.official.unpickle import read_official_checkpoint
from compressed_vision.errors import CVError
from compressed_vision.sources import manifest_from_source
from compressed_vision.store import CodeStore
from compressed_vision.tasks import load_config
from tests.store.conftest import tiny_codec

CPU = torch.device("cpu")
runner = CliRunner()


def assert_refused(call: Callable[[], object], path: Path, reason: str) -> None:
    """`call` raises a CVError whose message names `path` and matches `reason`."""
    with pytest.raises(CVError) as info:
        call()
    message = str(info.value)
    assert str(path) in message, message
    assert re.search(reason, message), message


def assert_cli_refuses(args: list, path: Path, reason: str) -> None:
    """`cvis ARGS` exits with code 2 and `error: <path>: <reason>`, without a traceback."""
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit) and "Traceback" not in res.output, res.output
    assert f"error: {path}: " in res.output, res.output
    assert re.search(reason, res.output), res.output


@pytest.fixture(scope="module")
def codec() -> VideoCodec:
    return tiny_codec()


@pytest.fixture(scope="module")
def codec_path(codec, tmp_path_factory) -> Path:
    return save_codec(tmp_path_factory.mktemp("codec") / "tiny.safetensors", codec)


# -- code files -----------------------------------------------------------------------------


def code_meta(model: VideoCodec, /, **changes) -> dict:
    """The metadata of a code file of `model`, with `changes` (None: the key left out)."""
    meta = {
        "codebook_size": model.codebook_size,
        "source": "clip.mp4",
        "fps": 25.0,
        "frames": 2,
        "height": 32,
        "width": 32,
        "codec": codec_fingerprint(model),
    }
    return {k: v for k, v in {**meta, **changes}.items() if v is not None}


@pytest.fixture(scope="module")
def good_codes(codec, tmp_path_factory) -> Path:
    """A code file of the tiny codec: (4, 2, 4, 4) indices of a 2-frame 32x32 clip."""
    codes = torch.randint(0, codec.codebook_size, (codec.num_codebooks, 2, 4, 4))
    return save_code_file(tmp_path_factory.mktemp("codes") / "good.npz", codes, code_meta(codec))


def variant(good: Path, out: Path, drop: tuple[str, ...] = (), **arrays) -> Path:
    """The arrays of `good` without `drop`, with `arrays` replaced, as another .npz."""
    with np.load(good) as data:
        kept = {k: data[k] for k in data.files if k not in drop}
    with open(out, "wb") as f:
        np.savez(f, **{**kept, **arrays})
    return out


def array_of(good: Path, key: str) -> np.ndarray:
    with np.load(good) as data:
        return data[key]


def meta_array(model: VideoCodec, /, **changes) -> np.ndarray:
    return np.array(json.dumps(code_meta(model, **changes)))


def truncated(good: Path, out: Path) -> Path:
    data = good.read_bytes()
    out.write_bytes(data[: len(data) // 2])
    return out


def unknown_compression(good: Path, out: Path) -> Path:
    """The archive's directory says its members use a compression method (99, AES) that
    zipfile cannot read (found by `benchmarks/fuzz.py`)."""
    data = bytearray(good.read_bytes())
    at = data.find(b"PK\x01\x02")  # each central directory entry; the method at +10
    while at >= 0:
        data[at + 10 : at + 12] = (99).to_bytes(2, "little")
        at = data.find(b"PK\x01\x02", at + 4)
    out.write_bytes(bytes(data))
    return out


def text_file(out: Path) -> Path:
    out.write_text("label,youtube_id\nnot,codes\n")
    return out


def other_codec_codes(codec: VideoCodec, out: Path) -> Path:
    """A well-formed code file of 2 codebooks, without a fingerprint: not for this codec."""
    codes = torch.randint(0, codec.codebook_size, (2, 2, 4, 4))
    return save_code_file(out, codes, code_meta(codec, codec=None))


# case -> (write the bad file from the good one, what the message must say)
CODE_FILE_CASES = {
    "missing key zstd": (
        lambda c, g, p: variant(g, p, drop=("zstd",)),
        "zstd is not a file in the archive",
    ),
    "missing key meta": (
        lambda c, g, p: variant(g, p, drop=("meta",)),
        "meta is not a file in the archive",
    ),
    "metadata without frames": (
        lambda c, g, p: variant(g, p, meta=meta_array(c, frames=None)),
        "'frames' is None",
    ),
    "metadata not an object": (
        lambda c, g, p: variant(g, p, meta=np.array("[1, 2]")),
        "'meta' is not a JSON object",
    ),
    "payload of the wrong dtype": (
        lambda c, g, p: variant(g, p, zstd=array_of(g, "zstd").astype(np.int64)),
        "'zstd' holds int64",
    ),
    "shape of the wrong dtype": (
        lambda c, g, p: variant(g, p, shape=np.array([4.0, 2.0, 4.0, 4.0])),
        "'shape' is float64",
    ),
    "shape that does not fit the payload": (
        lambda c, g, p: variant(g, p, shape=np.array([4, 3, 4, 4])),
        "cannot reshape",
    ),
    "shape of 3 dimensions": (
        lambda c, g, p: variant(g, p, shape=np.array([4, 8, 4])),
        re.escape("not (G, T', H', W')"),
    ),
    "indices >= K": (
        lambda c, g, p: variant(g, p, meta=meta_array(c, codebook_size=16)),
        "index [0-9]+ is not below the codebook size 16",
    ),
    "a pickled array": (
        lambda c, g, p: variant(g, p, meta=np.array([{"a": 1}], dtype=object)),
        "allow_pickle",
    ),
    "truncated file": (lambda c, g, p: truncated(g, p), "truncated"),
    "an unknown compression method": (
        lambda c, g, p: unknown_compression(g, p),
        "compression method is not supported",
    ),
    "text file": (lambda c, g, p: text_file(p), "not a whole .npz archive"),
    "missing file": (lambda c, g, p: p, "no such code file"),
    "codes of another codec": (
        lambda c, g, p: other_codec_codes(c, p),
        "codes of 2 codebooks of 256 entries: the codec takes 4",
    ),
    "fingerprint of another codec": (
        lambda c, g, p: variant(g, p, meta=meta_array(c, codec="0" * 16)),
        "different codec",
    ),
}


def test_the_good_code_file_decodes(codec_path, good_codes, tmp_path):
    """The control: the file every bad code file is made from decodes."""
    res = runner.invoke(
        app,
        ["codec", "decode", str(good_codes), "--out", str(tmp_path / "o.mp4")]
        + ["--codec", str(codec_path), "--device", "cpu"],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "o.mp4").stat().st_size > 0


@pytest.mark.parametrize("entry", ["load_code_file + decode_to_file", "cvis codec decode"])
@pytest.mark.parametrize("case", list(CODE_FILE_CASES))
def test_bad_code_files(case, entry, codec, codec_path, good_codes, tmp_path):
    write, reason = CODE_FILE_CASES[case]
    path = write(codec, good_codes, tmp_path / "bad.npz")
    out = tmp_path / "out.mp4"
    if entry == "cvis codec decode":
        args = ["codec", "decode", path, "--out", out, "--codec", codec_path, "--device", "cpu"]
        assert_cli_refuses(args, path, reason)
    else:

        def decode() -> None:
            codes, meta = load_code_file(path)
            decode_to_file(codec, codes, meta, out, CPU, path=path)

        assert_refused(decode, path, reason)
    assert not out.exists()


# -- checkpoints ----------------------------------------------------------------------------


def other_kind(codec_path: Path, kind: str) -> Path:
    """A checkpoint of another kind than `kind`: the shipped augmenter, or a codec."""
    return WEIGHTS_DIR / SHIPPED_AUGMENTERS["cr240"] if kind == "codec" else codec_path


def safetensors_with(path: Path, metadata: dict[str, str] | None) -> Path:
    save_file({"w": torch.zeros(2)}, str(path), metadata=metadata)
    return path


# case -> (write the bad checkpoint, given a good codec checkpoint and the kind the entry
# expects; what the message must say)
CHECKPOINT_CASES = {
    "truncated safetensors": (lambda c, k, p: truncated(c, p), "not a safetensors checkpoint"),
    "not safetensors": (lambda c, k, p: text_file(p), "not a safetensors checkpoint"),
    "wrong kind": (lambda c, k, p: other_kind(c, k), "checkpoint, expected '(codec|augmenter)'"),
    "safetensors of someone else": (
        lambda c, k, p: safetensors_with(p, None),
        "not a compressed_vision checkpoint",
    ),
    "corrupt config metadata": (
        lambda c, k, p: safetensors_with(p, {"kind": k, "version": "1", "config": "{oops"}),
        "corrupt checkpoint metadata",
    ),
    "missing file": (lambda c, k, p: p, "no such checkpoint file"),
}
CHECKPOINT_ENTRIES = {  # entry -> the kind of checkpoint it loads
    "load_codec": "codec",
    "load_augmenter": "augmenter",
    "cvis codec decode --codec": "codec",
    "cvis codec encode --codec": "codec",
}


@pytest.mark.parametrize("entry", list(CHECKPOINT_ENTRIES))
@pytest.mark.parametrize("case", list(CHECKPOINT_CASES))
def test_bad_checkpoints(case, entry, codec, codec_path, good_codes, clip_path, tmp_path):
    write, reason = CHECKPOINT_CASES[case]
    path = write(codec_path, CHECKPOINT_ENTRIES[entry], tmp_path / "bad.safetensors")
    out = tmp_path / "out"
    if entry == "load_codec":
        assert_refused(lambda: load_codec(path), path, reason)
    elif entry == "load_augmenter":
        assert_refused(lambda: load_augmenter(path, codec), path, reason)
    else:
        command, src = ("decode", good_codes) if "decode" in entry else ("encode", clip_path)
        args = ["codec", command, src, "--out", out, "--codec", path, "--device", "cpu"]
        assert_cli_refuses(args, path, reason)
    assert not out.exists()


class RunsShell:
    """Unpickled by a plain `pickle.load`, this runs a shell command that writes `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {shlex.quote(str(self.marker))}",))


class RunsPython:
    """Unpickled by a plain `pickle.load`, this runs Python code that writes `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",))


def hostile_pickle(payload: object, path: Path) -> Path:
    """An official-looking checkpoint whose config would run code when unpickled."""
    path.write_bytes(pickle.dumps({"params": {}, "state": {}, "config": payload}, protocol=4))
    return path


def test_the_hostile_pickle_is_live(tmp_path):
    """The control: a plain unpickler does run the payload (so the marker check means it)."""
    marker = tmp_path / "pwned"
    pickle.loads(hostile_pickle(RunsPython(marker), tmp_path / "evil.pkl").read_bytes())
    assert marker.read_text() == "pwned"


@pytest.mark.parametrize(
    "entry", ["read_official_checkpoint", "load_official", "cvis official convert"]
)
@pytest.mark.parametrize(
    ("payload", "reason"),
    [(RunsShell, r"refused to load global \w+\.system"), (RunsPython, "builtins.exec")],
)
def test_pickles_that_would_run_code_are_refused(payload, reason, entry, tmp_path):
    marker = tmp_path / "pwned"
    path = hostile_pickle(payload(marker), tmp_path / "evil.pkl")
    out = tmp_path / "out.safetensors"
    if entry == "cvis official convert":
        assert_cli_refuses(["official", "convert", path, out], path, reason)
    else:
        reader = read_official_checkpoint if entry == "read_official_checkpoint" else load_official
        assert_refused(lambda: reader(path), path, reason)
    assert not marker.exists() and not out.exists()


# -- manifests ------------------------------------------------------------------------------

KINETICS_HEADER = "label,youtube_id,time_start,time_end,split\n"


def coin(database: object) -> str:
    return json.dumps({"database": database})


# case -> (file name, its text, --split, the outcome). The outcome is ("error", reason): the
# whole source is refused; or ("failure", item id, reason): that item is recorded as failed
# (the README: "Bad input never stops the job").
MANIFEST_CASES = {
    "csv missing columns": ("k.csv", "label,youtube_id\ndance,abc\n", None, ("error", "columns")),
    "csv unknown split": (
        "k.csv",
        KINETICS_HEADER + "dance,abc,1,5,train\n",
        "validation",
        ("error", r"no videos of split 'validation' \(its splits: train\)"),
    ),
    "csv start > end": (
        "k.csv",
        KINETICS_HEADER + "dance,abc,10,5,train\n",
        None,
        ("failure", "abc_000010_000005", "time_end <= time_start"),
    ),
    "csv duplicate ids": (
        "k.csv",
        KINETICS_HEADER + "dance,abc,1,5,train\nsing,abc,1,5,train\n",
        None,
        ("failure", "abc_000001_000005", "duplicate id 'abc_000001_000005' with different"),
    ),
    "csv short row": (
        "k.csv",
        KINETICS_HEADER + "dance,abc\n",
        None,
        ("failure", "abc", "bad time_start/time_end"),
    ),
    "json not an object": ("c.json", "[1, 2]", None, ("error", "no 'database' object")),
    "json database not an object": ("c.json", coin([1]), None, ("error", "no 'database' object")),
    "json unreadable": ("c.json", '{"database": ', None, ("error", "cannot read the JSON")),
    "json unknown split": (
        "c.json",
        coin({"v1": {"class": "tea", "subset": "training"}}),
        "testing",
        ("error", "no videos of split 'testing'"),
    ),
    "json duplicate ids": (
        "c.json",
        '{"database": {"v1": {"class": "tea"}, "v1": {"class": "coffee"}}}',
        None,
        ("error", "the key 'v1' appears twice"),
    ),
    "json start > end": (
        "c.json",
        coin({"v1": {"class": "tea", "annotation": [{"segment": [2.0, 1.0], "label": "boil"}]}}),
        None,
        ("failure", "v1", "ends before it starts"),
    ),
    "json entry not an object": (
        "c.json",
        coin({"v1": 3}),
        None,
        ("failure", "v1", "the entry is not an object"),
    ),
}


@pytest.mark.parametrize("entry", ["manifest_from_source", "cvis store build"])
@pytest.mark.parametrize("case", list(MANIFEST_CASES))
def test_bad_manifests(case, entry, codec_path, tmp_path):
    name, text, split, outcome = MANIFEST_CASES[case]
    source = tmp_path / name
    source.write_text(text)
    out = tmp_path / "store.zarr"
    if entry == "manifest_from_source":
        if outcome[0] == "error":
            assert_refused(lambda: manifest_from_source(source, split=split), source, outcome[1])
        else:
            items = {i.id: i for i in manifest_from_source(source, split=split).items}
            error = items[outcome[1]].error
            assert str(source) in error and re.search(outcome[2], error), error
        return
    args = ["store", "build", source, "--codec", codec_path, "--out", out, "--device", "cpu"]
    args += ["--split", split] if split else []
    if outcome[0] == "error":
        assert_cli_refuses(args, source, outcome[1])
        assert not out.exists()
    else:
        res = runner.invoke(app, [str(a) for a in args])
        assert res.exit_code == 0, res.output
        store = CodeStore(str(out))
        failures = {f["id"]: f["reason"] for f in store.failures().values()}
        assert not store.entries() and re.search(outcome[2], failures[outcome[1]]), failures


# -- configs --------------------------------------------------------------------------------

# case -> (file name, its text, what the message must say)
CONFIG_CASES = {
    "json unknown key": ("c.json", '{"stepz": 10}', r"unknown settings \['stepz'\]"),
    "toml unknown key": ("c.toml", "stepz = 10\n", r"unknown settings \['stepz'\]"),
    "json steps='ten'": ("c.json", '{"steps": "ten"}', "steps = 'ten' is not of type int"),
    "toml steps='ten'": ("c.toml", 'steps = "ten"\n', "steps = 'ten' is not of type int"),
    "json steps=2.5": ("c.json", '{"steps": 2.5}', "steps = 2.5 is not of type int"),
    "toml lr='fast'": ("c.toml", 'lr = "fast"\n', "lr = 'fast' is not of type float"),
    "json amp='yes'": ("c.json", '{"amp": "yes"}', "amp = 'yes' is not of type bool"),
    "toml augment_types not a list": (
        "c.toml",
        'augment_types = "crop"\n',
        "augment_types = 'crop' is not of type",
    ),
    "json not an object": ("c.json", "[1, 2]", "a table/object of settings"),
    "toml syntax error": ("c.toml", "steps = \n", "cannot read the config"),
    "json unknown task": ("c.json", '{"task": "nope"}', "unknown task 'nope'"),
}


@pytest.mark.parametrize("entry", ["load_config", "cvis train"])
@pytest.mark.parametrize("case", list(CONFIG_CASES))
def test_bad_configs(case, entry, tmp_path):
    name, text, reason = CONFIG_CASES[case]
    path = tmp_path / name
    path.write_text(text)
    out = tmp_path / "run"
    if entry == "load_config":
        assert_refused(lambda: load_config(path), path, reason)
    else:
        assert_cli_refuses(["train", "--config", path, "--out", out], path, reason)
    assert not out.exists()
