"""Smoke test of `swav-ts bench hapt` on the debug config (tiny sizes)."""

import math
from pathlib import Path

import pytest

from swav_ts.bench.hapt import format_summary, run_hapt_benchmark

DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"


@pytest.mark.slow
def test_hapt_benchmark_smoke(tmp_path):
    res = run_hapt_benchmark(
        DEBUG,
        pretrain_seeds=(0,),
        fractions=(0.01, 1.0),
        subset_seeds=(0, 1),
        finetune_fractions=(0.01,),
        finetune_epochs=1,
        finetune_min_steps=1,
        out_dir=tmp_path,
    )
    assert list(tmp_path.rglob("results.json"))  # in out_dir or a per-config folder below it
    run = res["runs"][0]
    for block in (
        run["linear_probe"],
        run["random_init_linear_probe"],
        run["prototype_scores_linear_probe"],
    ):
        assert set(block) == {0.01, 1.0}
    assert set(run["finetune"]) == {0.01}
    assert set(res["supervised_from_scratch"]) == {0.01, 1.0}
    values = [
        run["linear_probe"][1.0]["accuracy_mean"],
        run["finetune"][0.01]["accuracy_mean"],
        res["supervised_from_scratch"][1.0]["accuracy_mean"],
        run["clusters"]["nmi"],
    ]
    assert all(math.isfinite(v) and 0 <= v <= 1 for v in values)
    # Levels of this tiny setting (one epoch of a 3-layer CNN of width 8/16/16, 12 prototypes),
    # measured with seed 0 in two runs (before and after a refactor of the data pipeline):
    # linear probe 82.0-84.2 % with 100 % of the labels and 74.4-75.2 % with 1 %, on the
    # prototype scores 77.7-79.9 %, random weights 83.1-83.8 %, supervised from scratch for
    # one epoch 70.9 % (62-80 % over the two subset seeds), raw windows 70.9 %, NMI
    # 0.22-0.23; the thresholds keep margins of 7-26 points. Shuffled probe or supervised
    # labels and zeroed embeddings or prototype scores fell below 20 % when tried. At this
    # size the pretrained encoder is not expected to beat random weights, so the test checks
    # the pipeline, not the method.
    assert run["linear_probe"][1.0]["accuracy_mean"] > 0.75
    assert run["linear_probe"][0.01]["accuracy_mean"] > 0.55
    assert run["prototype_scores_linear_probe"][1.0]["accuracy_mean"] > 0.6
    assert run["random_init_linear_probe"][1.0]["accuracy_mean"] > 0.7
    assert res["supervised_from_scratch"][1.0]["accuracy_mean"] > 0.45
    assert res["raw_windows_linear_probe"]["accuracy"] > 0.6
    assert run["clusters"]["nmi"] > 0.1
    assert "SwAV, linear probe" in format_summary(res)
    assert "prototype scores" in format_summary(res)
