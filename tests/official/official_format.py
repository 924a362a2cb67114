"""Small checkpoints in the official format, written by the tests themselves: random arrays
in the official Haiku parameter layout, with the official config nesting (a pickled dict of
`params`, `state`, `config`, ...), so the official codecs' tests never need the released
files."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from compressed_vision.codec.official.config import CodecKwargs

# A 2x-time codec like the released cr192 (16x spatial: 64x64 frames give 3x3 codes), and
# one without time compression like cr24 (8x spatial); both narrow, so they run fast.
TIME_2X = {
    "num_conv_layers": 4,
    "bot_channels": 16,
    "vq_embedding_dims": 4,
    "vq_num_embeddings": 16,
    "res_bot_mult": 1.0,
    "extra_encode_conv_layers": 1,
    "extra_decode_conv_layers": 1,
    "use_time_compression_2x": True,
}
NO_TIME = {**TIME_2X, "num_conv_layers": 3, "use_time_compression_2x": False}


def official_tree(model_kwargs: dict, seed: int = 0) -> dict:
    """{"params", "state", "config"} of a codec with random weights, as the official
    checkpoints hold them (Haiku module paths, channels-last kernels, codebooks (d, K))."""
    cfg = CodecKwargs.from_dict({"num_channels": 3, **model_kwargs})
    rng = np.random.default_rng(seed)

    def array(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    root = cfg.name
    enc, dec = f"{root}/~encode_embedding", f"{root}/~decode_embedding"
    k, c, r = cfg.kernel_shape, cfg.bot_channels, cfg.res_channels
    chans = [cfg.num_channels, *cfg.conv_channels]
    params: dict[str, dict[str, np.ndarray]] = {}
    for i, (cin, cout) in enumerate(zip(chans[:-1], chans[1:], strict=True)):
        params[f"{enc}/conv_{i}/conv3_d"] = {"w": array(*k, cin, cout)}
    if cfg.use_time_compression_2x:
        params[f"{enc}/conv_temporal/conv3_d"] = {"w": array(*k, c, c)}
        params[f"{dec}/decoder_temporal"] = {"w": array(*k, c, c), "b": array(c)}
    for side, prefix, count, kernel in (
        ("encoder", enc, cfg.extra_encode_conv_layers, cfg.extra_encode_conv_kernel),
        ("decoder", dec, cfg.extra_decode_conv_layers, cfg.extra_decode_conv_kernel),
    ):
        for i in range(count):
            params[f"{prefix}/{side}_res_0_{i}/conv3_d"] = {"w": array(*kernel, c, r)}
            params[f"{prefix}/{side}_res_1_{i}/conv3_d"] = {"w": array(1, 1, 1, r, c)}
    outs = [*reversed(cfg.conv_channels[:-1]), cfg.num_channels]
    for i, (cin, cout) in enumerate(zip([c, *outs[:-1]], outs, strict=True)):
        # Conv3DTranspose kernels are (kT, kH, kW, out, in).
        params[f"{dec}/decoder_{i}"] = {"w": array(*k, cout, cin), "b": array(cout, scale=0.05)}
    d, size = cfg.codebook_dim, cfg.codebook_size
    state = {
        f"{root}/~/vqvae_{g}": {"embeddings": array(d, size, scale=1.0)}
        for g in range(cfg.num_codebooks)
    }
    for g in range(cfg.num_codebooks):  # the EMA statistics beside them (unused at inference)
        state[f"{root}/~/vqvae_{g}/~/ema_cluster_size"] = {"average": array(size)}
    config = {"experiment_kwargs": {"config": {"model_kwargs": dict(model_kwargs)}}}
    return {"params": params, "state": state, "config": config}


def write_official(path: Path, model_kwargs: dict = TIME_2X, seed: int = 0) -> Path:
    """Write an official-format `.pkl` (protocol 4, as the released files) to `path`."""
    tree = official_tree(model_kwargs, seed)
    tree.update(augm_params=None, augm_state=None, augm_config=None)
    path.write_bytes(pickle.dumps(tree, protocol=4))
    return path
