"""A tiny codec (codebooks initialised by one training-mode pass) and small clips."""

from __future__ import annotations

import pytest
import torch

from compressed_vision.codec import VideoCodec, preset


def tiny_codec(seed: int) -> VideoCodec:
    torch.manual_seed(seed)
    codec = VideoCodec(preset("tiny", channels=8))
    codec.train()
    codec(torch.rand(2, 3, 4, 32, 32))  # initialises the codebooks from encoder outputs
    return codec.eval()


@pytest.fixture(scope="session")
def codec() -> VideoCodec:
    return tiny_codec(0)


@pytest.fixture(scope="session")
def other_codec() -> VideoCodec:
    return tiny_codec(1)


@pytest.fixture
def clips() -> torch.Tensor:
    """(4, 3, 4, 32, 32) smooth coloured clips in [0, 1]."""
    torch.manual_seed(0)
    coarse = torch.rand(4, 3, 4, 4, 4)
    return torch.nn.functional.interpolate(coarse, size=(4, 32, 32), mode="trilinear")
