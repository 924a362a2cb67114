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

Writes results/augment_bench.json (everything), .md (the tables) and .png (example frames).

    .venv/bin/python benchmarks/augment_bench.py [--codec CKPT] [--steps 450] [--threads 1]

Without --codec, the demo's codec (runs/demo/codec.safetensors, made by `cvis demo`) is
copied to --work first, since the demo overwrites it.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

import torch

from compressed_vision import report
from compressed_vision.augment import (
    AugmenterConfig,
    evaluate_augmenter,
    evaluation_clips,
    load_augmenter,
    save_figure,
    specialise,
    table_sections,
    train_augmenter,
)
from compressed_vision.codec import codec_fingerprint, load_codec
from compressed_vision.codec.data import training_clips
from compressed_vision.report import markdown_table, write_report
from compressed_vision.runtime import resolve_device, seed_everything
from compressed_vision.train_loop import LoopConfig, infinite_batches

ROOT = Path(__file__).resolve().parents[1]
TYPES = ("flip", "crop", "brightness", "saturation", "rotation")


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codec", type=Path, help="codec checkpoint (default: the demo's, copied)")
    p.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "data")
    p.add_argument("--steps", type=int, default=450)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--frames", type=int, default=4, help="frames per training clip")
    p.add_argument("--size", type=int, default=96, help="shared clips are resized to this")
    p.add_argument("--crop", type=int, default=64, help="training crops (and eval size)")
    p.add_argument("--lr", type=float, default=2e-3)
    p.add_argument("--width", type=int, default=AugmenterConfig.width)
    p.add_argument("--blocks", type=int, default=AugmenterConfig.blocks)
    p.add_argument("--fine", type=int, default=AugmenterConfig.fine, help="finer-grid factor")
    p.add_argument("--fine-width", type=int, default=AugmenterConfig.fine_width)
    p.add_argument(
        "--init",
        type=Path,
        help="start from this augmenter (one of another codec with same-size latents will do)",
    )
    p.add_argument(
        "--specialise", help="with --init: train a network of its own for this type, on it alone"
    )
    p.add_argument("--pixel-weight", type=float, default=1.0, help="weight of the pixel loss")
    p.add_argument("--eval-clips", type=int, default=48, help="held-out clips per source")
    p.add_argument("--eval-frames", type=int, default=8)
    p.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    p.add_argument("--device", default="auto")
    p.add_argument("--work", type=Path, default=ROOT / "runs" / "augment")
    p.add_argument("--out", type=Path, default=ROOT / "results")
    p.add_argument("--seed", type=int, default=0)
    return p.parse_args()


def machine(device: torch.device) -> dict[str, Any]:
    return report.machine(device, load_average=os.getloadavg())


def codec_path(args: argparse.Namespace) -> Path:
    if args.codec is not None:
        return args.codec
    demo = ROOT / "runs" / "demo" / "codec.safetensors"
    if not demo.is_file():
        sys.exit(f"no codec: pass --codec, or run `cvis demo` first to make {demo}")
    args.work.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy2(demo, args.work / "codec.safetensors"))


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


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    seed_everything(args.seed)
    device = resolve_device(args.device)
    path = codec_path(args)
    codec = load_codec(path, device)
    sources = ["synthetic", str(args.data)]

    train_set, _ = training_clips(sources, args.frames, args.size, args.crop, args.seed)
    cfg = AugmenterConfig(
        codec.latent_dim,
        TYPES,
        args.width,
        args.blocks,
        fine=args.fine,
        fine_width=args.fine_width,
    )
    loop = LoopConfig(steps=args.steps, lr=args.lr, warmup=50)
    out_ckpt = args.work / "augmenter.safetensors"
    start = time.perf_counter()
    init = load_augmenter(args.init, codec, device, warm_start=True) if args.init else None
    if args.specialise:
        if init is None:
            sys.exit("--specialise needs --init")
        init = specialise(init, args.specialise)
    augmenter, history = train_augmenter(
        codec,
        infinite_batches(train_set, args.batch, args.seed),
        loop,
        device,
        cfg,
        out_ckpt,
        args.pixel_weight,
        init=init,
        kinds=(args.specialise,) if args.specialise else None,
    )
    train_s = time.perf_counter() - start

    videos = evaluation_clips(sources, args.eval_frames, args.crop, args.eval_clips, args.seed)
    start = time.perf_counter()
    result = evaluate_augmenter(codec, augmenter, videos, device, seed=args.seed)
    eval_s = time.perf_counter() - start
    checks = target_checks(result)
    png = save_figure(args.out / "augment_bench.png", codec, augmenter, videos)

    command = report.command_line()
    info = machine(device)
    inputs = {
        "codec": str(path),
        "codec_config": codec.config.to_dict(),
        "codec_fingerprint": codec_fingerprint(codec),
        "train_sources": sources,
        "train_clips": f"{args.batch} x {args.frames} frames, {args.crop}x{args.crop} crops "
        f"(shared clips resized to {args.size}), {args.steps} steps in {train_s:.0f} s"
        + (f", on {args.specialise} alone" if args.specialise else ""),
        "augmenter": augmenter.config.to_dict(),
        "eval_clips": f"{len(videos)} held-out clips of {args.eval_frames}x{args.crop}x{args.crop}"
        f" (up to {args.eval_clips} per source), evaluated in {eval_s:.0f} s",
        "last_50_training_steps": {
            k: sum(h[k] for h in history[-50:]) / len(history[-50:]) for k in history[-1]
        },
    }
    header = (
        f"Command: `{command}`\n\nMachine: {info}\n\n"
        + "".join(f"- {k}: {v}\n" for k, v in inputs.items())
        + "\n"
    )
    table = header + "".join(
        f"{title}\n\n{markdown_table(rows)}\n" for title, rows in table_sections(result)
    )
    table += f"Targets of the issue\n\n{markdown_table(checks)}"
    payload = {"command": command, "machine": info, "inputs": inputs, "targets": checks}
    json_path, md_path = write_report(args.out, "augment_bench", payload | result, table)
    print(table)
    print(f"written: {json_path}, {md_path}, {png}")


if __name__ == "__main__":
    main()
