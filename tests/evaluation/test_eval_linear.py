from __future__ import annotations

import logging

import numpy as np
import pytest

from swav_ts.evaluation.linear import linear_probe


def test_probe_on_raw_window_statistics_beats_chance(tiny, stats):
    res = linear_probe(
        stats(tiny["X_train"]), tiny["y_train"], stats(tiny["X_test"]), tiny["y_test"]
    )
    # 6 balanced classes: chance is 1/6. Measured 0.80 on the held-out subject.
    assert res["accuracy"] > 0.6
    assert res["macro_f1"] > 0.55
    assert res["n"] == 60 and res["n_train"] == 60 and res["n_classes"] == 6
    assert res["converged"] is True


def test_probe_with_shuffled_labels_is_near_chance(tiny, stats):
    rng = np.random.default_rng(0)
    y_shuffled = rng.permutation(tiny["y_train"])
    res = linear_probe(stats(tiny["X_train"]), y_shuffled, stats(tiny["X_test"]), tiny["y_test"])
    assert res["accuracy"] < 0.45


def test_probe_is_invariant_to_per_feature_scale(tiny, stats):
    # Standardisation makes the probe blind to a per-feature rescaling applied to train and
    # test alike. (This holds wherever the scaler is fitted, so it says nothing about leakage;
    # see test_scaler_sees_no_test_data.)
    tr, te = stats(tiny["X_train"]), stats(tiny["X_test"])
    scale = np.logspace(-3, 3, tr.shape[1])
    a = linear_probe(tr, tiny["y_train"], te, tiny["y_test"])
    b = linear_probe(tr * scale, tiny["y_train"], te * scale, tiny["y_test"])
    assert a["accuracy"] == b["accuracy"] and a["macro_f1"] == pytest.approx(b["macro_f1"])


def test_scaler_sees_no_test_data(tiny, stats):
    # With the scaler (and the classifier) fitted on the training embeddings only, each test
    # row is classified on its own: the number of correct predictions is additive over any
    # split of the test set. Appending far-off rows (every feature shifted by 1,000 training
    # standard deviations) would move a scaler fitted on test or train + test so much that the
    # predictions of the ordinary rows change; a train-fitted one ignores them.
    tr, te = stats(tiny["X_train"]), stats(tiny["X_test"])
    ytr, yte = tiny["y_train"], tiny["y_test"]
    far = te[:12] + 1e3 * tr.std(axis=0)
    y_far = yte[:12]

    def n_correct(x, y):
        return round(linear_probe(tr, ytr, x, y)["accuracy"] * len(y))

    whole = n_correct(np.concatenate([te, far]), np.concatenate([yte, y_far]))
    assert whole == n_correct(te, yte) + n_correct(far, y_far)
    # and row by row: a test row's prediction does not depend on the other test rows
    rows = sum(n_correct(te[i : i + 1], yte[i : i + 1]) for i in range(0, len(yte), 5))
    assert rows == n_correct(te[::5], yte[::5])
    assert n_correct(te, yte) >= 0.6 * len(yte)  # and the probe is meaningful here


def test_probe_reports_non_convergence(tiny, caplog):
    tr = tiny["X_train"].reshape(60, -1)
    te = tiny["X_test"].reshape(60, -1)
    with caplog.at_level(logging.WARNING, logger="swav_ts.evaluation.linear"):
        res = linear_probe(tr, tiny["y_train"], te, tiny["y_test"], C=100.0, max_iter=2)
    assert res["converged"] is False
    assert "did not converge" in caplog.text


def test_probe_input_errors():
    x = np.random.default_rng(0).normal(size=(10, 3))
    y = np.array([0, 1] * 5)
    with pytest.raises(ValueError, match="D=3 features but test_emb has D=4"):
        linear_probe(x, y, np.zeros((4, 4)), y[:4])
    with pytest.raises(ValueError, match="10 rows but y_train has 9"):
        linear_probe(x, y[:9], x, y)
    with pytest.raises(ValueError, match="at least 2 classes"):
        linear_probe(x, np.zeros(10), x, y)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="1 non-finite"):
        linear_probe(bad, y, x, y)
    with pytest.raises(ValueError, match="2-D"):
        linear_probe(x[:, 0], y, x, y)
