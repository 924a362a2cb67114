"""The port of the official Compressed Vision checkpoints, against the official reference data."""

from __future__ import annotations

import json
import os
import pickle
import shlex
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from compressed_vision.codec.official import (
    OfficialModel,
    convert_official,
    load_official,
    read_official_checkpoint,
)
from compressed_vision.errors import CheckpointError, ShapeError

REF = Path(__file__).parents[2].parent / "shared" / "reference" / "official"
NAMES = ["codec_cr24", "codec_cr192_aug_flip"]
TOL = 1e-4

needs_ref = pytest.mark.skipif(
    not REF.is_dir(), reason=f"official reference vectors not found at {REF}"
)


def ours(array: np.ndarray) -> torch.Tensor:
    """Official channels-last (B, T, H, W, C) -> our (B, C, T, H, W)."""
    return torch.from_numpy(np.asarray(array)).permute(0, 4, 1, 2, 3)


def max_err(tensor: torch.Tensor, expected: np.ndarray) -> float:
    return (tensor.permute(0, 2, 3, 4, 1) - torch.from_numpy(expected)).abs().max().item()


@pytest.fixture(scope="module", params=NAMES)
def case(request) -> tuple[str, OfficialModel, dict, dict]:
    if not REF.is_dir():
        pytest.skip(f"official reference vectors not found at {REF}")
    name = request.param
    model = load_official(REF / f"{name}.pkl")
    expected = dict(np.load(REF / f"{name}_expected.npz"))
    info = json.loads((REF / f"{name}.json").read_text())
    return name, model, expected, info


@torch.no_grad()
def test_codes_are_identical(case) -> None:
    _, model, exp, _ = case
    codes = model.encode(ours(exp["input"]))
    assert codes.dtype == torch.int64
    assert torch.equal(codes, ours(exp["codes"]).long())


@torch.no_grad()
def test_quantized_and_reconstruction(case) -> None:
    _, model, exp, _ = case
    latents = model.quantize(ours(exp["codes"]))
    assert max_err(latents, exp["quantized"]) <= TOL
    video = model.decode(ours(exp["codes"]))
    assert video.shape == ours(exp["reconstruction"]).shape
    assert max_err(video, exp["reconstruction"]) <= TOL
    assert torch.allclose(model.decode_latents(latents), video)


@torch.no_grad()
def test_augmenter(case) -> None:
    name, model, exp, _ = case
    latents = model.quantize(ours(exp["codes"]))
    if "aug_flip_param" not in exp:
        assert model.augmentation_type is None
        with pytest.raises(CheckpointError, match="no augmentation network"):
            model.augment(latents, torch.ones(latents.shape[0], 1, 1))
        return
    assert model.augmentation_type == "flip"
    for which in ("flip", "noflip"):
        out = model.augment(latents, torch.from_numpy(exp[f"aug_{which}_param"]))
        assert max_err(out, exp[f"aug_{which}_quantized"]) <= TOL, which
    flipped = model.augment(latents, torch.from_numpy(exp["aug_flip_param"]))
    assert max_err(model.decode_latents(flipped), exp["aug_flip_reconstruction"]) <= TOL
    with pytest.raises(ShapeError):  # the position table fixes the latent grid
        model.augment(latents[:, :, :2], torch.from_numpy(exp["aug_flip_param"]))


def test_shapes_and_compression_rate(case) -> None:
    _, model, exp, info = case
    kwargs = info["model_kwargs"]
    assert model.num_codebooks == kwargs["bot_channels"] // kwargs["vq_embedding_dims"]
    assert model.codebook_size == kwargs["vq_num_embeddings"]
    assert model.latent_dim == info["quantized_shape"][-1]
    video_shape = ours(exp["input"]).shape
    b, t, h, w, g = info["codes_shape"]
    assert model.code_shape(video_shape) == (g, t, h, w)
    assert model.compression_rate(video_shape) == pytest.approx(info["compression_rate"])


def test_bad_inputs_raise_shape_error(case) -> None:
    _, model, _, _ = case
    with pytest.raises(ShapeError):
        model.encode(torch.zeros(1, 4, 8, 64, 64))
    with pytest.raises(ShapeError):
        model.encode(torch.zeros(1, 3, 8, 4, 4))
    with pytest.raises(ShapeError):
        model.quantize(torch.full((1, model.num_codebooks, 1, 2, 2), model.codebook_size))


