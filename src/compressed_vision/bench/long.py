"""Hour-long videos: streaming encode memory and speed, the hour's codes against its pixels,
one training step over a whole hour of codes, the longest video each pipeline can train on,
and the long-video tasks (long-context model against short-window model).

1. Encode: a 128x128 25 fps walking tour streamed into a store at two lengths (default 10
   and 60 minutes; each in its own process): peak resident memory (flat in the length?) and
   speed in multiples of real time. With lengths under an hour (--encode-minutes 2 10, for a
   busy machine) the hour is extrapolated from the speed, labelled so.
2. Memory of an hour: its codes (as held for training) against its uint8 and float32 pixels.
3. One training step (forward + backward + AdamW) over a whole hour of codes (90,000 frames,
   random codes of the right shape: time and memory do not depend on the values), in its own
   process: time and peak resident memory, against the estimate the memory check uses.
4. The longest video one training step fits in (80% of this machine's RAM), for the same
   model over codes and over RGB pixels: *computed* from the measured memory per chunk.
5. Tasks: `run_long_demo` on two tours (train / test) of --task-minutes.

`long_bench` writes long_bench.json (everything), long_bench.md (tables) and long_bench.png
(encode memory against length; memory per frame).
"""

from __future__ import annotations

import hashlib
import json
import os
import resource
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..codec import codec_fingerprint, load_codec
from ..codec.checkpoint import resolve_codec_path
from ..long.demo import LongDemoConfig, run_long_demo
from ..long.memory import code_probe, estimate_memory
from ..long.models import LongModelConfig, LongVideoModel
from ..long.store import encode_tour
from ..long.tasks import long_step, tour_batches, tour_data
from ..long.tour import TourConfig, WalkingTour
from ..report import Run, markdown_table, write_results
from ..store.layout import code_dtype
from ..train_loop import LoopConfig, train
from .codec import in_fresh_process

RGB_CHECK_MIN = (3.0, 6.0)  # lengths of the measured RGB steps (past one checkpointed segment)
HOUR_MIN = 60.0


@dataclass
class LongBenchConfig:
    """What to measure (the options of `cvis bench long`)."""

    work: Path
    out: Path
    codec: str = "cr240"  # a shipped codec's name or a checkpoint
    size: int = 128
    encode_minutes: tuple[float, ...] = (10.0, 60.0)
    task_minutes: float = 20.0
    task_size: int = 64
    task_steps: int = 300


def rss_mb() -> float:
    """This process's resident memory now, MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_rss_mb() -> float:
    """This process's peak resident memory, MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux


