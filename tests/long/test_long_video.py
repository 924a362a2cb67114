from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import typer
from typer.testing import CliRunner

from compressed_vision.cli.long import long_app
from compressed_vision.codec.files import frames_to_tensor
from compressed_vision.errors import CVError
from compressed_vision.long.memory import check_fits, code_probe, estimate_memory
from compressed_vision.long.models import LongModelConfig, LongVideoModel
from compressed_vision.long.store import encode_long_file, encode_tour
from compressed_vision.long.tasks import (
    long_step,
    revisit_flags,
    tour_batches,
    tour_data,
)
from compressed_vision.long.tour import TourConfig, WalkingTour
from compressed_vision.store import CodeStore
from compressed_vision.video.io import read_video, write_video
from tests.store.conftest import tiny_codec

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def codec():
    return tiny_codec()


def test_streaming_a_tour_into_a_store_equals_a_whole_encode(codec, tmp_path):
    tour = WalkingTour(TourConfig(minutes=0.06, size=32))  # 90 frames: 5 windows + a part
    entry = encode_tour(tour, codec, str(tmp_path / "s.zarr"), "tour", CPU, progress=False)
    whole = codec.encode(frames_to_tensor(tour.render(0, tour.frames)))[0].numpy()
    store = CodeStore(str(tmp_path / "s.zarr"))
    assert np.array_equal(store.read("tour", 0, entry.steps), whole)
    assert np.array_equal(store.frame_labels("tour"), tour.labels().district)
    assert TourConfig.from_dict(entry.attrs["tour"]) == tour.cfg and entry.attrs["frames"] == 90
    again = encode_tour(tour, codec, str(tmp_path / "s.zarr"), "tour", CPU, progress=False)
    assert again.attrs["sha256"] == entry.attrs["sha256"]  # kept, not redone


def test_a_long_file_streams_into_a_store(codec, tmp_path):
    tour = WalkingTour(TourConfig(minutes=0.04, size=32))
    path = write_video(tmp_path / "tour.mp4", tour.chunks(16), fps=25)
    entry = encode_long_file(path, codec, str(tmp_path / "f.zarr"), CPU, progress=False)
    expected = codec.encode(frames_to_tensor(read_video(path)))[0].numpy()
    assert np.array_equal(CodeStore(str(tmp_path / "f.zarr")).read(entry.key, 0, 999), expected)


def _few_minutes(codec, minutes: float = 3.0):
    """Random codes shaped like `minutes` of a 32x32 tour, with that tour's labels."""
    cfg = TourConfig(minutes=minutes, size=32, visit_seconds=(10.0, 30.0))
    g, t, h, w = codec.config.code_shape(cfg.frames, 32, 32)
    codes = np.random.default_rng(0).integers(codec.codebook_size, size=(g, t, h, w))
    return tour_data(codes.astype(np.uint8), cfg, 25, codec.config.temporal_factor)


def test_checkpointing_gives_the_same_gradients(codec):
    data = _few_minutes(codec)
    batch = next(tour_batches(data, time_bins=12, queries=16))
    assert data.chunks == 180 and batch["codes"].shape[2] == 180 * 25
    grads = []
    for segment in (0, 16):
        torch.manual_seed(0)
        cfg = LongModelConfig(checkpoint_chunks=segment, width=32)
        model = LongVideoModel.for_codes(cfg, codec.quantizer.embeddings)
        loss, _ = long_step(model, batch)
        loss.backward()
        grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
    for name, grad in grads[0].items():
        torch.testing.assert_close(grads[1][name], grad, rtol=1e-4, atol=1e-6, msg=name)


def test_batches_reorder_visits_and_recompute_memory_labels(codec):
    data = _few_minutes(codec)
    batch = next(tour_batches(data, time_bins=12, queries=8, seed=3))
    district = batch["district"].numpy()
    assert sorted(district.tolist()) == sorted(data.district.tolist())
    runs = district[np.r_[True, district[1:] != district[:-1]]]
    assert len(runs) == len(set(data.visit.tolist()))  # no two visits of a district adjacent
    first = {}
    expected = [first.setdefault(d, i) != i for i, d in enumerate(runs)]
    starts = np.flatnonzero(np.r_[True, district[1:] != district[:-1]])
    assert np.array_equal(batch["revisit"].numpy()[starts], expected)
    assert revisit_flags(np.array([1, 1, 2, 1]), np.array([0, 0, 1, 2])).tolist() == [
        False,
        False,
        False,
        True,
    ]


def test_a_video_too_long_for_memory_is_a_clear_error(codec):
    data = _few_minutes(codec, 1.0)
    model = LongVideoModel.for_codes(LongModelConfig(width=32), codec.quantizer.embeddings)
    probe = code_probe(codec.config, 32, 32, 25)
    estimate = estimate_memory(model, probe, data.frames_per_chunk)
    hour = 3600
    budget = estimate.bytes_for(600) + 1  # ten minutes fit, an hour does not
    assert estimate.max_chunks(budget) == 600
    with pytest.raises(CVError, match=r"longest video that fits is 15000 frames \(10.0 min\)"):
        check_fits(estimate, hour, budget, fps=25, source="tour.zarr")
    check_fits(estimate, 600, budget, fps=25)
    plain = LongVideoModel.for_codes(
        LongModelConfig(width=32, checkpoint_chunks=0), codec.quantizer.embeddings
    )
    assert estimate_memory(plain, probe, 25).per_chunk > 3 * estimate.per_chunk


def test_cli_demo_writes_table_json_and_plot(tmp_path):
    app = typer.Typer()
    app.add_typer(long_app, name="long")
    out = tmp_path / "run"
    args = ["long", "demo", "--minutes", "0.2", "--size", "32", "--codec-steps", "1"]
    args += ["--steps", "2", "--out", str(out), "--device", "cpu"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads((out / "long_demo.json").read_text())
    assert set(payload["results"]) == {"long-context", "short-window"}
    assert (out / "long_demo.md").read_text().startswith("| task")
    assert (out / "long_demo.png").stat().st_size > 0
    too_small = CliRunner().invoke(app, [*args, "--max-memory", "0.001"])
    assert too_small.exit_code == 2 and "longest video that fits" in too_small.output
