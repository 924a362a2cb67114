"""Pixel-space transforms: identities, known cases, torchvision agreement, bad parameters."""

from __future__ import annotations

import pytest
import torch
from torchvision.transforms.v2 import functional as TF

from compressed_vision.errors import CVError, ShapeError
from compressed_vision.video.transforms import (
    SAMPLE_RANGES,
    TRANSFORMS,
    apply_transform,
    check_params,
    sample_params,
)


@pytest.fixture
def video() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.rand(3, 3, 2, 24, 32)


def rows(*values: float, n: int = 3) -> torch.Tensor:
    return torch.tensor([list(values)] * n)


@pytest.mark.parametrize(
    ("kind", "identity"),
    [
        ("crop", (0.0, 0.0, 1.0, 1.0)),
        ("brightness", (0.0,)),
        ("saturation", (1.0,)),
        ("contrast", (1.0,)),
        ("rotation", (0.0,)),
        ("flip", (0.0,)),
    ],
)
def test_identity_parameters(video, kind, identity):
    out = apply_transform(kind, video, rows(*identity))
    torch.testing.assert_close(out, video, atol=1e-5, rtol=0)


def test_flip_twice_is_identity_and_flips_per_sample(video):
    flags = torch.tensor([[1.0], [0.0], [1.0]])
    once = apply_transform("flip", video, flags)
    assert torch.equal(once[0], video[0].flip(-1)) and torch.equal(once[1], video[1])
    assert torch.equal(apply_transform("flip", once, flags), video)


def test_rotation_matches_rot90_and_torchvision(video):
    square = video[..., :24]
    quarter = apply_transform("rotation", square, rows(90.0))
    torch.testing.assert_close(quarter, torch.rot90(square, 1, (-2, -1)), atol=1e-5, rtol=0)
    ours = apply_transform("rotation", video, rows(30.0))[0, :, 0]
    theirs = TF.rotate(video[0, :, 0], 30.0, interpolation=TF.InterpolationMode.BILINEAR)
    torch.testing.assert_close(ours[:, 6:-6, 6:-6], theirs[:, 6:-6, 6:-6], atol=1e-4, rtol=0)


def test_colour_transforms_match_torchvision(video):
    frame = video[0, :, 0]
    sat = apply_transform("saturation", video, rows(0.5))[0, :, 0]
    torch.testing.assert_close(sat, TF.adjust_saturation(frame, 0.5), atol=1e-5, rtol=0)
    con = apply_transform("contrast", video, rows(0.5))[0, :, 0]
    torch.testing.assert_close(con, TF.adjust_contrast(frame, 0.5), atol=1e-5, rtol=0)
    bright = apply_transform("brightness", video, rows(0.2))
    torch.testing.assert_close(bright, (video + 0.2).clamp(0, 1))


def test_crop_matches_torchvision_resized_crop_inside(video):
    ours = apply_transform("crop", video, rows(0.25, 0.125, 0.5, 0.5))[0, :, 0]
    theirs = TF.resized_crop(
        video[0, :, 0], 6, 4, 12, 16, [24, 32], TF.InterpolationMode.BILINEAR, antialias=False
    )
    torch.testing.assert_close(ours[:, 1:-1, 1:-1], theirs[:, 1:-1, 1:-1], atol=1e-5, rtol=0)


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("crop", (0.6, 0.0, 0.5, 0.5), "inside the frame"),
        ("crop", (-0.1, 0.0, 0.5, 0.5), "inside the frame"),
        ("crop", (0.0, 0.0, -0.5, 0.5), "h, w > 0"),
        ("flip", (2.0,), "0 or 1"),
        ("brightness", (1.5,), r"\[-1, 1\]"),
        ("saturation", (-0.1,), "saturation factor"),
        ("rotation", (200.0,), "degrees"),
        ("rotation", (float("nan"),), "finite"),
    ],
)
def test_out_of_range_parameters_raise(video, kind, params, match):
    with pytest.raises(CVError, match=match):
        apply_transform(kind, video, rows(*params))


def test_bad_shapes_and_names_raise(video):
    with pytest.raises(ShapeError, match=r"\(B, 4\)"):
        apply_transform("crop", video, rows(0.0, 0.0, 1.0))
    with pytest.raises(ShapeError, match="parameter rows"):
        apply_transform("brightness", video, rows(0.1, n=2))
    with pytest.raises(ShapeError, match="video"):
        apply_transform("brightness", video[0], rows(0.1))
    with pytest.raises(CVError, match="unknown augmentation"):
        apply_transform("blur", video, rows(0.1))


@pytest.mark.parametrize("kind", TRANSFORMS)
def test_sampled_parameters_are_valid(kind):
    params = sample_params(kind, 200, torch.Generator().manual_seed(0))
    check_params(kind, params)
    if kind == "crop":
        area = params[:, 2] * params[:, 3]
        lo, hi = SAMPLE_RANGES["crop_area"]
        assert area.min() >= lo - 1e-6 and area.max() <= hi + 1e-6
    elif kind in SAMPLE_RANGES:
        lo, hi = SAMPLE_RANGES[kind]
        assert params.min() >= lo and params.max() <= hi
