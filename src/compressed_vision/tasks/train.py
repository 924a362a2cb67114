"""`cvis train`: a downstream task trained through the one loop, then scored on the held-out
split. Codes come from a store or a code file (looked up on the device, optionally augmented
in latent space); pixels from video files (or synthetic videos) through the RGB pipeline
(PyAV decode, pixel augmentation, optionally re-compressed copies at a target rate).
Writes to `out`: the classifier (`model.safetensors`, which rebuilds it alone), the
optimizer state for `resume`, the training log and `result.json` (scores, throughput, peak
memory, bytes per clip).

Under `torchrun` every process takes its share of the same global batches (`GlobalBatches`)
and the gradients are averaged (DDP), so the run is the single-process run with the same
global batch, up to batch-statistics layers (BatchNorm normalises per process).
"""

from __future__ import annotations

import copy
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import DataLoader

from ..baselines.copies import recompress_copies
from ..checkpoint import load_training_state, save_training_state
from ..codec import Codec, load_codec
from ..errors import CVError
from ..models import ModelConfig, VideoClassifier, build_classifier, load_classifier
from ..models.classifier import save_classifier
from ..report import machine
from ..runtime import seed_everything
from ..sources import manifest_from_source
from ..store import CodeStore
from ..train_loop import LoopConfig, make_optimizer, to_device, train
from .base import ClipTask, Scores
from .config import TaskConfig
from .data import Clips, CodeReader, GlobalBatches, PixelAugment, PixelReader, Reader, split_ranges
from .ddp import Process, distributed
from .framewise import FrameWise
from .measure import PeakMemory, saved_activation_bytes
from .real_footage import ArrowOfTime, PlaybackSpeed
from .whole_video import WholeVideo

TASKS: dict[str, type[ClipTask]] = {
    t.name: t for t in (WholeVideo, FrameWise, PlaybackSpeed, ArrowOfTime)
}
CHECKPOINT, STATE = "model.safetensors", "model.state.safetensors"


@dataclass
class Prepared:
    """Everything a run needs, checked before any training."""

    task: ClipTask
    reader: Reader
    classes: list[str]
    steps: int  # code steps per clip
    train_set: Clips
    test_set: Clips
    model_config: ModelConfig
    codec: Codec | None
    fingerprint: str | None  # of the codec the codes were written with
    recompression: dict[str, Any] | None


def _pixel_reader(cfg: TaskConfig, codec: Codec | None, tf: int, show: bool):
    manifest = manifest_from_source(cfg.videos, cfg.root)
    copies, summary = None, None
    if cfg.inputs != "rgb":
        if codec is None and (cfg.target_cr is None or cfg.inputs == "decoded"):
            raise CVError(f"{cfg.inputs} needs --codec (or a target rate: --target-cr)")
        cr = cfg.target_cr or codec.compression_rate((cfg.frames, cfg.size, cfg.size))
        folder = cfg.recompressed or Path(cfg.out) / f"{cfg.inputs}_cr{cr:.4g}"
        copies, summary = recompress_copies(
            manifest, cfg.inputs, cr, cfg.size, folder, show, codec=codec
        )
    reader = PixelReader(manifest, cfg.size, tf, str(cfg.videos), copies, cfg.decoder)
    return reader, summary


def prepare(cfg: TaskConfig, show_progress: bool = True) -> Prepared:
    """Open the data, split it, and check everything a user can get wrong (codec vs store,
    labels vs task, empty splits) with a clear `CVError` before training starts."""
    codec = load_codec(cfg.codec) if cfg.codec else None
    tf = codec.temporal_factor if codec else (cfg.temporal_downsample or 1)
    if cfg.frames % tf:
        raise CVError(f"frames ({cfg.frames}) must be a multiple of the temporal factor {tf}")
    fingerprint, summary = None, None
    if cfg.inputs == "codes":
        store = CodeStore(cfg.store)
        store.check_codec(codec)
        reader: Reader = CodeReader(store)
        fingerprint = store.fingerprint
    else:
        reader, summary = _pixel_reader(cfg, codec, tf, show_progress)
    task = TASKS[cfg.task]()
    classes = task.class_names(reader.classes, reader.frame_classes)
    train_ranges = split_ranges(reader.videos, cfg, False, reader.where)
    test_ranges = split_ranges(reader.videos, cfg, True, reader.where)
    task.check([reader.videos[v] for v, _, _ in train_ranges + test_ranges], reader.where)
    steps = cfg.frames // tf
    pixels = cfg.inputs != "codes"
    augment = PixelAugment(cfg.augment_types) if cfg.augment_types and pixels else None
    common = {
        "backbone": cfg.backbone,
        "num_classes": len(classes),
        "frame_head": task.frame_wise,
        "options": dict(cfg.backbone_options),
    }
    if cfg.inputs == "codes":
        model_config = ModelConfig.for_codes(
            codec.spec, code_input=cfg.code_input, embed_dim=cfg.embed_dim, **common
        )
    else:
        model_config = ModelConfig(
            inputs="pixels",
            input_downsample=cfg.downsample or 8,
            temporal_downsample=tf,
            **common,
        )
    return Prepared(
        task,
        reader,
        classes,
        steps,
        Clips(reader, task, train_ranges, steps, True, cfg.seed, augment),
        Clips(reader, task, test_ranges, steps, False, stride=cfg.test_stride),
        model_config,
        codec,
        fingerprint,
        summary,
    )


