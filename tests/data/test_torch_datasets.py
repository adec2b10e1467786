from __future__ import annotations

import pickle

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from swav_ts.data import ContextDataset, Recording, RecordingCache, WindowDataset


def recs(nan_at=None):
    rng = np.random.default_rng(0)
    out = [
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
    if nan_at is not None:
        out[0].signals[1, nan_at] = np.nan
    return out


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


def test_cache_round_trip_and_contexts(tmp_path):
    rs = recs()
    cache = RecordingCache.write(iter(rs), tmp_path / "cache", fingerprint="f1")
    assert [r.n_samples for r in cache.recordings] == [100, 37, 64]
    assert cache.channel_names == ["a", "b", "c"]
    # the statistics were streamed, and equal the whole data's (no value is an outlier)
    allx = np.concatenate([r.signals for r in rs], axis=1).astype(np.float64)
    np.testing.assert_allclose(cache.stats.mean, allx.mean(axis=1), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(cache.stats.std, allx.std(axis=1), rtol=1e-10)
    ds = ContextDataset(cache, context_length=32, stride=16)
    # r0: 0,16,32,48,64 ; r1: 0 ; r2: 0,16,32
    assert len(ds) == 9
    assert [ds.item_info(i) for i in (4, 5, 6)] == [("r0", 64), ("r1", 0), ("r2", 0)]
    for i in range(len(ds)):
        rid, s = ds.item_info(i)
        k = int(rid[1:])
        x = ds[i]
        assert x.dtype == torch.float32 and x.shape == (3, 32)
        np.testing.assert_array_equal(x.numpy(), rs[k].signals[:, s : s + 32])
    # reopened from disk; picklable for worker processes (each opens its own handle)
    again = RecordingCache.open_if_fresh(tmp_path / "cache", "f1")
    assert again is not None and RecordingCache.open_if_fresh(tmp_path / "cache", "f2") is None
    clone = pickle.loads(pickle.dumps(ds))
    assert clone.cache._fd is None and torch.equal(clone[3], ds[3])
    batches = list(DataLoader(ds, batch_size=4, num_workers=2))
    assert [b.shape for b in batches] == [(4, 3, 32), (4, 3, 32), (1, 3, 32)]
    assert torch.equal(torch.cat(batches), torch.stack([ds[i] for i in range(9)]))


def test_contexts_holding_nan_are_dropped_by_the_window_rules(tmp_path):
    cache = RecordingCache.write(recs(nan_at=40), tmp_path / "c")
    assert cache.recordings[0].nan_runs == ((40, 41),)
    ds = ContextDataset(cache, context_length=32, stride=16)
    assert ds.plan.nan_dropped == 2  # r0 starts 16 and 32 hold sample 40
    assert [ds.item_info(i) for i in range(3)] == [("r0", 0), ("r0", 48), ("r0", 64)]
    assert all(torch.isfinite(ds[i]).all() for i in range(len(ds)))
    # NaN is left out of the statistics, not propagated
    assert np.isfinite(cache.stats.mean).all() and np.isfinite(cache.stats.std).all()


def test_cache_errors(tmp_path):
    with pytest.raises(ValueError, match="appears twice"):
        RecordingCache.write([recs()[0], recs()[0]], tmp_path / "dup")
    other = recs()
    other[1].channel_names = ["a", "c", "b"]
    with pytest.raises(ValueError, match=r"channels \['a', 'c', 'b'\].*first recording has"):
        RecordingCache.write(other, tmp_path / "order")
    with pytest.raises(ValueError, match="no recordings to cache"):
        RecordingCache.write([], tmp_path / "empty")
    with pytest.raises(ValueError, match="holds no recording cache"):
        RecordingCache.open(tmp_path / "nowhere")
    cache = RecordingCache.write(recs(), tmp_path / "ok")
    with pytest.raises(ValueError, match=r"no context of 200 samples.*longest recording has 100"):
        ContextDataset(cache, context_length=200, stride=16)
    ds = ContextDataset(cache, context_length=50, stride=50)
    with pytest.raises(IndexError):
        ds[len(ds)]
    with pytest.raises(IndexError, match="outside recording 'r1'"):
        cache.read(1, 30, 10)
    # a truncated signals file is refused, naming the fix
    path = tmp_path / "ok" / "signals.f32"
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(ValueError, match="damaged: delete the folder"):
        RecordingCache.open(tmp_path / "ok")


@pytest.mark.parametrize("n_channels", [1, 3])
def test_contexts_are_writable_copies(tmp_path, n_channels):
    # one channel used to give a view of the read's immutable bytes (torch warned)
    rec = recs()[0]
    rec = Recording(rec.signals[:n_channels].copy(), None, 50.0, ["a", "b", "c"][:n_channels],
                    0.0, "r0", 0)  # fmt: skip
    cache = RecordingCache.write(iter([rec]), tmp_path / "cache", fingerprint="f1")
    block = cache.read(0, 10, 32)
    assert block.flags.writeable and block.flags.c_contiguous and block.shape == (n_channels, 32)
    block[:] = 0.0  # changes the copy only
    np.testing.assert_array_equal(cache.read(0, 10, 32), rec.signals[:, 10:42])
