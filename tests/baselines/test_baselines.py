"""Classical baselines: round trips, rate matching, quality metrics, MS-SSIM."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from compressed_vision.baselines import (
    byte_budget,
    frames_ms_ssim,
    frames_psnr,
    jpeg_at_rate,
    jpeg_encode,
    jpeg_roundtrip,
    mpeg_at_rate,
    mpeg_encode,
    mpeg_roundtrip,
    recompress,
)
from compressed_vision.baselines.mpeg import CODECS, _strip_user_data
from compressed_vision.codec.msssim import ms_ssim, ms_ssim_loss, num_scales
from compressed_vision.errors import CVError, ShapeError
from compressed_vision.video.io import read_video
from tests.conftest import SHARED, moving_frames


@pytest.fixture(scope="module")
def clip() -> np.ndarray:
    """16 frames of 64x64: real footage where the shared clips exist, else noisy synthetic."""
    path = SHARED / "data" / "bikes.mp4"
    if path.is_file():
        return read_video(path, count=16, size=64)
    return _noisy_synthetic()


def _noisy_synthetic() -> np.ndarray:
    """A moving gradient with pixel noise, so that CR 30 takes a real effort from H.264."""
    noise = np.random.default_rng(0).integers(-10, 11, (16, 64, 64, 3))
    return (moving_frames(16, 64, 64) + noise).clip(0, 255).astype(np.uint8)


@pytest.mark.parametrize("codec", ["h264", "hevc"])
def test_mpeg_round_trip_shapes(clip, codec):
    result = mpeg_roundtrip(clip, 23, codec)
    assert result.frames.shape == clip.shape and result.frames.dtype == np.uint8
    assert 0 < result.payload_bytes < result.container_bytes
    assert frames_psnr(clip, result.frames) > 30


def test_odd_sizes_and_jpeg_round_trip():
    odd = moving_frames(6, 33, 47)
    for codec in ("h264", "hevc"):  # odd sides; HEVC also padded to HEVC_MIN_WIDTH
        assert mpeg_roundtrip(odd, 20, codec).frames.shape == odd.shape
    result = jpeg_roundtrip(odd, 80)
    assert result.frames.shape == odd.shape and result.frames.dtype == np.uint8
    assert result.payload_bytes == sum(len(f) for f in jpeg_encode(odd, 80))


def test_encoder_text_is_stripped_and_encodes_are_deterministic(clip):
    for codec, name in [("h264", b"x264"), ("hevc", b"x265")]:
        stream = b"".join(bytes(p) for p in mpeg_encode(clip[:4], 30, codec))
        assert name not in stream
        assert stream == b"".join(bytes(p) for p in mpeg_encode(clip[:4], 30, codec))
    sps, idr = b"\x00\x00\x00\x01\x67ab", b"\x00\x00\x01\x65cd"
    sei = b"\x00\x00\x01\x06\x05\x02xy\x80"  # user data unregistered: dropped
    recovery = b"\x00\x00\x01\x06\x06\x01z\x80"  # another SEI message: kept
    assert _strip_user_data(sps + sei + idr, CODECS["h264"]) == sps + idr
    assert _strip_user_data(sps + recovery + idr, CODECS["h264"]) == sps + recovery + idr


@pytest.mark.parametrize("codec", ["h264", "hevc"])
@pytest.mark.parametrize("cr", [30, 240])
def test_mpeg_rate_matching_within_5_percent(clip, codec, cr):
    result = mpeg_at_rate(clip, cr, codec)
    budget = byte_budget(clip, cr)
    assert result.reachable and result.within_tolerance
    assert abs(result.payload_bytes / budget - 1) <= 0.05
    assert result.achieved_cr == pytest.approx(cr, rel=0.06)
    assert result.frames.shape == clip.shape
    assert result.to_dict()["crf"] == result.setting


def test_jpeg_rate_matching_picks_the_highest_fitting_quality(clip):
    result = jpeg_at_rate(clip, 20)
    budget = byte_budget(clip, 20)
    assert result.reachable and result.payload_bytes <= budget
    assert result.setting == 95 or sum(map(len, jpeg_encode(clip, result.setting + 1))) > budget


def test_jpeg_at_a_too_high_rate_is_unreachable(clip):
    result = jpeg_at_rate(clip, 2000)
    assert not result.reachable and not result.within_tolerance
    assert result.setting == 1 and result.achieved_cr < 2000
    with pytest.raises(CVError, match="cannot reach"):
        recompress(clip, "jpeg", 2000, strict=True)


def test_psnr_falls_as_the_rate_rises(clip):
    for method, rates in [("h264", (30, 120, 480)), ("hevc", (30, 480)), ("jpeg", (10, 40))]:
        psnrs = [frames_psnr(clip, recompress(clip, method, cr)) for cr in rates]
        assert psnrs == sorted(psnrs, reverse=True), (method, psnrs)
    assert frames_ms_ssim(clip, recompress(clip, "h264", 30)) > frames_ms_ssim(
        clip, recompress(clip, "h264", 480)
    )


def test_bad_inputs_raise_clear_errors(clip):
    with pytest.raises(CVError, match="uint8"):
        jpeg_at_rate(clip.astype(np.float32), 30)
    with pytest.raises(ShapeError):
        mpeg_at_rate(clip[..., :2], 30)
    with pytest.raises(CVError, match="> 1"):
        mpeg_at_rate(clip, 1)
    with pytest.raises(CVError, match="unknown"):
        recompress(clip, "vp9", 30)
    with pytest.raises(ShapeError):
        frames_psnr(clip, clip[:4])


def test_ms_ssim_identity_noise_and_shapes():
    torch.manual_seed(0)
    x = torch.rand(2, 3, 4, 64, 64)
    assert float(ms_ssim(x, x)) == pytest.approx(1.0, abs=1e-5)
    noisy = [ms_ssim(x, (x + s * torch.randn_like(x)).clamp(0, 1)) for s in (0.02, 0.1, 0.3)]
    assert 1 > noisy[0] > noisy[1] > noisy[2] > 0
    assert ms_ssim(x, x, reduction="none").shape == (2, 4)
    assert ms_ssim(x[:, :, 0], x[:, :, 0], reduction="none").shape == (2,)
    sides, scales = (10, 11, 21, 22, 64, 128, 176, 512), [0, 1, 1, 2, 3, 4, 5, 5]
    assert [num_scales(s, s) for s in sides] == scales
    with pytest.raises(ShapeError):
        ms_ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ShapeError):
        ms_ssim(x, x[:, :, :2])


def test_ms_ssim_is_differentiable():
    torch.manual_seed(0)
    target = torch.rand(2, 3, 2, 48, 48)
    x = (target + 0.2 * torch.randn_like(target)).clamp(0, 1).requires_grad_()
    loss = ms_ssim_loss(x, target)
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    with torch.no_grad():  # a small step against the gradient improves the score
        assert ms_ssim_loss(x - 50 * x.grad, target) < loss
