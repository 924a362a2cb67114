from __future__ import annotations

import json
import os
import signal
import socket

import numpy as np
import pytest
import torch
import torch.multiprocessing as tmp

from compressed_vision.codec import load_codec
from compressed_vision.codec.files import encode_file
from compressed_vision.errors import CVError
from compressed_vision.sources import (
    coin_manifest,
    folder_manifest,
    kinetics_manifest,
    synthetic_manifest,
)
from compressed_vision.sources.synthetic import SyntheticConfig
from compressed_vision.store import CodeStore, build_store
from compressed_vision.store import packs as packs_module
from compressed_vision.store.info import count_files
from compressed_vision.video.io import write_video
from tests.store.conftest import clip, snapshot, tiny_codec


def _build(manifest, codec, out, **kw):
    return build_store(manifest, codec, str(out), progress=False, chunk_steps=4, **kw)


@pytest.mark.parametrize("where", ["local", "memory"])
def test_build_stores_good_videos_and_records_bad_ones(ucf_dir, codec, tmp_path, where):
    out = str(tmp_path / "s.zarr") if where == "local" else f"memory://build-{id(tmp_path)}"
    summary = _build(folder_manifest(ucf_dir), codec, out)
    assert (summary.encoded, summary.failed, summary.videos_in_store) == (4, 3, 4)
    store = CodeStore(out)
    failures = {f["id"]: f["reason"] for f in store.failures().values()}
    assert set(failures) == {"bad/empty.mp4", "bad/notes.mp4", "bad/truncated.mp4"}
    assert "empty" in failures["bad/empty.mp4"]
    assert "cannot be opened" in failures["bad/notes.mp4"]
    entry = {e.attrs["id"]: e for e in store.entries()}["jump/v1.mp4"]
    a = entry.attrs
    assert (a["label"], a["label_index"], a["frames"], a["fps"]) == ("jump", 1, 37, 25.0)
    assert (a["height"], a["width"], a["steps"], a["source"]) == (
        32,
        32,
        37,
        str(ucf_dir / "jump" / "v1.mp4"),
    )
    codes = store.codes(entry.key)
    assert codes.dtype == np.uint8 and len(store.state.index.videos[entry.key].chunks) == 10
    expected, _ = encode_file(codec, ucf_dir / "jump" / "v1.mp4", torch.device("cpu"))
    np.testing.assert_array_equal(codes, expected.numpy())  # same as the streaming encoder
    # one pack for the 7 items: zarr.json, index.cvi, the pack and its index
    assert count_files(out) == 4 and len(store.state.index.packs) == 1


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file_is_a_failure(ucf_dir, codec, tmp_path):
    path = tmp_path / "v" / "locked.mp4"
    path.parent.mkdir()
    path.write_bytes((ucf_dir / "run" / "v2.mp4").read_bytes())
    path.chmod(0)
    summary = _build(folder_manifest(tmp_path / "v"), codec, tmp_path / "s.zarr")
    assert (summary.encoded, summary.failed) == (0, 1)


def test_store_records_the_codec_and_refuses_another(ucf_dir, codec, tmp_path):
    out = tmp_path / "s.zarr"
    manifest = folder_manifest(ucf_dir / "run")
    _build(manifest, codec, out)
    other = tiny_codec(seed=1)
    with pytest.raises(CVError, match="another codec"):
        _build(manifest, other, out)
    with pytest.raises(CVError, match="written by codec"):
        CodeStore(str(out)).check_codec(other)
    with pytest.raises(CVError, match="other settings"):
        _build(manifest, codec, out, size=16)
    with pytest.raises(CVError, match="no code store here"):
        CodeStore(str(tmp_path))
    with pytest.raises(CVError, match="is not a code store"):
        _build(manifest, codec, ucf_dir)  # never writes into a folder of other files
    root = CodeStore(str(out)).attrs
    assert (
        root["codec"] == codec.config.to_dict() and root["classes"] == []
    )  # files directly in the folder: no label


def test_interrupted_build_resumes_to_the_same_store(ucf_dir, codec, tmp_path, monkeypatch):
    manifest = folder_manifest(ucf_dir)
    clean, resumed = tmp_path / "clean.zarr", tmp_path / "resumed.zarr"
    _build(manifest, codec, clean)

    append = packs_module.VideoWriter.append

    def dying_append(self, codes):  # interrupted (Ctrl-C) while writing jump/v1.mp4
        append(self, codes)  # its first 16 code steps reach the pack (4 chunks)
        if self.item.id == "jump/v1.mp4":
            raise KeyboardInterrupt

    monkeypatch.setattr(packs_module.VideoWriter, "append", dying_append)
    with pytest.raises(KeyboardInterrupt):
        _build(manifest, codec, resumed)
    monkeypatch.undo()
    half = CodeStore(str(resumed))  # the pack was committed with what was finished
    assert [e.attrs["id"] for e in half.entries()] == ["jump/v0.mp4"]  # never half a video
    assert len(half.failures()) == 3 and half.incomplete() == []

    seen = []
    summary = _build(manifest, codec, resumed, on_item=lambda item, reason: seen.append(item.id))
    assert "jump/v0.mp4" not in seen and "jump/v1.mp4" in seen
    assert summary.skipped == 4 and summary.encoded == 3  # 3 failures + v0 were done before
    assert snapshot(str(resumed)) == snapshot(str(clean))


