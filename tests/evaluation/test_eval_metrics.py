from __future__ import annotations

import numpy as np
import pytest

from swav_ts.evaluation.metrics import (
    accuracy,
    classification_metrics,
    clustering_metrics,
    confusion,
    macro_f1,
)

Y_TRUE = np.array([0, 0, 0, 1, 1, 2])
Y_PRED = np.array([0, 0, 1, 1, 2, 2])


def test_accuracy_and_f1_hand_computed():
    assert accuracy(Y_TRUE, Y_PRED) == pytest.approx(4 / 6)
    # class 0: P=1, R=2/3 -> F1=0.8; class 1: P=1/2, R=1/2 -> 0.5; class 2: P=1/2, R=1 -> 2/3
    assert macro_f1(Y_TRUE, Y_PRED) == pytest.approx((0.8 + 0.5 + 2 / 3) / 3)
    m = classification_metrics(Y_TRUE, Y_PRED)
    assert m["n"] == 6 and m["accuracy"] == pytest.approx(4 / 6)


def test_confusion_hand_computed():
    expected = np.array([[2, 1, 0], [0, 1, 1], [0, 0, 1]])
    np.testing.assert_array_equal(confusion(Y_TRUE, Y_PRED), expected)
    # explicit label order permutes rows and columns
    np.testing.assert_array_equal(confusion(Y_TRUE, Y_PRED, labels=[2, 1, 0]), expected[::-1, ::-1])


def test_clustering_metrics():
    labels = np.array([0, 0, 1, 1, 2, 2])
    renamed = np.array([5, 5, 3, 3, 9, 9])  # same partition, other names
    assert clustering_metrics(labels, renamed) == pytest.approx({"nmi": 1.0, "ari": 1.0})
    # Hand-computed ARI for a 2x2 partition split: labels [0,0,1,1], clusters [0,1,0,1]:
    # contingency all ones -> sum C(n_ij,2)=0; sum_a=2, sum_b=2, C(4,2)=6; expected=4/6
    # ARI = (0 - 2/3) / (2 - 2/3) = -0.5; NMI = 0 (independent).
    res = clustering_metrics([0, 0, 1, 1], [0, 1, 0, 1])
    assert res["ari"] == pytest.approx(-0.5)
    assert res["nmi"] == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize(
    ("a", "b", "match"),
    [
        ([0, 1], [0, 1, 1], "2 entries but y_pred has 3"),
        ([], [], "empty"),
        ([[0, 1]], [[0, 1]], "1-D"),
    ],
)
def test_bad_inputs(a, b, match):
    with pytest.raises(ValueError, match=match):
        accuracy(a, b)