def build_latent_augment(cfg: TaskConfig, codec: Codec) -> nn.Module | None:
    """The latent augmentation of `cfg`: an augmenter checkpoint trained for `codec`, or
    "naive" (an untrained augmenter: the latent-grid operation alone), each type applied
    with probability 1/2 as `augment.RandomLatentAugment` does; None when off."""
    if not cfg.latent_augment:
        return None
    from ..augment import AugmenterConfig, LatentAugmenter, RandomLatentAugment

    probs = dict.fromkeys(cfg.augment_types, 0.5)
    if cfg.latent_augment == "naive":
        augmenter = LatentAugmenter(AugmenterConfig(codec.latent_dim, types=cfg.augment_types))
        return RandomLatentAugment(augmenter, probs, seed=cfg.seed)
    return RandomLatentAugment.from_checkpoint(cfg.latent_augment, codec, probs, seed=cfg.seed)


def check_compatible(ckpt: dict[str, Any], prep: Prepared, path: Path) -> None:
    """A checkpoint fits the data when its task, classes and codec are the data's."""
    if ckpt.get("task") != prep.task.name:
        raise CVError(f"was trained for task {ckpt.get('task')!r}, not {prep.task.name!r}", path)
    if ckpt.get("classes") != prep.classes:
        raise CVError(
            f"its classes {ckpt.get('classes')} do not match the data's labels {prep.classes}",
            path,
        )
    if prep.fingerprint and ckpt.get("codec_fingerprint") != prep.fingerprint:
        raise CVError(
            f"was trained on codes of codec {ckpt.get('codec_fingerprint')}, but the store "
            f"holds codes of codec {prep.fingerprint}",
            path,
        )


def loader(dataset: Clips, batch: int, workers: int, sampler=None) -> DataLoader:
    kwargs = {"batch_sampler": sampler} if sampler is not None else {"batch_size": batch}
    return DataLoader(dataset, num_workers=workers, persistent_workers=workers > 0, **kwargs)


@torch.no_grad()
def evaluate_clips(
    model: nn.Module, prep: Prepared, device: torch.device, batch: int, workers: int = 0
) -> dict[str, float]:
    """Scores of `model` on the held-out clips (see `tasks.base.Scores`)."""
    model.to(device).eval()
    scores = Scores(prep.task)
    for b in loader(prep.test_set, batch, workers):
        b = to_device(b, device)
        scores.add(model(b["input"]), b["target"], b["video"])
    return scores.result()


def _clip_bytes(prep: Prepared) -> float:
    """Stored bytes behind one training clip (the dataset's bytes per code step x steps read,
    averaged over the task's variants)."""
    spans = [prep.task.span(prep.steps, k) for k in range(prep.task.variants)]
    return prep.reader.bytes_per_step * sum(spans) / len(spans)


def _save(out: Path, model: VideoClassifier, extra: dict, optimizer, step: int) -> None:
    save_classifier(out / CHECKPOINT, model, {**extra, "step": step})
    save_training_state(out / STATE, optimizer, step)


