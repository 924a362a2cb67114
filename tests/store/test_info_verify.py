from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compressed_vision.cli.store import store_app
from compressed_vision.sources import folder_manifest
from compressed_vision.store import CodeStore, build_store, store_info, verify_store
from compressed_vision.store.index import pack_index_path, pack_path


@pytest.fixture
def ucf_store(ucf_dir, codec, tmp_path) -> Path:
    out = tmp_path / "s.zarr"
    manifest = folder_manifest(ucf_dir)
    build_store(manifest, codec, str(out), progress=False, chunk_steps=4, pack_videos=1)
    return out


def test_info_counts_sizes_and_compression_rate(ucf_store, codec):
    info = store_info(str(ucf_store))
    assert (info["videos"], len(info["failures"]), info["frames"]) == (4, 3, 20 + 37 + 24 + 9)
    assert info["raw_uint8_bytes"] == 90 * 32 * 32 * 3
    assert info["compression_rate"] == pytest.approx(codec.compression_rate((16, 32, 32)))
    assert 0 < info["bytes_on_disk"] < info["raw_uint8_bytes"]
    assert info["source_bytes"] > 0 and info["codec"] == codec.config.to_dict()


def test_verify_finds_a_flipped_byte_and_a_lost_pack(ucf_store):
    assert verify_store(str(ucf_store), progress=False)["ok"]
    store = CodeStore(str(ucf_store))
    keys = [e.key for e in store.entries()]
    records = store.state.index.videos
    pack = ucf_store / pack_path(records[keys[0]].pack)
    data = bytearray(pack.read_bytes())
    data[records[keys[0]].offset + records[keys[0]].chunks[0] + 5] ^= 0x01  # in chunk 1
    pack.write_bytes(bytes(data))
    (ucf_store / pack_path(records[keys[2]].pack)).unlink()
    result = verify_store(str(ucf_store), progress=False)
    assert not result["ok"] and set(result["damaged"]) == {keys[0], keys[2]}
    assert "damaged chunk of video" in result["damaged"][keys[0]]
    assert "(code steps 4-7)" in result["damaged"][keys[0]]
    assert "missing pack of video" in result["damaged"][keys[2]]  # not read as zeros
    runner = CliRunner()
    run = runner.invoke(store_app, ["verify", str(ucf_store)])
    assert run.exit_code == 1 and "2 damaged" in run.output


def test_verify_checks_the_packs_own_indexes(ucf_store):
    """Each pack's own index (what `index.cvi` is rebuilt from) is read and compared with it:
    damage there is reported, naming the file, though reading does not use it."""
    store = CodeStore(str(ucf_store))
    record = next(iter(store.state.index.videos.values()))
    own = ucf_store / pack_index_path(record.pack)
    data = bytearray(own.read_bytes())
    data[len(data) // 2] ^= 0x10
    own.write_bytes(bytes(data))
    result = verify_store(str(ucf_store), progress=False)
    assert not result["ok"] and not result["damaged"]
    (problem,) = result["damaged_pack_indexes"].values()
    assert list(result["damaged_pack_indexes"]) == [pack_index_path(record.pack)]
    assert "pack index: " in problem
    run = CliRunner().invoke(store_app, ["verify", str(ucf_store)])
    assert run.exit_code == 1 and "0 damaged; 1 pack index(es) damaged" in run.output


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
