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
    assert (tmp_path / "results.json").exists()
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
    assert run["linear_probe"][1.0]["accuracy_mean"] > 1 / 6  # above chance on 6 classes
    assert "SwAV, linear probe" in format_summary(res)
    assert "prototype scores" in format_summary(res)
