from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from swav_ts.data import Recording, RecordingContextDataset, WindowDataset, write_recording_cache


def recs():
    rng = np.random.default_rng(0)
    return [
        Recording(
            rng.normal(size=(3, n)).astype(np.float32),
            np.arange(n) % 3,
            50.0,
            ["a", "b", "c"],
            0.0,
            f"r{i}",
            i,
        )
        for i, n in enumerate([100, 37, 64])
    ]


def test_window_dataset_array_and_npy(tmp_path):
    X = np.arange(2 * 3 * 5, dtype=np.float64).reshape(2, 3, 5)
    ds = WindowDataset(X)
    assert len(ds) == 2 and ds[1].dtype == torch.float32 and ds[1].shape == (3, 5)
    np.save(tmp_path / "X.npy", X.astype(np.float32))
    ds = WindowDataset(tmp_path / "X.npy", y=np.array([0, 1]))
    assert isinstance(ds.X, np.memmap)
    x, y = ds[1]
    x[:] = -1  # a copy: the memmap is unchanged
    assert ds.X[1, 0, 0] == 15 and int(y) == 1
    with pytest.raises(ValueError, match=r"\(n, C, T\)"):
        WindowDataset(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="y has 3 entries for 2 windows"):
        WindowDataset(X, y=[0, 1, 2])


def test_cache_roundtrip_and_contexts(tmp_path):
    rs = recs()
    d = write_recording_cache(rs, tmp_path / "cache")
    index = json.loads((d / "index.json").read_text())
    assert [e["n_samples"] for e in index["recordings"]] == [100, 37, 64]
    ds = RecordingContextDataset(d, context_length=32, stride=16, max_open=1)
    # r0: 0,16,32,48,64 ; r1: 0 ; r2: 0,16,32
    assert len(ds) == 9
    assert [ds.item_info(i) for i in (4, 5, 6)] == [("r0", 64), ("r1", 0), ("r2", 0)]
    for i in range(len(ds)):
        rid, s = ds.item_info(i)
        k = int(rid[1:])
        x = ds[i]
        assert x.dtype == torch.float32 and x.shape == (3, 32)
        np.testing.assert_array_equal(x.numpy(), rs[k].signals[:, s : s + 32])
    assert len(ds._open) == 1  # LRU keeps one map open
    mem = RecordingContextDataset(rs, context_length=32, stride=16)
    assert len(mem) == 9 and torch.equal(mem[6], ds[6])
    # picklable for worker processes without carrying the maps
    clone = pickle.loads(pickle.dumps(ds))
    assert len(clone._open) == 0 and torch.equal(clone[3], ds[3])
    batches = list(DataLoader(ds, batch_size=4))
    assert [b.shape for b in batches] == [(4, 3, 32), (4, 3, 32), (1, 3, 32)]
    assert np.load(d / index["recordings"][0]["labels_file"]).shape == (100,)


def test_bare_npy_dir_and_errors(tmp_path):
    np.save(tmp_path / "x0.npy", np.zeros((2, 50), np.float32))
    np.save(tmp_path / "x1.npy", np.ones((2, 70), np.float32))
    ds = RecordingContextDataset(tmp_path, context_length=50)
    assert len(ds) == 2 and ds.recording_ids == ["x0", "x1"]
    with pytest.raises(ValueError, match=r"context_length=80 .*longest: 70"):
        RecordingContextDataset(tmp_path, context_length=80)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match="no index.json and no .npy"):
        RecordingContextDataset(empty, context_length=5)
    with pytest.raises(ValueError, match="appears twice"):
        write_recording_cache([recs()[0], recs()[0]], tmp_path / "dup")
    with pytest.raises(IndexError):
        ds[5]
