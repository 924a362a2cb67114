"""`cvis bench downstream`: the same backbone, task and training budget on every input: raw
RGB without and with pixel augmentation, JPEG and H.264 at the codec's compression rate, the
codec's decoded reconstructions (the pixels its codes hold, through the RGB pipeline), and
the codec's codes without and with latent augmentation. Per task and input: accuracy on the
held-out split, training clips per second, peak memory per clip, stored bytes behind a clip,
and the dataset's size on disk.

Pixel inputs go through the backbone's usual stem (for S3D torchvision's 8x to the inception
blocks: what users run on pixels today); codes enter the same body on their own grid.

Data: the synthetic motion set, whole-video labels and frame-wise labels (3 segments of
`segment_frames` per video, so a frame-wise clip spans two or three motions), rendered to
near-lossless H.264 files with a COIN-style index; the label-free real-footage tasks
(playback speed, arrow of time) over a folder of real videos, resized to the training size
once (held out: the last fraction of every video). The stores are built from the same files
the RGB pipeline decodes, and the JPEG / H.264 copies from the same frames. Every run trains
in a fresh process, so its peak memory is its own.
"""

from __future__ import annotations

import json
import multiprocessing
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from ..baselines.copies import recompress_copies
from ..codec import load_codec
from ..report import Run, markdown_table, save_plot, write_results
from ..sources import manifest_from_source
from ..sources.folder import find_videos
from ..sources.synthetic import CLASS_NAMES, SyntheticConfig, make_video
from ..store import CodeStore, build_store
from ..store.info import bytes_on_disk
from ..tasks.config import REORDERS_FRAMES, TaskConfig
from ..video.io import read_video, write_video
from ..video.opencv_read import fastest_decoder

INPUTS = ("rgb", "rgb+aug", "jpeg", "h264", "h264@bytes", "decoded", "codes", "codes+aug")
# Inputs read from re-compressed copies. "h264@bytes" is H.264 given the bytes the codes take
# in the store (their stored CR), where "h264" and "jpeg" get the codec's rate.
COPIES = ("jpeg", "h264", "h264@bytes", "decoded")
# Not "decoded" on the tasks that reorder frames (`REORDERS_FRAMES`: speed, arrow): a codec's
# decoded frames show its code steps (cr240 on the shared clips: frames differ by 0.9-1.2
# grey levels within a 2-frame step, 3.6-11.7 across steps), so subsampled or reversed frames carry
# a pattern the network reads instead of motion (measured: speed 68.8 %, arrow 100 %, every
# other input near chance). Codes are reordered by whole steps, so they carry no such cue.
INPUT_NAMES = {
    "rgb": "raw RGB",
    "rgb+aug": "raw RGB + pixel aug",
    "jpeg": "JPEG",
    "h264": "H.264",
    "h264@bytes": "H.264 at the codes' bytes",
    "decoded": "decoded codes",
    "codes": "codes",
    "codes+aug": "codes + latent aug",
}
INPUT_KEYS = {name: key for key, name in INPUT_NAMES.items()}


@dataclass(frozen=True)
class DownstreamConfig:
    """The comparison: data sizes, backbone and training budget (the same for every input)."""

    codec: str = "cr240"
    real_videos: str | None = None  # folder of real videos for speed / arrow (None: skip)
    photos: str | None = None  # folder of photos for the camera-motion tasks (None: skip)
    tasks: tuple[str, ...] = (
        "video",
        "frames",
        "speed",
        "arrow",
        "camera",
        "camera_frames",
        "camera_long",
    )
    inputs: tuple[str, ...] = INPUTS
    train_videos: int = 1000
    test_videos: int = 200
    frames: int = 8
    size: int = 128
    segments: int = 3  # per video in the frame-wise set
    segment_frames: int = 8  # frames per segment there
    # clip length of the frame-wise task (0: `frames`): 16 frames (8 code steps) span two or
    # three segments
    frame_task_frames: int = 16
    # the long-video task (frame-wise camera motions, random clips of minute-long videos):
    # what reading a clip costs when it sits deep in a long file
    long_videos: int = 12
    long_test_videos: int = 4
    long_frames: int = 1500  # 60 s at 25 frames/s
    backbone: str = "cnn3d"  # S3D sits at chance for hundreds of steps: not at a CPU budget
    backbone_options: dict[str, Any] = field(default_factory=dict)
    steps: int = 300
    real_steps: int = 200
    batch: int = 16
    real_batch: int = 16
    lr: float = 2e-3
    pixel_downsample: int = 8  # pixel stem's spatial factor (16 for cr240: the codes' grid)
    augment_types: tuple[str, ...] = ("crop", "saturation")  # no flips: they swap motions
    real_augment_types: tuple[str, ...] = ("flip", "crop", "saturation")
    latent_augment: str = "naive"  # an augmenter checkpoint for the codec, or "naive"
    decoder: str = field(default_factory=fastest_decoder)  # of the pixel inputs
    real_test_fraction: float = 0.3
    # held-out real clips start every step (overlapping): 3 short clips leave 4 non-overlapping
    # 4x-speed clips in their last 30 %, 31 overlapping ones
    real_test_stride: int = 1
    device: str = "auto"
    seed: int = 0
    seeds: int = 1  # runs per (task, input), seeds seed, seed + 1, ...: top-1 is their mean


