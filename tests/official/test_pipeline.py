"""The official codecs through the whole pipeline, from the CLI, on small official-format
checkpoints these tests write (so they never skip): store build, training on codes (plain
and with latent augmentation), augmenter training, `bench rd`, `long encode`, codec
encode/decode; and bad codec files refused by every command."""

from __future__ import annotations

import json
import pickle
import re
from pathlib import Path

import pytest
import torch
import zarr
from typer.testing import CliRunner

from compressed_vision.augment.network import SHIPPED as SHIPPED_AUGMENTERS
from compressed_vision.bench.downstream import write_synthetic_dataset
from compressed_vision.cli.main import app
from compressed_vision.codec import Codec, common_region, load_codec, save_codec
from compressed_vision.codec.checkpoint import WEIGHTS_DIR
from compressed_vision.codec.official import OfficialModel, convert_official
from compressed_vision.errors import CheckpointError
from compressed_vision.sources.synthetic import SyntheticConfig
from compressed_vision.store import CodeStore
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames
from tests.official.official_format import NO_TIME, write_official
from tests.store.conftest import tiny_codec

runner = CliRunner()
CPU = ["--device", "cpu"]


def cvis(*args: object) -> str:
    res = runner.invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return res.output


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> dict[str, Path]:
    """An official 2x-time codec (.pkl and converted), and a small labelled video set."""
    root = tmp_path_factory.mktemp("official_pipeline")
    pkl = write_official(root / "codec.pkl")
    index = write_synthetic_dataset(
        root / "synth",
        SyntheticConfig(num_videos=4, frames=8, size=64, segments=3),
        3,
        show_progress=False,
    )
    clips = root / "clips"
    write_video(clips / "a.mp4", moving_frames(8, 64, 64), fps=25)
    return {
        "root": root,
        "pkl": pkl,
        "converted": convert_official(pkl, root / "converted.safetensors"),
        "index": index,
        "clip": clips / "a.mp4",
    }


def test_every_kind_of_codec_file_loads_as_a_codec(work, tmp_path):
    official, converted = load_codec(work["pkl"]), load_codec(work["converted"])
    ours = load_codec(save_codec(tmp_path / "ours.safetensors", tiny_codec()))
    for codec in (official, converted, ours, load_codec("cr30")):
        assert isinstance(codec, Codec)
    assert isinstance(official, OfficialModel) and official.kind == "official_codec"
    assert official.fingerprint() == converted.fingerprint() != ours.fingerprint()
    assert load_codec(write_official(tmp_path / "other.pkl", seed=1)).fingerprint() != (
        official.fingerprint()
    )


@torch.no_grad()
def test_the_2x_time_codes_are_one_position_smaller(work, tmp_path):
    codec = load_codec(work["pkl"])
    assert (codec.spatial_factor, codec.temporal_factor) == (16, 2)
    video = torch.rand(1, 3, 9, 64, 64)
    assert codec.code_shape(video.shape) == (4, 5, 3, 3)  # not 4x4: the time conv's quirk
    codes = codec.encode(video, window=2)
    assert codes.shape == (1, 4, 5, 3, 3)
    assert torch.equal(codes, codec.encode(video))  # windows give the whole clip's codes
    assert torch.equal(codec.codes_of(codec.latents(video)), codes)
    decoded, seen = common_region(codec.decode(codes), video)
    assert decoded.shape == seen.shape == (1, 3, 9, 48, 48)
    assert torch.equal(seen, video[..., 8:56, 8:56])  # the centre the codes cover
    flat = load_codec(write_official(tmp_path / "flat.pkl", NO_TIME))
    assert flat.code_shape((8, 64, 64)) == (4, 8, 8, 8)
    assert flat.decode(flat.encode(video)).shape == (1, 3, 9, 64, 64)


def test_store_build_and_training_on_official_codes(work):
    root, pkl = work["root"], work["pkl"]
    store = root / "store.zarr"
    cvis("store", "build", work["index"], "--codec", pkl, "--out", store, "--size", 64, *CPU)
    opened = CodeStore(str(store))
    assert opened.attrs["codec_kind"] == "official_codec"
    assert opened.fingerprint == load_codec(work["converted"]).fingerprint()
    entries = opened.entries()
    assert len(entries) == 7  # 4 training and 3 test videos
    for e in entries:
        assert e.attrs["code_shape"] == [4, 4, 3, 3]  # 8 frames of 64x64
        assert opened.read(e.key, 0, 4).shape == (4, 4, 3, 3)
    assert "official_codec" in cvis("store", "info", store)
    cvis("store", "verify", store)

    aug = root / "aug.safetensors"
    out = cvis(
        "augment", "train", "--codec", pkl, "--out", aug, "--types", "flip", "--steps", 2,
        "--batch", 2, "--frames", 4, "--size", 64, "--checkpoint-every", 0, *CPU,
    )  # fmt: skip
    assert "decoded PSNR" in out and aug.is_file()

    train = ["train", "--task", "video", "--inputs", "codes", "--store", store]
    train += ["--codec", work["converted"], "--videos", work["index"], "--frames", 4]
    train += ["--backbone", "vit", "--option", "dim=16", "--option", "depth=1"]
    train += ["--option", "heads=2", "--steps", 2, "--batch", 2, "--device", "cpu"]
    with_aug = ["--latent-augment", aug, "--augment", "flip"]
    for name, extra in (("plain", []), ("latent_aug", with_aug)):
        run = root / name
        assert "video on codes: top1" in cvis(*train, "--out", run, *extra)
        result = json.loads((run / "result.json").read_text())
        assert result["steps"] == 2 and result["latent_augment"] == (str(aug) if extra else None)


