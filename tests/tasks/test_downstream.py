"""Downstream training on codes and pixels: data alignment, checkpoints, resume, bad input."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from torch import nn

from compressed_vision.codec import load_codec, save_codec
from compressed_vision.errors import CVError
from compressed_vision.models import load_classifier
from compressed_vision.sources import coin_manifest, folder_manifest
from compressed_vision.store import build_store
from compressed_vision.tasks import TaskConfig, prepare, run_eval, run_training
from compressed_vision.tasks.data import Clips, GlobalBatches
from compressed_vision.tasks.real_footage import ArrowOfTime, PlaybackSpeed
from tests.tasks.downstream_fixtures import (
    config,
    data_fixture,  # noqa: F401
    make_codec,
)

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def test_code_and_pixel_clips_cover_the_same_frames(data, tmp_path):
    codes = prepare(config(data, tmp_path, task="frames"), show_progress=False)
    pixels = prepare(config(data, tmp_path, task="frames", inputs="rgb"), show_progress=False)
    assert codes.classes == pixels.classes and len(codes.test_set) == len(pixels.test_set) == 6
    for i in range(len(codes.test_set)):
        a, b = codes.test_set[i], pixels.test_set[i]
        assert a["input"].shape == (4, 2, 4, 4) and b["input"].shape == (3, 4, 32, 32)
        assert torch.equal(a["target"], b["target"]) and (a["target"] >= 0).all()
    assert codes.model_config.in_channels == 32 and pixels.model_config.input_downsample == 8
    assert pixels.model_config.temporal_downsample == 2
    coarse = prepare(config(data, tmp_path, inputs="rgb", downsample=4), show_progress=False)
    assert coarse.model_config.input_downsample == 4


def test_train_checkpoint_and_eval_on_codes(data, tmp_path):
    cfg = config(data, tmp_path, latent_augment="naive", augment_types=("crop", "brightness"))
    result = run_training(cfg, show_progress=False)
    assert set(result["metrics"]) >= {"top1", "top5", "video_top1"}
    assert result["train_videos"] == 4 and result["clips_per_second"] > 0
    assert result["bytes_per_clip"] > 0 and result["peak_memory_bytes"] >= 0
    assert result["activation_bytes_per_clip"] > 0
    model, ckpt = load_classifier(tmp_path / "run" / "model.safetensors")
    assert ckpt["step"] == 2 and ckpt["task"] == "video"
    assert model.config.num_classes == len(ckpt["classes"]) == len(result["classes"])
    again = run_eval(tmp_path / "run" / "model.safetensors", show_progress=False)
    assert again["metrics"] == result["metrics"]


@pytest.mark.parametrize("inputs", ["rgb", "jpeg", "h264"])
def test_pixel_pipelines_train(data, tmp_path, inputs):
    cfg = config(data, tmp_path, inputs=inputs, steps=1, augment_types=("flip", "crop"))
    result = run_training(cfg, show_progress=False)
    assert 0 <= result["metrics"]["top1"] <= 100
    if inputs == "rgb":
        assert result["recompression"] is None
    else:  # JPEG cannot reach CR 96 on these tiny clips; H.264 can
        summary = result["recompression"]
        assert summary["videos"] == 7 and summary["target_cr"] == pytest.approx(96)
        assert (summary["unreachable"] == 0) == (inputs == "h264")


def test_decoded_copies_hold_the_codecs_round_trip(data, tmp_path):
    prep = prepare(config(data, tmp_path, inputs="decoded"), show_progress=False)
    rgb = prepare(config(data, tmp_path, inputs="rgb"), show_progress=False)
    summary = prep.recompression
    assert summary["method"] == "decoded" and summary["videos"] == 7 and summary["unreachable"] == 0
    codec = load_codec(str(data["codec"]))
    for v in (0, 5):
        steps = rgb.reader.videos[v].steps
        original, _ = rgb.reader.read(v, 0, steps, steps)
        decoded, _ = prep.reader.read(v, 0, steps, steps)
        expected = codec.reconstruct(original[None])[0]
        assert decoded.shape == original.shape
        assert (decoded - expected).abs().max() <= 0.5 / 255 + 1e-6  # uint8 rounding only
        assert (decoded - original).abs().mean() > 0.01  # and not the original frames
    with pytest.raises(CVError, match="needs --codec"):
        prepare(config(data, tmp_path, inputs="decoded", codec=None, store=None), False)
    with pytest.raises(CVError, match="shortcut"):
        config(data, tmp_path, inputs="decoded", task="arrow")


def test_real_footage_tasks():
    clip = torch.arange(12.0).reshape(1, 12, 1, 1)
    speed = PlaybackSpeed()
    assert [speed.span(3, k) for k in range(3)] == [3, 6, 12]
    x, y = speed.make(clip, 2, -1, None)
    assert x.flatten().tolist() == [0, 4, 8] and int(y) == 2
    x, y = ArrowOfTime().make(clip[:, :3], 1, -1, None)
    assert x.flatten().tolist() == [2, 1, 0] and int(y) == 1


def test_held_out_clips_overlap_with_a_stride():
    ranges = [(0, 2, 10)]  # steps 2..9 held out, 2-step clips, both directions each
    plain = Clips(None, ArrowOfTime(), ranges, 2, False).plan
    assert [start for _, start, k, _ in plain if k == 0] == [2, 4, 6, 8]
    dense = Clips(None, ArrowOfTime(), ranges, 2, False, stride=1).plan
    assert [start for _, start, k, _ in dense if k == 0] == [2, 3, 4, 5, 6, 7, 8]
    assert len(dense) == 14
    with pytest.raises(CVError, match="test_stride"):
        TaskConfig(task="arrow", inputs="rgb", videos="v", test_stride=-1)


def test_time_split_keeps_train_and_test_apart(data, tmp_path):
    cfg = config(data, tmp_path, task="arrow", split_by="time", test_fraction=0.5)
    prep = prepare(cfg, show_progress=False)
    assert all(stop == 2 for _, _, stop in prep.train_set.ranges)
    assert all(lo == 2 for _, lo, _ in prep.test_set.ranges)
    assert prep.classes == ["forward", "backward"] and len(prep.test_set) == 7 * 2
    item = prep.train_set[5]  # a 2-step clip of the first 2 steps: nothing of the test half
    assert item["input"].shape == (4, 2, 4, 4)
    assert run_training(replace(cfg, steps=1), show_progress=False)["metrics"]["clips"] == 14


@pytest.fixture(scope="module")
def unlabelled_store(data, tmp_path_factory):
    """The same videos from a plain folder: no whole-video or per-frame labels."""
    url = str(tmp_path_factory.mktemp("plain") / "plain.zarr")
    manifest = folder_manifest(data["index"].parent / "videos")
    build_store(manifest, make_codec(), url, size=32, progress=False)
    return url


@pytest.fixture(scope="module")
def renamed_store(data, tmp_path_factory):
    """The same videos and codec, with other class names."""
    folder = tmp_path_factory.mktemp("renamed")
    index = json.loads(data["index"].read_text())
    for entry in index["database"].values():
        entry["class"] = "other_" + entry["class"]
    (folder / "index.json").write_text(json.dumps(index))
    url = str(folder / "renamed.zarr")
    manifest = coin_manifest(folder / "index.json", data["index"].parent)
    build_store(manifest, make_codec(), url, size=32, progress=False)
    return url


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"train_split": "nope"}, "selects no video"),
        ({"task": "video", "use_plain": True}, "whole-video labels"),
        ({"task": "frames", "use_plain": True}, "per-frame labels"),
        ({"frames": 3}, "multiple of the temporal factor"),
        ({"other_codec": True}, "cannot be read with it"),
    ],
)
def test_bad_input_fails_before_training(data, tmp_path, unlabelled_store, overrides, message):
    overrides = dict(overrides)
    if overrides.pop("use_plain", False):
        overrides["store"] = unlabelled_store
    if overrides.pop("other_codec", False):
        overrides["codec"] = str(save_codec(tmp_path / "other.safetensors", make_codec(seed=1)))
    with pytest.raises(CVError, match=message):
        run_training(config(data, tmp_path, **overrides), show_progress=False)
    assert not (tmp_path / "run").exists()


def test_a_checkpoint_refuses_data_with_other_labels(data, tmp_path, renamed_store):
    run_training(config(data, tmp_path, steps=1), show_progress=False)
    ckpt = tmp_path / "run" / "model.safetensors"
    with pytest.raises(CVError, match="do not match the data's labels"):
        run_eval(ckpt, store=renamed_store, show_progress=False)
    with pytest.raises(CVError, match="trained for task 'video', not 'arrow'"):
        run_eval(ckpt, task="arrow", show_progress=False)


class _Stopper(nn.Module):
    """Identity 'latent augmentation' that interrupts training at a given call."""

    def __init__(self, stop_at: int | None):
        super().__init__()
        self.calls, self.stop_at = 0, stop_at

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        if self.calls == self.stop_at:
            raise KeyboardInterrupt
        return x


def test_resume_continues_exactly(data, tmp_path):
    straight = config(data, tmp_path / "a", steps=4)
    run_training(straight, _Stopper(None), show_progress=False)
    broken = config(data, tmp_path / "b", steps=4)
    with pytest.raises(KeyboardInterrupt):
        run_training(broken, _Stopper(3), show_progress=False)
    assert load_classifier(tmp_path / "b" / "run" / "model.safetensors")[1]["step"] == 2
    run_training(replace(broken, resume=True), _Stopper(None), show_progress=False)
    a = load_classifier(tmp_path / "a" / "run" / "model.safetensors")[0].state_dict()
    b = load_classifier(tmp_path / "b" / "run" / "model.safetensors")[0].state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


def test_global_batches_split_the_same_stream():
    one = iter(GlobalBatches(5, 4, seed=3))
    first = [next(one) for _ in range(4)]
    shares = [iter(GlobalBatches(5, 4, seed=3, rank=r, world=2)) for r in range(2)]
    for batch in first:
        assert next(shares[0]) + next(shares[1]) == batch
    assert next(iter(GlobalBatches(5, 4, seed=3, start=2))) == first[2]
    assert sorted(first[0] + first[1][:1]) == list(range(5))  # epoch 0: every item once
    with pytest.raises(CVError):
        GlobalBatches(5, 3, world=2)
