"""Two processes (spawn + gloo) with the same global batch train exactly as one does."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import torch
import torch.multiprocessing as mp

from compressed_vision.models import load_classifier
from compressed_vision.tasks import TaskConfig, run_training
from tests.tasks.downstream_fixtures import (
    config,
    data_fixture,  # noqa: F401
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, cfg: TaskConfig) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world)
    )
    torch.set_num_threads(1)
    run_training(cfg, show_progress=False)


def _weights(run: Path) -> dict[str, torch.Tensor]:
    return load_classifier(run / "model.safetensors")[0].state_dict()


def test_two_processes_match_one(data, tmp_path):
    cfg = config(data, tmp_path / "ddp", steps=3, batch=4)
    mp.spawn(_worker, args=(2, _free_port(), cfg), nprocs=2, join=True)
    single = config(data, tmp_path / "one", steps=3, batch=4)
    run_training(single, show_progress=False)
    a, b = _weights(tmp_path / "ddp" / "run"), _weights(tmp_path / "one" / "run")
    assert a.keys() == b.keys()
    # Equal up to float summation order. The attention key biases are left out: their
    # gradient is zero in exact arithmetic (softmax ignores a shift shared by all keys), and
    # AdamW scales the ~1e-10 rounding noise there up to the learning rate's order. A wrong
    # split of the batch moves every weight by about the learning rate (1e-3).
    worst = {}
    for k in a:
        x, y = a[k], b[k]
        if k.endswith("in_proj_bias"):
            third = len(x) // 3
            x, y = torch.cat([x[:third], x[2 * third :]]), torch.cat([y[:third], y[2 * third :]])
        if x.is_floating_point():
            worst[k] = float((x - y).abs().max())
    assert max(worst.values()) < 1e-5, sorted(worst.items(), key=lambda kv: -kv[1])[:3]
