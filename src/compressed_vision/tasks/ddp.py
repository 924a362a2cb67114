"""Data-parallel training under `torchrun` (or any launcher that sets RANK / WORLD_SIZE):
gloo on the CPU, nccl on GPUs. One process is the same code with world size 1."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from ..runtime import resolve_device


@dataclass(frozen=True)
class Process:
    """This process's place in the job and its device."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            dist.barrier()

    def wrap(self, model: nn.Module) -> nn.Module:
        """`model` itself, or wrapped in DistributedDataParallel when world > 1."""
        if self.world == 1:
            return model
        ids = [self.device.index] if self.device.type == "cuda" else None
        return DistributedDataParallel(model, device_ids=ids)


@contextmanager
def distributed(device: str) -> Iterator[Process]:
    """Join the job described by the environment (starting the process group if needed, and
    ending it on exit if it was started here); CUDA processes take GPU LOCAL_RANK."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    dev = resolve_device(device)
    if world == 1:
        yield Process(0, 1, dev)
        return
    rank = int(os.environ["RANK"])
    if dev.type == "cuda":
        dev = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(dev)
    created = not dist.is_initialized()
    if created:
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo")
    try:
        yield Process(rank, world, dev)
    finally:
        if created:
            dist.destroy_process_group()
