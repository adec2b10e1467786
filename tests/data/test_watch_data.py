"""The shipped smartwatch windows (datasets/watch, from seglearn's bundled recordings): what
datasets/README.md says of them, and the script that cuts them."""

import importlib.util
from pathlib import Path

import numpy as np

WATCH = Path(__file__).resolve().parents[2] / "datasets" / "watch"


def test_shipped_windows_are_a_50hz_imu_in_g_and_rad_per_s():
    X = np.load(WATCH / "watch_windows.npy", mmap_mode="r")
    assert X.shape == (1833, 6, 128) and X.dtype == np.float16
    X = np.asarray(X, dtype=np.float32)
    assert np.isfinite(X).all()
    # accelerometer in g: gravity's magnitude about 1; gyroscope in rad/s (not deg/s)
    assert 0.9 < np.median(np.linalg.norm(X[:, :3], axis=1)) < 1.3
    assert np.percentile(np.abs(X[:, 3:]), 99) < 20


def test_prepare_cuts_back_to_back_windows_and_drops_the_tail():
    spec = importlib.util.spec_from_file_location("watch_prepare", WATCH / "prepare.py")
    prepare = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prepare)
    rec = np.arange(300 * 6, dtype=np.float64).reshape(300, 6)  # (n_samples, 6)
    W = prepare.windows_of([rec, rec[:127]])  # 2 windows, then a recording under one window
    assert W.shape == (2, 6, 128)
    np.testing.assert_array_equal(W[1, 2], rec[128:256, 2])