def run_training(
    cfg: TaskConfig, latent_augment: nn.Module | None = None, show_progress: bool = True
) -> dict[str, Any]:
    """Train and score `cfg`'s task; `latent_augment` (any module latents -> latents) replaces
    the one `cfg` describes. Returns (and writes to out/result.json) the result."""
    out = Path(cfg.out)
    with distributed(cfg.device) as proc:
        seed_everything(cfg.seed)
        show = show_progress and proc.main
        prep = prepare(cfg, show)
        model = build_classifier(prep.model_config, prep.codec.codebooks if prep.codec else None)
        loop = LoopConfig(
            cfg.steps,
            cfg.lr,
            cfg.weight_decay,
            cfg.warmup,
            cfg.grad_clip,
            cfg.checkpoint_every,
            cfg.amp,
        )
        extra = {
            "task": cfg.task,
            "classes": prep.classes,
            "codec_fingerprint": prep.fingerprint
            or (prep.codec.fingerprint() if prep.codec else None),
            "train_config": cfg.to_dict(),
        }
        optimizer, start = make_optimizer(model, loop), 0
        if cfg.resume and (out / CHECKPOINT).is_file():
            resumed, ckpt = load_classifier(out / CHECKPOINT)
            check_compatible(ckpt, prep, out / CHECKPOINT)
            if resumed.config != prep.model_config:
                raise CVError("was trained with another model config", out / CHECKPOINT)
            model.load_state_dict(resumed.state_dict())
            start = load_training_state(out / STATE, optimizer)
        augment = (
            latent_augment
            if latent_augment is not None
            else (build_latent_augment(cfg, prep.codec) if cfg.inputs == "codes" else None)
        )
        if augment is not None:
            augment.to(proc.device).train()
        sampler = GlobalBatches(
            len(prep.train_set), cfg.batch, cfg.seed, proc.rank, proc.world, start
        )
        batches = iter(loader(prep.train_set, cfg.batch, cfg.workers, sampler))
        warm_up(model.to(proc.device), prep, proc.device)
        activations = activation_bytes_per_clip(model, prep, proc.device)
        wrapped = proc.wrap(model)
        stamps: list[tuple[float, float]] = []  # (wall, process CPU) when each batch was ready

        def step(m: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
            stamps.append((time.perf_counter(), time.process_time()))
            return prep.task.loss(m(batch["input"], augment), batch["target"]), {}

        def checkpoint(step_reached: int, opt: torch.optim.Optimizer) -> None:
            if proc.main:
                _save(out, model, extra, opt, step_reached)

        memory = PeakMemory(proc.device)
        memory.start()
        began = time.perf_counter()
        history = train(
            wrapped,
            step,
            batches,
            loop,
            proc.device,
            f"{cfg.task} on {cfg.inputs}",
            optimizer,
            start,
            checkpoint,
            show,
        )
        seconds = time.perf_counter() - began
        peak = memory.peak()
        result = _result(cfg, prep, proc, history, seconds, peak, stamps)
        result["activation_bytes_per_clip"] = activations
        result["config"] = cfg.to_dict()
        if proc.main:
            if cfg.evaluate:
                scores = evaluate_clips(model, prep, proc.device, cfg.eval_batch, cfg.workers)
                result["metrics"] = scores
            out.mkdir(parents=True, exist_ok=True)
            (out / "train_log.json").write_text(json.dumps(history))
            (out / "result.json").write_text(json.dumps(result, indent=2) + "\n")
        proc.barrier()
        return result


def warm_up(model: VideoClassifier, prep: Prepared, device: torch.device) -> None:
    """One forward and backward pass on one training clip, in eval mode and with the random
    state restored, so that lazy initialisation (kernels, thread pools, allocator arenas)
    stays out of the memory measured; the weights and their statistics are left as they were
    (latent augmentation is left out: its random draws stay the run's)."""
    item = prep.train_set[0]
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        model.eval()
        x = item["input"][None].to(device)
        prep.task.loss(model(x), item["target"][None].to(device)).backward()
        model.zero_grad(set_to_none=True)


def activation_bytes_per_clip(
    model: VideoClassifier, prep: Prepared, device: torch.device
) -> float:
    """Bytes a training forward saves for the backward pass, per clip (`measure.
    saved_activation_bytes` on the first two training clips, without augmentation): the
    memory that grows with the batch, exact on any device (in full precision, also when the
    run trains under autocast). Measured on a copy of the model, with the random state
    restored, so the run itself is untouched."""
    clips = torch.stack([prep.train_set[i]["input"] for i in range(2)]).to(device)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        return saved_activation_bytes(copy.deepcopy(model).train(), clips) / len(clips)


def _result(
    cfg: TaskConfig,
    prep: Prepared,
    proc: Process,
    history: list[dict[str, float]],
    seconds: float,
    peak: int,
    stamps: list[tuple[float, float]],
) -> dict[str, Any]:
    """The run's figures. Throughput is steady-state: steps 1..n-2 (compute) and their
    batches (loading), timed between the moments batches 1 and n-1 were ready, so start-up
    (workers, the first step) is left out; with fewer than 3 steps it is the whole run's.
    CPU seconds per clip (this process, all its threads) do not depend on what else the
    machine runs, unlike clips per second."""
    local = cfg.batch // proc.world
    if len(stamps) >= 3:
        clips = (len(stamps) - 2) * local
        wall, cpu = (stamps[-1][i] - stamps[1][i] for i in (0, 1))
    else:
        clips, wall, cpu = len(stamps) * local, seconds, float("nan")
    return {
        "task": cfg.task,
        "inputs": cfg.inputs,
        "augment_types": list(cfg.augment_types),
        "latent_augment": cfg.latent_augment,
        "backbone": cfg.backbone,
        "classes": prep.classes,
        "train_videos": len(prep.train_set.ranges),
        "test_clips": len(prep.test_set),
        "steps": cfg.steps,
        "batch": cfg.batch,
        "processes": proc.world,
        "device": str(proc.device),
        "machine": machine(proc.device),
        "train_seconds": seconds,
        "clips_per_second": proc.world * clips / wall if wall > 0 else float("nan"),
        "cpu_seconds_per_clip": cpu / clips if clips else float("nan"),
        "peak_memory_bytes": peak,
        "peak_memory_per_clip_bytes": peak / local,
        "bytes_per_step": prep.reader.bytes_per_step,
        "bytes_per_clip": _clip_bytes(prep),
        "dataset_bytes": prep.reader.size_bytes,
        "final_loss": history[-1]["loss"] if history else float("nan"),
        "recompression": prep.recompression,
    }
