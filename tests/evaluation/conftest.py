"""Evaluation fixtures: real HAPT windows from the shared data folder (root ``shared_data``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def tiny(shared_data: Path) -> dict[str, np.ndarray]:
    """60 train windows (subjects 1, 3) and 60 test windows (subject 2), 10 per class."""
    with np.load(shared_data / "hapt" / "tiny_w128.npz") as d:
        return {k: d[k] for k in d.files}


@pytest.fixture(scope="session")
def hapt_subjects(shared_data: Path) -> dict[str, np.ndarray]:
    """A small subject-labelled subset of windows_w128: 6 subjects x 6 classes x 6 windows.

    (tiny_w128.npz has no subject ids, so subject-wise tests use this subset instead.)
    """
    with np.load(shared_data / "hapt" / "windows_w128.npz") as d:
        X, y, s = d["X_train"], d["y_train"], d["subject_train"]
    keep = []
    for subject in (1, 3, 5, 6, 7, 8):
        for cls in range(6):
            idx = np.flatnonzero((s == subject) & (y == cls))
            keep.extend(idx[:: max(1, idx.shape[0] // 6)][:6].tolist())
    keep = np.array(keep)
    return {"X": X[keep], "y": y[keep], "subject": s[keep]}


def stat_features(X: np.ndarray) -> np.ndarray:
    """Per-channel mean and standard deviation: a simple (n, 2C) embedding of raw windows."""
    return np.concatenate([X.mean(axis=-1), X.std(axis=-1)], axis=1)


@pytest.fixture(scope="session")
def stats():
    """The :func:`stat_features` embedding function."""
    return stat_features
