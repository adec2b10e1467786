from __future__ import annotations

import numpy as np
import pytest

from swav_ts.evaluation.knn import knn_eval, knn_predict


def _separable(n_per_class: int, n_classes: int, dim: int, seed: int):
    """Clusters around orthogonal directions: cosine kNN must classify them perfectly."""
    rng = np.random.default_rng(seed)
    centres = np.eye(dim)[:n_classes] * 5.0
    y = np.repeat(np.arange(n_classes), n_per_class)
    x = centres[y] + rng.normal(scale=0.3, size=(y.shape[0], dim))
    return x, y


def _reference_predict(train, y, query, k, temperature):
    """Straightforward loop implementation of the weighted cosine vote."""
    out = []
    tr = train / np.linalg.norm(train, axis=1, keepdims=True)
    for q in query:
        sims = tr @ (q / np.linalg.norm(q))
        order = np.argsort(-sims, kind="stable")[:k]
        votes = {}
        for j in order:
            votes[y[j]] = votes.get(y[j], 0.0) + np.exp(sims[j] / temperature)
        out.append(max(sorted(votes), key=lambda c: votes[c]))
    return np.array(out)


def test_separable_embeddings_are_classified_perfectly():
    tr, ytr = _separable(30, 5, 16, seed=0)
    te, yte = _separable(20, 5, 16, seed=1)
    res = knn_eval(tr, ytr, te, yte, k=10)
    assert res["accuracy"] == 1.0 and res["macro_f1"] == 1.0
    assert res["n"] == 100 and res["n_train"] == 150 and res["k"] == 10


def test_matches_reference_implementation_and_batching():
    rng = np.random.default_rng(3)
    tr = rng.normal(size=(80, 8))
    ytr = rng.integers(0, 4, size=80)
    q = rng.normal(size=(37, 8))
    for k, temp in ((1, 0.07), (5, 0.5), (20, 0.1)):
        expected = _reference_predict(tr, ytr, q, k, temp)
        np.testing.assert_array_equal(knn_predict(tr, ytr, q, k=k, temperature=temp), expected)
        np.testing.assert_array_equal(
            knn_predict(tr, ytr, q, k=k, temperature=temp, batch_size=4), expected
        )


def test_temperature_weights_votes():
    # One very close neighbour of class "a" against two moderately close ones of class "b".
    query = np.array([[1.0, 0.0]])
    close = [np.cos(0.05), np.sin(0.05)]
    far1 = [np.cos(0.6), np.sin(0.6)]
    far2 = [np.cos(0.6), -np.sin(0.6)]
    train = np.array([close, far1, far2])
    labels = np.array(["a", "b", "b"])
    # Sharp weights: the closest neighbour dominates. Flat weights: majority vote.
    assert knn_predict(train, labels, query, k=3, temperature=0.05)[0] == "a"
    assert knn_predict(train, labels, query, k=3, temperature=10.0)[0] == "b"


def test_cosine_ignores_norm():
    tr, ytr = _separable(10, 3, 6, seed=0)
    q, _ = _separable(5, 3, 6, seed=2)
    scales = np.linspace(0.01, 100, tr.shape[0])[:, None]
    np.testing.assert_array_equal(
        knn_predict(tr, ytr, q, k=5), knn_predict(tr * scales, ytr, q * 7.0, k=5)
    )


def test_knn_on_raw_window_statistics_beats_chance(tiny, stats):
    res = knn_eval(
        stats(tiny["X_train"]), tiny["y_train"], stats(tiny["X_test"]), tiny["y_test"], k=5
    )
    assert res["accuracy"] > 0.5  # chance 1/6; measured 0.77


def test_knn_input_errors():
    tr, ytr = _separable(3, 2, 4, seed=0)
    with pytest.raises(ValueError, match=r"k must be an integer in \[1, n_train=6\]"):
        knn_predict(tr, ytr, tr, k=7)
    with pytest.raises(ValueError, match="temperature"):
        knn_predict(tr, ytr, tr, temperature=0.0, k=2)
    zero = tr.copy()
    zero[2] = 0.0
    with pytest.raises(ValueError, match="1 all-zero rows"):
        knn_predict(zero, ytr, tr, k=2)
    with pytest.raises(ValueError, match="D=4 but query_emb has D=3"):
        knn_predict(tr, ytr, tr[:, :3], k=2)
