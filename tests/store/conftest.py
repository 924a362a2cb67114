"""Fixtures for the store tests: a tiny codec with data-initialised codebooks (so codes vary),
tiny videos in a UCF-101-style folder, and helpers to compare whole stores."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from compressed_vision.codec import VideoCodec, preset, save_codec
from compressed_vision.sources.synthetic import SyntheticConfig, make_video
from compressed_vision.store import CodeStore
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames


def tiny_codec(seed: int = 0, **overrides) -> VideoCodec:
    """An untrained tiny codec whose codebooks are initialised from data (one forward pass)."""
    torch.manual_seed(seed)
    codec = VideoCodec(preset("tiny", channels=8, **overrides))
    videos = torch.stack([make_video(SyntheticConfig(frames=8, size=32), i)[0] for i in range(2)])
    with torch.no_grad():
        codec.train()(videos)
    return codec.eval()


@pytest.fixture(scope="session")
def codec() -> VideoCodec:
    return tiny_codec()


@pytest.fixture(scope="session")
def codec_path(codec, tmp_path_factory) -> Path:
    return save_codec(tmp_path_factory.mktemp("codec") / "tiny.safetensors", codec)


def clip(frames: int, shift: int = 0, size: int = 32) -> np.ndarray:
    """A small moving gradient, different for each `shift`."""
    return moving_frames(frames + shift, size, size)[shift:]


@pytest.fixture(scope="session")
def ucf_dir(tmp_path_factory) -> Path:
    """root/{jump,run}/*.mp4 (4 good videos of 20-37 frames) plus bad files under root/bad:
    a zero-byte file, a text file, a truncated mp4."""
    root = tmp_path_factory.mktemp("ucf")
    for i, (label, frames) in enumerate([("jump", 20), ("jump", 37), ("run", 24), ("run", 9)]):
        write_video(root / label / f"v{i}.mp4", clip(frames, shift=3 * i), fps=25)
    bad = root / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "notes.mp4").write_text("not a video at all\n" * 20)
    good = (root / "jump" / "v1.mp4").read_bytes()
    (bad / "truncated.mp4").write_bytes(good[: len(good) // 3])
    (root / ".hidden.mp4").write_bytes(b"skipped")
    return root


def snapshot(url: str) -> dict:
    """Everything a store holds: root attrs, each video's attrs, codes and per-frame labels,
    and the failure list."""
    store = CodeStore(url)
    videos = {}
    for entry in store.entries():
        labels = store.frame_labels(entry.key)
        videos[entry.key] = (
            entry.attrs,
            store.codes(entry.key)[:].tobytes(),
            None if labels is None else labels.tobytes(),
        )
    return {"root": store.attrs, "videos": videos, "failures": store.failures()}
