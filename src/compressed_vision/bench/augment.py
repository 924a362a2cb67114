"""Latent augmentation: train an augmenter for a codec, then measure it against the alternatives.

1. An augmenter (flip, crop, brightness, saturation, rotation) is trained for the codec on
   synthetic clips plus the clips in shared/data (random 64x64 crops of frames resized to
   --size), through `train_augmenter`.
2. On held-out clips (synthetic seeds no training used, and the held-out end of every shared
   clip), per type and strength: PSNR of decode(aug(z, p)) against transform(x, p), beside
   (a) decode(encode(transform(x, p))), (b) decode(z), (c) the naive latent-grid operation,
   (d) decode -> transform -> encode; latent error, code agreement, and the speed of each
   on one batch, one run, this machine.
3. The issue's targets are checked: flip and crop within 1 dB of (a) and >= 3 dB above (c);
   latent augmentation >= 20x faster than (d).

`augment_bench` writes augment_bench.json (everything), .md (the tables) and .png (example
frames). Without a codec, the demo's (runs/demo/codec.safetensors, made by `cvis demo`) is
copied to the work folder first, since the demo overwrites it.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..augment import (
    AugmenterConfig,
    evaluate_augmenter,
    evaluation_clips,
    load_augmenter,
    save_figure,
    specialise,
    table_sections,
    train_augmenter,
)
from ..codec import codec_fingerprint, load_codec
from ..codec.data import training_clips
from ..errors import CVError
from ..report import Run, markdown_table, write_results
from ..runtime import resolve_device, seed_everything
from ..train_loop import LoopConfig, infinite_batches

TYPES = ("flip", "crop", "brightness", "saturation", "rotation")
DEMO_CODEC = Path("runs/demo/codec.safetensors")


@dataclass
class AugmentBenchConfig:
    """What to train and measure (the options of `cvis bench augment`)."""

    data: Path  # a folder of clips, beside synthetic ones
    work: Path
    out: Path
    codec: str | None = None  # default: the demo's, copied
    steps: int = 450
    batch: int = 8
    frames: int = 4  # frames per training clip
    size: int = 96  # shared clips are resized to this
    crop: int = 64  # training crops (and eval size)
    lr: float = 2e-3
    width: int = AugmenterConfig.width
    blocks: int = AugmenterConfig.blocks
    fine: int = AugmenterConfig.fine  # finer-grid factor
    fine_width: int = AugmenterConfig.fine_width
    init: Path | None = None  # start from this augmenter (same-size latents will do)
    specialise: str | None = None  # with init: a network of its own for this type, on it alone
    pixel_weight: float = 1.0  # weight of the pixel loss
    eval_clips: int = 48  # held-out clips per source
    eval_frames: int = 8
    threads: int | None = None  # torch CPU threads (default: torch's choice)
    device: str = "auto"
    seed: int = 0


def codec_path(cfg: AugmentBenchConfig) -> str:
    """The codec to train for: the one given, else a copy of the demo's."""
    if cfg.codec is not None:
        return cfg.codec
    if not DEMO_CODEC.is_file():
        raise CVError(f"no codec: give one, or run `cvis demo` first to make {DEMO_CODEC}")
    cfg.work.mkdir(parents=True, exist_ok=True)
    return shutil.copy2(DEMO_CODEC, cfg.work / "codec.safetensors")


def target_checks(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's numbers, from the "all" rows and the speed table."""
    rows = {r["type"]: r for r in result["rows"] if r["params"] == "all"}
    checks = []
    for kind in ("flip", "crop"):
        gap_a, gain_c = rows[kind]["vs (a) dB"], rows[kind]["vs (c) dB"]
        checks.append(
            {
                "target": f"{kind}: within 1 dB of (a)",
                "value": f"{gap_a:+.2f} dB",
                "met": gap_a >= -1.0,
            }
        )
        checks.append(
            {
                "target": f"{kind}: >= 3 dB above (c)",
                "value": f"{gain_c:+.2f} dB",
                "met": gain_c >= 3.0,
            }
        )
    for row in result["speed"]:
        if row["method"] == "latent":
            checks.append(
                {
                    "target": f"latent >= 20x faster than (d), batch {row['batch']}",
                    "value": f"{row['speedup vs (d)']:.1f}x",
                    "met": row["speedup vs (d)"] >= 20,
                }
            )
    return checks


def augment_bench(cfg: AugmentBenchConfig) -> dict[str, Path]:
    """Train, evaluate, check (see the module doc); written to
    `cfg.out`/augment_bench.{json,md,png}."""
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    seed_everything(cfg.seed)
    device = resolve_device(cfg.device)
    run = Run.here(device, load_average=os.getloadavg())
    path = codec_path(cfg)
    codec = load_codec(path, device)
    sources = ["synthetic", str(cfg.data)]

    train_set, _ = training_clips(sources, cfg.frames, cfg.size, cfg.crop, cfg.seed)
    network = AugmenterConfig(
        codec.latent_dim,
        TYPES,
        cfg.width,
        cfg.blocks,
        fine=cfg.fine,
        fine_width=cfg.fine_width,
    )
    loop = LoopConfig(steps=cfg.steps, lr=cfg.lr, warmup=50)
    out_ckpt = cfg.work / "augmenter.safetensors"
    start = time.perf_counter()
    init = load_augmenter(cfg.init, codec, device, warm_start=True) if cfg.init else None
    if cfg.specialise:
        if init is None:
            raise CVError("--specialise needs --init: the augmenter to split a type off")
        init = specialise(init, cfg.specialise)
    augmenter, history = train_augmenter(
        codec,
        infinite_batches(train_set, cfg.batch, cfg.seed),
        loop,
        device,
        network,
        out_ckpt,
        cfg.pixel_weight,
        init=init,
        kinds=(cfg.specialise,) if cfg.specialise else None,
    )
    train_s = time.perf_counter() - start

    videos = evaluation_clips(sources, cfg.eval_frames, cfg.crop, cfg.eval_clips, cfg.seed)
    start = time.perf_counter()
    result = evaluate_augmenter(codec, augmenter, videos, device, seed=cfg.seed)
    eval_s = time.perf_counter() - start
    checks = target_checks(result)
    png = save_figure(cfg.out / "augment_bench.png", codec, augmenter, videos)

    inputs = {
        "codec": str(path),
        "codec_config": codec.config.to_dict(),
        "codec_fingerprint": codec_fingerprint(codec),
        "train_sources": sources,
        "train_clips": f"{cfg.batch} x {cfg.frames} frames, {cfg.crop}x{cfg.crop} crops "
        f"(shared clips resized to {cfg.size}), {cfg.steps} steps in {train_s:.0f} s"
        + (f", on {cfg.specialise} alone" if cfg.specialise else ""),
        "augmenter": augmenter.config.to_dict(),
        "eval_clips": f"{len(videos)} held-out clips of {cfg.eval_frames}x{cfg.crop}x{cfg.crop}"
        f" (up to {cfg.eval_clips} per source), evaluated in {eval_s:.0f} s",
        "last_50_training_steps": {
            k: sum(h[k] for h in history[-50:]) / len(history[-50:]) for k in history[-1]
        },
    }
    body = "".join(f"- {k}: {v}\n" for k, v in inputs.items()) + "\n"
    body += "".join(
        f"{title}\n\n{markdown_table(rows)}\n" for title, rows in table_sections(result)
    )
    body += f"Targets of the issue\n\n{markdown_table(checks)}"
    payload = {"inputs": inputs, "targets": checks} | result
    title = "Latent augmentation"
    written = write_results(cfg.out, "augment_bench", title, payload, body, run)
    return written | {"png": png}
