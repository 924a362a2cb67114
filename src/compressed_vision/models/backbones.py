"""The backbone registry: one signature for every backbone, for codes and for pixels."""

from __future__ import annotations

from torch import nn

from .cnn3d import Small3DCNN
from .r2plus1d import R2Plus1D
from .s3d import S3D
from .vit import VideoViT

BACKBONES: dict[str, type[nn.Module]] = {
    "cnn3d": Small3DCNN,
    "s3d": S3D,
    "r2plus1d": R2Plus1D,
    "vit": VideoViT,
}


def build_backbone(
    name: str,
    in_channels: int,
    num_classes: int,
    input_downsample: int = 1,
    frame_head: bool = False,
    **kwargs,
) -> nn.Module:
    """One signature for every backbone, for code latents (`input_downsample=1`) and for
    pixels (`input_downsample` = the codec's spatial factor and `temporal_downsample` = its
    temporal factor, so both reach the same grid). Other keywords go to the backbone (width,
    dropout; the ViT's dim, depth, heads)."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {sorted(BACKBONES)}")
    return BACKBONES[name](
        in_channels, num_classes, input_downsample=input_downsample, frame_head=frame_head, **kwargs
    )
