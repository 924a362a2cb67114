"""Whole-video classification: the task (a clip's target is its video's label), and the
in-memory training helpers the demo uses."""

from __future__ import annotations

import time
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from ..train_loop import LoopConfig, infinite_batches, to_device, train
from .base import ClipTask, VideoRecord, need_classes, refuse


class WholeVideo(ClipTask):
    """Target: the clip's video label; held-out clips are also scored per video."""

    name = "video"
    by_video = True

    def class_names(self, classes: list[str], frame_classes: list[str]) -> list[str]:
        return need_classes(classes, "whole-video labels")

    def check(self, videos: list[VideoRecord], where: str) -> None:
        refuse([v for v in videos if v.label < 0], "have no label of the store's classes", where)

    def make(
        self, clip: torch.Tensor, variant: int, label: int, step_labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        return clip, torch.tensor(label)


class TensorPairs(Dataset):
    """In-memory (input, label) pairs: {"input": inputs[i], "label": labels[i]}."""

    def __init__(self, inputs: torch.Tensor, labels: torch.Tensor):
        if len(inputs) != len(labels):
            raise ValueError(f"{len(inputs)} inputs but {len(labels)} labels")
        self.inputs, self.labels = inputs, labels

    def __len__(self) -> int:
        return len(self.inputs)

    def __getitem__(self, i: int) -> dict:
        return {"input": self.inputs[i], "label": self.labels[i]}


def classification_step(model: nn.Module, batch: dict) -> tuple[torch.Tensor, dict[str, float]]:
    logits = model(batch["input"])
    loss = F.cross_entropy(logits.float(), batch["label"])
    acc = (logits.argmax(1) == batch["label"]).float().mean()
    return loss, {"acc": float(acc)}


@torch.no_grad()
def evaluate(
    model: nn.Module, dataset: Dataset, device: torch.device, batch_size: int = 32
) -> dict[str, float]:
    """Top-1 and top-5 accuracy (%) over a dataset."""
    model.to(device).eval()
    top1 = top5 = total = 0
    for batch in DataLoader(dataset, batch_size=batch_size):
        batch = to_device(batch, device)
        logits = model(batch["input"]).float()
        labels = batch["label"]
        k = min(5, logits.shape[1])
        topk = logits.topk(k, dim=1).indices
        top1 += int((topk[:, 0] == labels).sum())
        top5 += int((topk == labels[:, None]).any(1).sum())
        total += len(labels)
    if total == 0:
        raise ValueError("cannot evaluate on an empty dataset")
    return {"top1": 100.0 * top1 / total, "top5": 100.0 * top5 / total}


@dataclass
class ClassifierResult:
    top1: float
    top5: float
    train_seconds: float
    final_train_loss: float


def train_classifier(
    model: nn.Module,
    train_set: Dataset,
    test_set: Dataset,
    loop: LoopConfig,
    device: torch.device,
    batch_size: int = 32,
    desc: str = "classifier",
    seed: int = 0,
    show_progress: bool = True,
) -> ClassifierResult:
    """Train through the one loop, then evaluate on the held-out set."""
    if len(train_set) == 0 or len(test_set) == 0:
        raise ValueError("the training and test splits must both be non-empty")
    start = time.perf_counter()
    history = train(
        model,
        classification_step,
        infinite_batches(train_set, batch_size, seed),
        loop,
        device,
        desc,
        show_progress=show_progress,
    )
    seconds = time.perf_counter() - start
    metrics = evaluate(model, test_set, device, batch_size)
    return ClassifierResult(metrics["top1"], metrics["top5"], seconds, history[-1]["loss"])
