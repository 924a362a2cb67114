"""A tiny run of the store benchmark: sizes, window throughput and long-video reads reported."""

from __future__ import annotations

import json

from compressed_vision.bench.store import StoreBenchConfig, run_store_bench


def test_a_tiny_store_bench_writes_its_tables(tmp_path):
    (tmp_path / "data").mkdir()
    cfg = StoreBenchConfig(
        tmp_path / "data",
        tmp_path / "work",
        tmp_path / "out",
        train_steps=2,
        size=32,
        synthetic=2,
        synthetic_frames=16,
        steps=2,
        windows=3,
        long_minutes=(0.05,),
    )
    written = run_store_bench(cfg)
    doc = json.loads(written["json"].read_text())
    assert doc["store"]["videos"] == 2 and doc["throughput"]["windows"] == 3
    assert len(doc["long_videos"]) == 1 and doc["machine"]["zarr"]
    assert "## Size" in written["md"].read_text()
