"""`cvis bench ...`: every benchmark is a subcommand whose options show its library call's
defaults; tiny runs of the subcommands that finish in seconds write their tables and --json."""

from __future__ import annotations

import inspect
import json
from dataclasses import MISSING, fields

import pytest
import torch
import typer
from typer.testing import CliRunner

from compressed_vision.bench import (
    ablation,
    augment,
    baselines,
    codec,
    fuzz,
    lossless,
    memory,
    seek,
    store,
    store_scale,
)
from compressed_vision.bench import long as long_bench
from compressed_vision.cli.bench import bench_app
from compressed_vision.codec import VideoCodec, preset, save_codec
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames

runner = CliRunner()
# subcommand -> the library call it makes: a config dataclass or a function
CALLS = {
    "fuzz": fuzz.run_fuzz,
    "store": store.StoreBenchConfig,
    "store-scale": store_scale.StoreScaleConfig,
    "seek": seek.seek_bench,
    "memory": memory.activation_memory,
    "codec-speed": codec.codec_speed,
    "codec-validation": codec.codec_validation,
    "codec-ablation": ablation.codec_ablation,
    "lossless": lossless.lossless_bench,
    "long": long_bench.LongBenchConfig,
    "augment": augment.AugmentBenchConfig,
    "rd-baselines": baselines.rd_baselines,
}


def invoke(*args) -> object:
    res = runner.invoke(bench_app, [str(a) for a in args])
    assert res.exit_code == 0 and "Traceback" not in res.output, res.output
    return res


def library_defaults(call) -> dict:
    if inspect.isclass(call):
        return {f.name: f.default for f in fields(call) if f.default is not MISSING}
    params = inspect.signature(call).parameters.values()
    return {p.name: p.default for p in params if p.default is not inspect.Parameter.empty}


def tiny_codec(tmp_path):
    torch.manual_seed(0)
    return save_codec(tmp_path / "c.safetensors", VideoCodec(preset("tiny", channels=8)))


def test_bench_help_lists_every_benchmark():
    out = invoke("--help").output
    for name in [*CALLS, "rd", "downstream"]:
        assert name in out, name


@pytest.mark.parametrize("name", list(CALLS))
def test_the_options_show_the_library_defaults(name):
    """Each option of a library parameter's name shows that parameter's default (lists and
    tuples alike; None where the command picks the default)."""
    command = typer.main.get_command(bench_app).commands[name]
    defaults = library_defaults(CALLS[name])
    shared = [p for p in command.params if p.name in defaults and p.default is not None]
    assert shared or name == "codec-speed", name
    for param in shared:
        shown = param.default
        expected = defaults[param.name]
        if isinstance(expected, tuple | list):
            shown, expected = tuple(shown), tuple(expected)
        assert shown == expected, (name, param.name)


def test_store_scale_writes_its_targets(tmp_path):
    json_out = tmp_path / "r.json"
    flags = ["--videos", 20, "--old-videos", 5, "--size", 32, "--reads", 5, "--slow-reads", 2]
    flags += ["--delay", 0, "--pack-videos", 8, "--extrapolate", 1000, "--json", json_out]
    res = invoke("store-scale", *flags, "--work", tmp_path / "w", "--out", tmp_path / "o")
    doc = json.loads(json_out.read_text())
    assert doc["format_2"]["videos"] == 20 and doc["format_1"]["videos"] == 5
    assert doc["format_2"]["files"] == 2 + 2 * 3  # root files and a .pack + .idx per pack
    assert doc["command"] and doc["machine"]["zarr"]
    assert "## Targets" in res.output and (tmp_path / "o" / "store_scale.md").is_file()


