"""The augmentation network: shapes, the naive op it starts from, conditioning, refusals."""

from __future__ import annotations

import pytest
import torch

from compressed_vision.augment import (
    Augmentation,
    AugmenterConfig,
    LatentAugmenter,
    latent_grid_op,
    sample_augmentation,
    specialise,
)
from compressed_vision.augment.params import COND_DIM, conditioning, parse_types
from compressed_vision.errors import CVError, ShapeError


@pytest.fixture
def latents() -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(4, 32, 2, 4, 4)


@pytest.mark.parametrize(("separate", "fine"), [((), 0), (("flip", "crop"), 0), ((), 4)])
def test_output_has_the_input_shape(latents, separate, fine):
    cfg = AugmenterConfig(32, width=8, blocks=1, embed=8, separate=separate, fine=fine)
    net = LatentAugmenter(cfg)
    torch.nn.init.normal_(next(iter(net.nets.values())).head.weight)
    aug = sample_augmentation(net.config.types, 4, torch.Generator().manual_seed(0))
    out = net(latents, aug)
    assert out.shape == latents.shape and torch.isfinite(out).all()


@pytest.mark.parametrize("fine", [0, 2])
def test_untrained_network_is_the_naive_latent_grid_op(latents, fine):
    net = LatentAugmenter(AugmenterConfig(32, width=8, blocks=1, embed=8, fine=fine))
    flip = Augmentation.of("flip", torch.ones(4, 1))
    torch.testing.assert_close(net(latents, flip), latent_grid_op(latents, flip))
    torch.testing.assert_close(latent_grid_op(latents, flip), latents.flip(-1))
    full = Augmentation.of("crop", torch.tensor([[0.0, 0.0, 1.0, 1.0]] * 4))
    torch.testing.assert_close(latent_grid_op(latents, full), latents)


def test_conditioning_layout():
    aug = Augmentation(torch.tensor([0, 1]), torch.tensor([[1.0, 0, 0, 0], [0, 0, 1, 1]]))
    cond = conditioning(aug)
    assert cond.shape == (2, COND_DIM)
    assert cond[0, 0] == 1 and cond[1, 1] == 1 and cond[:, 2:6].abs().sum() == 0
    assert cond[0, 6] == 1  # flip flag 1 -> +1
    assert cond[1, 7:11].tolist() == [-1.0, -1.0, 1.0, 1.0]  # crop box (0, 0, 1, 1)


def test_refusals(latents):
    net = LatentAugmenter(AugmenterConfig(32, types=("flip",), width=8, blocks=1, embed=8))
    with pytest.raises(CVError, match="trained for flip"):
        net(latents, Augmentation.of("rotation", torch.zeros(4, 1)))
    with pytest.raises(ShapeError, match="latents"):
        net(latents[:, :16], Augmentation.of("flip", torch.ones(4, 1)))
    with pytest.raises(CVError, match="unknown augmentation"):
        parse_types("flip,blur")


def test_specialise_splits_a_type_off_the_shared_network(latents):
    shared = LatentAugmenter(AugmenterConfig(32, width=8, blocks=1, embed=8, fine=2))
    for p in shared.parameters():
        torch.nn.init.normal_(p, std=0.1)
    crop = Augmentation.of("crop", torch.tensor([[0.1, 0.2, 0.5, 0.6]] * 4))
    flip = Augmentation.of("flip", torch.ones(4, 1))
    split = specialise(shared, "crop")
    assert split.config.separate == ("crop",) and set(split.nets) == {"all", "crop"}
    for aug in (crop, flip):  # a copy of the shared network computes what it did
        torch.testing.assert_close(split(latents, aug), shared(latents, aug))
    with torch.no_grad():
        split.nets["crop"].head.bias.add_(1.0)
    assert not torch.allclose(split(latents, crop), shared(latents, crop))
    torch.testing.assert_close(split(latents, flip), shared(latents, flip))
    mixed = Augmentation(
        torch.tensor([0, 1, 0, 1]), torch.stack([flip.params[0], crop.params[0]] * 2)
    )
    out = split(latents, mixed)  # each sample goes through its own type's network
    pairs = Augmentation.of("flip", torch.ones(2, 1)), Augmentation.of("crop", crop.params[:2])
    torch.testing.assert_close(out[[0, 2]], split(latents[[0, 2]], pairs[0]))
    torch.testing.assert_close(out[[1, 3]], split(latents[[1, 3]], pairs[1]))
    assert specialise(split, "crop") is split  # crop has its own network already
    with pytest.raises(CVError, match="not 'rotation'"):
        specialise(LatentAugmenter(AugmenterConfig(32, types=("crop",))), "rotation")


def test_config_reads_checkpoints_written_before_separate():
    old = {"latent_dim": 8, "types": ["flip", "crop"], "per_type": True}
    assert AugmenterConfig.from_dict(old).separate == ("flip", "crop")
    assert AugmenterConfig.from_dict({**old, "per_type": False}).separate == ()
    cfg = AugmenterConfig(8, types=("flip", "crop"), separate=("crop",))
    assert AugmenterConfig.from_dict(cfg.to_dict()) == cfg
    with pytest.raises(ValueError, match="among the types"):
        AugmenterConfig(8, types=("flip",), separate=("crop",))
