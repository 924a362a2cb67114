"""The `cvis` command as one package: shared options, one error handler (exit 2), and the
training commands as one library call each, from options or a TOML recipe."""

from __future__ import annotations

import json
from dataclasses import MISSING, fields

import pytest
import torch
import typer
from typer.testing import CliRunner

from compressed_vision.augment import load_augmenter
from compressed_vision.augment import recipe as augment_recipe
from compressed_vision.cli.main import app
from compressed_vision.cli.options import DEVICE_HELP
from compressed_vision.codec import load_video_codec, save_codec
from compressed_vision.codec import recipe as codec_recipe
from compressed_vision.video.io import write_video
from tests.augment.conftest import tiny_codec
from tests.conftest import moving_frames

runner = CliRunner()
CODEC_FLAGS = ["--preset", "tiny", "--channels", "8", "--option", "quantizer=fsq", "--steps", "2"]
CODEC_FLAGS += ["--batch", "2", "--frames", "2", "--size", "16", "--lr", "0.001", "--seed", "3"]
CODEC_TOML = """preset = "tiny"
steps = 2
batch = 2
frames = 2
size = 16
lr = 0.001
seed = 3
[overrides]
channels = 8
quantizer = "fsq"
"""
AUG_FLAGS = ["--types", "flip,crop", "--steps", "2", "--batch", "2", "--size", "32"]
AUG_FLAGS += ["--width", "8", "--blocks", "1", "--seed", "2"]
AUG_TOML = (
    'types = ["flip", "crop"]\nsteps = 2\nbatch = 2\nsize = 32\nwidth = 8\nblocks = 1\nseed = 2\n'
)


def commands(group: typer.Typer, prefix: str = "") -> dict:
    """{"codec train": click command, ...} of every command under `group`."""
    found = {}
    for name, command in typer.main.get_command(group).commands.items():
        if hasattr(command, "commands"):
            found |= {f"{name} {sub}": c for sub, c in command.commands.items()}
        else:
            found[name] = command
    return found


def invoke(*args) -> object:
    res = runner.invoke(app, [str(a) for a in args])
    assert "Traceback" not in res.output, res.output
    return res


@pytest.fixture
def captured(monkeypatch) -> list:
    """The recipes the training commands would run (nothing is trained)."""
    seen = []
    for module in (codec_recipe, augment_recipe):
        monkeypatch.setattr(
            module, "run_recipe", lambda recipe, *_, **__: (seen.append(recipe), [])
        )
    return seen


@pytest.fixture(scope="module")
def codec_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("codec") / "tiny.safetensors"
    save_codec(path, tiny_codec(0))
    return path


def test_every_command_shares_the_option_types():
    every = commands(app)
    with_results = {"train", "eval", "demo", "codec train", "codec encode", "augment train"}
    with_results |= {"augment eval", "bench rd", "bench downstream", "long demo", "long encode"}
    with_results |= {"store build", "store info", "store verify", "store migrate"}
    for name, command in every.items():
        options = {opt: param for param in command.params for opt in param.opts}
        assert "--out-dir" not in options, name
        if "--device" in options:
            assert options["--device"].help.startswith(DEVICE_HELP), name
        if name in with_results:
            assert "--json" in options, name


@pytest.mark.parametrize(
    ("name", "cls"),
    [("codec train", codec_recipe.CodecRecipe), ("augment train", augment_recipe.AugmenterRecipe)],
)
def test_the_training_options_show_the_recipes_defaults(name, cls):
    """The options pass on only what is given: the defaults they show are the recipe's."""
    defaults = {f.name: f.default for f in fields(cls) if f.default is not MISSING}
    for param in commands(app)[name].params:
        if param.name in defaults and param.default is not None:
            shown = param.default
            shown = tuple(shown.split(",")) if param.name == "types" else shown
            assert shown == defaults[param.name], param.name


def test_a_codec_recipe_file_gives_the_same_recipe_as_the_options(tmp_path, captured):
    (tmp_path / "r.toml").write_text(CODEC_TOML)
    out = ["codec", "train", "--out", tmp_path / "c.safetensors"]
    assert invoke(*out, *CODEC_FLAGS).exit_code == 0
    assert invoke(*out, "--config", tmp_path / "r.toml").exit_code == 0
    assert invoke(*out, "--config", tmp_path / "r.toml", "--steps", "9").exit_code == 0
    by_flags, by_file, overridden = captured
    assert by_flags == by_file == codec_recipe.load_recipe(tmp_path / "r.toml")
    assert overridden.steps == 9 and overridden.lr == 0.001  # options given win, no others


