"""Fitting a prior to a codec: encode training clips, train, round to integers.

Photo folders are filmed by the virtual camera at several motion scales (still, slow and
normal: real footage repeats most indices from step to step, the default camera rarely
does), from their training split only; video sources give random training clips (their
held-out tail never). A code store's videos can be used as they are.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import torch

from ..base import Codec, codec_fingerprint
from .checkpoint import LearnedPrior
from .model import PriorConfig
from .train import examples, train_prior

MOTION_SCALES = (1.0, 0.25, 0.03)  # the camera's motion, drift and blur, scaled


def _photo_clips(source: str, frames: int, size: int, scale: float, seed: int):
    from ...sources.camera import CameraConfig, PhotoClips

    base = CameraConfig(frames, size)
    cfg = replace(
        base,
        max_pan=base.max_pan * scale,
        max_zoom=base.max_zoom * scale,
        max_roll=base.max_roll * scale,
        max_tilt=base.max_tilt * scale,
        exposure_drift=base.exposure_drift * scale,
        white_balance_drift=base.white_balance_drift * scale,
        blur_prob=base.blur_prob * scale,
        max_noise=base.max_noise * min(1.0, 2 * scale + 0.1),
    )
    return PhotoClips(source, cfg, "train", seed=seed)


@torch.no_grad()
def training_codes(
    codec: Codec, sources: list[str], clips: int, frames: int, size: int, seed: int = 0
) -> Iterator[np.ndarray]:
    """Codes (G, T', H', W') of `clips` training clips per source (per motion scale for
    photo folders)."""
    from ..data import _is_photo_folder, training_clips

    device = next(codec.parameters()).device
    for source in sources:
        if _is_photo_folder(source):
            sets = [
                _photo_clips(source, frames, size, s, seed + i) for i, s in enumerate(MOTION_SCALES)
            ]
        else:
            sets = [training_clips([source], frames, size, seed=seed)[0]]
        for data in sets:
            for i in range(clips):
                video = data[i]["video"][None].to(device)
                yield codec.encode(video)[0].cpu().numpy()


def fit_prior(
    codec: Codec,
    codes: list[np.ndarray],
    cfg: PriorConfig | None = None,
    steps: int = 8000,
    chunk_steps: int = 32,
    seed: int = 0,
    show_progress: bool = False,
    **info,
) -> LearnedPrior:
    """Train a prior on `codes` of `codec` (chunks of `chunk_steps`), rounded to integers."""
    cfg = cfg or PriorConfig(codec.num_codebooks, codec.codebook_size)
    data = examples(codes, cfg, chunk_steps)
    model = train_prior(data, cfg, steps=steps, seed=seed, show_progress=show_progress)
    info = {**info, "indices": data.count, "steps": steps, "seed": seed}
    return LearnedPrior.from_model(model, codec_fingerprint(codec), **info)