DOWNSTREAM_PRESETS = {
    "small": DownstreamConfig(),
    "full": DownstreamConfig(
        train_videos=4000,
        test_videos=1000,
        frames=16,
        segment_frames=16,
        frame_task_frames=0,
        backbone="s3d",
        backbone_options={"width": 1.0},
        steps=3000,
        real_steps=1000,
        lr=1e-3,
        batch=32,
    ),
    "smoke": DownstreamConfig(
        train_videos=6,
        test_videos=4,
        frames=4,
        segment_frames=4,
        frame_task_frames=0,
        size=32,
        backbone="vit",
        backbone_options={"dim": 24, "depth": 1, "heads": 2},
        steps=2,
        real_steps=2,
        batch=4,
        real_batch=4,
        real_test_fraction=0.5,
        long_videos=2,
        long_test_videos=1,
        long_frames=64,  # 16 segments: two shots
    ),
}


def write_synthetic_dataset(
    out_dir: str | Path,
    cfg: SyntheticConfig,
    test_videos: int,
    crf: int = 12,
    show_progress: bool = True,
) -> Path:
    """Render `cfg.num_videos` train and `test_videos` test synthetic videos (test: the next
    seed) to H.264 files under out_dir/videos and index them in out_dir/index.json, COIN
    style: class (the most frequent frame label), subset, and with segments > 1 the
    segments as annotations. Returns the index (a source for stores and the RGB pipeline)."""
    out = Path(out_dir)
    index = out / "index.json"
    if index.is_file():
        return index
    database = {}
    splits = (("train", cfg), ("test", replace(cfg, num_videos=test_videos, seed=cfg.seed + 1)))
    for subset, split_cfg in splits:
        bar = tqdm(
            range(split_cfg.num_videos),
            desc=f"synthetic {subset}",
            leave=False,
            disable=not show_progress,
        )
        for i in bar:
            video, _, labels = make_video(split_cfg, i)
            name = f"{subset}-{i:05d}"
            frames = (video.permute(1, 2, 3, 0) * 255).round().byte().numpy()
            write_video(out / "videos" / f"{name}.mp4", frames, fps=25, crf=crf)
            bounds = [0] + [t for t in range(1, len(labels)) if labels[t] != labels[t - 1]]
            segments = [
                {"segment": [a / 25, b / 25], "label": CLASS_NAMES[int(labels[a])]}
                for a, b in zip(bounds, bounds[1:] + [len(labels)], strict=True)
            ]
            database[name] = {
                "class": CLASS_NAMES[int(torch.mode(labels).values)],
                "subset": subset,
                "annotation": segments if cfg.segments > 1 else [],
            }
    index.write_text(json.dumps({"database": database}))
    return index


