"""One on-disk format for codes: the .npz of `cvis codec encode` opens as a store of one
video, so the store's readers (its API, the datasets, `cvis train`) take it too."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compressed_vision.codec.files import encode_file, save_code_file
from compressed_vision.errors import CVError
from compressed_vision.store import CodeStore, RandomCodeWindows, SequentialCodeWindows
from compressed_vision.tasks import TaskConfig, prepare, run_training

CPU = torch.device("cpu")


@pytest.fixture
def code_file(codec, ucf_dir, tmp_path):
    codes, meta = encode_file(codec, ucf_dir / "jump" / "v1.mp4", CPU)
    return save_code_file(tmp_path / "v1.npz", codes, meta), codes.numpy()


def test_a_code_file_opens_as_a_store_of_one_video(code_file, codec):
    path, codes = code_file
    store = CodeStore(str(path))
    store.check_codec(codec)
    (entry,) = store.entries()
    assert entry.key == "v1.mp4" and entry.steps == codes.shape[1] and entry.label_index == -1
    assert (entry.attrs["frames"], entry.attrs["height"], entry.attrs["width"]) == (37, 32, 32)
    np.testing.assert_array_equal(store.codes(entry.key), codes)
    np.testing.assert_array_equal(store.read(entry.key, 1, 3), codes[:, 1:3])
    assert store.failures() == {} and store.frame_labels(entry.key) is None
    windows = SequentialCodeWindows(store, 2)
    assert len(windows) == -(-codes.shape[1] // 2)
    np.testing.assert_array_equal(windows[0]["codes"].numpy(), codes[:, :2])
    assert RandomCodeWindows(str(path), 2)[0]["codes"].shape == (codes.shape[0], 2, 4, 4)


def test_store_info_and_verify_take_a_code_file(code_file, ucf_dir, tmp_path):
    """They read a code file like a store: one video, its sizes, and no false damage."""
    import json

    from typer.testing import CliRunner

    from compressed_vision.cli import app

    path, codes = code_file
    runner = CliRunner()
    info = runner.invoke(app, ["store", "info", str(path), "--json", str(tmp_path / "i.json")])
    assert info.exit_code == 0, info.output
    doc = json.loads((tmp_path / "i.json").read_text())
    assert doc["videos"] == 1 and doc["frames"] == 37 and doc["code_steps"] == codes.shape[1]
    assert doc["source_bytes"] == (ucf_dir / "jump" / "v1.mp4").stat().st_size
    check = runner.invoke(app, ["store", "verify", str(path), "--json", str(tmp_path / "v.json")])
    assert check.exit_code == 0, check.output
    assert json.loads((tmp_path / "v.json").read_text())["ok"] is True


def test_cvis_train_takes_a_code_file(code_file, codec_path, tmp_path):
    path, codes = code_file
    cfg = TaskConfig(
        store=str(path),
        codec=str(codec_path),
        task="arrow",
        split_by="time",
        test_fraction=0.5,
        frames=4,
        backbone="cnn3d",
        steps=1,
        batch=2,
        out=str(tmp_path / "run"),
    )
    prep = prepare(cfg, show_progress=False)
    assert [v.key for v in prep.reader.videos] == ["v1.mp4"]
    assert run_training(cfg, show_progress=False)["metrics"]["clips"] > 0


def test_a_code_file_without_its_codec_spec_is_refused(code_file, tmp_path):
    from compressed_vision.codec.files import load_code_file

    codes, meta = load_code_file(code_file[0])
    del meta["codec_spec"]
    old = save_code_file(tmp_path / "old.npz", codes, meta)
    with pytest.raises(CVError, match="without its codec's spec"):
        CodeStore(str(old))
