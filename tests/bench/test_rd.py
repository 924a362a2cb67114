from __future__ import annotations

import json

import torch

from compressed_vision.bench.rd import run_rd
from compressed_vision.codec import VideoCodec, preset, save_codec
from compressed_vision.video.io import write_video
from tests.conftest import moving_frames


def test_rd_puts_every_method_at_the_neural_codecs_bytes(tmp_path):
    clips = tmp_path / "clips"
    write_video(clips / "a.mp4", moving_frames(8, 32, 32), fps=25)
    torch.manual_seed(0)
    codec = VideoCodec(preset("tiny", channels=8))
    codec.train()
    codec(torch.rand(2, 3, 2, 32, 32))  # initialise the codebooks from data
    path = save_codec(tmp_path / "c.safetensors", codec.eval())
    result, table = run_rd(clips, [path], tmp_path / "out", torch.device("cpu"), 8, 32)
    row = result["groups"][0]["clips"]["a"]
    assert 0 < row["neural"]["psnr"] < 100
    assert row["neural"]["cr"] >= row["neural"]["index_cr"] * 0.5
    for method in ("h264", "hevc"):
        assert abs(row[method]["cr"] - row["neural"]["cr"]) / row["neural"]["cr"] < 0.06
    assert "| codec | method |" in table
    assert json.loads((tmp_path / "out" / "rd.json").read_text())["groups"]
    assert (tmp_path / "out" / "rd.png").stat().st_size > 0
