"""Shared data for the downstream-task tests: a tiny codec (8x spatial, 2x temporal), the
synthetic set written as files with a COIN-style index (whole-video and frame-wise labels),
and stores of it; import the fixtures into a test module to use them."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from compressed_vision.bench.downstream import write_synthetic_dataset
from compressed_vision.codec import VideoCodec, preset, save_codec
from compressed_vision.sources import manifest_from_source
from compressed_vision.sources.synthetic import SyntheticConfig, make_video
from compressed_vision.store import build_store
from compressed_vision.tasks import TaskConfig

TINY_VIT = {"dim": 16, "depth": 1, "heads": 2}


def make_codec(seed: int = 0) -> VideoCodec:
    """An untrained codec (CR 96 on these clips) with data-initialised codebooks."""
    torch.manual_seed(seed)
    codec = VideoCodec(preset("tiny", channels=8, temporal_factor=2))
    videos = torch.stack([make_video(SyntheticConfig(frames=4, size=32), i)[0] for i in range(2)])
    with torch.no_grad():
        codec.train()(videos)
    return codec.eval()


_MADE: dict[str, dict[str, Path]] = {}  # one copy per session, whichever module asks first


@pytest.fixture(scope="session", name="data")
def data_fixture(tmp_path_factory) -> dict[str, Path]:
    """codec, index (4 train / 3 test videos of 8 frames, 3 segments each) and its store."""
    key = str(tmp_path_factory.getbasetemp())
    if key not in _MADE:
        _MADE[key] = _make_data(tmp_path_factory.mktemp("downstream"))
    return _MADE[key]


def _make_data(root: Path) -> dict[str, Path]:
    codec_path = save_codec(root / "codec.safetensors", make_codec())
    index = write_synthetic_dataset(
        root / "synth",
        SyntheticConfig(num_videos=4, frames=8, size=32, segments=3),
        3,
        show_progress=False,
    )
    store = root / "synth.zarr"
    build_store(manifest_from_source(index), make_codec(), str(store), size=32, progress=False)
    return {"root": root, "codec": codec_path, "index": index, "store": store}


def config(data: dict[str, Path], tmp_path: Path, **overrides) -> TaskConfig:
    """A tiny codes run on the fixture's store (2 steps, a 1-block ViT)."""
    settings = {
        "task": "video",
        "inputs": "codes",
        "store": str(data["store"]),
        "videos": str(data["index"]),
        "codec": str(data["codec"]),
        "size": 32,
        "frames": 4,
        "backbone": "vit",
        "backbone_options": TINY_VIT,
        "steps": 2,
        "batch": 2,
        "warmup": 1,
        "device": "cpu",
        "out": str(tmp_path / "run"),
    }
    return TaskConfig(**{**settings, **overrides})