def test_an_augmenter_recipe_file_gives_the_same_recipe_as_the_options(tmp_path, captured):
    (tmp_path / "a.toml").write_text(AUG_TOML + 'codec = "cr240"\n')
    out = ["augment", "train", "--out", tmp_path / "a.safetensors"]
    assert invoke(*out, "--codec", "cr240", *AUG_FLAGS).exit_code == 0
    assert invoke(*out, "--config", tmp_path / "a.toml").exit_code == 0
    assert invoke(*out, "--config", tmp_path / "a.toml", "--codec", "cr30").exit_code == 0
    by_flags, by_file, other_codec = captured
    assert by_flags == by_file and by_file.types == ("flip", "crop")
    assert other_codec.codec == "cr30" and other_codec.width == 8


@pytest.mark.parametrize("command", ["codec", "augment"])
def test_an_unknown_or_mistyped_setting_is_refused_with_exit_2(command, tmp_path, captured):
    out = [command, "train", "--out", tmp_path / "x.safetensors", "--config"]
    for text, reason in [("stepz = 2", "unknown settings ['stepz']"), ("steps = 'a'", "type int")]:
        (tmp_path / "bad.toml").write_text(text)
        res = invoke(*out, tmp_path / "bad.toml")
        assert res.exit_code == 2, res.output
        assert f"error: {tmp_path / 'bad.toml'}: " in res.output and reason in res.output
    assert not captured
    res = invoke("augment", "train", "--out", tmp_path / "y.safetensors", *AUG_FLAGS)
    assert res.exit_code == 2 and "give one (--codec)" in res.output


def test_codec_train_is_one_library_call(tmp_path):
    (tmp_path / "r.toml").write_text(CODEC_TOML)
    cli_out, lib_out = tmp_path / "cli.safetensors", tmp_path / "lib.safetensors"
    res = invoke("codec", "train", "--out", cli_out, *CODEC_FLAGS, "--device", "cpu",
                 "--json", tmp_path / "c.json")  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "c.json").read_text())
    assert summary["checkpoint"] == str(cli_out) and summary["steps_run"] == 2
    recipe = codec_recipe.load_recipe(tmp_path / "r.toml")
    codec_recipe.run_recipe(recipe, lib_out, "cpu", show_progress=False)
    by_cli, by_lib = load_video_codec(cli_out), load_video_codec(lib_out)
    assert by_cli.config == by_lib.config and by_cli.config.quantizer == "fsq"
    for (name, a), b in zip(by_cli.state_dict().items(), by_lib.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_augment_train_is_one_library_call(tmp_path, codec_path):
    (tmp_path / "a.toml").write_text(AUG_TOML + f'codec = "{codec_path}"\n')
    cli_out, lib_out = tmp_path / "cli.safetensors", tmp_path / "lib.safetensors"
    res = invoke("augment", "train", "--codec", codec_path, "--out", cli_out, *AUG_FLAGS,
                 "--device", "cpu", "--json", tmp_path / "a.json")  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads((tmp_path / "a.json").read_text())
    assert summary["steps_run"] == 2 and "psnr" in summary["last_step"]
    recipe = augment_recipe.load_recipe(tmp_path / "a.toml")
    augment_recipe.run_recipe(recipe, lib_out, "cpu", show_progress=False)
    codec = load_video_codec(codec_path)
    by_cli, by_lib = (load_augmenter(p, codec) for p in (cli_out, lib_out))
    assert by_cli.config == by_lib.config
    for a, b in zip(by_cli.parameters(), by_lib.parameters(), strict=True):
        assert torch.equal(a, b)


def test_encode_commands_write_their_result_as_json(tmp_path, codec_path):
    write_video(tmp_path / "v.mp4", moving_frames(8, 32, 32), fps=25)
    args = ["codec", "encode", tmp_path / "v.mp4", "--out", tmp_path / "v.npz"]
    res = invoke(*args, "--codec", codec_path, "--device", "cpu", "--json", tmp_path / "e.json")
    assert res.exit_code == 0, res.output
    result = json.loads((tmp_path / "e.json").read_text())
    assert result["frames"] == 8 and result["bytes"] == (tmp_path / "v.npz").stat().st_size
    assert result["rates"]["index_cr"] > 1
    args = ["long", "encode", tmp_path / "v.mp4", "--out", tmp_path / "s.zarr"]
    res = invoke(*args, "--codec", codec_path, "--device", "cpu", "--json", tmp_path / "l.json")
    assert res.exit_code == 0, res.output
    assert json.loads((tmp_path / "l.json").read_text())["frames"] == 8
