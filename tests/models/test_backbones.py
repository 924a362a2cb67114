"""Backbones: one signature for codes and pixels, grids kept, per-step heads, rebuilds."""

from __future__ import annotations

import pytest
import torch

from compressed_vision.errors import CheckpointError
from compressed_vision.models import (
    BACKBONES,
    CodebookLookup,
    IndexEmbedding,
    ModelConfig,
    build_backbone,
    build_classifier,
    load_classifier,
    save_classifier,
)
from compressed_vision.models.s3d import s3d_stem

SMALL = {
    "cnn3d": {"width": 8},
    "s3d": {"width": 0.1},
    "r2plus1d": {"width": 0.125},
    "vit": {"dim": 24, "depth": 1, "heads": 2},
}


@pytest.mark.parametrize("name", sorted(BACKBONES))
@pytest.mark.parametrize("frame_head", [False, True])
def test_codes_and_pixels_give_the_same_output_shape(name, frame_head):
    torch.manual_seed(0)
    latents = torch.randn(2, 12, 4, 8, 8)  # a 2x temporal, 16x spatial code grid
    pixels = torch.rand(2, 3, 8, 128, 128)
    on_codes = build_backbone(name, 12, 5, frame_head=frame_head, **SMALL[name])
    on_pixels = build_backbone(
        name,
        3,
        5,
        input_downsample=16,
        frame_head=frame_head,
        temporal_downsample=2,
        **SMALL[name],
    )
    expected = (2, 5, 4) if frame_head else (2, 5)
    assert on_codes(latents).shape == expected
    assert on_pixels(pixels).shape == expected
    on_codes(latents).sum().backward()


@pytest.mark.parametrize("name", ["s3d", "r2plus1d", "vit"])
def test_any_grid_and_clip_length_fit(name):
    model = build_backbone(name, 6, 3, frame_head=True, **SMALL[name]).eval()
    for shape in [(1, 6, 3, 16, 16), (1, 6, 5, 8, 12), (1, 6, 1, 4, 4)]:
        assert model(torch.randn(shape)).shape == (1, 3, shape[2])


def test_latent_stems_keep_the_grid_and_pixel_stems_reach_it():
    x = torch.randn(1, 8, 4, 16, 16)
    assert s3d_stem(8, 16, 24, 1, 1)(x).shape[-3:] == (4, 16, 16)
    for factor in (2, 4, 8, 16):
        out = s3d_stem(3, 16, 24, factor, 2)(torch.rand(1, 3, 8, 128, 128))
        assert out.shape[-3:] == (4, 128 // factor, 128 // factor)
    with pytest.raises(ValueError):
        s3d_stem(3, 16, 24, 3, 1)
    with pytest.raises(ValueError, match="unknown backbone"):
        build_backbone("resnet9000", 3, 2)


def test_cnn3d_stem_is_as_deep_for_latents_as_for_pixels():
    """Latents keep their grid through as many stem convs as pixels take to reach it."""

    def stem_convs(model):
        return [m for m in model.stem.modules() if isinstance(m, torch.nn.Conv3d)]

    on_codes = build_backbone("cnn3d", 12, 5, width=8)
    on_pixels = build_backbone("cnn3d", 3, 5, input_downsample=8, width=8)
    assert len(stem_convs(on_codes)) == len(stem_convs(on_pixels)) == 3
    assert all(c.stride == (1, 1, 1) for c in stem_convs(on_codes))
    assert on_codes.stem(torch.randn(1, 12, 4, 8, 8)).shape[-3:] == (4, 8, 8)
    assert on_pixels.stem(torch.rand(1, 3, 4, 64, 64)).shape[-3:] == (4, 8, 8)
    assert len(stem_convs(build_backbone("cnn3d", 3, 5, input_downsample=16, width=8))) == 4
    with pytest.raises(ValueError, match="power of 2"):
        build_backbone("cnn3d", 3, 5, input_downsample=6)


def test_latents_are_standardised_after_the_augmentation_hook():
    books = torch.randn(2, 16, 3) * torch.tensor([0.02, 0.3, 1.0]) + 0.5
    lookup = CodebookLookup(books)
    every_entry = lookup(torch.arange(16).repeat(2, 1).view(1, 2, 16, 1, 1))
    standard = lookup.standardize(every_entry)
    assert torch.allclose(standard.mean(dim=(0, 2, 3, 4)), torch.zeros(6), atol=1e-5)
    assert torch.allclose(standard.std(dim=(0, 2, 3, 4)), torch.ones(6), atol=1e-4)
    cfg = ModelConfig(
        backbone="vit", num_classes=4, num_codebooks=2, codebook_size=16, codebook_dim=3,
        options=SMALL["vit"],
    )  # fmt: skip
    model = build_classifier(cfg, books).eval()
    seen = []
    codes = torch.randint(0, 16, (1, 2, 2, 4, 4))
    model.backbone.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    model(codes, augment=lambda x: x + 1)
    assert torch.allclose(seen[0], lookup.standardize(lookup(codes) + 1))
    legacy = {k: v for k, v in cfg.to_dict().items() if k != "standardize_codes"}
    assert not ModelConfig.from_dict(legacy).standardize_codes  # checkpoints from before


def test_code_inputs():
    codes = torch.randint(0, 7, (2, 3, 2, 4, 4))
    books = torch.randn(3, 7, 5)
    looked = CodebookLookup(books)(codes)
    assert looked.shape == (2, 15, 2, 4, 4)
    assert torch.equal(looked[0, 5:10, 1, 2, 3], books[1, codes[0, 1, 1, 2, 3]])
    embedded = IndexEmbedding(3, 7, 4)(codes)
    assert embedded.shape == (2, 12, 2, 4, 4) and embedded.requires_grad
    with pytest.raises(ValueError):
        IndexEmbedding(2, 7, 4)(codes)


@pytest.mark.parametrize("code_input", ["lookup", "embed"])
def test_classifier_checkpoint_rebuilds_the_model(tmp_path, code_input):
    cfg = ModelConfig(
        backbone="vit",
        num_classes=4,
        code_input=code_input,
        num_codebooks=2,
        codebook_size=16,
        codebook_dim=3,
        embed_dim=5,
        options=SMALL["vit"],
    )
    model = build_classifier(cfg, torch.randn(2, 16, 3)).eval()
    path = save_classifier(tmp_path / "m.safetensors", model, {"task": "video"})
    loaded, extra = load_classifier(path)
    codes = torch.randint(0, 16, (1, 2, 2, 4, 4))
    assert extra["task"] == "video" and loaded.config == cfg
    assert torch.allclose(loaded(codes), model(codes))
    doubled = loaded(codes, augment=lambda x: 2 * x)
    assert not torch.allclose(doubled, model(codes))
    with pytest.raises(ValueError):
        ModelConfig(inputs="words")
    (tmp_path / "bad.safetensors").write_bytes(b"nope")
    with pytest.raises(CheckpointError):
        load_classifier(tmp_path / "bad.safetensors")
