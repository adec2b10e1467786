"""The ridge probe is MiniRocket's classifier: the same predictions as aeon's pipeline."""

import numpy as np
import pytest
from sklearn.linear_model import RidgeClassifierCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from swav_ts.evaluation.ridge import RIDGE_ALPHAS, ridge_probe


def _blobs(seed: int, n: int = 90, d: int = 40):
    fixed = np.random.default_rng(99)  # the same classes and feature scales in every draw
    centres, scales = fixed.normal(0, 1.0, (3, d)), fixed.uniform(0.1, 50, d)
    rng = np.random.default_rng(seed)
    y = np.repeat(np.array(["a", "b", "c"]), n // 3)
    X = centres[np.searchsorted(["a", "b", "c"], y)] + rng.normal(0, 2.0, (n, d))
    return X * scales, y  # features on very different scales


def test_ridge_probe_equals_minirockets_classifier():
    Xtr, ytr = _blobs(0)
    Xte, yte = _blobs(1)
    # aeon's MiniRocketClassifier: StandardScaler(with_mean=False) + RidgeClassifierCV
    ref = make_pipeline(
        StandardScaler(with_mean=False), RidgeClassifierCV(alphas=np.logspace(-3, 3, 10))
    ).fit(Xtr, ytr)
    res = ridge_probe(Xtr, ytr, Xte, yte)
    assert res["accuracy"] == pytest.approx(np.mean(ref.predict(Xte) == yte))
    assert res["alpha"] == pytest.approx(ref[-1].alpha_)
    assert np.isclose(res["alpha"], RIDGE_ALPHAS).any()
    assert 0.5 < res["accuracy"] < 1.0  # informative but not trivial data
    assert res["n"] == 90 and res["n_train"] == 90


def test_ridge_probe_errors():
    X, y = _blobs(0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        ridge_probe(X[:30], y[:30], X, y)
    with pytest.raises(ValueError, match="D=40 features but test_emb has D=39"):
        ridge_probe(X, y, X[:, :39], y)
