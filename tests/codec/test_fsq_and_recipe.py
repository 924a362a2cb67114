"""FSQ in the codec's index format, training data with photos, recipes and their resumes."""

from __future__ import annotations

import json

import pytest
import torch

from compressed_vision.codec import VideoCodec, load_codec, preset, save_codec
from compressed_vision.codec.data import training_clips
from compressed_vision.codec.fsq import ScalarQuantizer
from compressed_vision.codec.recipe import CodecRecipe, run_recipe
from compressed_vision.errors import CheckpointError, CVError
from compressed_vision.train_loop import LoopConfig, train
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames
from tests.sources.test_camera import write_photos


def test_fsq_codes_index_a_fixed_codebook():
    q = ScalarQuantizer(num_codebooks=3, codebook_dim=4, levels=4)
    assert q.codebook_size == 256 and q.embeddings.shape == (3, 256, 4)
    z = torch.randn(2, 12, 2, 3, 3) * 3
    out = q(z)
    assert out.codes.shape == (2, 3, 2, 3, 3) and out.codes.max() < 256
    assert torch.equal(out.codes, q.codes_of(z))
    assert torch.allclose(q.lookup(out.codes), out.quantized, atol=1e-6)
    # the codebook rows are what `lookup` gives (the downstream models read `embeddings`)
    flat = out.codes[:, 1].flatten()
    assert torch.allclose(
        q.embeddings[1][flat], q.lookup(out.codes)[:, 4:8].movedim(1, -1).reshape(-1, 4)
    )


def test_fsq_passes_gradients_and_round_trips_a_checkpoint(tmp_path):
    cfg = preset("tiny", channels=8, quantizer="fsq", codebook_dim=4)  # 4 levels, 256 entries
    codec = VideoCodec(cfg)
    video = torch.rand(1, 3, 2, 16, 16)
    codec(video).reconstruction.mean().backward()
    assert codec.encoder.net[1].weight.grad.abs().sum() > 0
    path = save_codec(tmp_path / "fsq.safetensors", codec)
    loaded = load_codec(path)
    assert torch.equal(loaded.encode(video), codec.eval().encode(video))
    with pytest.raises(ValueError, match="fsq needs"):
        preset("tiny", quantizer="fsq", codebook_dim=3)


def test_photo_folders_and_validation_only_sources(tmp_path):
    write_photos(tmp_path / "photos", count=12, side=64)
    write_video(tmp_path / "clips" / "a.mp4", moving_frames(20, 40, 40), fps=25)
    write_video(tmp_path / "held" / "b.mp4", moving_frames(12, 40, 40), fps=25)
    sources = [str(tmp_path / "photos"), str(tmp_path / "clips"), "synthetic"]
    train_set, val = training_clips(sources, 4, 32, 16, val_sources=[str(tmp_path / "held")])
    assert set(val) == {"photos", "clips:tail", "synthetic", "held"}
    assert train_set[0]["video"].shape == (3, 4, 16, 16)
    assert len(val["held"]) == 3  # every frame of b.mp4: 12 frames in 4-frame clips


def tiny_recipe(**changes) -> CodecRecipe:
    fields = dict(
        preset="tiny", overrides={"channels": 8}, steps=2, batch=2, frames=2, size=16, lr=1e-3
    )
    return CodecRecipe(**{**fields, **changes})


def test_resume_continues_the_same_recipe_and_refuses_another(tmp_path):
    out = tmp_path / "c.safetensors"
    dev = torch.device("cpu")
    run_recipe(tiny_recipe(), out, dev, checkpoint_every=1, show_progress=False)
    _, history = run_recipe(tiny_recipe(steps=3), out, dev, resume=True, show_progress=False)
    assert len(history) == 1  # more steps is the same recipe, continued
    with pytest.raises(CheckpointError, match=r"different recipe \(lr: 0.001 -> 0.002"):
        run_recipe(tiny_recipe(steps=4, lr=2e-3), out, dev, resume=True, show_progress=False)


def test_cpu_budget_stops_the_loop_and_checkpoints():
    model = torch.nn.Linear(2, 1)
    seen = []

    def step(m, batch):
        return m(batch["x"]).pow(2).mean(), {}

    batches = iter(lambda: {"x": torch.randn(4, 2)}, None)
    loop = LoopConfig(steps=10**6, cpu_budget_s=0.05)
    history = train(
        model,
        step,
        batches,
        loop,
        torch.device("cpu"),
        show_progress=False,
        on_checkpoint=lambda s, _: seen.append(s),
    )
    assert 0 < len(history) < 10**6 and seen == [len(history)]


def test_cli_trains_on_photos_with_options_and_refuses_bad_ones(tmp_path):
    from typer.testing import CliRunner

    from compressed_vision.cli.main import app

    write_photos(tmp_path / "photos", count=12, side=64)
    out = tmp_path / "c.safetensors"
    base = ["codec", "train", "--out", str(out), "--preset", "tiny", "--channels", "8"]
    base += ["--frames", "2", "--size", "16", "--batch", "2", "--device", "cpu"]
    args = base + ["--data", str(tmp_path / "photos"), "--option", "quantizer=fsq"]
    res = CliRunner().invoke(app, args + ["--steps", "2", "--checkpoint-every", "1"])
    assert res.exit_code == 0, res.output
    assert "validation PSNR" in res.output and "photos" in res.output
    assert load_codec(out).config.quantizer == "fsq"
    timed = base + ["--out", str(tmp_path / "t.safetensors"), "--minutes", "0.001"]
    res = CliRunner().invoke(app, timed)
    assert res.exit_code == 0 and "10 steps fit in 0.001 minutes" in res.output
    res = CliRunner().invoke(app, base + ["--option", "quantizer=pq"])
    assert res.exit_code == 2 and "quantizer must be" in res.output
    res = CliRunner().invoke(app, args + ["--steps", "3", "--lr", "1", "--resume"])
    assert res.exit_code == 2 and "different recipe" in res.output


