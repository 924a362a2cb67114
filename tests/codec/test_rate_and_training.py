from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from compressed_vision.codec import load_codec, preset, train_codec
from compressed_vision.codec.data import VideoFolderClips, training_clips
from compressed_vision.codec.rate import (
    compress_codes,
    decompress_codes,
    entropy_bits,
    rate_figures,
)
from compressed_vision.codec.train import state_path
from compressed_vision.errors import CheckpointError, VideoError
from compressed_vision.train_loop import LoopConfig, infinite_batches
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames


def test_rate_figures_on_skewed_codes():
    rng = np.random.default_rng(0)
    codes = rng.choice(4, size=(2, 8, 8, 8), p=[0.7, 0.1, 0.1, 0.1])  # 4 of 256 symbols used
    figs = rate_figures(codes, 256, frames=8, height=64, width=64)
    assert figs.index_cr == pytest.approx(8 * 64 * 64 * 24 / (codes.size * 8))
    assert figs.entropy_cr > figs.index_cr  # entropy (~1.36 bits) is far below 8 bits
    assert figs.zstd_cr > figs.index_cr  # the lossless stage beats the raw index size
    assert figs.zstd_bytes < figs.index_bytes


def test_entropy_of_uniform_codes_is_log2_k():
    codes = np.tile(np.arange(16), 64).reshape(1, -1)
    assert entropy_bits(codes, 16) == pytest.approx(codes.size * math.log2(16))


def test_lossless_round_trip_uint16():
    codes = torch.randint(0, 1024, (3, 4, 5, 6))
    data = compress_codes(codes, 1024)
    np.testing.assert_array_equal(decompress_codes(data, (3, 4, 5, 6), 1024), codes.numpy())


def test_folder_clips_skip_corrupt_files_with_a_warning(tmp_path):
    for i in range(2):
        write_video(tmp_path / "a" / f"v{i}.mp4", moving_frames(20, 40, 40), fps=25)
    (tmp_path / "a" / "broken.mp4").write_bytes(b"\x00" * 100)
    with pytest.warns(UserWarning, match="broken.mp4"):
        train = VideoFolderClips(tmp_path, frames=4, size=32, crop=16)
    assert len(train.videos) == 2
    assert train[0]["video"].shape == (3, 4, 16, 16)
    val = VideoFolderClips(tmp_path, frames=4, size=32, split="val", val_fraction=0.2)
    assert len(val) == 2 and val[0]["video"].shape == (3, 4, 32, 32)  # 4 held-out frames each
    with pytest.raises(VideoError, match="no readable video"):
        VideoFolderClips(tmp_path / "a", frames=50, size=32)


def test_training_resumes_from_its_checkpoint(tmp_path):
    write_video(tmp_path / "v.mp4", moving_frames(30, 32, 32), fps=25)
    train_set, val_set = training_clips([str(tmp_path), "synthetic"], frames=2, size=32, seed=0)
    cfg = preset("tiny", channels=8)
    out = tmp_path / "c.safetensors"
    loop = LoopConfig(steps=2, warmup=1, checkpoint_every=1)
    train_codec(
        cfg,
        infinite_batches(train_set, 2),
        loop,
        torch.device("cpu"),
        out,
        False,
        val_set,
        ms_ssim_weight=0.1,
    )
    assert out.exists() and state_path(out).exists()
    loop = LoopConfig(steps=4, warmup=1, checkpoint_every=1)
    codec, history = train_codec(
        cfg,
        infinite_batches(train_set, 2),
        loop,
        torch.device("cpu"),
        out,
        False,
        val_set,
        resume=True,
    )
    assert len(history) == 2  # steps 2 and 3 only
    assert torch.equal(load_codec(out).quantizer.embeddings, codec.quantizer.embeddings)
    with pytest.raises(CheckpointError, match="was trained with"):
        train_codec(
            preset("tiny"),
            infinite_batches(train_set, 2),
            loop,
            torch.device("cpu"),
            out,
            False,
            None,
            resume=True,
        )
