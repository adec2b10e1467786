"""Smoke test of `swav-ts bench hapt` on the debug config (tiny sizes): the validation and
the test protocol, the budget curve, the yardstick and the report."""

import math
from pathlib import Path

import pytest

from swav_ts.bench.hapt import format_summary, run_hapt_benchmark

DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"


@pytest.mark.slow
def test_hapt_benchmark_smoke(tmp_path):
    val = run_hapt_benchmark(
        DEBUG, seeds=(0,), split="validation", out_dir=tmp_path, yardstick_epochs=1
    )
    test = run_hapt_benchmark(
        DEBUG,
        seeds=(0,),
        split="test",
        budgets=(0.5,),
        finetune={"min_steps": 20, "max_epochs": 4},  # the classifier's path, briefly
        out_dir=tmp_path,
        yardstick_epochs=1,
    )
    assert (tmp_path / "results_validation.json").exists()
    assert (tmp_path / "results_test.json").exists()
    assert (tmp_path / "accuracy_vs_time_test.png").exists()
    # the same model (run folder resumed: a finished run is not retrained), two protocols
    (v,), (t,) = val["swav"], test["swav"]
    assert v["run_dir"] == t["run_dir"]
    for res in (v, t):
        for what in ("embedding", "prototype_scores", "random_weights"):
            assert set(res[what]["lr"]) == {0.01, 0.1, 1.0}
            assert all(0 <= a <= 1 for a in res[what]["lr"].values())
    # Levels of this tiny setting (one epoch of a width 8/16/16 cnn3, 12 prototypes, seed 0):
    # see the measured values in the assertion messages; shuffled labels or zeroed embeddings
    # fall below 25 %. At this size pretraining is not expected to beat random weights: the
    # test checks the pipeline, not the method.
    assert t["embedding"]["lr"][1.0] > 0.75, t
    assert t["embedding"]["lr"][0.01] > 0.55, t
    assert v["embedding"]["lr"][1.0] > 0.7, v
    assert t["random_weights"]["lr"][1.0] > 0.7, t
    assert test["yardstick"]["accuracy"] > 0.5 and test["yardstick"]["time_s"] > 0
    (budget,) = test["swav_budgets"]
    assert budget["budget"] == 0.5 and math.isfinite(budget["pretrain_x_yardstick"])
    text = format_summary(test)
    assert "SwAV (transform)" in text and "x yardstick" in text
    # the classifier fine-tuned from the same model, on the same label subsets
    tuned = t["embedding"]["finetuned"]
    assert set(tuned) == {0.01, 0.1, 1.0} and tuned[1.0] > 0.5, tuned
    assert t["classifier_x_yardstick"] > t["pretrain_x_yardstick"]
    assert "TimeSeriesSwAVClassifier (fine-tuned)" in text


def test_finetune_option_parsing(monkeypatch):
    import swav_ts.bench.hapt as hapt

    seen = []
    monkeypatch.setattr(hapt, "run_hapt_benchmark", lambda **kw: seen.append(kw["finetune"]))
    monkeypatch.setattr(hapt, "format_summary", lambda res: "")
    monkeypatch.setattr(hapt, "write_json", lambda *a, **k: None)
    for argv in ([], ["--finetune"], ["--finetune", "encoder_lr_scale=0.3", "augment=false"]):
        hapt.main(argv)
    assert seen == [False, True, {"encoder_lr_scale": 0.3, "augment": False}]
