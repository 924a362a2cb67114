from __future__ import annotations

import json

import pytest

from compressed_vision.errors import CVError
from compressed_vision.sources import (
    coin_manifest,
    folder_manifest,
    kinetics_manifest,
    manifest_from_source,
    synthetic_manifest,
)
from compressed_vision.sources.manifest import video_key
from compressed_vision.sources.synthetic import CLASS_NAMES, SyntheticConfig


def test_folder_manifest_labels_from_parent_folder(ucf_dir):
    m = folder_manifest(ucf_dir)
    ids = [i.id for i in m.items]
    assert ids == sorted(ids) and ".hidden.mp4" not in ids
    assert ids[:3] == ["bad/empty.mp4", "bad/notes.mp4", "bad/truncated.mp4"]
    assert {i.id: i.label for i in m.items}["run/v3.mp4"] == "run"
    assert m.classes == ("bad", "jump", "run")


def _touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")
    return path


def test_kinetics_csv_finds_clips_and_full_videos_and_flags_problems(tmp_path):
    clip = _touch(tmp_path / "videos" / "train" / "abc_000010_000020.mp4")
    full = _touch(tmp_path / "videos" / "full" / "def.mp4")
    csv = tmp_path / "k.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "dance,abc,10,20,train\n"
        "sing,def,3,5,train\n"
        ",ghi,0,10,train\n"
        "sing,missing,0,10,train\n"
        "dance,zzz,0,10,val\n"
    )
    m = kinetics_manifest(csv, tmp_path / "videos", split="train")
    items = {i.id: i for i in m.items}
    assert sorted(items) == [
        "abc_000010_000020",
        "def_000003_000005",
        "ghi_000000_000010",
        "missing_000000_000010",
    ]
    a, d = items["abc_000010_000020"], items["def_000003_000005"]
    assert (a.source, a.start, a.end, a.error) == (str(clip), None, None, None)  # already cut
    assert (d.source, d.start, d.end, d.label) == (str(full), 3.0, 5.0, "sing")  # trimmed
    assert "label missing in the CSV" in items["ghi_000000_000010"].error
    assert "not found" in items["missing_000000_000010"].error
    assert m.classes == ("dance", "sing")
    with pytest.raises(CVError, match="columns"):
        bad = tmp_path / "bad.csv"
        bad.write_text("a,b\n1,2\n")
        kinetics_manifest(bad, tmp_path)


def test_coin_json_segments_and_missing_files(tmp_path):
    video = _touch(tmp_path / "v" / "vid1.webm")
    doc = {
        "database": {
            "vid1": {
                "class": "MakeTea",
                "subset": "training",
                "annotation": [
                    {"segment": [0.0, 1.0], "label": "boil"},
                    {"segment": [1.5, 2.0], "label": "pour"},
                ],
            },
            "vid2": {"class": "MakeTea", "subset": "training", "annotation": []},
        }
    }
    path = tmp_path / "coin.json"
    path.write_text(json.dumps(doc))
    m = coin_manifest(path, tmp_path / "v")
    one, two = m.items
    assert one.source == str(video) and one.segments == ((0.0, 1.0, "boil"), (1.5, 2.0, "pour"))
    assert "not found" in two.error
    assert m.classes == ("MakeTea",) and m.frame_classes == ("boil", "pour")
    assert manifest_from_source(path, tmp_path / "v").items == m.items


def test_synthetic_manifest_and_source_dispatch(ucf_dir, tmp_path):
    m = synthetic_manifest(SyntheticConfig(num_videos=3, frames=8, size=32))
    assert [i.label for i in m.items] == list(CLASS_NAMES[:3]) and m.classes == CLASS_NAMES
    m2 = manifest_from_source("synthetic?num_videos=2&segments=3&noise=0.1")
    assert len(m2) == 2 and m2.frame_classes == CLASS_NAMES
    assert manifest_from_source(ucf_dir).items == folder_manifest(ucf_dir).items
    with pytest.raises(CVError, match="unknown synthetic option"):
        manifest_from_source("synthetic?colour=1")
    with pytest.raises(CVError, match="no such file"):
        manifest_from_source(tmp_path / "nope")


def test_video_keys_are_valid_and_unique():
    assert video_key("abc_000010_000020") == "abc_000010_000020"
    assert video_key("jump/v1.mp4") != video_key("jump_v1.mp4")
    assert "/" not in video_key("jump/v1.mp4") and not video_key("__x").startswith("_")


def test_split_names_are_ours_whatever_the_dataset_calls_them(tmp_path):
    """COIN's training/testing and Kinetics' validate become train/test/val, in the items and
    in the split asked for (by either name); other names are kept."""
    for name in ("a", "b", "c", "d"):
        _touch(tmp_path / "v" / f"{name}.mp4")
    csv = tmp_path / "k.csv"
    csv.write_text(
        "label,youtube_id,time_start,time_end,split\n"
        "x,a,0,1,train\nx,b,0,1,validate\nx,c,0,1,test\nx,d,0,1,holdout\n"
    )
    splits = {i.id[0]: i.split for i in kinetics_manifest(csv, tmp_path / "v").items}
    assert splits == {"a": "train", "b": "val", "c": "test", "d": "holdout"}
    for asked in ("val", "validate"):
        (item,) = kinetics_manifest(csv, tmp_path / "v", split=asked).items
        assert item.id.startswith("b") and item.split == "val"
    subsets = {"a": "training", "b": "validation", "c": "testing", "d": None}
    doc = {"database": {v: {"class": "tea", "subset": s} for v, s in subsets.items()}}
    path = tmp_path / "coin.json"
    path.write_text(json.dumps(doc))
    m = coin_manifest(path, tmp_path / "v")
    assert {i.id: i.split for i in m.items} == {"a": "train", "b": "val", "c": "test", "d": None}
    assert [i.id for i in coin_manifest(path, tmp_path / "v", split="training").items] == ["a"]
    assert [i.id for i in coin_manifest(path, tmp_path / "v", split="test").items] == ["c"]
    with pytest.raises(CVError, match=r"no videos of split 'holdout' \(its splits: test, train"):
        coin_manifest(path, tmp_path / "v", split="holdout")


def test_cvis_train_on_a_coin_json_takes_its_training_and_testing_videos(tmp_path):
    """COIN's own subset names select the videos of the default train_split / test_split."""
    from compressed_vision.tasks import TaskConfig, prepare
    from compressed_vision.video.io import write_video
    from tests.conftest import moving_frames

    subsets = {"v0": "training", "v1": "training", "v2": "testing"}
    for vid in subsets:
        write_video(tmp_path / "videos" / f"{vid}.mp4", moving_frames(8, 32, 32), fps=25)
    doc = {"database": {v: {"class": "tea", "subset": s} for v, s in subsets.items()}}
    (tmp_path / "coin.json").write_text(json.dumps(doc))
    cfg = TaskConfig(inputs="rgb", videos=str(tmp_path / "coin.json"), size=32, frames=4)
    prep = prepare(cfg, show_progress=False)
    keys = [v.key for v in prep.reader.videos]
    assert sorted(keys[v] for v, _, _ in prep.train_set.ranges) == ["v0", "v1"]
    assert [keys[v] for v, _, _ in prep.test_set.ranges] == ["v2"]
