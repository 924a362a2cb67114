"""A tiny run of the seek benchmark: one row per clip position, seek and scan both timed."""

from __future__ import annotations

import json

from compressed_vision.bench.seek import POSITIONS, seek_bench
from tests.sources.test_camera import write_photos


def test_a_tiny_seek_bench_times_every_position(tmp_path):
    write_photos(tmp_path / "photos", count=12, side=160)
    written = seek_bench(tmp_path / "photos", tmp_path / "work", tmp_path / "out", 4, 8, 1)
    rows = json.loads(written["json"].read_text())["rows"]
    assert len(rows) == len(POSITIONS)
    assert all(r["seek + decode (ms)"] > 0 and r["decode from start (ms)"] > 0 for r in rows)
    assert "| clip start (s) |" in written["md"].read_text()
