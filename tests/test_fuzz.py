"""A tiny seeded run of the readers' fuzzer (`compressed_vision.bench.fuzz`): mutants of a video, a
code file, a store and a checkpoint end as a clean `CVError` naming the file, or are read;
never another exception, a signal or a hang."""

from __future__ import annotations

from compressed_vision.bench.fuzz import KINDS, batch_job, fuzz, make_mutant, make_originals


def test_mutants_are_seeded(tmp_path):
    originals = make_originals(tmp_path / "work")
    for i in (0, 1):
        (tmp_path / f"m{i}").mkdir()
    for kind in ("video", "codes", "checkpoint"):
        runs = [make_mutant(kind, originals, 3, 7, tmp_path / f"m{i}") for i in (0, 1)]
        assert runs[0][1] == runs[1][1]
        assert runs[0][0].read_bytes() == runs[1][0].read_bytes()
        assert runs[0][0].read_bytes() != originals[kind].read_bytes()


def test_a_tiny_fuzz_run_finds_no_crash_or_hang(tmp_path):
    result = fuzz(cases=4, seed=0, work=tmp_path / "work", limit=60)
    assert [row["kind"] for row in result["rows"]] == list(KINDS)
    assert len(result["cases"]) == 4 * len(KINDS)
    bad = [c for c in result["cases"] if c["outcome"] in ("crash", "hang", "unnamed")]
    assert not bad, bad
    for row in result["rows"]:
        assert row["clean errors"] + row["successes"] == row["cases"] == 4


def test_a_batch_job_over_mutants_loses_no_file(tmp_path):
    originals = make_originals(tmp_path / "work")
    result = batch_job(originals, 6, 0, tmp_path / "work", limit=60)
    assert result["files"] == 7 and result["job finished"]
    assert result["lost"] == 0, result["lost files"]
    assert result["stored"] + result["failures recorded"] == 7 and result["stored"] >= 1
