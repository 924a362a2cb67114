from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader, DistributedSampler

from compressed_vision.errors import CVError
from compressed_vision.sources import folder_manifest, synthetic_manifest
from compressed_vision.sources.synthetic import SyntheticConfig
from compressed_vision.store import CodeStore, RandomCodeWindows, SequentialCodeWindows, build_store
from tests.store.conftest import tiny_codec


@pytest.fixture(scope="module")
def store_url(ucf_dir, codec, tmp_path_factory) -> str:
    out = str(tmp_path_factory.mktemp("ds") / "s.zarr")
    build_store(folder_manifest(ucf_dir), codec, out, progress=False, chunk_steps=4)
    return out  # 4 videos of 20, 37, 24 and 9 code steps


def test_random_windows_lie_inside_their_video(store_url):
    ds = RandomCodeWindows(store_url, steps=8)
    store = CodeStore(store_url)
    assert len(ds) == 4 and ds.lengths.tolist() == [20, 37, 24, 9]
    for _ in range(5):
        for v in range(4):
            item = ds[v]
            s = item["start"]
            assert item["codes"].shape == (4, 8, 4, 4) and item["codes"].dtype == torch.long
            assert 0 <= s <= ds.lengths[v] - 8 and item["valid"] == 8
            expected = store.read(ds.keys[v], s, s + 8)
            np.testing.assert_array_equal(item["codes"].numpy(), expected)
    assert [ds[v]["label"] for v in range(4)] == [1, 1, 2, 2]  # classes: bad, jump, run


def test_sequential_windows_cover_every_step_in_order(store_url):
    ds = SequentialCodeWindows(store_url, steps=16)
    store = CodeStore(store_url)
    assert len(ds) == 2 + 3 + 2 + 1
    parts: dict[int, list] = {}
    for i in range(len(ds)):
        item = ds[i]
        parts.setdefault(item["video"], []).append(item["codes"][:, : item["valid"]])
    for v, key in enumerate(ds.keys):
        np.testing.assert_array_equal(torch.cat(parts[v], 1).numpy(), store.codes(key)[:])
    short = ds[len(ds) - 1]  # the 9-step video, padded by repeating its last step
    assert short["valid"] == 9 and torch.equal(short["codes"][:, 15], short["codes"][:, 8])
    overlap = SequentialCodeWindows(store_url, steps=16, stride=8)
    assert [overlap.index[i].tolist() for i in range(3)] == [[0, 0], [0, 8], [1, 0]]


def test_latents_via_the_codec_quantizer_and_codec_check(store_url, codec):
    ds = SequentialCodeWindows(store_url, steps=4, codec=codec)
    plain = SequentialCodeWindows(store_url, steps=4)
    item = ds[3]
    expected = codec.quantize(plain[3]["codes"][None])[0]
    assert "codes" not in item and torch.equal(item["latents"], expected)
    with pytest.raises(CVError, match="written by codec"):
        RandomCodeWindows(store_url, 4, codec=tiny_codec(seed=1))


def test_per_frame_labels_are_subsampled_to_code_steps():
    codec = tiny_codec(temporal_factor=2)
    url = "memory://frame-labels"
    cfg = SyntheticConfig(num_videos=2, frames=11, size=32, segments=3)
    build_store(synthetic_manifest(cfg), codec, url, progress=False, chunk_steps=2)
    store = CodeStore(url)
    ds = SequentialCodeWindows(url, steps=4)
    for v, key in enumerate(ds.keys):
        frames = store.frame_labels(key)  # 11 frames -> 6 steps: middle frames 1, 3, .., 9, 10
        expected = frames[[1, 3, 5, 7, 9, 10]].tolist() + [-1, -1]
        got = torch.cat([ds[2 * v]["frame_labels"], ds[2 * v + 1]["frame_labels"]]).tolist()
        assert got == expected


def test_dataloader_workers_and_distributed_sampler(store_url):
    ds = RandomCodeWindows(store_url, steps=8)
    loader = DataLoader(ds, batch_size=2, num_workers=2)
    batches = list(loader)
    assert [b["codes"].shape for b in batches] == [(2, 4, 8, 4, 4)] * 2
    assert sorted(torch.cat([b["video"] for b in batches]).tolist()) == [0, 1, 2, 3]
    seq = SequentialCodeWindows(store_url, steps=8)
    seen = []
    for rank in range(2):
        sampler = DistributedSampler(seq, num_replicas=2, rank=rank, shuffle=False)
        for batch in DataLoader(seq, batch_size=3, sampler=sampler, num_workers=1):
            seen += list(zip(batch["video"].tolist(), batch["start"].tolist(), strict=True))
    assert set(seen) == set(map(tuple, seq.index.tolist()))  # the sampler pads to equal shares
    assert len(seen) == 2 * -(-len(seq) // 2)
