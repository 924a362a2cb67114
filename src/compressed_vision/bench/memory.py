"""Activation memory per clip of the same backbone on codes and on pixels (issue 6).

Counts the bytes a training forward saves for the backward pass (`tasks.measure.
saved_activation_bytes`), per clip of a batch: deterministic and device-independent, unlike a
process's peak memory on a CPU, which the allocator's caching blurs for small models. Codes go
through the codec's frozen codebook lookup into the backbone on their own grid; pixels through
the backbone's usual stem (8x spatial) with the codec's temporal factor, as in the downstream
bench.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ..codec import load_codec
from ..models import ModelConfig, build_classifier
from ..report import Run, markdown_table, write_results
from ..tasks.measure import saved_activation_bytes

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


def activation_memory(
    codecs: list[str],
    out: Path,
    size: int = 128,
    batch: int = 4,
    pixel_downsample: int = 8,
    cases: tuple = CASES,
) -> dict[str, Path]:
    """A row per codec and case (backbone, options, frames, frame head) of `cases`; written
    to `out`/activation_memory.{json,md}."""
    run = Run.here()
    print(run)
    rows, notes = [], []
    for codec in codecs:
        model = load_codec(codec)
        c = model.config
        side = size // c.spatial_factor  # the code grid's side
        for backbone, options, frames, frame_head in cases:
            common = {"backbone": backbone, "frame_head": frame_head, "options": options}
            codes = ModelConfig.for_codes(c, **common)
            pixels = ModelConfig(
                inputs="pixels",
                input_downsample=pixel_downsample,
                temporal_downsample=c.temporal_factor,
                **common,
            )
            steps = frames // c.temporal_factor
            code_batch = torch.randint(0, c.codebook_size, (batch, c.num_codebooks, steps))
            code_batch = code_batch[..., None, None].expand(-1, -1, -1, side, side).clone()
            pixel_batch = torch.rand(batch, 3, frames, size, size)
            on_codes = per_clip(codes, model.quantizer.embeddings, code_batch)
            on_pixels = per_clip(pixels, None, pixel_batch)
            rows.append(
                {
                    "codec": codec,
                    "backbone": backbone,
                    "options": str(options or "default"),
                    "clip": f"{frames}x{size}x{size}",
                    "head": "per step" if frame_head else "per clip",
                    "codes MB/clip": round(on_codes / 2**20, 2),
                    "pixels MB/clip": round(on_pixels / 2**20, 2),
                    "pixels / codes": round(on_pixels / on_codes, 1),
                }
            )
            print(rows[-1], flush=True)
        notes.append(
            f"`{codec}` ({c.spatial_factor}x spatial, {c.temporal_factor}x temporal): codes on "
            f"a {side}x{side} grid, pixels with the same temporal stride"
        )
    table = markdown_table(rows) + (
        f"\nCodecs: {'; '.join(notes)}. Pixels go through a {pixel_downsample}x stem. Bytes "
        f"saved for the backward pass per clip (batch {batch}, float32), weights and "
        "optimizer state excluded.\n"
    )
    args = {"codecs": codecs, "size": size, "batch": batch, "pixel_downsample": pixel_downsample}
    title = "Activation memory per clip: codes against pixels"
    return write_results(out, "activation_memory", title, {"args": args, "rows": rows}, table, run)