def write_camera_dataset(
    out_dir: str | Path,
    photos: str | Path,
    num_videos: int,
    test_videos: int,
    segments: int,
    segment_frames: int,
    size: int,
    seed: int = 0,
    crf: int = 12,
    show_progress: bool = True,
) -> Path:
    """Camera-motion videos of real photos (`sources.camera.film_motions`), COIN style like
    `write_synthetic_dataset`: train videos film the training photos, test videos the
    held-out ones. One motion per video, or with `segments` > 1 a different motion every
    `segment_frames` frames (frame-wise labels); a long video (more segments than motions)
    is a sequence of such shots, each of another photo (a cut between them)."""
    from ..sources.camera import MOTION_CLASSES, film_motions, load_photos

    out = Path(out_dir)
    index = out / "index.json"
    if index.is_file():
        return index
    database = {}
    for subset, split, count in (("train", "train", num_videos), ("test", "val", test_videos)):
        pictures = load_photos(photos, split, size)
        for i in tqdm(
            range(count), desc=f"camera {subset}", leave=False, disable=not show_progress
        ):
            rng = np.random.default_rng((seed, i, subset == "test"))
            shots, classes = [], []
            for first in range(0, segments, len(MOTION_CLASSES)):
                picked = rng.choice(
                    len(MOTION_CLASSES), min(segments - first, len(MOTION_CLASSES)), replace=False
                )
                labels = np.repeat(picked, segment_frames).tolist()
                picture = pictures[int(rng.integers(len(pictures)))]
                shots.append(film_motions(picture, labels, size, rng))
                classes += picked.tolist()
            video = torch.cat(shots, dim=1)
            name = f"{subset}-{i:05d}"
            frames = (video.permute(1, 2, 3, 0) * 255).round().byte().numpy()
            write_video(out / "videos" / f"{name}.mp4", frames, fps=25, crf=crf)
            segs = [
                {
                    "segment": [k * segment_frames / 25, (k + 1) * segment_frames / 25],
                    "label": MOTION_CLASSES[c],
                }
                for k, c in enumerate(classes)
            ]
            database[name] = {
                "class": MOTION_CLASSES[classes[0]],
                "subset": subset,
                "annotation": segs if segments > 1 else [],
            }
    index.write_text(json.dumps({"database": database}))
    return index


def resize_folder(src: str | Path, out_dir: str | Path, size: int, crf: int = 12) -> Path:
    """Every video of a folder, resized to cover `size` x `size` and centre-cropped, as
    near-lossless H.264 (the training size, decoded once instead of at every step)."""
    src, out = Path(src), Path(out_dir)
    for path in find_videos(src):
        target = out / path.relative_to(src).with_suffix(".mp4")
        if not target.exists():
            write_video(target, read_video(path, size=size), fps=25, crf=crf)
    return out


def _train_or_reuse(cfg: TaskConfig) -> dict[str, Any]:
    """The run's result: read back from its result.json when it finished before with this
    very config (a bench killed and started again), else trained."""
    done = Path(cfg.out) / "result.json"
    if done.is_file():
        result = json.loads(done.read_text())
        if result.get("config") == json.loads(json.dumps(cfg.to_dict())):
            return result
    return _train_in_subprocess(cfg)


def _train_in_subprocess(cfg: TaskConfig) -> dict[str, Any]:
    """`run_training` in a fresh spawned process (its own peak memory, its own threads)."""
    from ..tasks.train import run_training

    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        return pool.apply(run_training, (cfg,), {"show_progress": False})


@dataclass(frozen=True)
class _Dataset:
    """A prepared dataset: its source (index or folder), store, copies and how it splits."""

    name: str
    source: str  # an index (.json, videos beside it) or a folder
    store: str
    copies: dict[str, tuple[str, dict[str, Any]]]  # method -> (folder, summary)
    split_by: str
    test_fraction: float
    test_stride: int
    augment_types: tuple[str, ...]
    steps: int
    batch: int


def _prepare(
    cfg: DownstreamConfig, name: str, work: Path, codec, cr: float, inputs: set[str], show: bool
):
    """Files, store and the re-compressed copies `inputs` read of one dataset (each reused
    when present, under a folder named by the dataset's shape)."""
    synthetic = SyntheticConfig(
        num_videos=cfg.train_videos, frames=cfg.frames, size=cfg.size, seed=cfg.seed
    )
    if name == "synthetic_frames":
        synthetic = replace(
            synthetic,
            frames=cfg.segments * cfg.segment_frames,
            segments=cfg.segments,
            seed=cfg.seed + 10,
        )
    if name == "real":
        tag = f"real-{cfg.size}"
        source = resize_folder(cfg.real_videos, work / tag, cfg.size)
    elif name.startswith("camera"):
        segments, length, count, tests = {
            "camera": (1, cfg.frames, cfg.train_videos, cfg.test_videos),
            "camera_frames": (cfg.segments, cfg.segment_frames, cfg.train_videos, cfg.test_videos),
            "camera_long": (
                cfg.long_frames // cfg.segment_frames,
                cfg.segment_frames,
                cfg.long_videos,
                cfg.long_test_videos,
            ),
        }[name]
        tag = f"{name}-{count}x{segments * length}x{cfg.size}"
        source = write_camera_dataset(
            work / tag,
            cfg.photos,
            count,
            tests,
            segments,
            length,
            cfg.size,
            cfg.seed,
            show_progress=show,
        )
    else:
        tag = f"{name}-{synthetic.num_videos}x{synthetic.frames}x{cfg.size}"
        source = write_synthetic_dataset(work / tag, synthetic, cfg.test_videos, 12, show)
    manifest = manifest_from_source(source)
    store = work / "stores" / f"{tag}-{codec.fingerprint()}.zarr"
    build_store(manifest, codec, str(store), size=cfg.size, progress=show)
    copies = {}
    real = name == "real"
    for method in COPIES:
        if method in inputs:
            rate = _stored_rate(store, codec.temporal_factor, cfg.size) if "@" in method else cr
            base = _read_as(method)
            suffix = codec.fingerprint() if method == "decoded" else f"cr{rate:.4g}"
            folder = work / "copies" / f"{tag}-{base}-{suffix}"
            _, summary = recompress_copies(manifest, base, rate, cfg.size, folder, show, codec)
            copies[method] = (str(folder), summary)
    return _Dataset(
        name,
        str(source),
        str(store),
        copies,
        "time" if real else "video",
        cfg.real_test_fraction if real else 0.2,
        cfg.real_test_stride if real else 0,
        cfg.real_augment_types if real else cfg.augment_types,
        cfg.real_steps if real else cfg.steps,
        cfg.real_batch if real else cfg.batch,
    )