def _killed_build(source: str, ckpt: str, out: str) -> None:
    """Build with packs of 2 items; SIGKILL (no cleanup at all) once jump/v1.mp4 is encoded."""

    def kill(item, reason):
        if item.id == "jump/v1.mp4":
            os.kill(os.getpid(), signal.SIGKILL)

    torch.set_num_threads(1)
    build_store(
        folder_manifest(source),
        load_codec(ckpt),
        out,
        progress=False,
        chunk_steps=4,
        pack_videos=2,
        on_item=kill,
    )


def test_a_killed_build_resumes_to_the_same_store(ucf_dir, codec, codec_path, tmp_path):
    """Items (sorted): 3 bad files, jump/v0, jump/v1, run/v2, run/v3, in packs of 2. The kill
    comes with jump/v1 written into the third pack, which never gets its index."""
    manifest = folder_manifest(ucf_dir)
    clean, out = tmp_path / "clean.zarr", tmp_path / "killed.zarr"
    _build(manifest, codec, clean)
    process = tmp.get_context("spawn").Process(
        target=_killed_build, args=(str(ucf_dir), str(codec_path), str(out))
    )
    process.start()
    process.join()
    assert process.exitcode == -signal.SIGKILL
    half = CodeStore(str(out))
    assert [e.attrs["id"] for e in half.entries()] == ["jump/v0.mp4"]
    assert len(half.failures()) == 3 and len(half.incomplete()) == 1  # the unindexed pack
    summary = _build(manifest, codec, out)
    assert (summary.skipped, summary.encoded) == (4, 3)
    assert snapshot(str(out)) == snapshot(str(clean))
    assert CodeStore(str(out)).incomplete() == []  # the killed run's pack is gone


def test_hook_abort_then_resume_redoes_nothing_twice(ucf_dir, codec, tmp_path):
    manifest = folder_manifest(ucf_dir)
    out = tmp_path / "s.zarr"

    done = []

    def stop_after_two(item, reason):
        done.append(item.id)
        if len(done) == 2:
            raise RuntimeError("stop")

    with pytest.raises(RuntimeError):
        _build(manifest, codec, out, on_item=stop_after_two)
    summary = _build(manifest, codec, out)
    assert (summary.skipped, summary.encoded + summary.failed) == (2, 5)


def test_kinetics_trimming_and_missing_label(codec, tmp_path):
    frames = clip(50)
    write_video(tmp_path / "videos" / "full.mp4", frames, fps=25)
    write_video(tmp_path / "videos" / "cut_000000_000001.mp4", frames[:25], fps=25)
    csv = tmp_path / "k.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "a,full,1,2,train\n"
        "b,cut,0,1,train\n"
        ",full,0,1,train\n"
    )
    out = str(tmp_path / "s.zarr")
    _build(kinetics_manifest(csv, tmp_path / "videos"), codec, out)
    store = CodeStore(out)
    entries = {e.attrs["id"]: e for e in store.entries()}
    trimmed = entries["full_000001_000002"]
    assert (trimmed.attrs["frames"], trimmed.attrs["start"], trimmed.attrs["end"]) == (25, 1, 2)
    assert entries["cut_000000_000001"].attrs["frames"] == 25
    reasons = [f["reason"] for f in store.failures().values()]
    assert len(reasons) == 1 and "label missing in the CSV" in reasons[0]


def test_coin_segments_become_per_frame_labels(codec, tmp_path):
    write_video(tmp_path / "v" / "vid1.mp4", clip(30), fps=10)
    doc = {
        "database": {
            "vid1": {
                "class": "Tea",
                "annotation": [
                    {"segment": [0.5, 1.2], "label": "boil"},
                    {"segment": [2.0, 9.0], "label": "pour"},
                ],
            }
        }
    }
    (tmp_path / "coin.json").write_text(json.dumps(doc))
    out = str(tmp_path / "s.zarr")
    _build(coin_manifest(tmp_path / "coin.json", tmp_path / "v"), codec, out)
    store = CodeStore(out)
    labels = store.frame_labels(store.entries()[0].key)
    expected = [-1] * 5 + [0] * 7 + [-1] * 8 + [1] * 10  # frame t at t / 10 s
    assert labels.tolist() == expected and store.frame_classes == ["boil", "pour"]


def test_synthetic_short_videos_and_multi_segment_labels(codec):
    out = f"memory://synthetic-{os.getpid()}"
    manifest = synthetic_manifest(SyntheticConfig(num_videos=3, frames=1, size=32, segments=2))
    _build(manifest, codec, out)
    store = CodeStore(out)
    assert [e.steps for e in store.entries()] == [1, 1, 1]  # shorter than a window: kept
    assert all(store.frame_labels(e.key).tolist() == [e.label_index] for e in store.entries())


