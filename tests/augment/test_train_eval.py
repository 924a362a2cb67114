"""Training, checkpoints (and their codec check), evaluation, the module and the CLI."""

from __future__ import annotations

import json

import pytest
import torch
from typer.testing import CliRunner

from compressed_vision.augment import (
    AugmenterConfig,
    RandomLatentAugment,
    evaluate_augmenter,
    load_augmenter,
    train_augmenter,
)
from compressed_vision.augment.train import quantise
from compressed_vision.cli.augment import augment_app
from compressed_vision.codec import save_codec
from compressed_vision.errors import CheckpointError, CVError
from compressed_vision.train_loop import LoopConfig

SMALL = {"width": 16, "blocks": 1, "embed": 16}


def repeat(clips: torch.Tensor):
    while True:
        yield {"video": clips}


def test_a_few_steps_reduce_the_loss(codec, clips):
    # A random codec decodes nothing recognisable, so the latent loss alone is the signal.
    torch.manual_seed(0)
    cfg = AugmenterConfig(codec.latent_dim, types=("brightness",), **SMALL)
    loop = LoopConfig(steps=30, lr=3e-3, warmup=1)
    _, history = train_augmenter(
        codec, repeat(clips), loop, torch.device("cpu"), cfg, pixel_weight=0.0, show_progress=False
    )
    first = sum(h["loss"] for h in history[:5]) / 5
    last = sum(h["loss"] for h in history[-5:]) / 5
    assert last < 0.85 * first
    assert not any(p.requires_grad for p in codec.parameters())


def test_checkpoint_round_trip_and_refusal(codec, other_codec, clips, tmp_path):
    loop = LoopConfig(steps=2, warmup=1)
    path = tmp_path / "aug.safetensors"
    cfg = AugmenterConfig(codec.latent_dim, **SMALL)
    aug, _ = train_augmenter(
        codec, repeat(clips), loop, torch.device("cpu"), cfg, path, show_progress=False
    )
    assert json.loads((tmp_path / "aug.safetensors.log.json").read_text())["steps"] == 2
    loaded = load_augmenter(path, codec)
    assert loaded.config == aug.config and loaded.config.latent_scale != 1.0
    for key, value in aug.state_dict().items():
        assert torch.equal(value, loaded.state_dict()[key])
    with pytest.raises(CheckpointError, match="fingerprint"):
        load_augmenter(path, other_codec)
    save_codec(tmp_path / "codec.safetensors", codec)
    with pytest.raises(CheckpointError, match="expected 'augmenter'"):
        load_augmenter(tmp_path / "codec.safetensors", codec)


def test_module_augments_a_batch_in_training_mode_only(codec, clips):
    cfg = AugmenterConfig(codec.latent_dim, **SMALL)
    module = RandomLatentAugment(
        train_augmenter(
            codec,
            repeat(clips),
            LoopConfig(steps=1),
            torch.device("cpu"),
            cfg,
            show_progress=False,
        )[0],
        probs={"flip": 1.0, "brightness": 0.5},
        seed=0,
    )
    latents, _ = quantise(codec, codec.latents(clips))
    out = module(latents)
    assert out.shape == latents.shape and not torch.equal(out, latents)
    assert not out.requires_grad
    module.eval()
    assert module(latents) is latents
    with pytest.raises(CVError, match="not trained for"):
        RandomLatentAugment(module.augmenter, probs={"contrast": 0.5})


def test_evaluation_rows_and_speed(codec, clips):
    cfg = AugmenterConfig(codec.latent_dim, types=("flip", "crop", "brightness"), **SMALL)
    aug, _ = train_augmenter(
        codec, repeat(clips), LoopConfig(steps=1), torch.device("cpu"), cfg, show_progress=False
    )
    result = evaluate_augmenter(
        codec, aug, clips, torch.device("cpu"), bins=2, speed_batches=(2, 5)
    )
    rows = {(r["type"], r["params"]): r for r in result["rows"]}
    assert {k[0] for k in rows} == {"flip", "crop", "brightness"}
    assert rows[("flip", "all")]["clips"] == len(clips)
    assert rows[("brightness", "all")]["PSNR (c) naive"] == "-"
    flip = rows[("flip", "all")]
    assert flip["agree (a) upper"] >= flip["agree (b) none"] and 0 <= flip["agree latent"] <= 1
    assert {r["method"] for r in result["speed"]} >= {"latent", "(d) pixel"}
    assert {r["batch"] for r in result["speed"]} == {2, 5}
    # the decoded clip transformed in pixels keeps a flip's detail at least as well as (d)
    assert flip["PSNR transform(decode)"] >= flip["PSNR (d) pixel"] - 0.5


