"""Evaluation fixtures: real HAPT windows built from the shipped ``datasets/hapt``."""

from __future__ import annotations

import numpy as np
import pytest

from tests import fixtures


@pytest.fixture(scope="session")
def tiny(hapt_tiny) -> dict[str, np.ndarray]:
    """60 train windows (subjects 1, 3) and 60 test windows (subject 2), 10 per class."""
    return hapt_tiny


@pytest.fixture(scope="session")
def hapt_subjects() -> dict[str, np.ndarray]:
    """A small subject-labelled subset of the training windows: 6 subjects x 6 classes x 6."""
    return fixtures.hapt_subject_subset()


def stat_features(X: np.ndarray) -> np.ndarray:
    """Per-channel mean and standard deviation: a simple (n, 2C) embedding of raw windows."""
    return np.concatenate([X.mean(axis=-1), X.std(axis=-1)], axis=1)


@pytest.fixture(scope="session")
def stats():
    """The :func:`stat_features` embedding function."""
    return stat_features