def _read_as(name: str) -> str:
    """The `TaskConfig.inputs` a pixel input trains on: "rgb+aug" is rgb, "h264@bytes" h264."""
    return name.removesuffix("+aug").split("@")[0]


def _stored_rate(store: Path, temporal_factor: int, size: int) -> float:
    """The codes' stored CR: raw 24-bit RGB bytes of the store's videos (code steps x
    frames a step) over the store's bytes on disk, as the table's "stored CR" of codes."""
    steps = sum(e.steps for e in CodeStore(str(store)).entries())
    return round(steps * temporal_factor * size * size * 3 / bytes_on_disk(str(store)), 1)


TITLE = "Downstream training on codes against JPEG, H.264 and raw RGB"
DATASET_OF = {
    "video": "synthetic",
    "frames": "synthetic_frames",
    "speed": "real",
    "arrow": "real",
    "camera": "camera",
    "camera_frames": "camera_frames",
    "camera_long": "camera_long",
}
# The camera-motion tasks are the whole-video and frame-wise tasks on other data.
TASK_KIND = {"camera": "video", "camera_frames": "frames", "camera_long": "frames"}


def _task_config(
    cfg: DownstreamConfig, task: str, name: str, data: _Dataset, cr: float, out: Path, seed: int
) -> TaskConfig:
    codes = name.startswith("codes")
    augmented = name.endswith("+aug")
    kind = TASK_KIND.get(task, task)
    return TaskConfig(
        task=kind,
        inputs="codes" if codes else _read_as(name),
        store=data.store if codes else None,
        videos=None if codes else data.source,
        codec=cfg.codec,
        target_cr=data.copies[name][1]["target_cr"] if name in data.copies else cr,
        recompressed=data.copies[name][0] if name in data.copies else None,
        size=cfg.size,
        decoder=cfg.decoder,
        frames=cfg.frame_task_frames if kind == "frames" and cfg.frame_task_frames else cfg.frames,
        downsample=None if codes else cfg.pixel_downsample,
        split_by=data.split_by,
        test_fraction=data.test_fraction,
        test_stride=data.test_stride,
        backbone=cfg.backbone,
        backbone_options=dict(cfg.backbone_options),
        augment_types=data.augment_types if augmented else (),
        latent_augment=cfg.latent_augment if codes and augmented else None,
        steps=data.steps,
        batch=data.batch,
        lr=cfg.lr,
        warmup=max(1, data.steps // 10),
        device=cfg.device,
        seed=seed,
        out=str(out / "runs" / (f"{task}-{name}" + (f"-seed{seed}" if seed != cfg.seed else ""))),
    )


def _marginal_memory(task_cfg: TaskConfig, result: dict[str, Any]) -> float:
    """Peak training memory per additional clip: a short run (3 steps) at twice the batch,
    against the run's own peak. Fixed costs (weights, optimizer state, buffers) cancel."""
    twice = 2 * task_cfg.batch
    probe = replace(
        task_cfg, steps=3, warmup=1, batch=twice, evaluate=False, out=task_cfg.out + "-mem"
    )
    peak = _train_in_subprocess(probe)["peak_memory_bytes"]
    return max(0.0, (peak - result["peak_memory_bytes"]) / task_cfg.batch)


def _row(
    task: str, name: str, seed_results: list[dict[str, Any]], raw_per_step: float
) -> dict[str, Any]:
    """A table row: accuracy averaged over the seeds' runs, the rest from the first run."""
    result = seed_results[0]
    top1 = [r["metrics"]["top1"] for r in seed_results]
    top5 = [r["metrics"]["top5"] for r in seed_results]
    seeds = {"top-1 per seed": " / ".join(f"{t:.1f}" for t in top1)} if len(top1) > 1 else {}
    return {
        "task": task,
        "input": INPUT_NAMES[name],
        "stored CR": round(raw_per_step / result["bytes_per_step"], 1),
        "top-1 (%)": round(sum(top1) / len(top1), 1),
        **seeds,
        "top-5 (%)": round(sum(top5) / len(top5), 1),
        "held-out clips": result["test_clips"],
        "clips/s": round(result["clips_per_second"], 1),
        "CPU ms/clip": round(1000 * result["cpu_seconds_per_clip"], 1),
        "peak MB/clip": round(result["peak_memory_per_clip_bytes"] / 2**20, 2),
        "marginal MB/clip": round(result["marginal_memory_per_clip_bytes"] / 2**20, 2),
        "activation MB/clip": round(result["activation_bytes_per_clip"] / 2**20, 3),
        "KB read/clip": round(result["bytes_per_clip"] / 1024, 2),
        "dataset MB": round(result["dataset_bytes"] / 2**20, 2),
    }


RATIOS = (
    ("throughput codes / rgb (wall)", "clips/s", False),
    ("CPU time rgb / codes", "CPU ms/clip", True),
    ("peak memory/clip rgb / codes", "peak MB/clip", True),
    ("marginal memory/clip rgb / codes", "marginal MB/clip", True),
    ("activations/clip rgb / codes", "activation MB/clip", True),
)


def _points(a: dict[str, Any] | None, b: dict[str, Any] | None) -> float | None:
    return round(a["top-1 (%)"] - b["top-1 (%)"], 1) if a and b else None


def _ratios(rows: list[dict[str, Any]]) -> dict[str, dict[str, float | str | None]]:
    """Per task: accuracy differences in points (codes against each pixel input, both without
    augmentation; codes + latent aug against RGB + pixel aug; each augmentation's gain) and
    speed and memory ratios of codes against raw RGB (above 1 favours codes), between the two
    augmented pipelines when both ran (the RGB pipeline decodes and augments), else between
    the plain ones."""
    out = {}
    for task in dict.fromkeys(r["task"] for r in rows):
        by = {INPUT_KEYS[r["input"]]: r for r in rows if r["task"] == task}
        codes, aug = by.get("codes"), by.get("codes+aug")
        ratios: dict[str, float | str | None] = {
            f"codes - {other} (points)": _points(codes, by.get(other))
            for other in ("rgb", "jpeg", "h264", "h264@bytes", "decoded")
        }
        ratios["codes+aug - rgb+aug (points)"] = _points(aug, by.get("rgb+aug"))
        ratios["latent aug gain (points)"] = _points(aug, codes)
        ratios["pixel aug gain (points)"] = _points(by.get("rgb+aug"), by.get("rgb"))
        pair = ("codes+aug", "rgb+aug") if aug and by.get("rgb+aug") else ("codes", "rgb")
        c, rgb = by.get(pair[0]), by.get(pair[1])
        for name, key, rgb_over_codes in RATIOS:
            ok = c and rgb and min(c[key], rgb[key]) > 0
            a, b = (rgb, c) if rgb_over_codes else (c, rgb)
            ratios[name] = round(a[key] / b[key], 2) if ok else None
        ratios["ratios between"] = " / ".join(INPUT_NAMES[k] for k in pair)
        out[task] = ratios
    return out


def plot(rows: list[dict[str, Any]], path: Path) -> Path:
    """Accuracy, throughput and peak memory per clip: grouped bars, tasks x inputs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = list(dict.fromkeys(r["task"] for r in rows))
    inputs = list(dict.fromkeys(r["input"] for r in rows))
    fig, axes = plt.subplots(1, 3, figsize=(15, 4))
    metrics = (("top-1 (%)", False), ("clips/s", True), ("peak MB/clip", True))
    width = 0.8 / len(inputs)
    for ax, (key, log) in zip(axes, metrics, strict=True):
        for i, name in enumerate(inputs):
            values = [
                next((r[key] for r in rows if r["task"] == t and r["input"] == name), 0)
                for t in tasks
            ]
            ax.bar([t + i * width for t in range(len(tasks))], values, width, label=name)
        ax.set_xticks([t + 0.4 - width / 2 for t in range(len(tasks))], tasks)
        ax.set_title(key + (" (log)" if log else ""))
        if log:
            ax.set_yscale("log")
    axes[0].legend(fontsize=8)
    return save_plot(fig, path, dpi=100)


def run_downstream(
    cfg: DownstreamConfig,
    out_dir: str | Path,
    name: str = "downstream",
    show_progress: bool = True,
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Prepare the data, train every (task, input) in its own process, and write
    `name`.json, `name`.md and `name`.png under `out_dir`; data, stores, copies and runs go
    under `work_dir` (default out_dir/work) and are reused by a rerun."""
    out = Path(out_dir)
    work = Path(work_dir) if work_dir is not None else out / "work"
    codec = load_codec(cfg.codec)
    cr = codec.compression_rate((cfg.frames, cfg.size, cfg.size))
    tf = codec.temporal_factor
    given = {"real": cfg.real_videos, **{n: cfg.photos for n in TASK_KIND}}
    needed = [DATASET_OF[t] for t in cfg.tasks if given.get(DATASET_OF[t], True)]
    runs = [
        (t, i)
        for t in cfg.tasks
        if DATASET_OF[t] in needed
        for i in cfg.inputs
        if not (i == "decoded" and t in REORDERS_FRAMES)
    ]
    datasets = {
        n: _prepare(
            cfg, n, work, codec, cr, {i for t, i in runs if DATASET_OF[t] == n}, show_progress
        )
        for n in dict.fromkeys(needed)
    }
    rows, results = [], []
    for task, input_name in tqdm(runs, desc="downstream runs", disable=not show_progress):
        data = datasets[DATASET_OF[task]]
        configs = [
            _task_config(cfg, task, input_name, data, cr, work, seed)
            for seed in range(cfg.seed, cfg.seed + cfg.seeds)
        ]
        seed_results = [_train_or_reuse(c) for c in configs]
        first = seed_results[0]
        first["marginal_memory_per_clip_bytes"] = _marginal_memory(configs[0], first)
        results += [{"input": input_name, **r} for r in seed_results]
        rows.append(_row(task, input_name, seed_results, tf * cfg.size * cfg.size * 3))
    ratios = _ratios(rows)
    device = torch.device(results[0]["device"]) if results else torch.device("cpu")
    notes = (
        f"\nCodec `{cfg.codec}`: CR {cr:.1f} ({codec.spatial_factor}x spatial, "
        f"{tf}x temporal, {codec.num_codebooks} codebooks of "
        f"{codec.codebook_size}). Backbone `{cfg.backbone}` {cfg.backbone_options}, "
        f"{cfg.frames}-frame {cfg.size}x{cfg.size} clips"
        + (f" ({cfg.frame_task_frames} frame-wise)" if cfg.frame_task_frames else "")
        + ", pixel stem "
        f"{cfg.pixel_downsample}x, "
        f"batch {cfg.batch} x {cfg.steps} steps "
        f"(real footage {cfg.real_batch} x {cfg.real_steps}, held-out clips "
        + (f"every {cfg.real_test_stride} step(s)" if cfg.real_test_stride else "not overlapping")
        + f"), lr {cfg.lr:g}, {cfg.seeds} seed(s) "
        f"per run (top-1: their mean; speed and memory: the first), latent augmentation "
        f"{cfg.latent_augment!r}. Frame-wise top-1 is per code step. stored CR = raw "
        "24-bit RGB bytes / stored bytes per clip.\n"
    )
    ratio_rows = [
        {"task": t, **{k: "n/a" if v is None else v for k, v in r.items()}}
        for t, r in ratios.items()
    ]
    table = markdown_table(rows) + notes + "\n" + markdown_table(ratio_rows)
    payload = {
        "config": asdict(cfg),
        "codec": codec.spec.to_dict(),
        "codec_cr": cr,
        "rows": rows,
        "ratios": ratios,
        "runs": results,
        "datasets": {n: asdict(d) for n, d in datasets.items()},
        "store_bytes": {n: bytes_on_disk(d.store) for n, d in datasets.items()},
    }
    written = write_results(out, name, TITLE, payload, table, Run.here(device))
    if rows:
        plot(rows, out / f"{name}.png")
    return {**payload, "table": written["md"].read_text()}
