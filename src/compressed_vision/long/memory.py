"""How much memory one training step over a whole video takes, and a clear error when a
video is longer than the memory there is allows.

The estimate is measured, not guessed: the bytes autograd keeps for the backward pass are
counted (with `saved_tensors_hooks`) on two short probe inputs, which gives the bytes per
chunk; the parameters with their gradients and AdamW's two moments are fixed; and the peak of
the backward pass adds one segment's activations (recomputed under checkpointing) four
times: them, their gradients, and the temporaries of the forward pass that autograd does
not keep (gathers, concatenations, contiguous copies).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch

from ..codec.base import CodeSpec
from ..errors import CVError
from .models import LongVideoModel

ProbeInput = Callable[[int], torch.Tensor]  # chunks -> a (1, ..., T, H, W) input of that many


@dataclass(frozen=True)
class MemoryEstimate:
    """bytes(n chunks) = fixed + per_chunk * n + segment_chunk * min(n, segment)."""

    fixed: float  # weights, gradients and AdamW state
    per_chunk: float  # input and activations kept for the backward pass, per chunk
    segment_chunk: float  # the backward peak of a recomputed segment, per chunk of it
    segment: int  # chunks per checkpointed segment
    frames_per_chunk: int

    def bytes_for(self, chunks: int) -> float:
        return self.fixed + self.per_chunk * chunks + self.segment_chunk * min(chunks, self.segment)

    def per_frame(self) -> float:
        """Marginal bytes per frame of video (what limits the length)."""
        return self.per_chunk / self.frames_per_chunk

    def max_chunks(self, budget: float) -> int:
        """The most chunks whose training step fits in `budget` bytes (0 if none)."""
        lo, hi = 0, 1
        while self.bytes_for(hi) <= budget:
            lo, hi = hi, hi * 2
        while hi - lo > 1:
            mid = (lo + hi) // 2
            lo, hi = (mid, hi) if self.bytes_for(mid) <= budget else (lo, mid)
        return lo


def code_probe(codec: CodeSpec, height: int, width: int, chunk_steps: int) -> ProbeInput:
    """chunks -> random codes of that many chunks of a `height` x `width` video."""
    g, _, h, w = codec.code_shape(1, height, width)
    dtype = torch.uint8 if codec.codebook_size <= 256 else torch.int16

    def probe(chunks: int) -> torch.Tensor:
        return torch.randint(codec.codebook_size, (1, g, chunks * chunk_steps, h, w)).to(dtype)

    return probe


def saved_bytes(run: Callable[[], object], inputs: torch.Tensor) -> int:
    """Bytes of distinct storages autograd saves for backward while `run()` runs, plus the
    input's own storage."""
    seen = {inputs.untyped_storage().data_ptr(): inputs.untyped_storage().nbytes()}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        seen[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.enable_grad(), torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        run()
    return sum(seen.values())


def estimate_memory(
    model: LongVideoModel,
    probe: ProbeInput,
    frames_per_chunk: int,
    chunks: tuple[int, int] = (4, 8),
) -> MemoryEstimate:
    """Measure a training step's memory per chunk on two short probes (see the module doc)."""
    model.train()
    a, b = chunks
    params = sum(p.numel() * p.element_size() for p in model.parameters() if p.requires_grad)
    x_a, x_b = probe(a), probe(b)
    whole = [saved_bytes(lambda x=x: model(x), x) for x in (x_a, x_b)]
    enc = [saved_bytes(lambda x=x: model.encoder(x), x) for x in (x_a, x_b)]
    return MemoryEstimate(
        fixed=4 * params,
        per_chunk=(whole[1] - whole[0]) / (b - a),
        segment_chunk=4 * (enc[1] - enc[0]) / (b - a),
        segment=model.config.checkpoint_chunks or 64,
        frames_per_chunk=frames_per_chunk,
    )


def available_memory(device: torch.device) -> int:
    """Free memory on the device: the GPU's, or the machine's available RAM."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        for line in meminfo.read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")


def check_fits(
    estimate: MemoryEstimate,
    chunks: int,
    budget: float,
    fps: float,
    source: str | Path | None = None,
) -> None:
    """Raise `CVError` when a training step over `chunks` chunks needs more than `budget`
    bytes, saying how long a video fits."""
    need = estimate.bytes_for(chunks)
    if need <= budget:
        return
    frames = chunks * estimate.frames_per_chunk
    fit = estimate.max_chunks(budget) * estimate.frames_per_chunk
    raise CVError(
        f"a training step over this video ({frames} frames, {frames / fps / 60:.1f} min at "
        f"{fps:g} fps) needs about {need / 1e9:.2f} GB, more than the {budget / 1e9:.2f} GB "
        f"allowed (available memory or --max-memory); the longest video that fits is "
        f"{fit} frames ({fit / fps / 60:.1f} min): use a shorter video, a smaller model or "
        f"more memory",
        source,
    )
