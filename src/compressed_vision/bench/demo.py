"""The end-to-end demo: synthetic videos -> codec -> a store of codes -> classifier on codes
(`tasks.run_training`, as `cvis train`), against the same classifier on raw RGB (the same
path, pixels rendered in memory); then latent augmentation with the shipped cr240 codec and
its shipped augmenter, on held-out synthetic clips. Needs no data from outside the package."""

from __future__ import annotations

import shutil
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from urllib.parse import urlencode

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset, Subset

from ..augment import evaluate_augmenter, evaluation_clips, load_augmenter
from ..codec import VideoCodec, load_codec, preset, psnr, train_codec
from ..report import machine, machine_line, markdown_table, write_report
from ..sources import manifest_from_source
from ..sources.synthetic import SyntheticConfig, SyntheticVideos
from ..store import build_store
from ..tasks import TaskConfig, run_training
from ..train_loop import LoopConfig, infinite_batches


@dataclass(frozen=True)
class DemoConfig:
    train_videos: int = 1200
    test_videos: int = 300
    frames: int = 8
    size: int = 64
    codec_preset: str = "tiny"
    codec_steps: int = 300
    codec_clip_frames: int = 8
    codec_batch: int = 8
    classifier_steps: int = 200
    classifier_batch: int = 32
    augment_clips: int = 16  # held-out 4x128x128 synthetic clips for the latent augmentation
    augment_speed_batch: int = 16
    seed: int = 0


DEMO_PRESETS = {
    "small": DemoConfig(),
    "full": DemoConfig(
        train_videos=4000,
        test_videos=1000,
        frames=16,
        codec_preset="cr60",
        codec_steps=2000,
        classifier_steps=1500,
    ),
    "smoke": DemoConfig(
        train_videos=40,
        test_videos=20,
        frames=8,
        size=32,
        codec_steps=3,
        codec_clip_frames=4,
        classifier_steps=3,
        classifier_batch=8,
        augment_clips=2,
        augment_speed_batch=2,
    ),
}


@torch.no_grad()
def mean_psnr(codec: VideoCodec, videos: Dataset, device: torch.device, batch: int = 16) -> float:
    """Mean PSNR (dB) of the codec's reconstructions of the "video"s of a dataset."""
    codec.to(device).eval()
    values = [
        psnr(codec.reconstruct(b["video"].to(device)).cpu(), b["video"])
        for b in DataLoader(videos, batch_size=batch)
    ]
    return float(np.mean(values))


def demo_data(cfg: DemoConfig) -> SyntheticConfig:
    """The demo's videos: the train videos, then the test videos."""
    return SyntheticConfig(
        num_videos=cfg.train_videos + cfg.test_videos,
        frames=cfg.frames,
        size=cfg.size,
        seed=cfg.seed,
    )


def demo_source(cfg: DemoConfig) -> str:
    """The demo's videos as a source (`sources.manifest_from_source`), its test split the
    last `cfg.test_videos`."""
    return "synthetic?" + urlencode({**asdict(demo_data(cfg)), "test_videos": cfg.test_videos})


def train_classifiers(
    cfg: DemoConfig, store: Path, codec: Path, device: torch.device, show: bool
) -> dict[str, dict]:
    """The same small 3D CNN trained by `tasks.run_training` (as `cvis train`) on the store's
    codes and on the videos' raw RGB (with a stem that brings pixels to the code grid):
    their results (written to classifier_codes/ and classifier_rgb/ beside the store)."""
    on_codes = TaskConfig(
        backbone="cnn3d",
        store=str(store),
        codec=str(codec),
        frames=cfg.frames,
        size=cfg.size,
        steps=cfg.classifier_steps,
        batch=cfg.classifier_batch,
        eval_batch=cfg.classifier_batch,
        lr=2e-3,
        weight_decay=0.01,
        warmup=20,
        device=str(device),
        seed=cfg.seed,
        out=str(store.parent / "classifier_codes"),
    )
    on_rgb = replace(
        on_codes,
        inputs="rgb",
        store=None,
        codec=None,
        videos=demo_source(cfg),
        downsample=preset(cfg.codec_preset).spatial_factor,
        out=str(store.parent / "classifier_rgb"),
    )
    return {
        "codes": run_training(on_codes, show_progress=show),
        "rgb": run_training(on_rgb, show_progress=show),
    }