def meminfo_gb(field: str) -> float:
    """A field of /proc/meminfo (MemTotal, ...), GB."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024**2
    return float("nan")


# ---- children: each measurement in its own process, so its peak memory is its own ----


def child_encode(a: dict) -> dict:
    """Stream a tour of a["minutes"] into a fresh store; peak RSS against RSS before."""
    codec = load_codec(a["codec"])
    tour = WalkingTour(TourConfig(minutes=a["minutes"], size=a["size"]))
    tour.world  # noqa: B018  (paint the atlases now: part of the generator, not of the encode)
    shutil.rmtree(a["store"], ignore_errors=True)
    before = rss_mb()
    t0 = time.perf_counter()
    entry = encode_tour(tour, codec, a["store"], "tour", torch.device("cpu"))
    seconds = time.perf_counter() - t0
    store_bytes = sum(f.stat().st_size for f in Path(a["store"]).rglob("*") if f.is_file())
    return {
        "minutes": a["minutes"],
        "frames": tour.frames,
        "code_steps": entry.steps,
        "encode_s": seconds,
        "fps": tour.frames / seconds,
        "x_real_time": tour.frames / tour.cfg.fps / seconds,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "store_mb": store_bytes / 1e6,
    }


def child_step(a: dict) -> dict:
    """Two training steps over a whole hour of (random) codes; time per step, peak RSS."""
    codec = load_codec(a["codec"])
    cfg = TourConfig(minutes=a["minutes"], size=a["size"])
    g, t, h, w = codec.config.code_shape(cfg.frames, cfg.size, cfg.size)
    rng = np.random.default_rng(0)
    codes = rng.integers(codec.codebook_size, size=(g, t, h, w)).astype(
        code_dtype(codec.codebook_size)
    )
    data = tour_data(codes, cfg, 25, codec.config.temporal_factor)
    model = LongVideoModel.for_codes(LongModelConfig(), codec.quantizer.embeddings)
    probe = code_probe(codec.config, cfg.size, cfg.size, data.chunk_steps)
    estimate = estimate_memory(model, probe, data.frames_per_chunk)
    plain = LongVideoModel.for_codes(
        LongModelConfig(checkpoint_chunks=0), codec.quantizer.embeddings
    )
    no_ckpt = estimate_memory(plain, probe, data.frames_per_chunk)
    batches = tour_batches(data, model.config.time_bins)
    before = rss_mb()
    t0 = time.perf_counter()
    history = train(model, long_step, batches, LoopConfig(steps=2, warmup=1), torch.device("cpu"))
    seconds = (time.perf_counter() - t0) / 2
    return {
        "frames": cfg.frames,
        "chunks": data.chunks,
        "codes_shape": [g, t, h, w],
        "codes_mb": data.codes.numel() * data.codes.element_size() / 1e6,
        "step_s": seconds,
        "loss": history[-1]["loss"],
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "estimated_gb": estimate.bytes_for(data.chunks) / 1e9,
        "estimated_gb_without_checkpointing": no_ckpt.bytes_for(data.chunks) / 1e9,
        "parameters": sum(p.numel() for p in model.parameters()),
    }


def child_rgb_step(a: dict) -> dict:
    """One forward and backward pass of the same model over a["minutes"] of float32 RGB
    pixels: peak RSS against the computed estimate for that length (checks the estimate
    that gives the longest RGB video)."""
    cc = load_codec(a["codec"]).config
    cfg = LongModelConfig()
    fpc = cfg.chunk_steps * cc.temporal_factor
    model = LongVideoModel.for_pixels(cfg, cc.spatial_factor, cc.temporal_factor)
    size = a["size"]
    estimate = estimate_memory(model, lambda n: torch.rand(1, 3, n * fpc, size, size), fpc)
    chunks = round(a["minutes"] * 60 * 25 / fpc)
    before = rss_mb()  # the video itself counts: holding it is the RGB pipeline's cost
    video = torch.rand(1, 3, chunks * fpc, size, size)
    labels = torch.randint(cfg.districts, (chunks,))
    t0 = time.perf_counter()
    out = model(video)
    torch.nn.functional.cross_entropy(out["district"][0], labels).backward()
    return {
        "frames": chunks * fpc,
        "step_s": time.perf_counter() - t0,
        "rss_before_mb": before,
        "peak_rss_mb": peak_rss_mb(),
        "estimated_gb": estimate.bytes_for(chunks) / 1e9,
    }


def child_tasks(a: dict) -> dict:
    cfg = LongDemoConfig(minutes=a["minutes"], size=a["size"], steps=a["steps"])
    result = run_long_demo(cfg, a["out"], torch.device("cpu"), codec_path=a["codec"])
    return {k: result[k] for k in ("config", "results", "timings", "prepare_s", "table", "plot")}


CHILDREN = {
    "encode": child_encode,
    "step": child_step,
    "rgb_step": child_rgb_step,
    "tasks": child_tasks,
}


def run_child(name: str, args: dict, work: Path) -> dict:
    """One measurement in a fresh process; its result is kept in `work`, so a rerun (after a
    crash or a kill) redoes only the measurements whose inputs changed."""
    text = json.dumps(args, sort_keys=True)
    done_file = work / f"child-{name}-{hashlib.sha256(text.encode()).hexdigest()[:12]}.json"
    if not done_file.is_file():
        print(f"measuring {name} in a fresh process: {text}", flush=True)
        done_file.write_text(json.dumps(in_fresh_process(CHILDREN[name], args)))
    else:
        print(f"reusing {done_file}", flush=True)
    return json.loads(done_file.read_text())


# ---- computed: the longest video each pipeline can train on ----


def longest_videos(codec_path: str, size: int, budget: float) -> list[dict]:
    """The same model (checkpointed) over codes and over float32 RGB pixels held in memory:
    measured bytes per chunk -> the most frames whose training step fits in `budget`."""
    codec = load_codec(codec_path)
    cc = codec.config
    cfg = LongModelConfig()
    fpc = cfg.chunk_steps * cc.temporal_factor
    codes = LongVideoModel.for_codes(cfg, codec.quantizer.embeddings)
    pixels = LongVideoModel.for_pixels(cfg, cc.spatial_factor, cc.temporal_factor)
    probes = {
        "codes": (codes, code_probe(cc, size, size, cfg.chunk_steps)),
        "RGB float32": (pixels, lambda n: torch.rand(1, 3, n * fpc, size, size)),
    }
    rows = []
    for name, (model, probe) in probes.items():
        est = estimate_memory(model, probe, fpc)
        frames = est.max_chunks(budget) * fpc
        rows.append(
            {
                "pipeline": name,
                "KB per frame (computed)": est.per_frame() / 1e3,
                "longest video, frames (computed)": frames,
                "longest video, hours (computed)": frames / 25 / 3600,
            }
        )
    rows.append(
        {
            "pipeline": "ratio codes / RGB",
            "KB per frame (computed)": rows[0]["KB per frame (computed)"]
            / rows[1]["KB per frame (computed)"],
            "longest video, frames (computed)": rows[0]["longest video, frames (computed)"]
            / max(1, rows[1]["longest video, frames (computed)"]),
            "longest video, hours (computed)": "",
        }
    )
    return rows


def rgb_fit(steps: list[dict], budget: float) -> dict:
    """The longest RGB video from two measured steps: the line through their peak memory
    (above the RSS before) against frames, solved for `budget`."""
    (f1, m1), (f2, m2) = (
        (r["frames"], (r["peak_rss_mb"] - r["rss_before_mb"]) * 1e6) for r in steps
    )
    per_frame = (m2 - m1) / (f2 - f1)
    frames = int(f1 + (budget - m1) / per_frame)
    return {
        "pipeline": "RGB float32 (line through the two measured steps below)",
        "KB per frame (computed)": per_frame / 1e3,
        "longest video, frames (computed)": frames,
        "longest video, hours (computed)": frames / 25 / 3600,
    }


def plot(encodes: list[dict], longest: list[dict], step: dict):
    """Encode memory against length; memory per frame of codes and of RGB."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    minutes = [e["minutes"] for e in encodes]
    a.plot(minutes, [e["peak_rss_mb"] for e in encodes], "o-", label="peak RSS (measured)")
    a.plot(minutes, [e["rss_before_mb"] for e in encodes], "s--", label="RSS before encoding")
    a.set_xlabel("tour length, minutes (128x128, 25 fps)")
    a.set_ylabel("MB")
    a.set_ylim(bottom=0)
    a.set_title("streaming encode: memory against length")
    a.legend()
    names = [r["pipeline"] for r in longest[:2]]
    b.bar(names, [r["KB per frame (computed)"] for r in longest[:2]], color=["tab:blue", "tab:red"])
    b.set_yscale("log")
    b.set_ylabel("KB per frame for one training step")
    b.set_title(
        f"hour of codes: step {step['step_s']:.0f} s, peak {step['peak_rss_mb'] / 1e3:.1f} GB"
    )
    return fig


