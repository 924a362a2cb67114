"""`cvis long demo`: two walking tours of one world (a training hour and a test hour, other
routes), encoded streaming into a store, a long-context model and a short-window model
trained on the whole training tour per step, both evaluated on the test tour; writes a table
(markdown + JSON) and a plot of predicted against true district along the test tour."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from ..codec import CodeSpec, VideoCodec, load_codec, preset, train_codec
from ..report import Run, markdown_table, save_plot, write_report
from ..train_loop import LoopConfig, infinite_batches
from .memory import available_memory, check_fits, code_probe, estimate_memory
from .models import LongModelConfig, LongVideoModel
from .store import encode_tour
from .tasks import TourData, evaluate_tour, load_tour, train_long_model
from .tour import TourClips, TourConfig, WalkingTour


@dataclass(frozen=True)
class LongDemoConfig:
    minutes: float = 60.0
    size: int = 64
    districts: int = 8
    codec_steps: int = 200  # when no codec is given: a tiny codec trained on the tour
    steps: int = 150  # training steps of each model (each step: the whole tour)
    lr: float = 3e-3
    chunk_steps: int = 25
    width: int = 64
    short_window: int = 3  # chunks the short-window model sees
    queries: int = 128  # localisation queries per step
    max_memory_gb: float | None = None  # default: the memory available
    amp: bool = False
    seed: int = 0


def quick_codec(
    tour: WalkingTour, out: Path, steps: int, device: torch.device, progress: bool
) -> VideoCodec:
    """A tiny codec (48x) trained briefly on 8-frame clips of the tour."""
    clips = TourClips(tour, frames=8, count=max(8, steps) * 8)
    codec, _ = train_codec(
        preset("tiny"),
        infinite_batches(clips, 8),
        LoopConfig(steps=steps, lr=2e-3, warmup=min(20, steps)),
        device,
        out,
        progress,
    )
    return codec


def plot_districts(
    path: Path, data: TourData, predictions: dict[str, torch.Tensor], names: tuple[str, ...]
) -> Path:
    """True district along the tour (line), each model's prediction (dots), tunnels shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = torch.arange(len(data.frame_district)) / data.fps / 60
    step = max(1, len(minutes) // 4000)
    fig, ax = plt.subplots(figsize=(12, 4))
    tunnel = data.frame_tunnel.float().numpy()
    ax.fill_between(minutes, -0.5, len(names) - 0.5, where=tunnel > 0, color="0.85", lw=0)
    ax.plot(minutes, data.frame_district, color="k", lw=1.2, label="true")
    for (name, pred), offset, colour in zip(
        predictions.items(), (0.15, -0.15), ("tab:blue", "tab:orange"), strict=False
    ):
        ax.scatter(minutes[::step], pred[::step] + offset, s=2, color=colour, label=name)
    ax.set_yticks(range(len(names)), names)
    ax.set_xlabel("minutes (grey: in a tunnel)")
    ax.set_title("test tour: predicted vs true district")
    ax.legend(loc="upper right", markerscale=4, fontsize=8)
    return save_plot(fig, path)


def results_table(results: dict[str, dict[str, float]], districts: int, bins: int) -> str:
    long, short = results["long-context"], results["short-window"]
    rows = [
        ("district, frame-wise acc %", "district_acc", "district_acc", 100 / districts),
        ("district in tunnels acc %", "district_acc_in_tunnels", "district_acc_in_tunnels", None),
        ("been here before, balanced acc %", "revisit_bal_acc", "revisit_bal_acc", 50.0),
        ("localisation: right time bin %", "clip_bin_acc", "retrieval_bin_acc", 100 / bins),
        ("localisation: within +-2 chunks %", None, "retrieval_acc", None),
    ]
    return markdown_table(
        [
            {
                "task": task,
                "short-window": "-" if s is None else short[s],
                "long-context": long[lk],
                "chance": "-" if chance is None else float(chance),
            }
            for task, s, lk, chance in rows
        ]
    )


def model_config(cfg: LongDemoConfig, temporal: str) -> LongModelConfig:
    return LongModelConfig(
        chunk_steps=cfg.chunk_steps,
        width=cfg.width,
        temporal=temporal,
        window=cfg.short_window,
        districts=cfg.districts,
    )


MODELS = {"long-context": "transformer", "short-window": "window"}


def check_memory(
    cfg: LongDemoConfig, codec: CodeSpec, budget: float, source: str
) -> dict[str, float]:
    """Estimated GB of a training step of each model over a whole tour; `CVError` (with the
    longest tour that fits) when one is over `budget` bytes."""
    tour = TourConfig(cfg.minutes, cfg.size)
    steps = codec.code_shape(tour.frames, cfg.size, cfg.size)[1]
    chunks = -(-steps // cfg.chunk_steps)
    shape = (codec.num_codebooks, codec.codebook_size, codec.codebook_dim)
    probe = code_probe(codec, cfg.size, cfg.size, cfg.chunk_steps)
    need = {}
    for name, temporal in MODELS.items():
        model = LongVideoModel.for_codes(model_config(cfg, temporal), torch.zeros(shape))
        estimate = estimate_memory(model, probe, cfg.chunk_steps * codec.temporal_factor)
        check_fits(estimate, chunks, budget, tour.fps, source)
        need[name] = estimate.bytes_for(chunks) / 1e9
    return need


def run_long_demo(
    cfg: LongDemoConfig,
    out_dir: str | Path,
    device: torch.device,
    codec_path: str | Path | None = None,
    progress: bool = True,
) -> dict:
    """The whole pipeline (see the module doc); returns what it writes to long_demo.json.
    The memory of training is checked first, before anything is generated."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    store = str(out / "tours.zarr")
    torch.manual_seed(cfg.seed)
    codec = load_codec(codec_path, device) if codec_path is not None else None
    budget = cfg.max_memory_gb * 1e9 if cfg.max_memory_gb else 0.8 * available_memory(device)
    need_gb = check_memory(cfg, codec.spec if codec else preset("tiny"), budget, store)

    world = TourConfig(cfg.minutes, cfg.size, districts=cfg.districts, world_seed=cfg.seed)
    tours = {
        split: WalkingTour(replace(world, route_seed=2 * cfg.seed + i + 1))
        for i, split in enumerate(("train", "test"))
    }
    start = time.perf_counter()
    if codec is None:
        codec = quick_codec(
            tours["train"], out / "codec.safetensors", cfg.codec_steps, device, progress
        )
    data = {}
    for split, tour in tours.items():
        encode_tour(tour, codec, store, split, device, split, progress=progress)
        data[split] = load_tour(store, split, cfg.chunk_steps)
    prep_s = time.perf_counter() - start

    results, predictions, timings = {}, {}, {}
    for name, temporal in MODELS.items():
        model = LongVideoModel.for_codes(model_config(cfg, temporal), codec.codebooks)
        loop = LoopConfig(steps=cfg.steps, lr=cfg.lr, warmup=min(20, cfg.steps), amp=cfg.amp)
        t0 = time.perf_counter()
        train_long_model(model, data["train"], loop, device, cfg.queries, cfg.seed, name, progress)
        timings[name] = {"train_s": time.perf_counter() - t0, "estimated_step_gb": need_gb[name]}
        results[name], predictions[name] = evaluate_tour(model, data["test"], device)

    train_data = data["train"]
    table = results_table(results, cfg.districts, LongModelConfig().time_bins)
    plot = plot_districts(out / "long_demo.png", data["test"], predictions, world.district_names)
    payload = {
        "config": asdict(cfg),
        "codec": str(codec_path) if codec_path else "tiny codec trained on the training tour",
        "codec_config": codec.spec.to_dict(),
        "frames_per_tour": tours["train"].frames,
        "chunks_per_tour": train_data.chunks,
        "seconds_per_chunk": train_data.frames_per_chunk / train_data.fps,
        "codes_mb": train_data.codes.numel() * train_data.codes.element_size() / 1e6,
        "results": results,
        "timings": timings,
        "prepare_s": prep_s,
        "plot": str(plot),
        "table": table,
    }
    run = Run.here(device)  # the table stays the file's start: the JSON says where it ran
    write_report(
        out, "long_demo", {"command": run.command, "machine": run.machine, **payload}, table
    )
    return payload
