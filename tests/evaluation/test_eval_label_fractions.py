from __future__ import annotations

import functools

import numpy as np
import pytest

from swav_ts.evaluation.knn import knn_eval
from swav_ts.evaluation.label_fractions import label_fraction_runs, stratified_fraction


def test_stratified_fraction_keeps_every_class(tiny):
    y = tiny["y_train"]  # 6 classes x 10
    for fraction in (0.01, 0.05, 0.1, 0.3):
        idx = stratified_fraction(y, fraction, seed=0)
        classes, counts = np.unique(y[idx], return_counts=True)
        np.testing.assert_array_equal(classes, np.arange(6))
        np.testing.assert_array_equal(counts, max(1, round(fraction * 10)))
        assert np.all(np.diff(idx) > 0)  # sorted, no duplicates


def test_stratified_fraction_imbalanced_and_seeded():
    y = np.array([0] * 100 + [1] * 20 + [2] * 3)
    idx = stratified_fraction(y, 0.1, seed=5)
    assert np.bincount(y[idx]).tolist() == [10, 2, 1]
    np.testing.assert_array_equal(idx, stratified_fraction(y, 0.1, seed=5))
    assert not np.array_equal(idx, stratified_fraction(y, 0.1, seed=6))
    np.testing.assert_array_equal(stratified_fraction(y, 1.0, seed=0), np.arange(y.shape[0]))


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.5])
def test_stratified_fraction_rejects_bad_fraction(fraction):
    with pytest.raises(ValueError, match="fraction must be in"):
        stratified_fraction(np.array([0, 1]), fraction, seed=0)


def test_label_fraction_table(tiny, stats):
    tr, te = stats(tiny["X_train"]), stats(tiny["X_test"])
    table = label_fraction_runs(tr, tiny["y_train"], te, tiny["y_test"], fractions=(0.1, 1.0))
    assert table["fraction"].tolist() == [0.1, 1.0]
    assert table["n_runs"].tolist() == [3, 3]
    assert table["n_labelled"].tolist() == [6.0, 60.0]
    for col in ("accuracy_mean", "accuracy_std", "macro_f1_mean", "macro_f1_std"):
        assert col in table.columns
    assert "n_mean" not in table.columns  # counts are not averaged as scores
    # Full labels: every seed sees the same data and L-BFGS is deterministic.
    assert table.loc[1, "accuracy_std"] == pytest.approx(0.0, abs=1e-12)
    # One label per class over three seeds varies, and full labels do better on average.
    assert table.loc[0, "accuracy_std"] > 0.0
    assert table.loc[1, "accuracy_mean"] > table.loc[0, "accuracy_mean"]
    runs = table.attrs["runs"]
    assert len(runs) == 6 and {r["seed"] for r in runs} == {0, 1, 2}
    accs = [r["accuracy"] for r in runs if r["fraction"] == 0.1]
    assert table.loc[0, "accuracy_mean"] == pytest.approx(np.mean(accs))
    assert table.loc[0, "accuracy_std"] == pytest.approx(np.std(accs, ddof=1))


def test_label_fraction_with_seedless_evaluator(tiny, stats):
    tr, te = stats(tiny["X_train"]), stats(tiny["X_test"])
    evaluator = functools.partial(knn_eval, k=1)
    table = label_fraction_runs(
        tr, tiny["y_train"], te, tiny["y_test"], fractions=(0.5,), seeds=(0,), evaluator=evaluator
    )
    assert table.loc[0, "n_runs"] == 1 and table.loc[0, "accuracy_std"] == 0.0
    assert table.loc[0, "accuracy_mean"] > 1 / 6


def test_a_seedless_evaluator_scores_each_distinct_subset_once():
    """At fraction 1.0 every seed draws all labels: a deterministic evaluator (no ``seed``) is
    fitted once there and its result reused; one that takes a seed runs for every seed."""
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 20)
    Z = rng.standard_normal((60, 4))
    calls = {"seedless": 0, "seeded": 0}

    def seedless(tr, ytr, te, yte):
        calls["seedless"] += 1
        return {"accuracy": float(len(ytr))}

    def seeded(tr, ytr, te, yte, seed=0):
        calls["seeded"] += 1
        return {"accuracy": float(len(ytr) + seed)}

    df = label_fraction_runs(Z, y, Z, y, fractions=(0.5, 1.0), seeds=(0, 1, 2), evaluator=seedless)
    assert calls["seedless"] == 3 + 1
    assert list(df["n_runs"]) == [3, 3] and df["accuracy_mean"].iloc[1] == 60.0
    assert [r["seed"] for r in df.attrs["runs"] if r["fraction"] == 1.0] == [0, 1, 2]
    label_fraction_runs(Z, y, Z, y, fractions=(0.5, 1.0), seeds=(0, 1, 2), evaluator=seeded)
    assert calls["seeded"] == 6
