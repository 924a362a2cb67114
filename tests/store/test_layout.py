"""The store's layout at scale: what opening and a window read cost in requests (under a
request-counting fsspec filesystem), the root as a zarr v3 group, and stores of format 1
refused with the command that migrates them, which keeps every code and label."""

from __future__ import annotations

import hashlib
import re

import fsspec
import numpy as np
import pytest
import zarr
import zarr.codecs
from fsspec.implementations.memory import MemoryFileSystem
from typer.testing import CliRunner

from compressed_vision.cli.store import store_app
from compressed_vision.codec.lossless import LearnedPrior, encode_chunk, save_prior
from compressed_vision.errors import CVError
from compressed_vision.sources import folder_manifest
from compressed_vision.sources.manifest import video_key
from compressed_vision.store import CodeStore, RandomCodeWindows, build_store, verify_store
from compressed_vision.store.build import root_attrs
from compressed_vision.store.chunks import PRIOR_FILE
from compressed_vision.store.layout import INDEX, StoreFiles, hash_block
from compressed_vision.store.migrate import migrate_store
from compressed_vision.store.writer import BuildSpec
from tests.store.test_learned_store import tiny_prior


class CountingFS(MemoryFileSystem):
    """An in-memory filesystem that records every read and listing, like bucket requests."""

    protocol = "countmem"
    requests: list[tuple[str, str]] = []

    def cat_file(self, path, start=None, end=None, **kwargs):
        self.requests.append(("get", path.rsplit("/", 1)[-1]))
        return super().cat_file(path, start, end, **kwargs)

    def ls(self, path, detail=True, **kwargs):
        self.requests.append(("list", path.rsplit("/", 1)[-1]))
        return super().ls(path, detail, **kwargs)


fsspec.register_implementation("countmem", CountingFS, clobber=True)


def test_opening_reads_one_index_and_a_window_is_one_request(ucf_dir, codec):
    url = f"countmem://layout-{id(codec)}"
    build_store(folder_manifest(ucf_dir), codec, url, progress=False, chunk_steps=4)
    CountingFS.requests.clear()
    store = CodeStore(url)
    assert len(store.entries()) == 4
    assert CountingFS.requests == [("get", "zarr.json"), ("list", "packs"), ("get", INDEX)]
    key = next(e.key for e in store.entries() if e.steps == 37)
    for start, stop in [(5, 13), (0, 4), (30, 37)]:  # 3 chunks, 1 chunk, the last chunk
        CountingFS.requests.clear()
        assert store.read(key, start, stop).shape == (4, stop - start, 4, 4)
        assert len(CountingFS.requests) == 1 and CountingFS.requests[0][1].endswith(".pack")
    windows = RandomCodeWindows(store, 16)
    CountingFS.requests.clear()
    for i in range(len(windows)):
        windows[i]
    assert len(CountingFS.requests) == len(windows)  # one request per training window

    files = StoreFiles(url)
    files.fs.rm(files.path(INDEX))  # not consolidated: the pack indexes are read
    CountingFS.requests.clear()
    assert [e.attrs for e in CodeStore(url).entries()] == [e.attrs for e in store.entries()]
    assert [r[1].endswith(".idx") for r in CountingFS.requests[3:]] == [True]


def test_the_root_is_a_zarr_v3_group(ucf_dir, codec, tmp_path):
    out = tmp_path / "s.zarr"
    build_store(folder_manifest(ucf_dir / "run"), codec, str(out), progress=False)
    root = zarr.open_group(str(out), mode="r")
    assert root.attrs["version"] == 2 and root.attrs["chunk_codec"]["name"] == "zstd"


