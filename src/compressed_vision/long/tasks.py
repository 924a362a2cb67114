"""Tasks over a whole long video of codes (a walking tour), trained one whole video per step:

1. frame-wise district classification over the whole video;
2. localisation: where in the video a short clip (one chunk long, shifted off the chunk grid)
   comes from, by retrieval among the embeddings of all the video's chunks, and, for a model
   that sees the clip only, by classifying it into one of `time_bins` bins;
3. memory: per chunk, "have we been in this district before" (in an earlier visit).

Training data is one encoded tour. Each step takes all of it, with its visits in a new random
order (no two visits of one district next to each other) and the memory labels recomputed for
that order, so one encoded hour gives endless different hours of the same world; random
spans of chunks are hidden from the temporal model, so it learns to carry what it saw across
stretches that show nothing (as tunnels do).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..store.reader import CodeStore
from ..train_loop import LoopConfig, train
from .models import LongVideoModel
from .tour import TourConfig, WalkingTour

TEMPERATURE = 0.1  # of the retrieval softmax


@dataclass(frozen=True)
class TourData:
    """A tour's codes padded to whole chunks, per-chunk labels (of each chunk's middle frame)
    and per-frame labels."""

    codes: torch.Tensor  # (G, n * chunk_steps, H', W') integer codes
    district: torch.Tensor  # (n,) long
    visit: torch.Tensor  # (n,) long
    frame_district: torch.Tensor  # (frames,) long
    frame_tunnel: torch.Tensor  # (frames,) bool
    chunk_steps: int
    frames_per_chunk: int
    fps: float

    @property
    def chunks(self) -> int:
        return len(self.district)


def tour_data(
    codes: np.ndarray, cfg: TourConfig, chunk_steps: int, temporal_factor: int
) -> TourData:
    """Codes (G, T', H', W') of the tour `cfg` -> `TourData` (labels recomputed from `cfg`)."""
    labels = WalkingTour(cfg).labels()
    steps = codes.shape[1]
    n = -(-steps // chunk_steps)
    pad = np.repeat(codes[:, -1:], n * chunk_steps - steps, axis=1)
    codes = np.concatenate([codes, pad], axis=1)
    dtype = np.uint8 if codes.dtype == np.uint8 else np.int16 if codes.max() < 2**15 else np.int32
    fpc = chunk_steps * temporal_factor
    middle = np.minimum(np.arange(n) * fpc + fpc // 2, cfg.frames - 1)
    return TourData(
        codes=torch.from_numpy(codes.astype(dtype)),
        district=torch.from_numpy(labels.district[middle].astype(np.int64)),
        visit=torch.from_numpy(labels.visit[middle].astype(np.int64)),
        frame_district=torch.from_numpy(labels.district.astype(np.int64)),
        frame_tunnel=torch.from_numpy(labels.tunnel),
        chunk_steps=chunk_steps,
        frames_per_chunk=fpc,
        fps=cfg.fps,
    )


def load_tour(store: CodeStore | str, key: str, chunk_steps: int) -> TourData:
    """A tour stored by `encode_tour`, read whole (codes are small: tens of MB an hour)."""
    store = store if isinstance(store, CodeStore) else CodeStore(store)
    entry = next(e for e in store.entries() if e.key == key)
    cfg = TourConfig.from_dict(entry.attrs["tour"])
    codes = store.read(key, 0, entry.steps)
    return tour_data(codes, cfg, chunk_steps, store.codec_config.temporal_factor)


def revisit_flags(district: np.ndarray, visit: np.ndarray) -> np.ndarray:
    """Per chunk (in order): its district was seen in an earlier visit."""
    first: dict[int, int] = {}
    out = np.empty(len(district), dtype=bool)
    for i, (d, v) in enumerate(zip(district.tolist(), visit.tolist(), strict=True)):
        out[i] = first.setdefault(d, v) != v
    return out


def _visit_order(rng: np.random.Generator, run_district: list[int]) -> list[int]:
    """A random order of the runs with, where possible, no two of one district adjacent."""
    remaining = rng.permutation(len(run_district)).tolist()
    order: list[int] = []
    while remaining:
        pick = next(
            (
                i
                for i, r in enumerate(remaining)
                if not order or run_district[r] != run_district[order[-1]]
            ),
            0,
        )
        order.append(remaining.pop(pick))
    return order


def query_clips(
    data: TourData, codes: torch.Tensor, rng: np.random.Generator, count: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """`count` one-chunk clips at random chunks, shifted by up to a quarter chunk either way:
    (clips (count, G, chunk_steps, H', W'), their chunk index)."""
    c, n = data.chunk_steps, data.chunks
    chunk = rng.integers(n, size=count)
    shift = rng.integers(-(c // 4), c // 4 + 1, size=count)
    starts = np.clip(chunk * c + shift, 0, n * c - c)
    clips = torch.stack([codes[:, s : s + c] for s in starts.tolist()])
    return clips, torch.from_numpy(chunk)


def time_bin(chunk: torch.Tensor, chunks: int, bins: int) -> torch.Tensor:
    return chunk * bins // chunks


def blank_spans(rng: np.random.Generator, chunks: int, fraction: float = 0.15) -> np.ndarray:
    """Random spans of 4-16 chunks covering about `fraction` of `chunks` (bool mask)."""
    mask = np.zeros(chunks, dtype=bool)
    for _ in range(int(fraction * chunks / 10)):
        length = int(rng.integers(4, 17))
        start = int(rng.integers(max(1, chunks - length)))
        mask[start : start + length] = True
    return mask


def tour_batches(
    data: TourData, time_bins: int, queries: int = 128, seed: int = 0, shuffle: bool = True
) -> Iterator[dict]:
    """Whole-tour batches forever: the codes (1, G, T', H', W') with visits reordered (see the
    module doc), per-chunk "district" and "revisit", "blank" spans of chunks hidden from the
    temporal model (like tunnels: only context tells), and query clips with their chunk and
    time bin."""
    rng = np.random.default_rng(seed)
    visit = data.visit.numpy()
    starts = np.flatnonzero(np.r_[True, visit[1:] != visit[:-1]])
    runs = [np.arange(a, b) for a, b in zip(starts, np.r_[starts[1:], len(visit)], strict=True)]
    run_district = [int(data.district[r[0]]) for r in runs]
    g, _, h, w = data.codes.shape
    by_chunk = data.codes.view(g, data.chunks, data.chunk_steps, h, w)
    while True:
        order = _visit_order(rng, run_district) if shuffle else range(len(runs))
        idx = torch.from_numpy(np.concatenate([runs[k] for k in order]))
        codes = by_chunk[:, idx].reshape(data.codes.shape)
        district = data.district[idx]
        revisit = revisit_flags(district.numpy(), data.visit[idx].numpy())
        clips, chunk = query_clips(data, codes, rng, queries)
        yield {
            "codes": codes[None],
            "district": district,
            "revisit": torch.from_numpy(revisit).float(),
            "blank": torch.from_numpy(blank_spans(rng, data.chunks))[None],
            "queries": clips,
            "query_chunk": chunk,
            "query_bin": time_bin(chunk, data.chunks, time_bins),
        }


def long_step(model: LongVideoModel, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    """District + memory losses over the whole video, retrieval (InfoNCE of each query clip
    against every chunk) and the clip-only time bin."""
    out = model(batch["codes"], batch["blank"])
    district = out["district"][0].float()
    loss_district = F.cross_entropy(district, batch["district"])
    loss_memory = F.binary_cross_entropy_with_logits(out["revisit"][0].float(), batch["revisit"])
    query = model.query(batch["queries"])
    sim = (query["embedding"] @ out["embedding"][0].T).float() / TEMPERATURE
    loss_where = F.cross_entropy(sim, batch["query_chunk"])
    loss_bin = F.cross_entropy(query["time_bin"].float(), batch["query_bin"])
    metrics = {
        "district_acc": float((district.argmax(-1) == batch["district"]).float().mean()),
        "retrieval_acc": float((sim.argmax(-1) == batch["query_chunk"]).float().mean()),
    }
    return loss_district + loss_memory + loss_where + loss_bin, metrics


def train_long_model(
    model: LongVideoModel,
    data: TourData,
    loop: LoopConfig,
    device: torch.device,
    queries: int = 128,
    seed: int = 0,
    desc: str = "long model",
    show_progress: bool = True,
) -> list[dict[str, float]]:
    """Train on whole-tour batches through the one training loop."""
    batches = tour_batches(data, model.config.time_bins, queries, seed)
    return train(model, long_step, batches, loop, device, desc, show_progress=show_progress)


def _balanced_accuracy(pred: np.ndarray, true: np.ndarray) -> float:
    recalls = [float((pred[true == c] == c).mean()) for c in (False, True) if (true == c).any()]
    return 100.0 * float(np.mean(recalls))


@torch.no_grad()
def evaluate_tour(
    model: LongVideoModel,
    data: TourData,
    device: torch.device,
    queries: int = 500,
    tolerance: int = 2,
    seed: int = 1,
) -> tuple[dict[str, float], torch.Tensor]:
    """Metrics (%) on a tour in its own order, and the predicted district of every frame.

    district_acc: frame-wise (chunk predictions repeated over their frames), also inside
    tunnels; revisit_bal_acc: balanced accuracy of the memory task per chunk; localisation:
    retrieval within `tolerance` chunks and in the right time bin, and the clip-only time bin.
    """
    model.to(device).eval()
    out = model(data.codes[None].to(device))
    pred = out["district"][0].argmax(-1).cpu()
    frames = len(data.frame_district)
    frame_pred = pred.repeat_interleave(data.frames_per_chunk)[:frames]
    correct = (frame_pred == data.frame_district).float()
    tunnel = data.frame_tunnel
    revisit = revisit_flags(data.district.numpy(), data.visit.numpy())
    clips, chunk = query_clips(data, data.codes, np.random.default_rng(seed), queries)
    q = [model.query(c.to(device)) for c in clips.split(64)]
    emb = torch.cat([x["embedding"] for x in q])
    found = (emb @ out["embedding"][0].T).argmax(-1).cpu()
    bins = model.config.time_bins
    clip_bin = torch.cat([x["time_bin"] for x in q]).argmax(-1).cpu()
    true_bin = time_bin(chunk, data.chunks, bins)
    metrics = {
        "district_acc": 100.0 * float(correct.mean()),
        "district_acc_in_tunnels": 100.0 * float(correct[tunnel].mean()) if tunnel.any() else 0.0,
        "revisit_bal_acc": _balanced_accuracy((out["revisit"][0] > 0).cpu().numpy(), revisit),
        "retrieval_acc": 100.0 * float(((found - chunk).abs() <= tolerance).float().mean()),
        "retrieval_bin_acc": 100.0
        * float((time_bin(found, data.chunks, bins) == true_bin).float().mean()),
        "clip_bin_acc": 100.0 * float((clip_bin == true_bin).float().mean()),
    }
    return metrics, frame_pred
