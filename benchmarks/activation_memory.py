"""Activation memory per clip of the same backbone on codes and on pixels (issue 6).

Counts the bytes a training forward saves for the backward pass (`tasks.measure.
saved_activation_bytes`), per clip of a batch: deterministic and device-independent, unlike a
process's peak memory on a CPU, which the allocator's caching blurs for small models. Codes go
through the codec's frozen codebook lookup into the backbone on their own grid; pixels through
the backbone's usual stem (8x spatial) with the codec's temporal factor, as in the downstream
bench. Prints the command, machine and table; writes results/activation_memory.{json,md}.

    .venv/bin/python benchmarks/activation_memory.py [--codec cr240]
"""

from __future__ import annotations

import argparse
import platform
import shlex
import sys
from pathlib import Path

import torch

from compressed_vision.codec import load_codec
from compressed_vision.models import ModelConfig, build_classifier
from compressed_vision.report import markdown_table, write_report
from compressed_vision.tasks.measure import saved_activation_bytes

ROOT = Path(__file__).resolve().parents[1]
# (backbone, options, frames, frame_head): the downstream presets' shapes
CASES = (
    ("cnn3d", {}, 8, False),
    ("cnn3d", {}, 16, True),
    ("s3d", {"width": 0.25}, 8, False),
    ("s3d", {"width": 1.0}, 16, False),
    ("s3d", {"width": 1.0}, 16, True),
    ("r2plus1d", {"width": 0.5}, 16, False),
    ("vit", {}, 16, False),
)


def per_clip(config: ModelConfig, codebooks, inputs: torch.Tensor) -> float:
    torch.manual_seed(0)
    model = build_classifier(config, codebooks).train()
    return saved_activation_bytes(model, inputs) / len(inputs)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--codec", default="cr240")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--batch", type=int, default=4)
    p.add_argument("--pixel-downsample", type=int, default=8)
    p.add_argument("--out", type=Path, default=ROOT / "results")
    args = p.parse_args()
    print("command:", shlex.join([sys.executable, *sys.argv]))
    print(f"machine: {platform.machine()}, torch {torch.__version__}, float32, CPU")
    codec = load_codec(args.codec)
    c = codec.config
    rows = []
    for backbone, options, frames, frame_head in CASES:
        common = {"backbone": backbone, "frame_head": frame_head, "options": options}
        codes = ModelConfig.for_codes(c, **common)
        pixels = ModelConfig(
            inputs="pixels",
            input_downsample=args.pixel_downsample,
            temporal_downsample=c.temporal_factor,
            **common,
        )
        grid = (frames // c.temporal_factor, args.size // c.spatial_factor)
        code_batch = torch.randint(0, c.codebook_size, (args.batch, c.num_codebooks, grid[0]))
        code_batch = code_batch[..., None, None].expand(-1, -1, -1, grid[1], grid[1]).clone()
        pixel_batch = torch.rand(args.batch, 3, frames, args.size, args.size)
        on_codes = per_clip(codes, codec.quantizer.embeddings, code_batch)
        on_pixels = per_clip(pixels, None, pixel_batch)
        rows.append(
            {
                "backbone": backbone,
                "options": str(options or "default"),
                "clip": f"{frames}x{args.size}x{args.size}",
                "head": "per step" if frame_head else "per clip",
                "codes MB/clip": round(on_codes / 2**20, 2),
                "pixels MB/clip": round(on_pixels / 2**20, 2),
                "pixels / codes": round(on_pixels / on_codes, 1),
            }
        )
        print(rows[-1], flush=True)
    table = markdown_table(rows) + (
        f"\nCodec `{args.codec}` ({c.spatial_factor}x spatial, {c.temporal_factor}x temporal): "
        f"codes on a {args.size // c.spatial_factor}x{args.size // c.spatial_factor} grid; "
        f"pixels through a {args.pixel_downsample}x stem. Bytes saved for the backward pass "
        f"per clip (batch {args.batch}, float32), weights and optimizer state excluded.\n"
    )
    write_report(
        args.out,
        "activation_memory",
        {"args": vars(args) | {"out": str(args.out)}, "rows": rows},
        table,
    )
    print(table)


if __name__ == "__main__":
    main()