def long_bench(cfg: LongBenchConfig) -> dict[str, Path]:
    """Every measurement of the module doc; written to `cfg.out`/long_bench.{json,md,png}."""
    cfg.work.mkdir(parents=True, exist_ok=True)
    source = resolve_codec_path(cfg.codec)
    codec_path = cfg.work / "codec.safetensors"
    shutil.copyfile(source, codec_path)  # a codec still being trained changes under us
    codec = load_codec(codec_path)
    run = Run.here(ram_gb=round(meminfo_gb("MemTotal"), 1), load_average_at_start=os.getloadavg())
    print(f"{run}\ncodec: {source} {codec.config}", flush=True)

    # the fingerprint keys the cached results of the children to this very codec
    common = {"codec": str(codec_path), "size": cfg.size, "fingerprint": codec_fingerprint(codec)}
    w = cfg.work
    encodes = [
        run_child("encode", {**common, "minutes": m, "store": str(w / f"enc{m:g}.zarr")}, w)
        for m in cfg.encode_minutes
    ]
    speed = encodes[-1]["x_real_time"]
    hour_frames = int(HOUR_MIN * 60 * 25)
    step = run_child("step", {**common, "minutes": HOUR_MIN}, w)
    rgb_steps = [run_child("rgb_step", {**common, "minutes": m}, w) for m in RGB_CHECK_MIN]
    budget = 0.8 * meminfo_gb("MemTotal") * 1e9
    longest = longest_videos(str(codec_path), cfg.size, budget)
    fit = rgb_fit(rgb_steps, budget)
    frames_key = "longest video, frames (computed)"
    longest += [
        fit,
        {
            "pipeline": "ratio codes / RGB (measured line)",
            "KB per frame (computed)": longest[0]["KB per frame (computed)"]
            / fit["KB per frame (computed)"],
            frames_key: longest[0][frames_key] / max(1, fit[frames_key]),
            "longest video, hours (computed)": "",
        },
    ]
    tasks = run_child(
        "tasks",
        {
            "codec": str(codec_path),
            "minutes": cfg.task_minutes,
            "size": cfg.task_size,
            "steps": cfg.task_steps,
            "out": str(w / f"tasks-{codec_fingerprint(codec)}"),
        },
        w,
    )

    px = hour_frames * cfg.size * cfg.size * 3
    memory_rows = [
        {"the hour (90,000 frames) as": "codes (training input)", "MB": step["codes_mb"]},
        {"the hour (90,000 frames) as": "uint8 pixels", "MB": px / 1e6},
        {"the hour (90,000 frames) as": "float32 pixels", "MB": 4 * px / 1e6},
    ]
    encode_rows = [
        {
            "tour": f"{e['minutes']:g} min (measured)",
            "frames": e["frames"],
            "encode s": e["encode_s"],
            "x real time": e["x_real_time"],
            "RSS before MB": e["rss_before_mb"],
            "peak RSS MB": e["peak_rss_mb"],
            "store MB": e["store_mb"],
        }
        for e in encodes
    ]
    if encodes[-1]["minutes"] < HOUR_MIN:
        encode_rows.append(
            {
                "tour": "60 min (EXTRAPOLATED from the last speed; memory assumed flat)",
                "frames": hour_frames,
                "encode s": HOUR_MIN * 60 / speed,
                "x real time": speed,
                "RSS before MB": encodes[-1]["rss_before_mb"],
                "peak RSS MB": encodes[-1]["peak_rss_mb"],
                "store MB": encodes[-1]["store_mb"] * HOUR_MIN / encodes[-1]["minutes"],
            }
        )
    step_rows = [
        {
            "training step over": f"the whole hour of codes ({step['frames']} frames, "
            f"{step['chunks']} chunks)",
            "seconds": step["step_s"],
            "peak RSS GB (measured)": step["peak_rss_mb"] / 1e3,
            "RSS before GB": step["rss_before_mb"] / 1e3,
            "estimate GB": step["estimated_gb"],
            "estimate GB without checkpointing": step["estimated_gb_without_checkpointing"],
            "target GB": 8.0,
        }
    ]
    rgb_checks = [
        {
            "pipeline": "RGB float32, measured",
            "frames": r["frames"],
            "forward + backward s": r["step_s"],
            "peak RSS - RSS before GB": (r["peak_rss_mb"] - r["rss_before_mb"]) / 1e3,
            "estimate GB": r["estimated_gb"],
        }
        for r in rgb_steps
    ]
    codes_check = {
        "pipeline": "codes, measured (the hour's step above)",
        "frames": step["frames"],
        "forward + backward s": step["step_s"],
        "peak RSS - RSS before GB": (step["peak_rss_mb"] - step["rss_before_mb"]) / 1e3,
        "estimate GB": step["estimated_gb"],
    }
    cc = codec.config
    body = "\n\n".join(
        [
            f"codec: {source} ({cc.spatial_factor}x spatial, {cc.temporal_factor}x temporal, "
            f"{cc.num_codebooks} codebooks of {cc.codebook_size}, CR "
            f"{cc.compression_rate(16, cfg.size, cfg.size):.2f})",
            "### Streaming encode, 128x128 at 25 fps\n\n" + markdown_table(encode_rows),
            "### Memory of one hour\n\n" + markdown_table(memory_rows),
            "### One training step over the whole hour\n\n" + markdown_table(step_rows),
            f"### Longest video one training step fits in ({budget / 1e9:.1f} GB = 80% of RAM; "
            "computed from measured bytes per chunk)\n\n" + markdown_table(longest),
            "### The estimate against measured steps\n\n"
            + markdown_table([*rgb_checks, codes_check]),
            f"### Tasks ({cfg.task_minutes:g}-minute tours at {cfg.task_size}x"
            f"{cfg.task_size}, {cfg.task_steps} steps per model; test tour)\n\n" + tasks["table"],
        ]
    )
    payload = {
        "codec": {"source": str(source), "config": cc.to_dict()},
        "encode": encodes,
        "memory_of_hour": memory_rows,
        "train_step_hour": step,
        "longest_video": {"budget_bytes": budget, "rows": longest},
        "estimate_checks": [*rgb_checks, codes_check],
        "tasks": tasks,
    }
    figure = plot(encodes, longest, step)
    title = "Hour-long videos"
    return write_results(cfg.out, "long_bench", title, payload, body + "\n", run, figure)
