"""Tiny runs of the codec benchmarks: streaming encode in a fresh process, and PSNR on the
held-out footage."""

from __future__ import annotations

import json

import torch

from compressed_vision.bench.codec import codec_speed, codec_validation
from compressed_vision.codec import VideoCodec, preset, save_codec
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames
from tests.sources.test_camera import write_photos


def tiny_codec(tmp_path):
    torch.manual_seed(0)
    return save_codec(tmp_path / "c.safetensors", VideoCodec(preset("tiny", channels=8)))


def test_codec_speed_streams_a_long_file_in_a_fresh_process(tmp_path):
    codecs = [tiny_codec(tmp_path), "cr240"]
    written = codec_speed(codecs, tmp_path / "work", tmp_path / "out", (1 / 6,))
    doc = json.loads(written["json"].read_text())
    (row,) = doc["streaming"]
    assert row["frames"] == 250 and row["peak RSS (MB)"] > 0
    tiny, cr240 = doc["throughput"]
    assert cr240["codec"] == "cr240" and cr240["CR"] == 256 and cr240["encode fps"] > 0
    assert abs(tiny["x real time (25 fps)"] - tiny["encode fps"] / 25) < 0.01  # fps is rounded


def test_codec_validation_scores_every_codec(tmp_path):
    write_photos(tmp_path / "data" / "photos", count=12, side=96)
    write_video(tmp_path / "data" / "carphone_pristine.mp4", moving_frames(8, 32, 32), fps=25)
    codec = str(tiny_codec(tmp_path))
    written = codec_validation([codec], tmp_path / "data", tmp_path / "out", "v", 32, 4, 1)
    (row,) = json.loads(written["json"].read_text())["rows"]
    assert row["codec"] == codec and 0 < row["val PSNR (dB)"] < 100
