"""Peak memory of a stretch of work: on CUDA the allocator's peak, on the CPU the process's
resident set (its high-water mark reset at the start where Linux allows, else the growth of
`ru_maxrss`), both minus the memory in use when the stretch began."""

from __future__ import annotations

import resource
from pathlib import Path

import torch

_STATUS, _CLEAR = Path("/proc/self/status"), Path("/proc/self/clear_refs")


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class PeakMemory:
    """`start()` before the work, `peak()` after: bytes above the starting level."""

    def __init__(self, device: torch.device):
        self.device = device
        self.base = 0

    def start(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
            self.base = torch.cuda.memory_allocated(self.device)
            return
        try:
            _CLEAR.write_text("5")  # reset VmHWM to the current VmRSS
            self.base = (_status_kb("VmRSS") or 0) * 1024
        except OSError:
            self.base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    def peak(self) -> int:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            return torch.cuda.max_memory_allocated(self.device) - self.base
        hwm = _status_kb("VmHWM")
        now = hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        return max(0, now * 1024 - self.base)


def saved_activation_bytes(model: torch.nn.Module, inputs: torch.Tensor) -> int:
    """Bytes of the tensors a training forward of `model` on `inputs` saves for the backward
    pass (each storage counted once, the model's own weights not at all): the activation
    memory that grows with the batch, independent of the allocator, the device and what else
    the process holds."""
    weights = {p.untyped_storage().data_ptr() for p in model.parameters()}
    storages: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in weights:
            storages[storage.data_ptr()] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        model(inputs).float().sum().backward()
    model.zero_grad(set_to_none=True)
    return sum(storages.values())
