"""The whole path, tiny: the demo pipeline and the `cvis` commands."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from compressed_vision.bench.demo import DEMO_PRESETS, run_demo
from compressed_vision.cli.main import app
from compressed_vision.store import CodeStore

runner = CliRunner()


def test_demo_pipeline_runs_and_writes_its_table(tmp_path):
    result = run_demo(DEMO_PRESETS["smoke"], tmp_path, torch.device("cpu"), show_progress=False)
    rows = {r["input"]: r for r in result["rows"]}
    assert rows["neural codes"]["compression rate"] == 48.0
    assert 0 <= rows["neural codes"]["top-1 (%)"] <= 100
    assert rows["neural codes"]["bytes on disk"] < rows["raw RGB"]["bytes on disk"]
    saved = json.loads((tmp_path / "demo.json").read_text())
    assert saved["rows"] == result["rows"]
    assert "| input |" in (tmp_path / "demo.md").read_text()
    assert (tmp_path / "codec.safetensors").is_file()
    store = CodeStore(str(tmp_path / "codes.zarr"))  # the codes the classifier trained on
    assert [len(store.entries(split)) for split in ("train", "test")] == [40, 20]
    for inputs in ("codes", "rgb"):  # both through `cvis train`'s path
        trained = json.loads((tmp_path / f"classifier_{inputs}" / "result.json").read_text())
        assert trained["inputs"] == inputs and trained["metrics"]["clips"] == 20
    augmented = {r["augmentation"]: r for r in saved["augmentation"]}
    assert set(augmented) == {"flip", "crop"}
    for row in augmented.values():  # the shipped augmenter beats the naive op and (d)
        assert row["latent augmenter"] > row["(c) naive grid op"] + 0.5
        assert row["latent augmenter"] > row["(d) decode, transform, encode"]
    assert "Latent augmentation" in result["table"]


def test_cli_train_encode_decode(tmp_path, clip_path):
    ckpt = tmp_path / "codec.safetensors"
    res = runner.invoke(
        app,
        [
            "codec",
            "train",
            "--out",
            str(ckpt),
            "--steps",
            "2",
            "--batch",
            "2",
            "--frames",
            "2",
            "--size",
            "32",
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    codes = tmp_path / "clip.npz"
    res = runner.invoke(
        app,
        [
            "codec",
            "encode",
            str(clip_path),
            "--codec",
            str(ckpt),
            "--out",
            str(codes),
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "CR 48.0" in res.output
    res = runner.invoke(
        app,
        [
            "codec",
            "decode",
            str(codes),
            "--codec",
            str(ckpt),
            "--out",
            str(tmp_path / "back.mp4"),
            "--device",
            "cpu",
        ],
    )
    assert res.exit_code == 0, res.output
    assert (tmp_path / "back.mp4").stat().st_size > 0


def test_cli_reports_bad_input_without_a_traceback(tmp_path):
    ckpt = tmp_path / "c.safetensors"
    bad = tmp_path / "bad.mp4"
    bad.write_text("garbage")
    res = runner.invoke(
        app, ["codec", "encode", str(bad), "--codec", str(ckpt), "--out", str(tmp_path / "x.npz")]
    )
    assert res.exit_code == 2
    assert "no such checkpoint" in res.output


def test_shipped_codecs_work_out_of_the_box(tmp_path, clip_path):
    for name, cr in (("cr240", "CR 256.0"), ("cr30", "CR 32.0")):
        codes = tmp_path / f"{name}.npz"
        res = runner.invoke(
            app,
            [
                "codec",
                "encode",
                str(clip_path),
                "--out",
                str(codes),
                "--codec",
                name,
                "--device",
                "cpu",
            ],
        )
        assert res.exit_code == 0, res.output
        assert cr in res.output
    res = runner.invoke(
        app,
        ["codec", "encode", str(clip_path), "--out", str(tmp_path / "d.npz"), "--device", "cpu"],
    )  # default: the shipped cr240
    assert res.exit_code == 0 and "CR 256.0" in res.output


def test_shipped_augmenter_serves_its_codec_only():
    from compressed_vision.augment import Augmentation, load_augmenter
    from compressed_vision.codec import load_codec
    from compressed_vision.errors import CheckpointError

    codec = load_codec("cr240")
    augmenter = load_augmenter("cr240", codec)
    assert {"flip", "crop"} <= set(augmenter.config.types)
    latents = torch.randn(2, codec.latent_dim, 2, 8, 8)
    flip = Augmentation.of("flip", torch.ones(2, 1))
    assert augmenter(latents, flip).shape == latents.shape
    with pytest.raises(CheckpointError, match="fingerprint"):
        load_augmenter("cr240", load_codec("cr30"))