def test_shipped_codecs_keep_their_fingerprints():
    """Stores record the codec's fingerprint: new config fields must not change old codecs'."""
    from compressed_vision.codec import codec_fingerprint

    assert codec_fingerprint(load_codec("cr240")) == "68fffae729f36501"
    assert codec_fingerprint(load_codec("cr30")) == "1cd3073e9cad6de9"
    assert codec_fingerprint(load_codec("cr480")) == "2c1ac7f8018cda1f"


def test_residual_codebooks_quantise_what_the_previous_left():
    from compressed_vision.augment.train import train_augmenter
    from compressed_vision.errors import CVError

    cfg = preset(
        "tiny", channels=8, quantizer="rvq", num_codebooks=3, codebook_dim=4, codebook_size=16
    )
    codec = VideoCodec(cfg).train()
    video = torch.rand(2, 3, 2, 64, 64)  # 128 positions for 16 entries
    out = codec(video)  # the first batch initialises every stage's codebook
    assert out.reconstruction.shape == (2, 3, 2, 64, 64)
    assert out.vq.quantized.shape[1] == 12 and codec.encoder(video).shape[1] == 4
    codec.eval()
    z = codec.encoder(codec.pad(video) - 0.5)
    codes = codec.quantizer.codes_of(z)
    latents = codec.quantize(codes)
    stages = latents.reshape(2, 3, 4, *latents.shape[2:])
    # the sum of the stages approximates z better than the first stage alone
    err_all = (stages.sum(1) - z).pow(2).mean()
    err_first = (stages[:, 0] - z).pow(2).mean()
    assert err_all < err_first
    assert torch.equal(codec.quantizer.embeddings[1], codec.quantizer.stages[1].embeddings[0])
    with pytest.raises(CVError, match="rvq"):
        train_augmenter(codec, iter([{"video": video}]), LoopConfig(steps=1), torch.device("cpu"))


def test_the_zoo_reproduces_a_codec_stage_by_stage(tmp_path, monkeypatch):
    from compressed_vision.codec import zoo
    from compressed_vision.codec.checkpoint import SHIPPED, WEIGHTS_DIR

    assert {n: c.file for n, c in zoo.ZOO.items()} == SHIPPED
    augmenters = [c.augmenter for c in zoo.ZOO.values() if c.augmenter]
    assert augmenters and all((WEIGHTS_DIR / a).is_file() for a in augmenters)
    assert f"| cr240 | codec_cr240.safetensors | {zoo.ZOO['cr240'].augmenter} |" in zoo.zoo_table()
    write_video(tmp_path / "data" / "a.mp4", moving_frames(20, 40, 40), fps=25)
    stage = tiny_recipe(data=(zoo.DATA, "synthetic"), val_data=(zoo.DATA + "/a.mp4",))
    entry = zoo.ShippedCodec("toy", "codec_toy.safetensors", (stage, stage), {"CR": 48}, "x")
    monkeypatch.setitem(zoo.ZOO, "toy", entry)
    last = zoo.reproduce("toy", tmp_path / "w", tmp_path / "data", export=tmp_path / "pkg")
    assert last.name == "toy-stage2.f16.safetensors"
    log = tmp_path / "w" / "toy-stage2.safetensors.log.json"
    state = json.loads(log.read_text())[-1]
    assert "val_psnr/a.mp4" in state  # {data} was filled in
    exported = load_codec(tmp_path / "pkg" / "codec_toy.safetensors")
    assert exported.config == load_codec(last).config
    assert "toy" in zoo.zoo_table() and "cr240" in zoo.zoo_table()


def test_amp_trains_in_bfloat16_on_the_cpu():
    from compressed_vision.runtime import autocast

    codec = VideoCodec(preset("tiny", channels=8)).train()
    with autocast(torch.device("cpu"), True):
        out = codec(torch.rand(1, 3, 2, 16, 16))
    assert out.reconstruction.dtype == torch.bfloat16
    with autocast(torch.device("cpu"), False):
        assert codec(torch.rand(1, 3, 2, 16, 16)).reconstruction.dtype == torch.float32


def test_the_readme_table_is_the_zoo(tmp_path):
    """The README's shipped-codecs table is generated from the zoo and kept in step with it."""
    from pathlib import Path

    from typer.testing import CliRunner

    from compressed_vision.cli.main import app
    from compressed_vision.codec.zoo import README_MARKERS, update_readme, zoo_table

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    begin, end = README_MARKERS
    assert readme.split(begin, 1)[1].split(end, 1)[0] == "\n" + zoo_table()
    stale = tmp_path / "R.md"
    stale.write_text(f"intro\n{begin}\nold table\n{end}\noutro\n")
    res = CliRunner().invoke(app, ["codec", "list", "--update-readme", str(stale)])
    assert res.exit_code == 0, res.output
    assert stale.read_text() == f"intro\n{begin}\n{zoo_table()}{end}\noutro\n"
    stale.write_text("no block")
    res = CliRunner().invoke(app, ["codec", "list", "--update-readme", str(stale)])
    assert res.exit_code == 2 and "no zoo block" in res.output
    with pytest.raises(CVError, match="no zoo block"):
        update_readme(stale)