def write_v1_store(
    path,
    codec,
    videos: dict[str, np.ndarray],
    labels: np.ndarray,
    prior: LearnedPrior | None = None,
) -> None:
    """A store as format 1 wrote it: a zarr group per video (codes chunked 4 steps along
    time) and per failure; the first video has per-frame labels, the last is incomplete.
    With a `prior` learned-coded: the prior in the root, chunk i as `videos/<key>/learned/i`."""
    root = zarr.open_group(str(path), mode="w")
    attrs = {**root_attrs(codec, BuildSpec(chunk_steps=4, frame_classes=("a", "b"))), "version": 1}
    del attrs["chunk_codec"], attrs["codec_kind"]  # format 1 stores before codec kinds
    if prior is not None:
        attrs.update(lossless="learned", prior_fingerprint=prior.fingerprint)
        save_prior(path / PRIOR_FILE, prior)
    root.update_attributes(attrs)
    groups, failures = root.create_group("videos"), root.create_group("failures")
    for i, (item, codes) in enumerate(videos.items()):
        h = hashlib.sha256()
        hash_block(h, codes)
        meta = {"id": item, "source": f"/v/{item}", "fps": 25.0, "frames": codes.shape[1]}
        meta.update(height=32, width=32, label=None, label_index=-1, split=None)
        meta.update(steps=codes.shape[1], sha256=h.hexdigest(), complete=i < len(videos) - 1)
        group = groups.create_group(video_key(item), attributes=meta)
        zstd = zarr.codecs.ZstdCodec(level=5, checksum=True)
        if prior is None:
            group.create_array("codes", data=codes, chunks=(4, 4, 4, 4), compressors=zstd)
        else:  # the array only records the shape
            group.create_array("codes", shape=codes.shape, chunks=(4, 4, 4, 4), dtype=codes.dtype)
            for i in range(0, codes.shape[1], 4):
                chunk = path / "videos" / video_key(item) / "learned" / str(i // 4)
                chunk.parent.mkdir(exist_ok=True)
                chunk.write_bytes(encode_chunk(codes[:, i : i + 4], prior.integer))
        if i == 0:
            group.create_array("frame_labels", data=labels, chunks=(4096,))
    failures.create_group("bad", attributes={"id": "bad", "source": "/v/bad", "reason": "empty"})


def test_a_format_1_store_is_refused_with_the_migrate_command_which_keeps_everything(
    codec, tmp_path
):
    rng = np.random.default_rng(0)
    videos = {f"clip {i}": rng.integers(0, 256, (4, 6 + i, 4, 4), np.uint8) for i in range(4)}
    labels = rng.integers(-1, 2, 6).astype(np.int16)
    old, new = tmp_path / "old.zarr", tmp_path / "new.zarr"
    write_v1_store(old, codec, videos, labels)
    with pytest.raises(CVError, match=re.escape(f"cvis store migrate {old} NEW_STORE")):
        CodeStore(str(old))

    run = CliRunner().invoke(store_app, ["migrate", str(old), str(new)])
    assert run.exit_code == 0 and "3 videos, 1 failures" in run.output, run.output
    store = CodeStore(str(new))
    old_root = zarr.open_group(str(old), mode="r")
    for (item, codes), entry in zip(list(videos.items())[:3], store.entries(), strict=True):
        assert entry.key == video_key(item)
        np.testing.assert_array_equal(store.codes(entry.key), codes)
        old_attrs = old_root[f"videos/{entry.key}"].attrs.asdict()
        del old_attrs["complete"]
        assert entry.attrs == {**old_attrs, "code_shape": list(codes.shape)}
    np.testing.assert_array_equal(store.frame_labels(video_key("clip 0")), labels)
    assert store.failures() == {"bad": {"id": "bad", "source": "/v/bad", "reason": "empty"}}
    assert verify_store(str(new), progress=False)["ok"]
    rerun = CliRunner().invoke(store_app, ["migrate", str(old), str(new)])
    assert rerun.exit_code == 0 and "3 videos, 1 failures" in rerun.output  # nothing twice

    chunk = old / "videos" / video_key("clip 1") / "codes" / "c" / "0" / "1" / "0" / "0"
    data = bytearray(chunk.read_bytes())
    data[len(data) // 2] ^= 0xFF
    chunk.write_bytes(bytes(data))
    run = CliRunner().invoke(store_app, ["migrate", str(old), str(tmp_path / "other.zarr")])
    assert run.exit_code == 1 and f"not copied: {video_key('clip 1')}" in run.output
    assert len(CodeStore(str(tmp_path / "other.zarr")).entries()) == 2


def test_a_learned_format_1_store_migrates_learned_with_its_prior(codec, tmp_path):
    rng = np.random.default_rng(1)
    videos = {f"clip {i}": rng.integers(0, 256, (4, 6 + i, 4, 4), np.uint8) for i in range(3)}
    old, new, prior = tmp_path / "old.zarr", tmp_path / "new.zarr", tiny_prior(codec)
    write_v1_store(old, codec, videos, rng.integers(-1, 2, 6).astype(np.int16), prior)
    result = migrate_store(str(old), str(new), progress=False)
    assert result["ok"] and result["videos"] == 2
    store = CodeStore(str(new))
    assert store.attrs["chunk_codec"] == {"name": "learned", "prior": prior.fingerprint}
    assert store.attrs["codec_kind"] == "codec" and "lossless" not in store.attrs
    assert (new / PRIOR_FILE).read_bytes() == (old / PRIOR_FILE).read_bytes()
    for item, codes in list(videos.items())[:2]:
        np.testing.assert_array_equal(store.codes(video_key(item)), codes)
    assert verify_store(str(new), progress=False)["ok"]
