"""Haiku parameter trees of the official checkpoints -> our PyTorch state dicts.

Layout conversions (Haiku -> PyTorch):
- `hk.Conv3D` w (kT, kH, kW, in, out) -> (out, in, kT, kH, kW);
- `hk.Conv3DTranspose` w (kT, kH, kW, out, in) -> flipped in space, (in, out, kT, kH, kW)
  (see `layers.HaikuConvTranspose3d`);
- `hk.Linear` w (in, out) -> (out, in); `hk.LayerNorm` scale/offset -> weight/bias;
- VectorQuantizerEMA `embeddings` (d, K) in `state` -> row g of `codebooks` (G, K, d).
The EMA statistics (`ema_cluster_size`, `ema_dw`) only matter for training and are dropped.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ...errors import CheckpointError
from .config import AugmenterKwargs, CodecKwargs

Tree = dict[str, dict[str, np.ndarray]]


def _conv(w: np.ndarray) -> np.ndarray:
    return w.transpose(4, 3, 0, 1, 2)


def _conv_transpose(w: np.ndarray) -> np.ndarray:
    return w[::-1, ::-1, ::-1].transpose(4, 3, 0, 1, 2)


def _linear(w: np.ndarray) -> np.ndarray:
    return w.T


def _same(w: np.ndarray) -> np.ndarray:
    return w


class _Reader:
    """Takes arrays out of a Haiku tree by name, so leftovers can be reported."""

    def __init__(self, tree: Tree, what: str, path: str | Path | None) -> None:
        self.left = {(m, n): a for m, names in tree.items() for n, a in names.items()}
        self.what, self.path = what, path
        self.out: dict[str, torch.Tensor] = {}

    def take(
        self, module: str, name: str, key: str, fn: Callable[[np.ndarray], np.ndarray] = _same
    ) -> np.ndarray:
        try:
            array = self.left.pop((module, name))
        except KeyError:
            raise CheckpointError(f"{self.what} has no {module}/{name}", self.path) from None
        self.out[key] = torch.from_numpy(np.ascontiguousarray(fn(array), dtype=np.float32))
        return array

    def check_consumed(self, ignore: Callable[[str, str], bool]) -> None:
        rest = sorted(f"{m}/{n}" for m, n in self.left if not ignore(m, n))
        if rest:
            shown = ", ".join(rest[:5]) + (" ..." if len(rest) > 5 else "")
            raise CheckpointError(
                f"{self.what} has {len(rest)} entries this configuration does not use: {shown}",
                self.path,
            )


def codec_state_dict(
    params: Tree, state: Tree, cfg: CodecKwargs, path: str | Path | None = None
) -> dict[str, torch.Tensor]:
    """The codec's weights (prefix `codec.`) from the official `params` and `state`."""
    root = cfg.name
    enc, dec = f"{root}/~encode_embedding", f"{root}/~decode_embedding"
    r = _Reader(params, "params", path)
    for i in range(cfg.num_conv_layers):
        r.take(f"{enc}/conv_{i}/conv3_d", "w", f"codec.encoder.convs.{i}.weight", _conv)
    if cfg.use_time_compression_2x:
        r.take(f"{enc}/conv_temporal/conv3_d", "w", "codec.encoder.temporal.weight", _conv)
    for side, prefix, count in (
        ("encoder", enc, cfg.extra_encode_conv_layers),
        ("decoder", dec, cfg.extra_decode_conv_layers),
    ):
        for i in range(count):
            for j in (0, 1):
                module = f"{prefix}/{side}_res_{j}_{i}/conv3_d"
                r.take(module, "w", f"codec.{side}.res.{i}.conv{j + 1}.weight", _conv)
    ups = [(f"{dec}/decoder_{i}", f"codec.decoder.ups.{i}") for i in range(cfg.num_conv_layers)]
    if cfg.use_time_compression_2x:
        ups.append((f"{dec}/decoder_temporal", "codec.decoder.temporal"))
    for module, key in ups:
        r.take(module, "w", f"{key}.weight", _conv_transpose)
        r.take(module, "b", f"{key}.bias")
    r.check_consumed(ignore=lambda m, n: False)

    # Only the embeddings are needed; the EMA statistics beside them are left unread.
    s = _Reader(state, "state", path)
    books = [
        s.take(f"{root}/~/vqvae_{g}", "embeddings", f"{g}").T for g in range(cfg.num_codebooks)
    ]
    shapes = {b.shape for b in books}
    if len(shapes) != 1:
        raise CheckpointError(f"codebooks of different shapes {sorted(shapes)}", path)
    out = r.out
    out["codec.quantizer.codebooks"] = torch.from_numpy(np.stack(books).astype(np.float32))
    return out