@torch.no_grad()
def test_safetensors_round_trip(case, tmp_path: Path) -> None:
    name, model, exp, _ = case
    out = convert_official(REF / f"{name}.pkl", tmp_path / f"{name}.safetensors")
    again = load_official(out)
    assert again.config() == model.config()
    video = ours(exp["input"])
    codes = model.encode(video)
    assert torch.equal(again.encode(video), codes)
    assert torch.equal(again.decode(codes), model.decode(codes))
    if model.augmenter is not None:
        latents, params = model.quantize(codes), torch.from_numpy(exp["aug_flip_param"])
        assert torch.equal(again.augment(latents, params), model.augment(latents, params))


@needs_ref
def test_read_official_checkpoint() -> None:
    data = read_official_checkpoint(REF / "codec_cr192_aug_flip.pkl")
    assert data["config"].experiment_kwargs.config.model_kwargs["num_conv_layers"] == 4
    aug = data["augm_config"]["experiment_kwargs"]["config"]["augmentation"]
    assert aug["type"] == "flip" and aug["kwargs"]["channels"] == (64, 64, 64)
    assert data["params"]  # Haiku trees of numpy arrays
    for tree in (data["params"], data["state"], data["augm_params"]):
        assert all(isinstance(a, np.ndarray) for m in tree.values() for a in m.values())


# -- hostile and odd files -----------------------------------------------------------------


class _RunsShell:
    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"echo pwned > {shlex.quote(str(self.marker))}",))


class Tattler:
    """An unknown class whose __setstate__ would leave a trace if it ever ran."""

    def __setstate__(self, state) -> None:
        Path(state["marker"]).write_text("ran")


def _checkpoint_with(payload, path: Path) -> Path:
    data = {"params": {}, "state": {}, "config": payload}
    path.write_bytes(pickle.dumps(data, protocol=4))
    return path


@pytest.mark.parametrize("reader", [read_official_checkpoint, load_official])
def test_refuses_code_execution(tmp_path: Path, reader) -> None:
    marker = tmp_path / "pwned"
    path = _checkpoint_with(_RunsShell(marker), tmp_path / "evil.pkl")
    with pytest.raises(CheckpointError, match="system") as info:
        reader(path)
    assert "evil.pkl" in str(info.value)
    assert not marker.exists()


def test_refuses_unknown_class(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    tattler = Tattler()
    tattler.__dict__["marker"] = str(marker)
    path = _checkpoint_with(tattler, tmp_path / "unknown.pkl")
    with pytest.raises(CheckpointError, match="Tattler"):
        load_official(path)
    assert not marker.exists()


def test_refuses_object_arrays(tmp_path: Path) -> None:
    path = _checkpoint_with(np.array([1, "a"], dtype=object), tmp_path / "objects.pkl")
    with pytest.raises(CheckpointError, match="object"):
        read_official_checkpoint(path)


def test_refuses_garbage_and_missing(tmp_path: Path) -> None:
    junk = tmp_path / "junk.pkl"
    junk.write_bytes(b"\x80\x04not a pickle at all")
    with pytest.raises(CheckpointError):
        load_official(junk)
    with pytest.raises(CheckpointError, match="no such"):
        load_official(tmp_path / "missing.pkl")
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    with pytest.raises(CheckpointError):
        load_official(text)


def test_numpy1_spelling_and_config_classes(tmp_path: Path, monkeypatch) -> None:
    """Files from numpy 1.x name numpy.core; ConfigDict/FieldReference need no ml_collections."""
    mod_name = "ml_collections.config_dict.config_dict"
    fake = types.ModuleType(mod_name)

    class ConfigDict:
        pass

    class FieldReference:
        pass

    for cls in (ConfigDict, FieldReference):
        cls.__module__, cls.__qualname__ = mod_name, cls.__name__
        setattr(fake, cls.__name__, cls)
    for name in ("ml_collections", "ml_collections.config_dict", mod_name):
        monkeypatch.setitem(sys.modules, name, fake)
    ref = FieldReference()
    ref.__dict__.update(_value=3, _field_type=int, _ops=[], _required=False)
    config = ConfigDict()
    config.__dict__.update(_fields={"layers": ref, "name": "x"}, _locked=False)
    data = {"params": {"m": {"w": np.arange(6, dtype=np.float32)}}, "state": {}, "config": config}
    raw = pickle.dumps(data, protocol=3)  # no frames; GLOBAL spells names as text
    assert b"numpy._core.multiarray" in raw
    path = tmp_path / "old.pkl"
    path.write_bytes(raw.replace(b"numpy._core.multiarray", b"numpy.core.multiarray"))
    monkeypatch.delitem(sys.modules, mod_name)  # reading must not need the real classes
    out = read_official_checkpoint(path)
    assert out["config"] == {"layers": 3, "name": "x"}
    assert out["config"].layers == 3
    np.testing.assert_array_equal(out["params"]["m"]["w"], np.arange(6, dtype=np.float32))
