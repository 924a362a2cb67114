"""The latent augmentation network.

`LatentAugmenter` maps latents (B, D, T', H', W') and a batch of augmentations to the
latents of the augmented videos, in two steps:

1. the naive latent-grid operation (`latent_grid_op`): the geometric augmentations (flip,
   crop + resize, rotation) resample the code grid through the same affine map as the
   pixels; the photometric ones leave it as it is;
2. a residual correction: a conv net whose blocks are FiLM-conditioned on an MLP embedding
   of the conditioning vector (type one-hot + parameters), over the warped latents plus
   helper channels: the grid's y and x coordinates, the warp's valid-area mask, and where
   each sample falls inside its source code cell; optionally (`fine`) plus a path that
   lifts the latents to a learned finer grid, warps them there and folds them back, since a
   zoomed crop needs part of a code cell, which no operation on the code grid can take.

The codec's encoder maps each block of `temporal_factor` frames to one code step on its own,
and every augmentation acts on each frame alike, so the latents of an augmented code step
depend on that step only: the correction runs per code step (2D convs), which is also what
keeps it cheap. Its last layer starts at zero, so an untrained augmenter is the naive op.
One network serves every type, except the types listed in `separate`, which have one each
(`specialise` splits a type off a trained shared network, to train it further on its own). A
checkpoint records the fingerprint of its codec, and loading it with any other codec is
refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ..checkpoint import load_checkpoint, save_checkpoint
from ..codec import Codec
from ..codec.checkpoint import resolve_shipped
from ..codec.zoo import ZOO
from ..errors import CheckpointError, CVError, ShapeError
from ..video.transforms import TRANSFORMS, warp_frames
from .params import COND_DIM, Augmentation, conditioning, geometry, parse_types

DEFAULT_TYPES = ("flip", "crop", "brightness", "saturation", "rotation")
KIND = "augmenter"


@dataclass(frozen=True)
class AugmenterConfig:
    """Shape of a latent augmenter. `latent_scale` (the latents' typical size) sets the
    scale the network works at, and is measured on the codec before training."""

    latent_dim: int
    types: tuple[str, ...] = DEFAULT_TYPES
    width: int = 48
    blocks: int = 3
    embed: int = 64
    separate: tuple[str, ...] = ()  # types with a network of their own; the rest share one
    latent_scale: float = 1.0
    fine: int = 0  # > 0: also warp on a learned grid this many times finer (see `FinePath`)
    fine_width: int = 32

    def __post_init__(self) -> None:
        object.__setattr__(self, "types", parse_types(self.types))
        object.__setattr__(self, "separate", parse_types(self.separate) if self.separate else ())
        if not set(self.separate) <= set(self.types):
            raise ValueError(f"separate {self.separate} must be among the types {self.types}")
        if min(self.latent_dim, self.width, self.blocks, self.embed, self.fine_width) < 1:
            raise ValueError("latent_dim, width, blocks, embed and fine_width must be positive")
        if self.fine < 0:
            raise ValueError("fine is 0 (off) or the factor of the finer grid")

    @property
    def shared(self) -> tuple[str, ...]:
        """The types the shared network serves."""
        return tuple(t for t in self.types if t not in self.separate)

    def to_dict(self) -> dict:
        return {**asdict(self), "types": list(self.types), "separate": list(self.separate)}

    @classmethod
    def from_dict(cls, data: dict) -> AugmenterConfig:
        data = dict(data)
        types = tuple(data.pop("types", DEFAULT_TYPES))
        if data.pop("per_type", False):  # checkpoints written before `separate`
            data["separate"] = types
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown augmenter config keys: {sorted(unknown)}")
        return cls(**{**data, "types": types, "separate": tuple(data.get("separate", ()))})


def latent_grid_op(latents: torch.Tensor, aug: Augmentation) -> torch.Tensor:
    """The naive operation: warp the code grid as the pixels are warped (flip, crop + resize,
    rotation; bilinear, edge values outside); photometric augmentations leave it unchanged."""
    h, w = latents.shape[-2:]
    return warp_frames(latents, geometry(aug.to(latents.device), h, w), "border")


class FiLMBlock(nn.Module):
    """x + conv1x1(act(film(conv3x3(act(x)), e))), FiLM = per-channel scale and shift from e."""

    def __init__(self, width: int, embed: int):
        super().__init__()
        self.conv = nn.Conv2d(width, width, 3, padding=1)
        self.mix = nn.Conv2d(width, width, 1)
        self.film = nn.Linear(embed, 2 * width)
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)

    def forward(self, x: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        scale, shift = self.film(e)[:, :, None, None].chunk(2, dim=1)
        h = torch.addcmul(shift, self.conv(F.silu(x)), 1 + scale)
        return x + self.mix(F.silu(h, inplace=not torch.is_grad_enabled()))


class FinePath(nn.Module):
    """Sub-cell detail: a crop that zooms in needs part of a code cell, which no operation on
    the code grid can take. Latents (N, D, H', W') are lifted to a learned grid `factor` times
    finer (conv + pixel shuffle), warped there by the augmentation's exact geometry, refined
    (FiLM blocks) and folded back to the code grid (pixel unshuffle + 1x1 conv)."""

    def __init__(self, latent_dim: int, width: int, fine_width: int, factor: int, embed: int):
        super().__init__()
        self.lift = nn.Sequential(
            nn.Conv2d(latent_dim, fine_width * factor * factor, 3, padding=1),
            nn.PixelShuffle(factor),
        )
        self.blocks = nn.ModuleList(FiLMBlock(fine_width, embed) for _ in range(2))
        self.fold = nn.Sequential(
            nn.PixelUnshuffle(factor), nn.SiLU(), nn.Conv2d(fine_width * factor * factor, width, 1)
        )

    def forward(self, latents: torch.Tensor, theta: torch.Tensor, e: torch.Tensor) -> torch.Tensor:
        f = self.lift(latents)
        grid = F.affine_grid(theta, list(f.shape), align_corners=False)
        f = F.grid_sample(f, grid, "bilinear", "border", align_corners=False)
        for block in self.blocks:
            f = block(f, e)
        return self.fold(f)


class CorrectionNet(nn.Module):
    """Per code step: (N, D + HELPERS, H', W') warped latents and helper channels, (N, COND_DIM)
    conditioning (and, with a `FinePath`, the unwarped latents and the warp) -> (N, D, H', W')
    correction."""

    def __init__(self, cfg: AugmenterConfig):
        super().__init__()
        d, width, embed = cfg.latent_dim, cfg.width, cfg.embed
        self.embed = nn.Sequential(
            nn.Linear(COND_DIM, embed), nn.SiLU(), nn.Linear(embed, embed), nn.SiLU()
        )
        self.stem = nn.Conv2d(d + HELPERS, width, 3, padding=1)
        self.fine = FinePath(d, width, cfg.fine_width, cfg.fine, embed) if cfg.fine else None
        self.blocks = nn.ModuleList(FiLMBlock(width, embed) for _ in range(cfg.blocks))
        self.head = nn.Conv2d(width, d, 1)
        nn.init.zeros_(self.head.weight)
        nn.init.zeros_(self.head.bias)

    def forward(
        self, x: torch.Tensor, cond: torch.Tensor, latents: torch.Tensor, theta: torch.Tensor
    ) -> torch.Tensor:
        e = self.embed(cond)
        h = self.stem(x.contiguous(memory_format=torch.channels_last))
        if self.fine is not None:
            h = h + self.fine(latents.contiguous(memory_format=torch.channels_last), theta, e)
        for block in self.blocks:
            h = block(h, e)
        return self.head(F.silu(h))


class LatentAugmenter(nn.Module):
    """(B, D, T', H', W') latents + an `Augmentation` batch -> augmented latents, same shape."""

    def __init__(self, cfg: AugmenterConfig):
        super().__init__()
        self.config = cfg
        self.serves = {kind: (kind,) for kind in cfg.separate}  # network name -> its types
        if cfg.shared:
            self.serves[SHARED] = cfg.shared
        self.nets = nn.ModuleDict({name: CorrectionNet(cfg) for name in self.serves})
        # channels-last convs: oneDNN runs these small grids faster so on the CPU
        self.to(memory_format=torch.channels_last)

    def _check(self, latents: torch.Tensor, aug: Augmentation) -> None:
        if latents.ndim != 5 or latents.shape[1] != self.config.latent_dim:
            raise ShapeError(
                f"the augmenter takes latents (B, {self.config.latent_dim}, T', H', W'), "
                f"got {tuple(latents.shape)}"
            )
        if len(aug) != latents.shape[0]:
            raise ShapeError(f"{len(aug)} augmentations for a batch of {latents.shape[0]}")
        unknown = {TRANSFORMS[t] for t in aug.types.unique().tolist()} - set(self.config.types)
        if unknown:
            raise CVError(
                f"this augmenter was trained for {', '.join(self.config.types)}, "
                f"not {', '.join(sorted(unknown))}"
            )

    def forward(self, latents: torch.Tensor, aug: Augmentation) -> torch.Tensor:
        self._check(latents, aug)
        aug = aug.to(latents.device)
        b, d, t, h, w = latents.shape
        steps = latents.transpose(1, 2).reshape(b * t, d, h, w)  # one image per code step
        theta = geometry(aug, h, w).to(steps.dtype).repeat_interleave(t, dim=0)
        grid = F.affine_grid(theta, [b * t, d, h, w], align_corners=False)
        warped = F.grid_sample(steps, grid, "bilinear", "border", align_corners=False)
        x = torch.cat([warped / self.config.latent_scale, _helpers(grid)], dim=1)
        cond = conditioning(aug).to(x.dtype).repeat_interleave(t, dim=0)
        scaled = steps / self.config.latent_scale
        step_types = aug.types.repeat_interleave(t)
        masks = {
            name: torch.isin(
                step_types, step_types.new_tensor([TRANSFORMS.index(k) for k in kinds])
            )
            for name, kinds in self.serves.items()
        }
        whole = [name for name, mask in masks.items() if mask.all()]
        if whole:  # one network serves the whole batch: no gather and scatter
            correction = self.nets[whole[0]](x, cond, scaled, theta)
        else:
            correction = torch.zeros_like(warped)
            for name, mask in masks.items():
                rows = mask.nonzero().flatten()
                if len(rows):
                    net = self.nets[name]
                    correction[rows] = net(x[rows], cond[rows], scaled[rows], theta[rows]).to(
                        x.dtype
                    )
        out = warped + self.config.latent_scale * correction.to(warped.dtype)
        return out.reshape(b, t, d, h, w).transpose(1, 2)


SHARED = "all"  # name of the network the types not in `separate` share
HELPERS = 5  # helper channels of `_helpers`


def specialise(augmenter: LatentAugmenter, kind: str) -> LatentAugmenter:
    """`augmenter` with a network of its own for `kind`, to be trained on `kind` alone: a copy
    in which that network starts as a copy of the shared one (so it computes exactly what
    `augmenter` does), or `augmenter` itself where `kind` has its own network already."""
    cfg = augmenter.config
    if kind in cfg.separate:
        return augmenter
    if kind not in cfg.types:
        raise CVError(f"this augmenter serves {', '.join(cfg.types)}, not {kind!r}")
    out = LatentAugmenter(replace(cfg, separate=(*cfg.separate, kind)))
    state = augmenter.state_dict()
    prefix = f"nets.{SHARED}."
    state |= {
        f"nets.{kind}.{k[len(prefix) :]}": v for k, v in state.items() if k.startswith(prefix)
    }
    out.load_state_dict({k: v for k, v in state.items() if k in out.state_dict()})
    return out.to(next(augmenter.parameters()).device)


def _helpers(grid: torch.Tensor) -> torch.Tensor:
    """(N, HELPERS, H', W') from a sampling grid (N, H', W', 2): the y and x coordinates of
    every position in [-1, 1], where the warp samples inside the input (1) or not (0), and the
    sample's y and x offset from the centre of the nearest input cell (in cells, -0.5..0.5)."""
    n, h, w, _ = grid.shape
    ys = torch.linspace(-1, 1, h, device=grid.device, dtype=grid.dtype)
    xs = torch.linspace(-1, 1, w, device=grid.device, dtype=grid.dtype)
    coords = torch.stack(torch.meshgrid(ys, xs, indexing="ij"))[None].expand(n, 2, h, w)
    inside = (grid.abs() <= 1).all(dim=-1).to(grid.dtype)[:, None]
    size = torch.tensor([w, h], device=grid.device, dtype=grid.dtype)
    cells = ((grid + 1) * size - 1) / 2  # input cell coordinates (x, y), align_corners=False
    offset = (cells - cells.round()).flip(-1).permute(0, 3, 1, 2)  # (N, 2: y, x, H', W')
    return torch.cat([coords, inside, offset], dim=1)


def save_augmenter(path: str | Path, augmenter: LatentAugmenter, codec: Codec) -> Path:
    """Write the augmenter with its config and the fingerprint of the codec it was trained for."""
    config = {
        "augmenter": augmenter.config.to_dict(),
        "codec_fingerprint": codec.fingerprint(),
        "codec": codec.spec.to_dict(),
    }
    return save_checkpoint(path, augmenter.state_dict(), KIND, config)


# Augmenters shipped inside the package, by the name of the shipped codec they serve.
SHIPPED = {name: c.augmenter for name, c in ZOO.items() if c.augmenter}


def load_augmenter(
    path: str | Path,
    codec: Codec,
    device: str | torch.device = "cpu",
    warm_start: bool = False,
) -> LatentAugmenter:
    """Rebuild an augmenter (a checkpoint, or "cr240": the one shipped for that codec), in
    eval mode; refused (`CheckpointError`) unless `codec` is the very codec it was trained
    for (its latents mean nothing to any other). `warm_start`: only to start training for
    `codec` from it, so an augmenter of another codec with latents of the same size will do
    (a retrained codec's augmenter adapts in a fraction of the steps)."""
    path = resolve_shipped(path, SHIPPED)
    state, config = load_checkpoint(path, KIND)
    expected, actual = config.get("codec_fingerprint"), codec.fingerprint()
    if expected != actual and not warm_start:
        raise CheckpointError(
            f"this augmenter was trained for the codec with fingerprint {expected}, "
            f"not for this one ({actual}); train one for this codec with `cvis augment train`",
            path,
        )
    try:
        augmenter = LatentAugmenter(AugmenterConfig.from_dict(config["augmenter"]))
        augmenter.load_state_dict(state)
    except (KeyError, ValueError, RuntimeError, TypeError) as e:
        raise CheckpointError(f"augmenter checkpoint does not match its config: {e}", path) from e
    return augmenter.to(device).eval()
