"""The end-to-end demo: synthetic videos -> codec -> codes on disk -> classifier on codes,
against the same classifier on raw RGB; then latent augmentation with the shipped cr240
codec and its shipped augmenter, on held-out synthetic clips. Needs no data from outside the
package."""

from __future__ import annotations

import io
import platform
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..augment import evaluate_augmenter, evaluation_clips, load_augmenter
from ..codec import VideoCodec, load_codec, preset, psnr, save_codec, train_codec
from ..models import ModelConfig, build_backbone, build_classifier
from ..report import markdown_table, write_report
from ..sources.synthetic import SyntheticConfig, SyntheticVideos
from ..tasks import TensorPairs, train_classifier
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


def _materialise(cfg: SyntheticConfig, desc: str) -> tuple[torch.Tensor, torch.Tensor]:
    ds = SyntheticVideos(cfg)
    items = [ds[i] for i in tqdm(range(len(ds)), desc=desc, leave=False)]
    return torch.stack([x["video"] for x in items]), torch.tensor([x["label"] for x in items])


@torch.no_grad()
def encode_all(
    codec: VideoCodec, videos: torch.Tensor, device: torch.device, batch: int = 16
) -> torch.Tensor:
    """Encode (N, 3, T, H, W) videos to uint8/int16 codes (N, G, T', H', W') on the CPU."""
    codec.to(device).eval()
    dtype = torch.uint8 if codec.codebook_size <= 256 else torch.int16
    out = [
        codec.encode(x.to(device)).to("cpu", dtype)
        for x in tqdm(DataLoader(videos, batch_size=batch), desc="encode", leave=False)
    ]
    return torch.cat(out)


@torch.no_grad()
def mean_psnr(
    codec: VideoCodec, videos: torch.Tensor, device: torch.device, batch: int = 16
) -> float:
    values = [
        psnr(codec.reconstruct(x.to(device)).cpu(), x) for x in DataLoader(videos, batch_size=batch)
    ]
    return float(np.mean(values))


def save_codes(path: Path, codes: torch.Tensor, labels: torch.Tensor) -> int:
    """Codes on disk (a compressed .npz; the store replaces this); returns the bytes written."""
    buf = io.BytesIO()
    np.savez_compressed(buf, codes=codes.numpy(), labels=labels.numpy())
    path.write_bytes(buf.getvalue())
    return path.stat().st_size


def run_demo(
    cfg: DemoConfig, out_dir: str | Path, device: torch.device, show_progress: bool = True
) -> dict:
    """Run the whole pipeline; returns (and writes as JSON + markdown) the results."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(cfg.seed)
    data = SyntheticConfig(
        num_videos=cfg.train_videos, frames=cfg.frames, size=cfg.size, seed=cfg.seed
    )
    x_train, y_train = _materialise(data, "generate train")
    x_test, y_test = _materialise(
        replace(data, num_videos=cfg.test_videos, seed=cfg.seed + 1), "generate test"
    )

    codec_data = SyntheticVideos(replace(data, frames=cfg.codec_clip_frames, seed=cfg.seed + 2))
    codec_cfg = preset(cfg.codec_preset)
    start = time.perf_counter()
    codec, _ = train_codec(
        codec_cfg,
        infinite_batches(codec_data, cfg.codec_batch, cfg.seed),
        LoopConfig(steps=cfg.codec_steps, lr=2e-3, warmup=20),
        device,
        out / "codec.safetensors",
        show_progress,
    )
    codec_seconds = time.perf_counter() - start

    c_train, c_test = encode_all(codec, x_train, device), encode_all(codec, x_test, device)
    code_bytes = save_codes(out / "codes_train.npz", c_train, y_train) + save_codes(
        out / "codes_test.npz", c_test, y_test
    )
    rgb_bytes = x_train.numel() + x_test.numel()  # as uint8
    recon_psnr = mean_psnr(codec, x_test, device)
    cr = codec.compression_rate(tuple(x_train.shape))

    loop = LoopConfig(steps=cfg.classifier_steps, lr=2e-3, weight_decay=0.01, warmup=20)
    classes = SyntheticConfig().num_classes
    on_codes = build_classifier(
        ModelConfig.for_codes(codec_cfg, backbone="cnn3d", num_classes=classes),
        codec.quantizer.embeddings,
    )
    res_codes = train_classifier(
        on_codes,
        TensorPairs(c_train, y_train),
        TensorPairs(c_test, y_test),
        loop,
        device,
        cfg.classifier_batch,
        "classifier on codes",
        cfg.seed,
        show_progress,
    )
    on_rgb = build_backbone("cnn3d", 3, classes, input_downsample=codec_cfg.spatial_factor)
    res_rgb = train_classifier(
        on_rgb,
        TensorPairs(x_train, y_train),
        TensorPairs(x_test, y_test),
        loop,
        device,
        cfg.classifier_batch,
        "classifier on RGB",
        cfg.seed,
        show_progress,
    )

    rows = [
        {
            "input": "neural codes",
            "compression rate": round(cr, 1),
            "recon PSNR (dB)": round(recon_psnr, 2),
            "top-1 (%)": round(res_codes.top1, 1),
            "classifier train (s)": round(res_codes.train_seconds, 1),
            "bytes on disk": code_bytes,
        },
        {
            "input": "raw RGB",
            "compression rate": 1.0,
            "recon PSNR (dB)": "inf",
            "top-1 (%)": round(res_rgb.top1, 1),
            "classifier train (s)": round(res_rgb.train_seconds, 1),
            "bytes on disk": rgb_bytes,
        },
    ]
    chance = 100.0 / classes
    table = markdown_table(rows) + (
        f"\n{cfg.train_videos} train / {cfg.test_videos} test synthetic videos of "
        f"{cfg.frames}x{cfg.size}x{cfg.size}, {classes} motion classes (chance {chance:.0f}%); "
        f"codec `{cfg.codec_preset}` trained {cfg.codec_steps} steps in {codec_seconds:.0f} s; "
        f"classifiers {cfg.classifier_steps} steps each; device {device}, "
        f"{platform.machine()}, {torch.get_num_threads()} threads.\n"
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
    save_codec(out / "codec.safetensors", codec)
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
