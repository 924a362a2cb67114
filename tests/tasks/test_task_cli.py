"""Config files (JSON, TOML), flags over them, and the train / eval / bench commands."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace

import pytest
import typer
from typer.testing import CliRunner

from compressed_vision.bench import downstream
from compressed_vision.cli.bench import downstream_command
from compressed_vision.cli.tasks import eval_command, train_command
from compressed_vision.errors import CVError
from compressed_vision.tasks import load_config, run_training
from compressed_vision.video.io import read_video
from tests.tasks.downstream_fixtures import (
    TINY_VIT,
    config,
    data_fixture,  # noqa: F401
)

app = typer.Typer()
app.command("train")(train_command)
app.command("eval")(eval_command)
app.command("downstream")(downstream_command)
runner = CliRunner()


def test_config_files_and_overrides(tmp_path):
    (tmp_path / "a.toml").write_text('task = "frames"\nstore = "s.zarr"\ncodec = "c"\nsteps = 7\n')
    (tmp_path / "a.json").write_text(json.dumps({"inputs": "rgb", "videos": "v", "batch": 3}))
    assert load_config(tmp_path / "a.toml", steps=9).steps == 9
    assert load_config(tmp_path / "a.toml").task == "frames"
    assert load_config(tmp_path / "a.json").batch == 3
    (tmp_path / "bad.json").write_text(json.dumps({"stepz": 1}))
    with pytest.raises(CVError, match="stepz"):
        load_config(tmp_path / "bad.json")
    with pytest.raises(CVError, match="needs a store"):
        load_config(task="video")
    with pytest.raises(CVError, match="codes only"):
        load_config(inputs="rgb", videos="v", latent_augment="naive", augment_types=["crop"])


def test_train_and_eval_commands(data, tmp_path):
    cfg = config(data, tmp_path).to_dict()
    cfg["steps"] = 5
    (tmp_path / "run.json").write_text(json.dumps(cfg))
    args = [
        "train",
        "--config",
        str(tmp_path / "run.json"),
        "--steps",
        "1",
        "--json",
        str(tmp_path / "t.json"),
    ]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "video on codes: top1" in res.output
    assert json.loads((tmp_path / "t.json").read_text())["config"]["steps"] == 1
    ckpt = tmp_path / "run" / "model.safetensors"
    res = runner.invoke(app, ["eval", str(ckpt), "--json", str(tmp_path / "e.json")])
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "e.json").read_text())["trained_steps"] == 1
    # a codec given as a pickle that would run code is refused before anything runs
    from tests.official.test_pipeline import RunsShell

    marker, evil = tmp_path / "pwned", tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"params": {}, "state": {}, "config": RunsShell(marker)}))
    from compressed_vision.cli.main import app as cvis

    res = runner.invoke(cvis, ["eval", str(ckpt), "--codec", str(evil)])
    assert res.exit_code == 2 and "refused to load global" in res.output, res.output
    assert not marker.exists()


def test_bench_downstream_writes_table_json_and_plot(data, tmp_path, monkeypatch):
    monkeypatch.setattr(
        downstream, "_train_in_subprocess", lambda cfg: run_training(cfg, show_progress=False)
    )
    preset = downstream.DOWNSTREAM_PRESETS["smoke"]
    monkeypatch.setitem(
        downstream.DOWNSTREAM_PRESETS,
        "smoke",
        type(preset)(**{**preset.__dict__, "backbone": "s3d", "train_videos": 3}),
    )
    args = ["downstream", "--codec", str(data["codec"]), "--preset", "smoke", "--backbone", "vit"]
    args += [arg for key, value in TINY_VIT.items() for arg in ("--option", f"{key}={value}")]
    args += ["--tasks", "video", "--inputs", "rgb,rgb+aug,decoded,codes,codes+aug"]
    args += ["--out", str(tmp_path)]
    args += ["--seeds", "2", "--lr", "0.003", "--json", str(tmp_path / "summary.json")]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "downstream.json").read_text())
    assert json.loads((tmp_path / "summary.json").read_text())["rows"] == result["rows"]
    assert (result["config"]["backbone"], result["config"]["backbone_options"]) == ("vit", TINY_VIT)
    names = ["raw RGB", "raw RGB + pixel aug", "decoded codes", "codes", "codes + latent aug"]
    assert [r["input"] for r in result["rows"]] == names
    ratios = result["ratios"]["video"]
    assert ratios["throughput codes / rgb (wall)"] > 0 and ratios["codes - jpeg (points)"] is None
    assert ratios["codes - decoded (points)"] is not None
    assert ratios["activations/clip rgb / codes"] > 1  # the pixel stem saves the frames
    assert ratios["ratios between"] == "codes + latent aug / raw RGB + pixel aug"
    rgb, rgb_aug = (next(r for r in result["runs"] if r["input"] == k) for k in ("rgb", "rgb+aug"))
    assert rgb["augment_types"] == [] and rgb_aug["augment_types"]
    assert len(result["runs"]) == 10  # two seeds per input
    assert {r["config"]["lr"] for r in result["runs"]} == {0.003} == {result["config"]["lr"]}
    row = result["rows"][3]
    per_seed = [float(t) for t in row["top-1 per seed"].split(" / ")]
    assert len(per_seed) == 2 and abs(row["top-1 (%)"] - sum(per_seed) / 2) < 0.06
    assert result["rows"][1]["marginal MB/clip"] >= 0
    assert (tmp_path / "downstream.png").stat().st_size > 0
    assert "| task | input |" in (tmp_path / "downstream.md").read_text()


def test_h264_at_the_codes_bytes_gets_the_stores_rate(data, tmp_path, monkeypatch):
    monkeypatch.setattr(
        downstream, "_train_in_subprocess", lambda cfg: run_training(cfg, show_progress=False)
    )
    cfg = replace(
        downstream.DOWNSTREAM_PRESETS["smoke"],
        codec=str(data["codec"]),
        tasks=("video",),
        inputs=("h264", "h264@bytes", "codes"),
        backbone_options=TINY_VIT,
    )
    result = downstream.run_downstream(cfg, tmp_path, show_progress=False)
    h264, at_bytes, codes = result["rows"]
    assert at_bytes["input"] == "H.264 at the codes' bytes"
    runs = {r["input"]: r for r in result["runs"]}
    target = runs["h264@bytes"]["recompression"]["target_cr"]
    assert target != runs["h264"]["recompression"]["target_cr"] == result["codec_cr"]
    assert abs(target - codes["stored CR"]) / target < 0.05  # the codes' own rate
    assert result["ratios"]["video"]["codes - h264@bytes (points)"] is not None


def test_camera_motion_tasks_split_by_photo_and_run_in_the_bench(data, tmp_path, monkeypatch):
    from tests.sources.test_camera import write_photos

    write_photos(tmp_path / "photos", count=12, side=64)
    index = downstream.write_camera_dataset(
        tmp_path / "cam", tmp_path / "photos", 3, 2, segments=2, segment_frames=4, size=32
    )
    database = json.loads(index.read_text())["database"]
    assert sorted(database) == [
        "test-00000",
        "test-00001",
        "train-00000",
        "train-00001",
        "train-00002",
    ]
    for entry in database.values():
        first, second = entry["annotation"]
        assert first["label"] != second["label"] and first["segment"] == [0, 4 / 25]
    # a long video: more segments than motions, in shots of distinct motions
    index = downstream.write_camera_dataset(
        tmp_path / "long", tmp_path / "photos", 1, 1, segments=16, segment_frames=2, size=32
    )
    segments = json.loads(index.read_text())["database"]["train-00000"]["annotation"]
    labels = [s["label"] for s in segments]
    assert (
        len(labels) == 16 and len(set(labels[:13])) == 13 and segments[-1]["segment"][1] == 32 / 25
    )
    assert len(read_video(tmp_path / "long" / "videos" / "train-00000.mp4")) == 32
    monkeypatch.setattr(
        downstream, "_train_in_subprocess", lambda cfg: run_training(cfg, show_progress=False)
    )
    args = ["downstream", "--codec", str(data["codec"]), "--preset", "smoke", "--backbone", "vit"]
    args += [arg for key, value in TINY_VIT.items() for arg in ("--option", f"{key}={value}")]
    args += ["--tasks", "camera,camera_frames,camera_long", "--inputs", "rgb,codes"]
    args += ["--photos", str(tmp_path / "photos"), "--out", str(tmp_path)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    rows = json.loads((tmp_path / "downstream.json").read_text())["rows"]
    assert [(r["task"], r["input"]) for r in rows] == [
        ("camera", "raw RGB"),
        ("camera", "codes"),
        ("camera_frames", "raw RGB"),
        ("camera_frames", "codes"),
        ("camera_long", "raw RGB"),
        ("camera_long", "codes"),
    ]


def test_a_restarted_bench_reads_back_finished_runs(data, tmp_path, monkeypatch):
    """A bench killed and started again trains only what did not finish: a run whose
    result.json holds its very config is read back; any other config trains."""
    from dataclasses import replace

    trained = []

    def train(cfg):
        trained.append(cfg.seed)
        return run_training(cfg, show_progress=False)

    monkeypatch.setattr(downstream, "_train_in_subprocess", train)
    cfg = replace(config(data, tmp_path), steps=2)
    first = json.dumps(downstream._train_or_reuse(cfg), sort_keys=True)  # NaN == NaN as text
    again = json.dumps(downstream._train_or_reuse(cfg), sort_keys=True)
    assert again == first and trained == [cfg.seed]
    downstream._train_or_reuse(replace(cfg, seed=cfg.seed + 1))
    assert trained == [cfg.seed, cfg.seed + 1]
