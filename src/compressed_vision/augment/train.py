"""Training a latent augmenter for a codec, through the one training loop.

For a batch of clips x and random augmentations p, the augmenter gets the quantised latents
of x (what a code store holds) and is trained towards the codec's pre-quantisation latents
of transform(x, p), plus a decoded-pixel loss: decode(aug(z, p)) against transform(x, p).
Both losses are relative (divided by the target's variance, per channel for the latents), so
their weights are comparable across codecs. The codec stays frozen (eval mode, no gradients).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path

import torch
import torch.nn.functional as F

from ..codec import Codec, common_region
from ..errors import CVError
from ..train_loop import LoopConfig, train
from .network import AugmenterConfig, LatentAugmenter, save_augmenter
from .params import apply_pixels, parse_types, sample_augmentation


def quantise(codec: Codec, latents: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(quantised latents, codes) of latents; the codebooks are left as they are."""
    codes = codec.codes_of(latents.detach().float())
    return codec.quantize(codes), codes


def decode(codec: Codec, latents: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Decode latents, cut to the region of the video `like` it covers (`common_region`)."""
    return common_region(codec.decode_latents(latents), like)[0]


def make_step(codec: Codec, kinds: Sequence[str], pixel_weight: float, seed: int):
    """The loop's step function: sample augmentations, build targets, compute the loss."""
    generator = torch.Generator().manual_seed(seed)

    def step(model: LatentAugmenter, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
        video = batch["video"]
        aug = sample_augmentation(kinds, video.shape[0], generator)
        with torch.no_grad():
            source, _ = quantise(codec, codec.latents(video))
            target_video = apply_pixels(video, aug)
            target = codec.latents(target_video).float()
            _, target_codes = quantise(codec, target)
        pred = model(source, aug)
        latent_loss = F.mse_loss(pred.float(), target) / target.var(dim=(0, 2, 3, 4)).mean()
        decoded, seen = common_region(codec.decode_latents(pred), target_video)
        pixel_mse = F.mse_loss(decoded.float(), seen)
        loss = latent_loss + pixel_weight * pixel_mse / seen.var()
        agree = (quantise(codec, pred.detach())[1] == target_codes).float().mean()
        metrics = {
            "latent_rel": float(latent_loss.detach()),
            "psnr": float(-10 * torch.log10(pixel_mse.detach().clamp_min(1e-10))),
            "agree": float(agree),
        }
        return loss, metrics

    return step


def measure_latent_scale(codec: Codec, video: torch.Tensor) -> float:
    """The standard deviation of the codec's latents over a batch of clips."""
    with torch.no_grad():
        return float(codec.latents(video).float().std())


def train_augmenter(
    codec: Codec,
    batches: Iterator[dict],
    loop: LoopConfig,
    device: torch.device,
    cfg: AugmenterConfig | None = None,
    out: str | Path | None = None,
    pixel_weight: float = 1.0,
    seed: int = 0,
    show_progress: bool = True,
    init: LatentAugmenter | None = None,
    kinds: Sequence[str] | None = None,
) -> tuple[LatentAugmenter, list[dict[str, float]]]:
    """Train an augmenter for `codec` on batches of {"video": (B, 3, T, H, W)}.

    `cfg` defaults to `AugmenterConfig(codec.latent_dim)`; its `latent_scale` is measured on
    the first batch. `init` (an augmenter for this codec) continues training that network,
    with its config, on a fresh schedule. `kinds` (default: all the augmenter's types) are the
    types the batches are drawn from. Saves to `out` (with a `.log.json` of the last metrics)
    if given.
    """
    cfg = init.config if init is not None else cfg or AugmenterConfig(codec.latent_dim)
    if cfg.latent_dim != codec.latent_dim:
        raise CVError(f"augmenter latent_dim {cfg.latent_dim} != codec's {codec.latent_dim}")
    codec.to(device).eval().requires_grad_(False)
    first = next(batches)
    if init is None:
        cfg = replace(cfg, latent_scale=measure_latent_scale(codec, first["video"].to(device)))
    augmenter = init if init is not None else LatentAugmenter(cfg)
    kinds = parse_types(kinds) if kinds else cfg.types
    if not set(kinds) <= set(cfg.types):
        raise CVError(f"this augmenter serves {', '.join(cfg.types)}, not {', '.join(kinds)}")

    def checkpoint(step: int, _: torch.optim.Optimizer) -> None:
        if out is not None:
            save_augmenter(out, augmenter, codec)

    history = train(
        augmenter,
        make_step(codec, kinds, pixel_weight, seed),
        itertools.chain([first], batches),
        loop,
        device,
        "augmenter",
        on_checkpoint=checkpoint,
        show_progress=show_progress,
    )
    if out is not None and history:
        tail = history[-min(len(history), 50) :]
        summary = {k: sum(h[k] for h in tail) / len(tail) for k in tail[0]}
        log = {
            "steps": len(history),
            "trained_types": list(kinds),
            "last_50_steps": summary,
            "config": cfg.to_dict(),
        }
        Path(out).with_name(Path(out).name + ".log.json").write_text(json.dumps(log, indent=1))
    return augmenter.eval(), history
