from __future__ import annotations

import numpy as np
import pytest

from swav_ts.data import Recording, sliding_windows, to_channels_first


def rec(n, labels=None, rid="r", subject=1, start=0.0, c=2):
    sig = np.stack([np.arange(n, dtype=np.float32) + 1000 * k for k in range(c)])
    return Recording(sig, labels, 10.0, [f"c{k}" for k in range(c)], start, rid, subject)


def test_windows_at_recording_edges_never_cross():
    a = rec(300, np.zeros(300, np.int64), "a", 1, start=5.0)
    b = rec(128, np.ones(128, np.int64), "b", 2)
    X, y, meta = sliding_windows([a, b], 128, 64)
    # a: starts 0, 64, 128 (128 + 128 = 256 <= 300; 192 + 128 = 320 > 300); b: exactly one window
    assert X.shape == (4, 2, 128) and X.dtype == np.float32
    assert list(meta["recording_id"]) == ["a", "a", "a", "b"]
    assert list(meta["start_index"]) == [0, 64, 128, 0]
    np.testing.assert_allclose(meta["start_time_s"], [5.0, 11.4, 17.8, 0.0])
    assert list(meta["subject"]) == [1, 1, 1, 2]
    np.testing.assert_array_equal(X[2, 0], np.arange(128, 256))  # last window of a ends at 255
    np.testing.assert_array_equal(X[3, 1], 1000 + np.arange(128))  # b starts fresh
    np.testing.assert_array_equal(y, [0, 0, 0, 1])


def test_label_at_last_sample_majority_vs_pure():
    lab = np.zeros(256, np.int64)
    lab[-1] = 7  # one different label at the very edge of the last window
    r = rec(256, lab)
    X, y, meta = sliding_windows(r, 128, 128, label_mode="majority")
    np.testing.assert_array_equal(y, [0, 0])
    np.testing.assert_allclose(meta["purity"], [1.0, 127 / 128])
    X, y, meta = sliding_windows(r, 128, 128, label_mode="pure")
    assert list(meta["start_index"]) == [0] and list(y) == [0]
    X, y, meta = sliding_windows(r, 128, 64, min_purity=0.995)
    assert list(meta["start_index"]) == [0, 64]
    X, y = sliding_windows(r, 128, 128, valid_labels=[0], return_meta=False)
    assert X.shape == (1, 2, 128)


def test_string_labels_majority_and_unlabelled():
    lab = np.array(["walk"] * 70 + ["sit"] * 58)
    X, y, _ = sliding_windows(rec(128, lab), 128, 1)
    assert list(y) == ["walk"]
    X, y, meta = sliding_windows([rec(200)], 100, 50)
    assert y is None and X.shape == (3, 2, 100) and meta["purity"].isna().all()


def test_nan_windows_dropped():
    r = rec(300)
    r.signals[0, 150] = np.nan
    X, _, meta = sliding_windows(r, 100, 50)
    assert list(meta["start_index"]) == [0, 50, 200]  # 100 and 150 contain sample 150
    X, _, _ = sliding_windows(r, 100, 50, nan="keep")
    assert len(X) == 5


def test_window_longer_than_recording_names_it():
    with pytest.raises(
        ValueError, match=r"recording 'short' has 100 samples, shorter than the window length 128"
    ):
        sliding_windows([rec(300, rid="long"), rec(100, rid="short")], 128, 64)


def test_bad_window_arguments():
    with pytest.raises(ValueError, match="positive integers"):
        sliding_windows(rec(300), 0, 1)
    with pytest.raises(ValueError, match="label_mode"):
        sliding_windows(rec(300), 10, 1, label_mode="mode")
    with pytest.raises(ValueError, match="some recordings have labels"):
        sliding_windows([rec(300), rec(300, np.zeros(300, int))], 10, 10)
    with pytest.raises(ValueError, match="channel counts"):
        sliding_windows([rec(300), rec(300, c=3)], 10, 10)
    with pytest.raises(ValueError, match="need labelled"):
        sliding_windows(rec(300), 10, 10, label_mode="pure")


def test_to_channels_first():
    X = np.random.default_rng(0).normal(size=(4, 50, 3))  # (n, T, C)
    out = to_channels_first(X, layout="ntc")
    assert out.shape == (4, 3, 50) and out.dtype == np.float32
    np.testing.assert_allclose(out[1, 2], X[1, :, 2], rtol=1e-6)
    same = to_channels_first(X)  # default "nct": never guessed from the shape
    assert same.shape == (4, 50, 3)
    with pytest.raises(ValueError, match="layout must be 'nct' or 'ntc', got 'tnc'"):
        to_channels_first(X, layout="tnc")
    with pytest.raises(ValueError, match=r"expected a 3-D array \(nct\), got shape \(4, 50\)"):
        to_channels_first(X[:, :, 0])
