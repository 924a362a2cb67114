"""Training a codec: reconstruction MSE plus the VQ commitment loss, through the one loop."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import torch
import torch.nn.functional as F

from ..train_loop import LoopConfig, train
from .checkpoint import save_codec
from .config import CodecConfig
from .model import VideoCodec


def codec_step(codec: VideoCodec, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    video = batch["video"]
    out = codec(video)
    t, h, w = video.shape[-3:]
    recon = out.reconstruction[:, :, :t, :h, :w]
    mse = F.mse_loss(recon.float(), video.float())
    loss = mse + codec.config.commitment * out.vq.commitment_loss
    metrics = {
        "psnr": float(-10 * torch.log10(mse.detach().clamp_min(1e-10))),
        "perplexity": float(out.vq.perplexity.mean()),
        "usage": float(out.vq.usage.mean()),
    }
    return loss, metrics


def train_codec(
    cfg: CodecConfig,
    batches: Iterator[dict],
    loop: LoopConfig,
    device: torch.device,
    out: str | Path | None = None,
    show_progress: bool = True,
) -> tuple[VideoCodec, list[dict[str, float]]]:
    """Train a new codec on batches of {"video": (B, 3, T, H, W)}; saves to `out` if given."""
    codec = VideoCodec(cfg)

    def checkpoint(step: int, _opt) -> None:
        if out is not None:
            save_codec(out, codec)

    history = train(
        codec,
        codec_step,
        batches,
        loop,
        device,
        "codec",
        on_checkpoint=checkpoint,
        show_progress=show_progress,
    )
    return codec.eval(), history
