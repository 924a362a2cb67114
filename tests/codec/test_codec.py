from __future__ import annotations

import pytest
import torch

from compressed_vision.checkpoint import save_checkpoint
from compressed_vision.codec import (
    CodecConfig,
    VideoCodec,
    codec_fingerprint,
    compression_rate,
    load_codec,
    preset,
    save_codec,
)
from compressed_vision.codec.files import (
    decode_to_file,
    encode_file,
    frames_to_tensor,
    load_code_file,
    save_code_file,
)
from compressed_vision.errors import CheckpointError, ShapeError, VideoError
from compressed_vision.video.io import read_video, write_video
from tests.conftest import moving_frames

CPU = torch.device("cpu")


def small_codec(**overrides) -> VideoCodec:
    torch.manual_seed(0)
    return VideoCodec(preset("tiny", channels=8, **overrides)).eval()


def test_compression_rate_formula():
    # 16 frames of 64x64 at 8x spatial, 4 codebooks of 256: 16*64*64*24 / (16*8*8*4*8)
    assert compression_rate((16, 64, 64), 16 * 8 * 8 * 4, 256) == pytest.approx(48.0)
    cfg = CodecConfig(spatial_factor=16, temporal_factor=2, num_codebooks=2, codebook_size=1024)
    expected = 32 * 128 * 128 * 24 / (16 * 8 * 8 * 2 * 10)
    assert cfg.compression_rate(32, 128, 128) == pytest.approx(expected)


@pytest.mark.parametrize("tf", [1, 2])
def test_encode_decode_shapes(tf):
    codec = small_codec(temporal_factor=tf)
    video = torch.rand(2, 3, 8, 32, 48)
    codes = codec.encode(video)
    assert codes.shape == (2, 4, 8 // tf, 4, 6) and codes.dtype == torch.int64
    assert int(codes.max()) < 256 and int(codes.min()) >= 0
    assert codec.quantize(codes).shape == (2, codec.latent_dim, 8 // tf, 4, 6)
    assert codec.decode(codes).shape == video.shape


def test_padding_rule_for_non_divisible_sizes():
    codec = small_codec(temporal_factor=2)
    video = torch.rand(1, 3, 5, 30, 41)  # pads to 6 x 32 x 48
    assert codec.encode(video).shape == (1, 4, 3, 4, 6)
    assert codec.reconstruct(video).shape == video.shape
    padded = codec.pad(video)
    torch.testing.assert_close(padded[:, :, :, 29], padded[:, :, :, 31])  # replicated edge rows
    torch.testing.assert_close(padded[:, :, 5, :30, :41], video[:, :, 4])  # last frame again


def test_too_small_video_is_a_clear_error():
    with pytest.raises(ShapeError, match="smaller than the codec's 8x"):
        small_codec().encode(torch.rand(1, 3, 4, 6, 64))
    with pytest.raises(ShapeError, match=r"\(B, 3, T, H, W\)"):
        small_codec().encode(torch.rand(3, 4, 64, 64))


def test_training_step_updates_codebooks_and_restarts_dead_codes():
    codec = small_codec()
    codec.train()
    codec(torch.rand(2, 3, 2, 32, 32))  # first batch initialises the codebooks from data
    assert bool(codec.quantizer.initialised)
    before = codec.quantizer.embeddings.clone()
    out = codec(torch.rand(2, 3, 2, 32, 32))
    assert not torch.equal(before, codec.quantizer.embeddings)
    q = codec.quantizer
    mean_use = q.recent_use.sum(-1, keepdim=True) / q.codebook_size
    assert (q.recent_use >= codec.config.dead_code_threshold * mean_use).all()  # none left dead
    assert out.vq.perplexity.shape == (4,)


def test_the_quantiser_picks_the_same_entries_under_bfloat16_autocast():
    """Under `--amp` the nearest entries are found in float32: the same codes as without
    (bfloat16 distances picked another entry for 1.4 % of these positions)."""
    from compressed_vision.codec.quantizer import MultiCodebookVQ

    torch.manual_seed(0)
    vq = MultiCodebookVQ(6, 256, 16).eval()
    vq.embeddings.copy_(torch.nn.functional.normalize(torch.randn_like(vq.embeddings), dim=-1))
    z = torch.randn(2, 6 * 16, 2, 8, 8)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        mixed = vq(z).codes
    assert torch.equal(mixed, vq(z).codes)


def test_checkpoint_round_trip_gives_identical_outputs(tmp_path):
    codec = small_codec()
    codec.train()
    codec(torch.rand(2, 3, 2, 32, 32))
    codec.eval()
    path = save_codec(tmp_path / "c.safetensors", codec)
    loaded = load_codec(path)
    video = torch.rand(1, 3, 4, 32, 32)
    assert torch.equal(codec.encode(video), loaded.encode(video))
    assert torch.equal(codec.decode(codec.encode(video)), loaded.decode(loaded.encode(video)))
    assert codec_fingerprint(codec) == codec_fingerprint(loaded)


def test_wrong_checkpoints_are_refused(tmp_path):
    other = save_checkpoint(tmp_path / "cls.safetensors", {"w": torch.zeros(1)}, "classifier", {})
    with pytest.raises(CheckpointError, match="expected 'codec'"):
        load_codec(other)
    junk = tmp_path / "junk.safetensors"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load_codec(junk)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_codec(tmp_path / "missing.safetensors")


def test_streaming_file_encode_equals_whole_clip_encode(tmp_path):
    frames = moving_frames(40, 32, 32)  # 40 frames: two full 16-step windows and a partial one
    path = write_video(tmp_path / "v.mp4", frames, fps=25)
    codec = small_codec(temporal_factor=2)
    codes, meta = encode_file(codec, path, CPU)
    whole = codec.encode(frames_to_tensor(read_video(path)), window=1000)[0]
    assert torch.equal(codes, whole)
    assert meta["frames"] == 40 and (meta["height"], meta["width"]) == (32, 32)


def test_code_file_round_trip_and_decode(tmp_path, clip_path):
    codec = small_codec()
    codes, meta = encode_file(codec, clip_path, CPU)
    save_code_file(tmp_path / "c.npz", codes, meta)
    codes2, meta2 = load_code_file(tmp_path / "c.npz")
    assert torch.equal(codes, codes2) and meta == meta2
    out = decode_to_file(codec, codes2, meta2, tmp_path / "out.mp4", CPU)
    assert read_video(out).shape == (20, 48, 64, 3)


def test_encode_file_errors_name_the_file(tmp_path):
    codec = small_codec()
    tiny = write_video(tmp_path / "tiny.mp4", moving_frames(4, 6, 6))
    with pytest.raises(VideoError, match="tiny.mp4.*smaller than"):
        encode_file(codec, tiny, CPU)
    with pytest.raises(VideoError, match="no such file"):
        encode_file(codec, tmp_path / "absent.mp4", CPU)
