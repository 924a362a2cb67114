from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compressed_vision.store import (
    CodeStore,
    build_store,
    folder_manifest,
    store_info,
    verify_store,
)
from compressed_vision.store.cli import store_app


@pytest.fixture
def ucf_store(ucf_dir, codec, tmp_path) -> Path:
    out = tmp_path / "s.zarr"
    build_store(folder_manifest(ucf_dir), codec, str(out), progress=False, chunk_steps=4)
    return out


def test_info_counts_sizes_and_compression_rate(ucf_store, codec):
    info = store_info(str(ucf_store))
    assert (info["videos"], len(info["failures"]), info["frames"]) == (4, 3, 20 + 37 + 24 + 9)
    assert info["raw_uint8_bytes"] == 90 * 32 * 32 * 3
    assert info["compression_rate"] == pytest.approx(codec.compression_rate((16, 32, 32)))
    assert 0 < info["bytes_on_disk"] < info["raw_uint8_bytes"]
    assert info["source_bytes"] > 0 and info["codec"] == codec.config.to_dict()


def test_verify_finds_a_corrupted_and_a_lost_chunk(ucf_store):
    assert verify_store(str(ucf_store), progress=False)["ok"]
    keys = [e.key for e in CodeStore(str(ucf_store)).entries()]
    chunk = ucf_store / "videos" / keys[0] / "codes" / "c" / "0" / "1" / "0" / "0"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2 :] = bytes(len(data) - len(data) // 2)  # zero the second half
    chunk.write_bytes(bytes(data))
    (ucf_store / "videos" / keys[2] / "codes" / "c" / "0" / "0" / "0" / "0").unlink()
    result = verify_store(str(ucf_store), progress=False)
    assert not result["ok"] and set(result["damaged"]) == {keys[0], keys[2]}
    assert "missing chunk of video" in result["damaged"][keys[2]]  # not read as zeros
    runner = CliRunner()
    run = runner.invoke(store_app, ["verify", str(ucf_store)])
    assert run.exit_code == 1 and "2 damaged" in run.output


def test_cli_build_info_verify(codec_path, tmp_path):
    runner = CliRunner()
    out, report = str(tmp_path / "s.zarr"), tmp_path / "build.json"
    args = ["build", "synthetic?num_videos=3&frames=8", "--codec", str(codec_path), "--out", out]
    args += ["--size", "32", "--device", "cpu", "--json", str(report)]
    run = runner.invoke(store_app, args)
    assert run.exit_code == 0, run.output
    assert json.loads(report.read_text())["encoded"] == 3
    run = runner.invoke(store_app, args)
    assert run.exit_code == 0 and "3 already done" in run.output
    run = runner.invoke(store_app, ["info", out, "--json", str(tmp_path / "info.json")])
    assert run.exit_code == 0 and "3 videos" in run.output and "compression rate 48.0" in run.output
    assert json.loads((tmp_path / "info.json").read_text())["videos"] == 3
    run = runner.invoke(store_app, ["verify", out])
    assert run.exit_code == 0 and "0 damaged" in run.output
    run = runner.invoke(store_app, ["info", str(tmp_path / "nothing")])
    assert run.exit_code == 2 and "no code store here" in run.output
    bad = [*args[:3], str(tmp_path / "missing.safetensors"), *args[4:]]
    run = runner.invoke(store_app, bad)
    assert run.exit_code == 2 and "error:" in run.output
