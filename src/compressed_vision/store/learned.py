"""Learned-coded chunks in a store: each chunk of a video's codes is one object
`videos/<key>/learned/<i>` (chunk i holds code steps i * chunk_steps ...), coded by
`codec.lossless` with the store's prior, which the store holds as `prior.safetensors`
(so a store is read without any other file)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import zarr
from zarr.core.buffer import default_buffer_prototype
from zarr.core.sync import sync

from ..codec.lossless import LearnedPrior, load_prior, save_prior

PRIOR_FILE = "prior.safetensors"
LEARNED = "learned"


def chunk_key(group_path: str, index: int) -> str:
    """The object of chunk `index` of the video group at `group_path`."""
    return f"{group_path}/{LEARNED}/{index}"


def put(root: zarr.Group, key: str, data: bytes) -> None:
    """Write one object into the store of `root`."""
    sync(root.store.set(key, default_buffer_prototype().buffer.from_bytes(data)))


def get(root: zarr.Group, key: str) -> bytes | None:
    """Read one object of the store of `root` (None: there is none)."""
    found = sync(root.store.get(key, prototype=default_buffer_prototype()))
    return None if found is None else found.to_bytes()


def write_prior(root: zarr.Group, prior: LearnedPrior) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = save_prior(Path(tmp) / PRIOR_FILE, prior)
        put(root, _prior_key(root), path.read_bytes())


def read_prior(root: zarr.Group, fingerprint: str, where: str) -> LearnedPrior:
    """The store's prior, refused unless it belongs to the store's codec."""
    data = get(root, _prior_key(root))
    if data is None:
        from ..errors import CVError

        raise CVError("the store is learned-coded but holds no prior", where)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / PRIOR_FILE
        path.write_bytes(data)
        prior = load_prior(path)
    prior.check_codec(fingerprint, where)
    return prior


def _prior_key(root: zarr.Group) -> str:
    return f"{root.path}/{PRIOR_FILE}" if root.path else PRIOR_FILE
