"""The learned lossless stage: exact round trips, deterministic integer probabilities, damaged
chunks and priors of another codec refused."""

from __future__ import annotations

import zlib

import numpy as np
import pytest
import torch

from compressed_vision.codec.lossless import (
    CodingError,
    ContextPrior,
    IntegerPrior,
    LearnedPrior,
    PriorConfig,
    decode_chunk,
    encode_chunk,
    load_prior,
    save_prior,
)
from compressed_vision.codec.lossless.coder import chunk_bits
from compressed_vision.codec.lossless.model import integer_state
from compressed_vision.codec.lossless.train import examples, train_prior
from compressed_vision.errors import CheckpointError

CFG = PriorConfig(num_codebooks=3, codebook_size=16, embed_dim=4, hidden=8)


def fixed_state(cfg: PriorConfig, seed: int = 0) -> dict[str, torch.Tensor]:
    """Integer weights drawn with numpy (the same on every machine and torch version)."""
    rng = np.random.default_rng(seed)
    shapes = {k: v.shape for k, v in integer_state(ContextPrior(cfg)).items()}
    return {
        k: torch.from_numpy(rng.integers(-300, 300, s).astype(np.int32)) for k, s in shapes.items()
    }


def still_codes(seed: int, shape=(3, 9, 5, 6), k: int = 16) -> np.ndarray:
    """Codes where most indices repeat the previous step (as in real video)."""
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, k, shape)
    for t in range(1, shape[1]):
        keep = rng.random(shape[:1] + shape[2:]) < 0.7
        codes[:, t][keep] = codes[:, t - 1][keep]
    return codes


@pytest.fixture(scope="module")
def prior() -> IntegerPrior:
    return IntegerPrior(CFG, fixed_state(CFG))


@pytest.mark.parametrize("shape", [(3, 9, 5, 6), (3, 1, 1, 1), (3, 4, 1, 7), (3, 2, 6, 1)])
def test_round_trip_is_bit_exact(prior, shape):
    codes = still_codes(1, shape)
    data = encode_chunk(codes, prior)
    assert np.array_equal(decode_chunk(data, prior), codes)
    first = decode_chunk(data, prior, steps=2)  # a window read: the first steps only
    assert np.array_equal(first, codes[:, :2])


def test_random_and_extreme_indices_round_trip(prior):
    rng = np.random.default_rng(5)
    for codes in (rng.integers(0, 16, (3, 5, 4, 4)), np.full((3, 5, 4, 4), 15)):
        assert np.array_equal(decode_chunk(encode_chunk(codes, prior), prior), codes)


def test_quantised_frequencies_are_deterministic(prior):
    codes = still_codes(2)
    layout = CFG.layout(5, 6)
    buf = layout.load(codes)
    for g, p in layout.passes:
        batched = layout.gather(buf, np.arange(9), g, p)  # all steps at once (encoding)
        for t in (0, 4, 8):
            one = prior.frequencies(layout.gather(buf, t, g, p), g, p)  # one step (decoding)
            assert np.array_equal(one, prior.frequencies(batched[t], g, p))
            assert one.min() >= 1 and np.array_equal(one, np.round(one))
    # The bitstream is a function of the indices and the integer weights alone: this value
    # is the same on every machine (a change of it breaks every coded store).
    assert zlib.crc32(encode_chunk(codes, prior)) == GOLDEN_CRC


GOLDEN_CRC = 3625450388


def test_a_trained_prior_beats_uniform_and_its_bound_is_met():
    train = [still_codes(s, (3, 8, 4, 4)) for s in range(20)]
    model = train_prior(examples(train, CFG, 8), CFG, steps=60, batch=256, lr=1e-2)
    integer = IntegerPrior(CFG, integer_state(model))
    codes = still_codes(99, (3, 8, 4, 4))
    bits, written = chunk_bits(codes, integer), len(encode_chunk(codes, integer))
    assert bits < codes.size * 4 * 0.8  # uniform is 4 bits an index
    assert written * 8 < bits + 32 * 8 + 64  # header (28 bytes) and the coder's last word


def test_truncated_or_corrupted_chunks_are_errors(prior):
    codes = still_codes(3)
    data = encode_chunk(codes, prior)
    with pytest.raises(CodingError, match="truncated"):
        decode_chunk(data[:-5], prior)
    with pytest.raises(CodingError, match="truncated"):
        decode_chunk(data[:10], prior)
    flipped = bytearray(data)
    flipped[-3] ^= 0x10
    with pytest.raises(CodingError, match="checksum"):
        decode_chunk(bytes(flipped), prior)
    with pytest.raises(CodingError, match="magic"):
        decode_chunk(b"XXXX" + data[4:], prior)


def test_prior_of_another_codec_is_refused(tmp_path):
    prior = LearnedPrior(CFG, fixed_state(CFG), codec_fingerprint="aaaa")
    path = save_prior(tmp_path / "p.safetensors", prior)
    loaded = load_prior(path, "aaaa")
    assert loaded.fingerprint == prior.fingerprint
    with pytest.raises(CheckpointError, match="codec aaaa, not of codec bbbb"):
        load_prior(path, "bbbb")


def test_cli_trains_a_prior_for_a_codec(tmp_path):
    """`cvis codec prior` writes a prior tied to its codec: it loads for that codec alone."""
    from typer.testing import CliRunner

    from compressed_vision.cli.main import app
    from compressed_vision.codec import codec_fingerprint, save_codec
    from tests.store.conftest import tiny_codec

    codec, other = tiny_codec(0), tiny_codec(1)
    save_codec(tmp_path / "c.safetensors", codec)
    out = tmp_path / "p.safetensors"
    args = ["codec", "prior", "--codec", str(tmp_path / "c.safetensors"), "--data", "synthetic"]
    args += ["--clips", "2", "--frames", "8", "--size", "32", "--steps", "3", "--out", str(out)]
    res = CliRunner().invoke(app, args + ["--device", "cpu"])
    assert res.exit_code == 0, res.output
    prior = load_prior(out, codec_fingerprint(codec))
    assert prior.config.num_codebooks == codec.num_codebooks
    with pytest.raises(CheckpointError, match="not of codec"):
        load_prior(out, codec_fingerprint(other))
