"""Backbones for codes and for pixels, behind one builder."""

from __future__ import annotations

from torch import nn

from .cnn3d import Small3DCNN
from .codes import CodebookLookup

BACKBONES = {"cnn3d": Small3DCNN}


def build_backbone(
    name: str,
    in_channels: int,
    num_classes: int,
    input_downsample: int = 1,
    frame_head: bool = False,
    **kwargs,
) -> nn.Module:
    """One signature for every backbone, for code latents (`input_downsample=1`) and for
    pixels (`input_downsample` = the codec's spatial factor, so both reach the same grid)."""
    if name not in BACKBONES:
        raise ValueError(f"unknown backbone {name!r}; choose from {sorted(BACKBONES)}")
    return BACKBONES[name](
        in_channels, num_classes, input_downsample=input_downsample, frame_head=frame_head, **kwargs
    )


__all__ = ["BACKBONES", "CodebookLookup", "Small3DCNN", "build_backbone"]
