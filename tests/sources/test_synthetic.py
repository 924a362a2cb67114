from __future__ import annotations

from collections import Counter

import torch

from compressed_vision.sources.synthetic import CLASS_NAMES, SyntheticConfig, SyntheticVideos


def test_items_are_deterministic_and_shaped():
    cfg = SyntheticConfig(num_videos=5, frames=6, size=32, seed=3)
    a, b = SyntheticVideos(cfg)[2], SyntheticVideos(cfg)[2]
    assert torch.equal(a["video"], b["video"]) and a["label"] == b["label"]
    assert a["video"].shape == (3, 6, 32, 32)
    assert 0.0 <= float(a["video"].min()) and float(a["video"].max()) <= 1.0
    other = SyntheticVideos(SyntheticConfig(num_videos=5, frames=6, size=32, seed=4))[2]
    assert not torch.equal(a["video"], other["video"])


def test_labels_are_balanced_over_at_least_ten_classes():
    ds = SyntheticVideos(SyntheticConfig(num_videos=40, frames=2, size=16))
    counts = Counter(ds[i]["label"] for i in range(len(ds)))
    assert len(CLASS_NAMES) >= 10
    assert set(counts) == set(range(len(CLASS_NAMES)))
    assert max(counts.values()) - min(counts.values()) <= 1


def test_frame_labels_follow_segments_of_different_motions():
    ds = SyntheticVideos(SyntheticConfig(num_videos=3, frames=30, size=16, segments=3))
    for i in range(3):
        labels = ds[i]["frame_labels"].tolist()
        runs = [labels[0]] + [b for a, b in zip(labels, labels[1:], strict=False) if a != b]
        assert len(runs) == 3 and all(a != b for a, b in zip(runs, runs[1:], strict=False))


def test_a_single_frame_does_not_give_the_class_away():
    """Moving right vs left: the first frames of the two classes have the same statistics;
    only the motion differs. Check the object really moves the opposite way."""
    ds = SyntheticVideos(SyntheticConfig(num_videos=2, frames=8, size=32, noise=0.0))
    right, left = ds[0], ds[1]  # labels 0 (move_right) and 1 (move_left)
    assert (right["label"], left["label"]) == (0, 1)

    def centroid_x(video):
        diff = (video[:, 1:] - video[:, :1]).abs().sum(0)  # where things changed, (T-1, H, W)
        xs = torch.arange(video.shape[-1], dtype=torch.float32)
        return (diff.sum(1) * xs).sum(-1) / diff.sum((1, 2)).clamp_min(1e-6)

    assert centroid_x(right["video"])[-1] > centroid_x(right["video"])[0]
    assert centroid_x(left["video"])[-1] < centroid_x(left["video"])[0]