def test_bench_rd_long_encode_and_code_files(work):
    root, pkl = work["root"], work["pkl"]
    out = cvis("bench", "rd", work["clip"].parent, "--codec", pkl, "--out", root / "rd",
               "--frames", 8, "--size", 64, *CPU)  # fmt: skip
    group = json.loads((root / "rd" / "rd.json").read_text())["groups"][0]
    assert group["kind"] == "official_codec" and "| codec | method |" in out
    assert 0 < group["clips"]["a"]["neural"]["psnr"] < 100

    long_store = root / "long.zarr"
    cvis("long", "encode", work["clip"], "--codec", work["converted"], "--out", long_store, *CPU)
    (entry,) = CodeStore(str(long_store)).entries()
    assert entry.attrs["code_shape"] == [4, 4, 3, 3]

    codes, video = root / "a.npz", root / "a.mp4"
    cvis("codec", "encode", work["clip"], "--out", codes, "--codec", pkl, *CPU)
    cvis("codec", "decode", codes, "--out", video, "--codec", work["converted"], *CPU)
    assert video.stat().st_size > 0


# -- bad codec files, from every command ---------------------------------------------------


class RunsShell:
    """Unpickled by a plain `pickle.load`, this runs a shell command that writes `marker`."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"echo pwned > {self.marker}",))


def commands(codec: Path, work: dict[str, Path], out: Path) -> dict[str, list]:
    """Every command that takes --codec, with `codec` and otherwise good arguments."""
    clip, index = work["clip"], work["index"]
    return {
        "codec encode": ["codec", "encode", clip, "--out", out / "c.npz", "--codec", codec],
        "codec decode": ["codec", "decode", out / "c.npz", "--out", out / "v.mp4",
                         "--codec", codec],
        "store build": ["store", "build", index, "--codec", codec, "--out", out / "s.zarr"],
        "train": ["train", "--task", "video", "--inputs", "codes", "--store", out / "s.zarr",
                  "--codec", codec, "--out", out / "run"],
        "augment train": ["augment", "train", "--codec", codec, "--out", out / "a.safetensors"],
        "augment eval": ["augment", "eval", "--codec", codec, "--aug", out / "a.safetensors"],
        "bench rd": ["bench", "rd", clip.parent, "--codec", codec, "--out", out / "rd"],
        "bench downstream": ["bench", "downstream", "--codec", codec, "--out", out / "ds"],
        "long encode": ["long", "encode", clip, "--codec", codec, "--out", out / "l.zarr"],
        "long demo": ["long", "demo", "--minutes", 0.1, "--codec", codec, "--out", out / "ld"],
        "codec prior": ["codec", "prior", "--codec", codec, "--data", "synthetic",
                        "--out", out / "p.safetensors"],
    }  # fmt: skip


def assert_refused(args: list, path: Path, reason: str) -> None:
    res = runner.invoke(app, [str(a) for a in [*args, *CPU]])
    assert res.exit_code == 2, res.output
    assert "Traceback" not in res.output and f"error: {path}: " in res.output, res.output
    assert re.search(reason, res.output), res.output


COMMANDS = list(commands(Path(), {"clip": Path(), "index": Path()}, Path()))


@pytest.mark.parametrize("command", COMMANDS)
def test_a_pickle_that_would_run_code_is_refused_by_every_command(command, work, tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(pickle.dumps({"params": {}, "state": {}, "config": RunsShell(marker)}))
    if command == "codec decode":  # a good code file, to get past the first check
        cvis("codec", "encode", work["clip"], "--out", tmp_path / "c.npz", "--codec", "cr30", *CPU)
    assert_refused(
        commands(evil, work, tmp_path)[command], evil, r"refused to load global \w+\.system"
    )
    assert not marker.exists()


@pytest.mark.parametrize("command", ["store build", "augment train", "long encode", "bench rd"])
def test_a_codec_file_of_the_wrong_kind_names_the_file_and_what_it_is(command, work, tmp_path):
    augmenter = WEIGHTS_DIR / SHIPPED_AUGMENTERS["cr240"]
    reason = r"is a 'augmenter' checkpoint, expected 'codec' .* it is not a codec"
    assert_refused(commands(augmenter, work, tmp_path)[command], augmenter, reason)
    with pytest.raises(CheckpointError, match="not a codec"):
        load_codec(augmenter)


def test_a_store_of_official_codes_refuses_another_codec(work, tmp_path):
    store = tmp_path / "s.zarr"
    cvis("long", "encode", work["clip"], "--codec", work["pkl"], "--out", store, *CPU)
    other = write_official(tmp_path / "other.pkl", seed=3)
    res = runner.invoke(app, [str(a) for a in ["long", "encode", work["clip"], "--codec", other,
                                               "--out", store, *CPU]])  # fmt: skip
    assert res.exit_code == 2 and "built with another codec" in res.output, res.output
    assert json.loads((store / "zarr.json").read_text())["attributes"]["codec_kind"] == (
        "official_codec"
    )
    assert zarr.open_group(str(store), mode="r").attrs["codec"]["use_time_compression_2x"]
