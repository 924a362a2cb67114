"""Training a codec: reconstruction MSE plus the VQ commitment loss, through the one loop.

Checkpoints go to `out` every `checkpoint_every` steps and at the end (or on Ctrl-C),
with the optimizer beside it (`out` + ".state"), so `resume=True` continues the run.
At each checkpoint the codec is measured on the held-out clips (PSNR).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from tqdm.auto import tqdm

from ..checkpoint import load_training_state, save_training_state
from ..errors import CheckpointError
from ..train_loop import LoopConfig, make_optimizer, train
from .checkpoint import load_video_codec, save_codec
from .config import CodecConfig
from .metrics import psnr
from .model import VideoCodec
from .msssim import ms_ssim_loss


def codec_step(
    codec: VideoCodec, batch: dict, ms_ssim_weight: float = 0.0
) -> tuple[torch.Tensor, dict[str, float]]:
    """MSE + commitment, plus `ms_ssim_weight` * (1 - MS-SSIM) when it is non-zero."""
    video = batch["video"]
    out = codec(video)
    t, h, w = video.shape[-3:]
    recon = out.reconstruction[:, :, :t, :h, :w]
    mse = F.mse_loss(recon.float(), video.float())
    loss = mse + codec.config.commitment * out.vq.commitment_loss
    if ms_ssim_weight:
        loss = loss + ms_ssim_weight * ms_ssim_loss(recon.float(), video.float())
    metrics = {
        "psnr": float(-10 * torch.log10(mse.detach().clamp_min(1e-10))),
        "perplexity": float(out.vq.perplexity.mean()),
        "usage": float(out.vq.usage.mean()),
    }
    return loss, metrics


@torch.no_grad()
def validate(codec: VideoCodec, clips: Dataset, device: torch.device, batch: int = 8) -> float:
    """Mean PSNR (dB) of encode -> decode over held-out clips."""
    was_training = codec.training
    codec.eval()
    values = [
        psnr(codec.reconstruct(b["video"].to(device)), b["video"].to(device))
        for b in DataLoader(clips, batch_size=batch)
    ]
    codec.train(was_training)
    return sum(values) / len(values)


def validate_sources(
    codec: VideoCodec, sources: dict[str, Dataset], device: torch.device
) -> dict[str, float]:
    """PSNR per validation source ("val_psnr/<name>"), and "val_psnr": their mean over the
    real footage never trained on (held-out photos, validation-only sources); failing
    that, over the real sources; failing that, over all."""
    scores = {name: validate(codec, clips, device) for name, clips in sources.items()}
    real = [v for k, v in scores.items() if k != "synthetic"]
    unseen = [v for k, v in scores.items() if k != "synthetic" and not k.endswith(":tail")]
    pick = unseen or real or list(scores.values())
    return {"val_psnr": sum(pick) / len(pick), **{f"val_psnr/{k}": v for k, v in scores.items()}}


def state_path(out: Path) -> Path:
    return out.with_name(out.name + ".state")


def train_codec(
    cfg: CodecConfig,
    batches: Iterator[dict],
    loop: LoopConfig,
    device: torch.device,
    out: str | Path | None = None,
    show_progress: bool = True,
    val_clips: dict[str, Dataset] | None = None,
    resume: bool = False,
    ms_ssim_weight: float = 0.0,
    recipe: dict | None = None,
    init: str | Path | None = None,
) -> tuple[VideoCodec, list[dict[str, float]]]:
    """Train a codec on batches of {"video": (B, 3, T, H, W)}; saves to `out` if given.

    `init` (a checkpoint or shipped codec of the same config) gives the starting weights.
    With `resume`, the codec and optimizer saved at `out` are loaded and the run continues
    from the step reached (the config, and the `recipe` when both runs give one, must be
    the same)."""
    out = Path(out) if out is not None else None
    codec = VideoCodec(cfg)
    if init is not None:
        codec = load_video_codec(init, device).train()
        if codec.config != cfg:
            raise CheckpointError(f"has config {codec.config}, the run {cfg}", init)
    optimizer = make_optimizer(codec, loop)
    start = 0
    if resume and out is not None and out.exists():
        codec = load_video_codec(out, device).train()
        if codec.config != cfg:
            raise CheckpointError(f"was trained with {codec.config}, not {cfg}", out)
        optimizer = make_optimizer(codec, loop)
        start = load_training_state(state_path(out), optimizer, recipe)
    log: list[dict] = []
    log_path = out.with_name(out.name + ".log.json") if out is not None else None
    if start and log_path is not None and log_path.exists():
        log = [e for e in json.loads(log_path.read_text()) if e["step"] <= start]

    def checkpoint(step: int, opt: torch.optim.Optimizer) -> None:
        entry = {"step": step}
        if val_clips:
            entry.update(validate_sources(codec, val_clips, device))
            per_source = ", ".join(f"{k} {v:.2f}" for k, v in entry.items() if "/" in k)
            tqdm.write(f"step {step}: validation PSNR {entry['val_psnr']:.2f} dB ({per_source})")
        log.append(entry)
        if out is not None:
            save_codec(out, codec)
            save_training_state(state_path(out), opt, step, recipe)
            log_path.write_text(json.dumps(log, indent=1))

    history = train(
        codec,
        functools.partial(codec_step, ms_ssim_weight=ms_ssim_weight),
        batches,
        loop,
        device,
        "codec",
        optimizer,
        start,
        checkpoint,
        show_progress,
    )
    return codec.eval(), history
