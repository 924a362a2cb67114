"""Augmentation in latent space: a small network, conditioned on the augmentation's type and
parameters, that maps a codec's latents to the latents of the augmented video."""

from .evaluate import evaluate_augmenter, evaluation_clips, save_figure, table_sections
from .module import RandomLatentAugment
from .network import (
    AugmenterConfig,
    LatentAugmenter,
    latent_grid_op,
    load_augmenter,
    save_augmenter,
    specialise,
)
from .params import Augmentation, apply_pixels, parse_types, sample_augmentation
from .recipe import AugmenterRecipe
from .train import train_augmenter

__all__ = [
    "Augmentation",
    "AugmenterConfig",
    "AugmenterRecipe",
    "LatentAugmenter",
    "RandomLatentAugment",
    "apply_pixels",
    "evaluate_augmenter",
    "evaluation_clips",
    "latent_grid_op",
    "load_augmenter",
    "parse_types",
    "sample_augmentation",
    "save_augmenter",
    "save_figure",
    "specialise",
    "table_sections",
    "train_augmenter",
]