def test_rd_baselines_matches_each_codec_to_the_rate(tmp_path):
    write_video(tmp_path / "clips" / "a.mp4", moving_frames(8, 32, 32), fps=25, crf=4)
    flags = ["--data", tmp_path / "clips", "--frames", 8, "--size", 32, "--crs", 30]
    invoke("rd-baselines", *flags, "--out", tmp_path / "o", "--json", tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert [r["codec"] for r in doc["summary"]] == ["JPEG", "H.264", "HEVC"]
    assert all(r["target CR"] == "30" for r in doc["summary"])
    assert (
        doc["machine"]["pyav"]
        and "# Classical baselines" in (tmp_path / "o" / "rd_baselines.md").read_text()
    )


def test_rd_baselines_without_clips_exits_2(tmp_path):
    res = runner.invoke(bench_app, ["rd-baselines", "--data", str(tmp_path)])
    assert res.exit_code == 2 and "no .mp4 clips" in res.output


def test_codec_ablation_reports_the_variants_already_trained(tmp_path):
    """Variants with a row under --work are not trained again: the table is made from them
    (and their encode speed measured here)."""
    work = tmp_path / "w"
    work.mkdir()
    for name, psnr in (("w32", 25.0), ("w64", 24.0)):
        tiny_codec(tmp_path).rename(work / f"{name}.safetensors")
        row = {"variant": name, "steps": 10, "val PSNR (dB)": psnr, "recipe": {}}
        (work / f"{name}.json").write_text(json.dumps(row))
    flags = ["--variants", "w32", "--variants", "w64", "--work", work, "--out", tmp_path / "o"]
    res = invoke("codec-ablation", *flags)
    rows = json.loads((tmp_path / "o" / "codec_ablation.json").read_text())["rows"]
    assert [r["variant"] for r in rows] == ["w32", "w64"]
    assert all(r["encode fps (128px, 1 thread)"] > 0 for r in rows)
    assert "Best on the held-out footage at equal CPU time: w32" in res.output


def test_codec_ablation_names_an_unknown_variant(tmp_path):
    res = runner.invoke(bench_app, ["codec-ablation", "--variants", "w7", "--work", str(tmp_path)])
    assert res.exit_code == 2 and "--variants" in res.output


def test_augment_bench_trains_evaluates_and_checks_the_targets(tmp_path):
    write_video(tmp_path / "clips" / "a.mp4", moving_frames(16, 32, 32), fps=25, crf=4)
    flags = ["--codec", tiny_codec(tmp_path), "--data", tmp_path / "clips", "--steps", 2]
    flags += ["--batch", 2, "--frames", 2, "--size", 32, "--crop", 32, "--width", 8]
    flags += ["--blocks", 1, "--eval-clips", 1, "--eval-frames", 2, "--threads", 1]
    flags += ["--device", "cpu", "--work", tmp_path / "w", "--out", tmp_path / "o"]
    invoke("augment", *flags, "--json", tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert {t["target"] for t in doc["targets"]} >= {"flip: within 1 dB of (a)"}
    assert doc["inputs"]["train_sources"] == ["synthetic", str(tmp_path / "clips")]
    assert (tmp_path / "o" / "augment_bench.png").is_file()
    assert (tmp_path / "w" / "augmenter.safetensors").is_file()


def test_augment_bench_specialise_needs_init(tmp_path):
    flags = ["--codec", tiny_codec(tmp_path), "--specialise", "crop", "--steps", 1]
    res = runner.invoke(bench_app, ["augment", *map(str, flags), "--work", str(tmp_path)])
    assert res.exit_code == 2 and "--init" in res.output


def test_long_bench_measures_in_a_fresh_process_once(tmp_path, capsys):
    """A child measurement runs in its own process; a rerun with the same inputs reuses it."""
    args = {"codec": str(tiny_codec(tmp_path)), "size": 32, "minutes": 0.02}
    args["store"] = str(tmp_path / "enc.zarr")
    first = long_bench.run_child("encode", args, tmp_path)
    again = long_bench.run_child("encode", args, tmp_path)
    assert first == again and first["frames"] == 30 and first["peak_rss_mb"] > 0
    assert "reusing" in capsys.readouterr().out


def test_memory_through_the_cli_writes_json(tmp_path):
    flags = ["--codec", tiny_codec(tmp_path), "--size", 32, "--batch", 2]
    invoke("memory", *flags, "--out", tmp_path / "o", "--json", tmp_path / "r.json")
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["args"]["size"] == 32 and len(doc["rows"]) == len(memory.CASES)