def test_parallel_workers_give_the_same_store(ucf_dir, codec, tmp_path):
    manifest = folder_manifest(ucf_dir)
    _build(manifest, codec, tmp_path / "one.zarr")
    summary = _build(manifest, codec, tmp_path / "two.zarr", workers=2)
    assert (summary.encoded, summary.failed) == (4, 3)
    assert snapshot(str(tmp_path / "two.zarr")) == snapshot(str(tmp_path / "one.zarr"))
    with pytest.raises(CVError, match="in-memory"):
        _build(manifest, codec, "memory://nope", workers=2)


def _rank_main(rank: int, world: int, port: int, source: str, ckpt: str, out: str) -> None:
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    summary = build_store(
        folder_manifest(source), load_codec(ckpt), out, progress=False, chunk_steps=4
    )
    assert summary.items == (7 + world - 1 - rank) // world


def test_torchrun_style_sharding_over_two_gloo_processes(ucf_dir, codec, codec_path, tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = str(tmp_path / "ddp.zarr")
    tmp.spawn(_rank_main, args=(2, port, str(ucf_dir), str(codec_path), out), nprocs=2)
    _build(folder_manifest(ucf_dir), codec, tmp_path / "one.zarr")
    assert snapshot(out) == snapshot(str(tmp_path / "one.zarr"))


def write_truncated(path, frames: int = 60, keep: float = 0.6):
    """An mp4 with its index up front (faststart) cut to `keep` of its bytes: the container
    still declares every frame, decoding stops early without an error of its own."""
    import av

    full = path.with_name("full-" + path.name)
    with av.open(str(full), "w", options={"movflags": "faststart"}) as c:
        s = c.add_stream("libx264", rate=25)
        s.width = s.height = 32
        s.pix_fmt = "yuv420p"
        for frame in clip(frames):
            c.mux(s.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        c.mux(s.encode())
    data = full.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    full.unlink()
    return path


def test_a_truncated_video_fails_or_is_kept_partial_and_marked(codec, tmp_path):
    from typer.testing import CliRunner

    from compressed_vision.cli.store import store_app
    from compressed_vision.store.info import store_info

    folder = tmp_path / "videos" / "cut"
    folder.mkdir(parents=True)
    write_truncated(folder / "a.mp4")
    write_video(folder / "b.mp4", clip(12), fps=25)
    summary = _build(folder_manifest(tmp_path / "videos"), codec, tmp_path / "s.zarr")
    assert (summary.encoded, summary.failed) == (1, 1)
    reason = CodeStore(str(tmp_path / "s.zarr")).failures()
    assert "of the 60 frames the container declares" in next(iter(reason.values()))["reason"]

    summary = _build(
        folder_manifest(tmp_path / "videos"), codec, tmp_path / "p.zarr", keep_partial=True
    )
    assert (summary.encoded, summary.failed, summary.partial_in_store) == (2, 0, ["cut/a.mp4"])
    info = store_info(str(tmp_path / "p.zarr"))
    (partial,) = info["partial"]
    assert partial["declared_frames"] == 60 and 0 < partial["decoded_frames"] < 60
    entry = {e.attrs["id"]: e for e in CodeStore(str(tmp_path / "p.zarr")).entries()}["cut/a.mp4"]
    assert entry.attrs["frames"] == partial["decoded_frames"]
    res = CliRunner().invoke(store_app, ["info", str(tmp_path / "p.zarr")])
    assert res.exit_code == 0 and "partial: cut/a.mp4" in res.output


def test_codec_encode_and_long_encode_refuse_or_keep_a_truncated_video(codec, codec_path, tmp_path):
    from compressed_vision.codec.files import encode_file
    from compressed_vision.errors import TruncatedVideo
    from compressed_vision.long.store import encode_long_file

    cut = write_truncated(tmp_path / "cut.mp4")
    with pytest.raises(TruncatedVideo, match="of the 60 frames the container declares"):
        encode_file(codec, cut, torch.device("cpu"))
    codes, meta = encode_file(codec, cut, torch.device("cpu"), keep_partial=True)
    assert meta["partial"] and meta["declared_frames"] == 60
    assert codes.shape[1] == -(-meta["decoded_frames"] // codec.config.temporal_factor)
    with pytest.raises(TruncatedVideo):
        encode_long_file(cut, codec, str(tmp_path / "l.zarr"), torch.device("cpu"), progress=False)
    assert not CodeStore(str(tmp_path / "l.zarr")).entries()  # nothing half-written shows
    entry = encode_long_file(
        cut,
        codec,
        str(tmp_path / "l.zarr"),
        torch.device("cpu"),
        progress=False,
        keep_partial=True,
    )
    assert entry.attrs["partial"] and entry.attrs["frames"] == meta["decoded_frames"]
