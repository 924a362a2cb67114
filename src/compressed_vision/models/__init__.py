"""Backbones for codes and for pixels, behind one builder, and the classifiers built on them.

Backbones: `cnn3d` (a small 3D CNN), `s3d` and `r2plus1d` (torchvision's blocks, stems
adapted to the latent grid), `vit` (a small ViT over latent tokens).
"""

from .backbones import BACKBONES, build_backbone
from .classifier import (
    ModelConfig,
    VideoClassifier,
    build_classifier,
    load_classifier,
    save_classifier,
)
from .cnn3d import Small3DCNN
from .codes import CodebookLookup, IndexEmbedding
from .r2plus1d import R2Plus1D
from .s3d import S3D
from .vit import VideoViT

__all__ = [
    "BACKBONES",
    "S3D",
    "CodebookLookup",
    "IndexEmbedding",
    "ModelConfig",
    "R2Plus1D",
    "Small3DCNN",
    "VideoClassifier",
    "VideoViT",
    "build_backbone",
    "build_classifier",
    "load_classifier",
    "save_classifier",
]
