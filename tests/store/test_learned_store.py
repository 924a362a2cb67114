"""Stores built with `--lossless learned` (chunk codec "learned", the prior inside the store):
the same indices as zstd, verified, damage named (a chunk: the pack, the video and its code
steps; the prior: its file)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from compressed_vision.cli.store import store_app
from compressed_vision.codec import codec_fingerprint
from compressed_vision.codec.lossless import LearnedPrior, PriorConfig, save_prior
from compressed_vision.errors import CVError
from compressed_vision.sources import folder_manifest
from compressed_vision.store import CodeStore, build_store, verify_store
from compressed_vision.store.chunks import PRIOR_FILE
from compressed_vision.store.index import pack_path
from tests.codec.test_lossless import fixed_state


def tiny_prior(codec, fingerprint: str | None = None) -> LearnedPrior:
    cfg = PriorConfig(codec.config.num_codebooks, codec.codebook_size, embed_dim=4, hidden=8)
    return LearnedPrior(cfg, fixed_state(cfg), fingerprint or codec_fingerprint(codec))


@pytest.fixture
def stores(ucf_dir, codec, tmp_path):
    zstd, learned = tmp_path / "z.zarr", tmp_path / "l.zarr"
    manifest = folder_manifest(ucf_dir)
    build_store(manifest, codec, str(zstd), progress=False, chunk_steps=4)
    build_store(
        manifest, codec, str(learned), progress=False, chunk_steps=4, prior=tiny_prior(codec)
    )
    return CodeStore(str(zstd)), CodeStore(str(learned))


def test_learned_store_reads_the_same_indices_as_zstd(stores, codec):
    zstd, learned = stores
    prior = tiny_prior(codec).fingerprint
    assert learned.attrs["chunk_codec"] == {"name": "learned", "prior": prior}
    assert zstd.attrs["chunk_codec"]["name"] == "zstd"
    entries = zstd.entries()
    assert [e.key for e in entries] == [e.key for e in learned.entries()] and len(entries) == 4
    for e in entries:
        assert np.array_equal(zstd.read(e.key, 0, e.steps), learned.read(e.key, 0, e.steps))
        for start, stop in [(1, 3), (3, 9), (e.steps - 1, e.steps + 5)]:  # windows over chunks
            assert np.array_equal(zstd.read(e.key, start, stop), learned.read(e.key, start, stop))
    assert verify_store(learned.url, progress=False)["ok"]


def test_damaged_learned_chunk_names_pack_video_and_steps(stores):
    _, learned = stores
    key = learned.entries()[1].key
    record = learned.state.index.videos[key]
    pack = Path(learned.url) / pack_path(record.pack)
    start = record.offset + record.chunks[0]  # chunk 1: code steps 4-7
    data = bytearray(pack.read_bytes())
    data[start + record.chunks[1] - 2] ^= 0xFF
    pack.write_bytes(bytes(data))
    what = f"damaged chunk of video {key} .code steps 4-7.: CodingError"
    with pytest.raises(CVError, match=f"{re.escape(str(pack))}: {what}.*checksum"):
        CodeStore(learned.url).read(key, 0, 8)
    assert CodeStore(learned.url).read(key, 0, 4).shape[1] == 4  # the chunk before still reads
    data[start + 16 : start + 20] = bytes(4)  # the count of words in the header: 0
    pack.write_bytes(bytes(data))
    with pytest.raises(CVError, match=f"{what}.*truncated or padded"):
        CodeStore(learned.url).read(key, 5, 6)
    result = verify_store(learned.url, progress=False)
    assert not result["ok"] and list(result["damaged"]) == [key]


@pytest.mark.parametrize(
    "damage, reason",
    [
        (lambda p: p.unlink(), "learned-coded but holds no prior"),
        (lambda p: p.write_bytes(p.read_bytes()[:100]), "not a safetensors checkpoint"),
        (lambda p: p.write_bytes(p.read_bytes()[:-1] + b"x"), "not the one its codes were"),
    ],
)
def test_a_missing_or_damaged_prior_refuses_the_store(stores, damage, reason):
    _, learned = stores
    path = Path(learned.url) / PRIOR_FILE
    damage(path)
    with pytest.raises(CVError, match=f"{re.escape(str(path))}: .*{reason}"):
        CodeStore(learned.url)
    run = CliRunner().invoke(store_app, ["verify", learned.url])
    assert run.exit_code == 2 and reason in run.output and "Traceback" not in run.output


def test_prior_of_another_codec_is_refused(ucf_dir, codec, tmp_path):
    with pytest.raises(CVError, match="trained on the codes of codec 0000"):
        build_store(
            folder_manifest(ucf_dir),
            codec,
            str(tmp_path / "x.zarr"),
            progress=False,
            prior=tiny_prior(codec, "0000"),
        )


def test_cli_build_learned_and_verify(codec, codec_path, tmp_path):
    prior = save_prior(tmp_path / "p.safetensors", tiny_prior(codec))
    runner = CliRunner()
    out = str(tmp_path / "s.zarr")
    args = ["build", "synthetic?num_videos=2&frames=8", "--codec", str(codec_path), "--out", out]
    args += ["--size", "32", "--device", "cpu", "--lossless", "learned", "--prior", str(prior)]
    run = runner.invoke(store_app, args)
    assert run.exit_code == 0, run.output
    run = runner.invoke(store_app, ["verify", out])
    assert run.exit_code == 0 and "2 videos checked, 0 damaged" in run.output
    run = runner.invoke(store_app, [*args[:-4], "--lossless", "zstd"])  # resume as zstd: refused
    assert run.exit_code == 2 and "chunk_codec={'name': 'learned'" in run.output