def augmenter_dims(params: Tree, cfg: AugmenterKwargs, path: str | Path | None = None) -> dict:
    """What the augmenter's config lacks: `param_dim` and `positions`, read off the weights."""
    root = cfg.name or "neural_transformation"
    try:
        first = params[f"{root}/mlp/~/linear_0"]["w"]
        table = params[f"{root}/transformer_xl"]["position_embedding"]
    except KeyError as e:
        raise CheckpointError(f"augm_params lacks {e}", path) from None
    return {"param_dim": int(first.shape[0]), "positions": [int(n) for n in table.shape[:2]]}


def augmenter_state_dict(
    params: Tree, cfg: AugmenterKwargs, codec_root: str, path: str | Path | None = None
) -> dict[str, torch.Tensor]:
    """The augmenter's weights (prefix `augmenter.`) from the official `augm_params`."""
    root = cfg.name or "neural_transformation"
    tx = f"{root}/transformer_xl"
    r = _Reader(params, "augm_params", path)
    for i in range(len(cfg.channels) + 1):
        r.take(f"{root}/mlp/~/linear_{i}", "w", f"augmenter.mlp.{i}.weight", _linear)
        r.take(f"{root}/mlp/~/linear_{i}", "b", f"augmenter.mlp.{i}.bias")
    r.take(tx, "position_embedding", "augmenter.position_embedding")
    norms = [(f"{tx}/ln_f", "augmenter.ln_f")]
    for layer in range(cfg.num_hidden_layers):
        h, key = f"{tx}/h{layer}", f"augmenter.blocks.{layer}"
        norms += [(f"{h}_ln_time", f"{key}.ln_time"), (f"{h}_ln_space", f"{key}.ln_space")]
        norms.append((f"{h}_ln_2", f"{key}.ln_mlp"))
        for mode in ("time", "space"):
            for part in ("query", "key", "value"):
                module = f"{h}_{mode}_attn/{part}"
                r.take(module, "w", f"{key}.{mode}_attn.{part}.weight", _linear)
            r.take(f"{h}_{mode}_attn/linear", "w", f"{key}.{mode}_attn.out.weight", _linear)
            r.take(f"{h}_{mode}_attn/linear", "b", f"{key}.{mode}_attn.out.bias")
        for part, name in (("linear", "fc1"), ("linear_1", "fc2")):
            r.take(f"{h}_mlp/{part}", "w", f"{key}.{name}.weight", _linear)
            r.take(f"{h}_mlp/{part}", "b", f"{key}.{name}.bias")
    for module, key in norms:
        r.take(module, "scale", f"{key}.weight")
        r.take(module, "offset", f"{key}.bias")
    # The codec's own weights may be repeated in augm_params; they are not the augmenter's.
    r.check_consumed(ignore=lambda m, n: m.split("/")[0] == codec_root)
    return r.out


def official_state_dict(
    data: dict[str, Any],
    codec: CodecKwargs,
    augmenter: AugmenterKwargs | None,
    path: str | Path | None = None,
) -> dict[str, torch.Tensor]:
    """All weights of an `OfficialModel` from a checkpoint read by `read_official_checkpoint`."""
    out = codec_state_dict(data["params"], data["state"], codec, path)
    if augmenter is not None:
        params = data.get("augm_params")
        if not params:
            raise CheckpointError("augm_config is set but augm_params is empty", path)
        out.update(augmenter_state_dict(params, augmenter, codec.name, path))
    return out
