"""Smoke test of `swav-ts bench uea` on one data set and one seed."""

import pytest

from swav_ts.bench.uea import default_uea_dir, run_uea_benchmark


def test_default_uea_dir_is_the_shipped_copy(uea_dir):
    assert default_uea_dir() == uea_dir
    for name in ("BasicMotions", "RacketSports"):
        for split in ("TRAIN", "TEST"):
            assert (default_uea_dir() / f"{name}_{split}.ts").is_file()


@pytest.mark.slow
def test_uea_benchmark_basicmotions():
    res = run_uea_benchmark(["BasicMotions"], seeds=(0,))  # default folder: datasets/uea
    (row,) = res["rows"]
    assert row["dataset"] == "BasicMotions" and row["n_train"] == 40 and row["shape"] == "6x100"
    assert 0.5 < row["swav_svm_mean"] <= 1.0  # 4 classes: chance is 0.25
    assert 0.5 < row["swav_lr_mean"] <= 1.0
    assert row["ts2vec_published_svm"] == 0.975
    assert 0.5 < row["swav_ridge_mean"] <= 1.0
    for probe in ("svm", "lr", "ridge"):  # MiniRocket beside it, same splits and probes
        assert 0.5 < row[f"minirocket_{probe}"] <= 1.0
    assert 0 < row["minirocket_x_swav_fit"] < 1  # no training: a fraction of SwAV's fit
