"""Smoke test of `swav-ts bench uea` on one data set and one seed."""

import pytest

from swav_ts.bench.uea import run_uea_benchmark


@pytest.mark.slow
def test_uea_benchmark_basicmotions(shared_data):
    res = run_uea_benchmark(["BasicMotions"], shared_data / "uea", seeds=(0,))
    (row,) = res["rows"]
    assert row["dataset"] == "BasicMotions" and row["n_train"] == 40 and row["shape"] == "6x100"
    assert 0.5 < row["swav_acc_mean"] <= 1.0  # 4 classes: chance is 0.25
    assert row["ts2vec_published"] == 0.975