def test_cli_train_eval_and_refusal(codec, other_codec, tmp_path):
    runner = CliRunner()
    save_codec(tmp_path / "codec.safetensors", codec)
    save_codec(tmp_path / "other.safetensors", other_codec)
    common = ["--codec", str(tmp_path / "codec.safetensors"), "--device", "cpu"]
    aug = str(tmp_path / "aug.safetensors")
    train = ["train", *common, "--out", aug, "--types", "flip,crop", "--steps", "2"]
    train += ["--batch", "2", "--size", "32", "--width", "8", "--blocks", "1"]
    result = runner.invoke(augment_app, train)
    assert result.exit_code == 0, result.output
    more = ["train", *common, "--out", str(tmp_path / "more.safetensors"), "--init", aug]
    more += ["--types", "flip,crop", "--steps", "2", "--batch", "2", "--size", "32"]
    result = runner.invoke(augment_app, more)
    assert result.exit_code == 0, result.output
    first, second = (
        load_augmenter(tmp_path / n, codec) for n in ("aug.safetensors", "more.safetensors")
    )
    assert first.config == second.config and first.config.width == 8  # the init's, not --width's
    assert any(
        not torch.equal(a, b) for a, b in zip(first.parameters(), second.parameters(), strict=True)
    )
    spec = ["train", *common, "--out", str(tmp_path / "spec.safetensors"), "--init", aug]
    spec += ["--specialise", "crop", "--steps", "2", "--batch", "2", "--size", "32"]
    result = runner.invoke(augment_app, spec)
    assert result.exit_code == 0, result.output
    split = load_augmenter(tmp_path / "spec.safetensors", codec)
    assert split.config.separate == ("crop",) and set(split.nets) == {"all", "crop"}
    for key, value in first.nets["all"].state_dict().items():  # trained on crops alone
        assert torch.equal(value, split.nets["all"].state_dict()[key])
    assert any(
        not torch.equal(a, b)
        for a, b in zip(
            first.nets["all"].parameters(), split.nets["crop"].parameters(), strict=True
        )
    )
    no_init = ["train", *common, "--out", str(tmp_path / "y.safetensors"), "--specialise", "crop"]
    result = runner.invoke(augment_app, no_init)
    assert result.exit_code == 2 and "needs --init" in result.output
    # another codec's augmenter is a warm start (its latents are the same size); the result
    # serves the new codec alone
    other = ["--codec", str(tmp_path / "other.safetensors"), "--device", "cpu"]
    warm = ["train", *other, "--out", str(tmp_path / "x.safetensors"), "--init", aug]
    result = runner.invoke(augment_app, [*warm, "--steps", "2", "--batch", "2", "--size", "32"])
    assert result.exit_code == 0, result.output
    load_augmenter(tmp_path / "x.safetensors", other_codec)
    with pytest.raises(CheckpointError, match="fingerprint"):
        load_augmenter(tmp_path / "x.safetensors", codec)
    evaluate = ["eval", *common, "--aug", aug, "--clips", "2", "--frames", "4", "--size", "32"]
    evaluate += ["--out", str(tmp_path / "res"), "--name", "e"]
    result = runner.invoke(augment_app, [*evaluate, "--json", str(tmp_path / "e.json")])
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "e.json").read_text())["augmenter"] == aug
    assert {p.name for p in (tmp_path / "res").iterdir()} == {"e.json", "e.md", "e.png"}
    assert "(d) pixel" in (tmp_path / "res" / "e.md").read_text()
    refused = ["eval", "--codec", str(tmp_path / "other.safetensors"), "--aug", aug]
    result = runner.invoke(augment_app, [*refused, "--device", "cpu"])
    assert result.exit_code == 2 and "fingerprint" in result.output
