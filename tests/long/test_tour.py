from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from compressed_vision.long.tour import TourConfig, WalkingTour
from compressed_vision.video.io import read_video, write_video

SHORT = TourConfig(minutes=0.2, size=32)  # 300 frames
LONG = TourConfig(minutes=20, size=32, visit_seconds=(10.0, 30.0))


@pytest.fixture(scope="module")
def long_tour() -> WalkingTour:
    return WalkingTour(LONG)


def test_frames_are_deterministic_and_independent_of_chunking():
    tour = WalkingTour(SHORT)
    whole = tour.render(0, tour.frames)
    assert whole.shape == (300, 32, 32, 3) and whole.dtype == np.uint8
    assert np.array_equal(whole, WalkingTour(SHORT).render(0, 300))
    for chunk in (1, 7, 64):
        assert np.array_equal(np.concatenate(list(tour.chunks(chunk))), whole)
    assert np.array_equal(np.concatenate(list(tour.chunks(13, 50, 120))), whole[50:120])
    other_route = WalkingTour(replace(SHORT, route_seed=1)).render(0, 300)
    assert not np.array_equal(other_route, whole)


def test_the_camera_moves_smoothly(long_tour):
    frames = long_tour.render(1000, 1100).astype(np.int16)
    step = np.abs(np.diff(frames, axis=0)).mean()
    assert 0 < step < 20  # consecutive frames are close, never identical for long
    assert np.abs(frames[-1] - frames[0]).mean() > step


def test_labels_follow_visits_and_positions(long_tour):
    labels, route = long_tour.labels(), long_tour.route
    assert len(labels.district) == long_tour.frames == 30_000
    assert np.all(np.diff(labels.position) >= 0) and labels.position[-1] > 10
    assert np.all(np.diff(labels.visit) >= 0)  # visits come one after the other
    assert np.array_equal(labels.district, route.district[labels.visit])
    changes = np.flatnonzero(np.diff(labels.visit)) + 1
    assert np.all(labels.district[changes] != labels.district[changes - 1])
    part = long_tour.labels(12_345, 12_400)
    assert np.array_equal(part.district, labels.district[12_345:12_400])
    assert np.array_equal(part.position, labels.position[12_345:12_400])


def test_the_route_revisits_districts(long_tour):
    labels = long_tour.labels()
    seen: set[int] = set()
    expected = []
    for d in long_tour.route.district.tolist():
        expected.append(d in seen)
        seen.add(d)
    assert np.array_equal(labels.revisit, np.array(expected)[labels.visit])
    assert labels.revisit.any() and not labels.revisit.all()
    assert len(set(labels.district.tolist())) == LONG.districts


def test_tunnels_are_dark_and_keep_the_district(long_tour):
    labels = long_tour.labels()
    assert 0.02 < labels.tunnel.mean() < 0.4
    inside = np.flatnonzero(labels.tunnel)[::200]
    outside = np.flatnonzero(~labels.tunnel)[::1000]
    dark = np.mean([long_tour.render(t, t + 1).mean() for t in inside])
    light = np.mean([long_tour.render(t, t + 1).mean() for t in outside])
    assert dark < 0.6 * light


def test_a_short_tour_round_trips_through_an_mp4(tmp_path):
    tour = WalkingTour(SHORT)
    path = write_video(tmp_path / "tour.mp4", tour.chunks(16, 0, 60), fps=SHORT.fps)
    frames = read_video(path)
    assert frames.shape == (60, 32, 32, 3)
    error = np.abs(frames.astype(np.int16) - tour.render(0, 60)).mean()
    assert error < 12
