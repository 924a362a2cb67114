"""A tiny run of the activation-memory benchmark: codes save fewer bytes than pixels."""

from __future__ import annotations

import json

import torch

from compressed_vision.bench.memory import activation_memory
from compressed_vision.codec import VideoCodec, preset, save_codec


def test_codes_save_fewer_activation_bytes_than_pixels(tmp_path):
    torch.manual_seed(0)
    codec = save_codec(tmp_path / "c.safetensors", VideoCodec(preset("tiny", channels=8)))
    cases = (("cnn3d", {}, 8, False),)
    written = activation_memory([str(codec), "cr480"], tmp_path / "out", 32, 2, 8, cases)
    tiny, cr480 = json.loads(written["json"].read_text())["rows"]
    assert tiny["pixels / codes"] > 1 and tiny["clip"] == "8x32x32"
    assert cr480["codec"] == "cr480" and cr480["pixels / codes"] > 1
    assert "`cr480` (16x spatial, 4x temporal)" in written["md"].read_text()
