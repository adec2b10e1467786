"""Smoke tests of ``swav-ts bench train`` on a few real HAPT contexts."""

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
            "2",
            "--warmup",
            "1",
            "--trainer-iters",
            "2",
            "--compile",
            "off",
            "--max-contexts",
            "200",
            "--batch-size",
            "64",
            "--json",
            str(out),
        ]
    )
    assert code == 0
    assert "replica eager" in capsys.readouterr().out
    res = json.loads(out.read_text())
    assert res["benchmark"] == "train"
    assert res["settings"]["batch_size"] == 64
    assert res["settings"]["n_contexts"] == 200
    eager = res["replica"]["eager"]
    assert eager["iters"] == 4  # 2 rounds x 2 timed iterations, pooled
    assert len(eager["totals_ms"]) == 4
    assert set(eager["parts_ms"]) == set(bench_train.PARTS)
    for value in [*eager["parts_ms"].values(), eager["step_ms"], eager["windows_per_s"]]:
        assert _positive_finite(value)
    assert sum(eager["share"].values()) == pytest.approx(1.0)
    assert math.isfinite(eager["final_loss"])
    trainer = res["trainer"]
    assert trainer["iters"] == 4
    for key in ("step_ms", "windows_per_s", "augment_ms", "wall_time_s"):
        assert _positive_finite(trainer[key]), key
    assert _positive_finite(res["replica_over_trainer"])
    goals = res["goals"]
    data_aug = eager["share"]["data"] + eager["share"]["augment"]
    assert goals["data_augment_share"] == pytest.approx(data_aug)
    assert goals["data_augment_met"] == (data_aug < 0.15)
    assert len(res["load_avg"]["before"]) == 3


def test_resolve_config_keeps_timeseries_defaults():
    cfg = bench_train.resolve_config(["train.batch_size=32"])
    assert cfg.train.batch_size == 32
    assert cfg.train.epochs == 20  # the time-series default, not the core one
    assert cfg.swav.n_prototypes == 60
    assert cfg.optim.name == "adamw"


def test_bad_counts_are_rejected():
    with pytest.raises(ValueError, match="threads"):
        bench_train.run_train_benchmark(threads=0)
    with pytest.raises(ValueError, match="iters"):
        bench_train.time_replica_step(bench_train.resolve_config(), None, iters=0)
