"""Stores built with `--lossless learned`: the same indices as zstd, verified, damage named."""

from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

from compressed_vision.codec import codec_fingerprint
from compressed_vision.codec.lossless import LearnedPrior, PriorConfig, save_prior
from compressed_vision.errors import CVError
from compressed_vision.store import CodeStore, build_store, folder_manifest, verify_store
from compressed_vision.store.cli import store_app
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


def test_learned_store_reads_the_same_indices_as_zstd(stores):
    zstd, learned = stores
    assert learned.lossless == "learned" and zstd.lossless == "zstd"
    entries = zstd.entries()
    assert [e.key for e in entries] == [e.key for e in learned.entries()] and len(entries) == 4
    for e in entries:
        assert np.array_equal(zstd.read(e.key, 0, e.steps), learned.read(e.key, 0, e.steps))
        for start, stop in [(1, 3), (3, 9), (e.steps - 1, e.steps + 5)]:  # windows over chunks
            assert np.array_equal(zstd.read(e.key, start, stop), learned.read(e.key, start, stop))
    assert verify_store(learned.url, progress=False)["ok"]


def test_damaged_learned_chunk_names_video_and_chunk(stores):
    _, learned = stores
    key = learned.entries()[1].key
    path = learned.url + f"/videos/{key}/learned/1"
    data = bytearray(open(path, "rb").read())
    data[-2] ^= 0xFF
    open(path, "wb").write(bytes(data))
    with pytest.raises(CVError, match=f"damaged chunk 1 of video {key} .code steps 4-7.*checksum"):
        learned.read(key, 0, 8)
    assert learned.read(key, 0, 4).shape[1] == 4  # the chunk before still reads
    open(path, "wb").write(bytes(data[:-9]))  # truncated
    with pytest.raises(CVError, match=f"damaged chunk 1 of video {key}.*truncated"):
        learned.read(key, 5, 6)
    result = verify_store(learned.url, progress=False)
    assert not result["ok"] and list(result["damaged"]) == [key]


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
    assert run.exit_code == 2 and "lossless='learned'" in run.output