def run_demo(
    cfg: DemoConfig, out_dir: str | Path, device: torch.device, show_progress: bool = True
) -> dict:
    """Run the whole pipeline; returns (and writes as JSON + markdown) the results."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    data = demo_data(cfg)
    codec_data = SyntheticVideos(
        replace(data, num_videos=cfg.train_videos, frames=cfg.codec_clip_frames, seed=cfg.seed + 2)
    )
    codec_cfg = preset(cfg.codec_preset)
    codec_path = out / "codec.safetensors"
    start = time.perf_counter()
    codec, _ = train_codec(
        codec_cfg,
        infinite_batches(codec_data, cfg.codec_batch, cfg.seed),
        LoopConfig(steps=cfg.codec_steps, lr=2e-3, warmup=20),
        device,
        codec_path,
        show_progress,
    )
    codec_seconds = time.perf_counter() - start

    store = out / "codes.zarr"
    shutil.rmtree(store, ignore_errors=True)  # an earlier run's, of another codec
    manifest = manifest_from_source(demo_source(cfg))
    build_store(manifest, codec, str(store), device, size=cfg.size, progress=show_progress)
    test = [i for i, item in enumerate(manifest.items) if item.split == "test"]
    recon_psnr = mean_psnr(codec, Subset(SyntheticVideos(data), test), device)
    cr = codec.compression_rate((cfg.frames, cfg.size, cfg.size))
    results = train_classifiers(cfg, store, codec_path, device, show_progress)
    res_codes, res_rgb = results["codes"], results["rgb"]
    classes = len(res_codes["classes"])
    rows = [
        {
            "input": "neural codes",
            "compression rate": round(cr, 1),
            "recon PSNR (dB)": round(recon_psnr, 2),
            "top-1 (%)": round(res_codes["metrics"]["top1"], 1),
            "classifier train (s)": round(res_codes["train_seconds"], 1),
            "bytes on disk": res_codes["dataset_bytes"],
        },
        {
            "input": "raw RGB",
            "compression rate": 1.0,
            "recon PSNR (dB)": "inf",
            "top-1 (%)": round(res_rgb["metrics"]["top1"], 1),
            "classifier train (s)": round(res_rgb["train_seconds"], 1),
            "bytes on disk": res_rgb["dataset_bytes"],
        },
    ]
    chance = 100.0 / classes
    table = markdown_table(rows) + (
        f"\n{cfg.train_videos} train / {cfg.test_videos} test synthetic videos of "
        f"{cfg.frames}x{cfg.size}x{cfg.size}, {classes} motion classes (chance {chance:.0f}%); "
        f"codec `{cfg.codec_preset}` trained {cfg.codec_steps} steps in {codec_seconds:.0f} s; "
        f"codes in a store, raw RGB as uint8 frames; classifiers (`cvis train`) "
        f"{cfg.classifier_steps} steps each; machine: {machine_line(machine(device))}.\n"
    )
    augment_rows, augment_note = latent_augmentation(cfg, device)
    table += (
        "\nLatent augmentation: PSNR (dB) of the decoded result against the pixel-augmented "
        f"clip, and speed against decode -> transform -> encode\n\n{markdown_table(augment_rows)}"
        f"\n{augment_note}\n"
    )
    payload = {
        "config": asdict(cfg),
        "augmentation": augment_rows,
        "codec": codec_cfg.to_dict(),
        "codec_train_seconds": codec_seconds,
        "rows": rows,
        "device": str(device),
        "chance_top1": chance,
    }
    write_report(out, "demo", payload, table)
    return {**payload, "table": table}


def latent_augmentation(cfg: DemoConfig, device: torch.device) -> tuple[list[dict], str]:
    """Flip and crop + resize in latent space with the shipped cr240 codec and augmenter, on
    held-out synthetic clips: PSNR against the codec's best (a), the naive grid operation (c)
    and decode -> transform -> encode (d), and the augmenter's speed against (d)."""
    codec = load_codec("cr240", device)
    augmenter = load_augmenter("cr240", codec, device)
    clips = evaluation_clips(["synthetic"], 4, 128, cfg.augment_clips, cfg.seed)
    batch = cfg.augment_speed_batch
    result = evaluate_augmenter(
        codec, augmenter, clips, device, ("flip", "crop"), bins=1, speed_batches=(batch,)
    )
    speed = {r["method"]: r for r in result["speed"]}
    rows = [
        {
            "augmentation": r["type"],
            "latent augmenter": round(r["PSNR latent"], 2),
            "(a) codec's best": round(r["PSNR (a) upper"], 2),
            "(c) naive grid op": round(r["PSNR (c) naive"], 2),
            "(d) decode, transform, encode": round(r["PSNR (d) pixel"], 2),
        }
        for r in result["rows"]
    ]
    note = (
        f"{len(clips)} held-out synthetic clips of 4x128x128, shipped codec cr240 (CR 256) and "
        f"its augmenter. Speed at batch {batch}: latent {speed['latent']['clips/s']:.0f} "
        f"clips/s, (d) {speed['(d) pixel']['clips/s']:.1f} clips/s: "
        f"{speed['latent']['speedup vs (d)']:.1f}x."
    )
    return rows, note
