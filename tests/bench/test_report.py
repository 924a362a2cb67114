"""report.py: every result is written as JSON, markdown and (optionally) a plot, each saying
which command made it on which machine."""

from __future__ import annotations

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from compressed_vision.report import Run, markdown_table, write_report, write_results  # noqa: E402


def test_write_results_records_the_command_and_the_machine(tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["benchmarks/x.py", "--cases", "2"])
    fig, ax = plt.subplots()
    ax.plot([0, 1], [1, 0])
    rows = [{"kind": "video", "seconds": 0.12345}]
    paths = write_results(
        tmp_path, "x", "A title", {"rows": rows}, markdown_table(rows), figure=fig
    )
    doc = json.loads(paths["json"].read_text())
    assert doc["command"] == "python benchmarks/x.py --cases 2"
    assert doc["rows"] == rows
    for key in ("cpu_model", "cpu_cores", "torch_threads", "torch", "python", "device"):
        assert doc["machine"][key]
    md = paths["md"].read_text()
    assert md.startswith("# A title\n\ncommand: `python benchmarks/x.py --cases 2`\n\nmachine: ")
    assert f"{doc['machine']['cpu_cores']} cores" in md and "device cpu" in md
    assert "| kind | seconds |\n| --- | --- |\n| video | 0.123 |\n" in md
    assert paths["png"].stat().st_size > 0 and paths["png"].name == "x.png"


def test_a_run_names_extra_versions_and_write_report_stays_plain(tmp_path):
    run = Run.here("cpu", zarr="3.0")
    assert "zarr 3.0" in run.header("T") and str(run).startswith("command: python ")
    json_path, md_path = write_report(tmp_path, "plain", {"a": 1}, "table\n")
    assert json.loads(json_path.read_text()) == {"a": 1} and md_path.read_text() == "table\n"
