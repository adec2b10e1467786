"""Smoke tests of ``swav-ts bench train``: the real step, timed through its phase hook."""

import json
import math

import pytest

from swav_ts.bench import train as bench_train
from swav_ts.cli import main as cli_main


def _positive_finite(x) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x) and x > 0


def test_train_bench_json_structure(tmp_path, capsys):
    out = tmp_path / "train.json"
    code = cli_main(
        [
            "bench",
            "train",
            "--iters",
            "3",
            "--warmup",
            "1",
            "--compile",
            "off",
            "--batch-size",
            "32",
            "--set",
            "data.stride=2048",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    assert "eager" in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["benchmark"] == "train"
    assert res["settings"]["batch_size"] == 32
    assert res["settings"]["n_contexts"] > 32
    eager = res["runs"]["eager"]
    assert eager["iters"] == 3 and len(eager["steps_ms"]) == 3
    assert set(eager["parts_ms"]) == set(bench_train.PARTS)
    for value in [*eager["parts_ms"].values(), eager["step_ms"], eager["windows_per_s"]]:
        assert _positive_finite(value)
    assert sum(eager["share"].values()) == pytest.approx(1.0)
    # the parts add up to the step: each phase was timed once per step
    for step in eager["steps_ms"]:
        assert all(_positive_finite(step[p]) for p in bench_train.PARTS if p != "data")
    goals = res["goals"]
    data_views = eager["share"]["data"] + eager["share"]["views"]
    assert goals["data_views_share"] == pytest.approx(data_views)
    assert goals["data_views_met"] == (data_views < 0.15)
    assert len(res["load_avg"]["before"]) == 3


def test_phase_timer_charges_each_phase():
    ticks = iter([0.0, 1.0, 3.0, 6.0, 10.0, 15.0, 21.0])
    timer = bench_train.PhaseTimer(lambda: None, clock=lambda: next(ticks))
    for name in ("start", *bench_train.PARTS[1:], "start"):
        timer(name)
    first, second = timer.steps
    assert math.isnan(first["data"])  # nothing before the first step
    assert [first[p] for p in bench_train.PARTS[1:]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert second["data"] == 21.0 - 15.0  # from the end of the optimizer phase


def test_resolve_config_keeps_timeseries_defaults():
    cfg = bench_train.resolve_config(["train.batch_size=32"])
    assert cfg.train.batch_size == 32
    assert cfg.train.epochs == 6  # the time-series default, not the core one (100)
    assert cfg.swav.n_prototypes == 60
    assert cfg.optim.name == "adamw"


def test_bad_counts_are_rejected():
    with pytest.raises(ValueError, match="threads"):
        bench_train.run_train_benchmark(threads=0)
    with pytest.raises(ValueError, match="iters"):
        bench_train.time_pretraining(bench_train.resolve_config(), iters=0)
