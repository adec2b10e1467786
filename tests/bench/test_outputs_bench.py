"""`swav-ts bench outputs` on a finished validation run of the debug config: the models are
reloaded (not retrained), scored with the bench's own protocol, and test runs are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from swav_ts.bench.hapt import run_hapt_benchmark
from swav_ts.bench.outputs import run_outputs_study
from swav_ts.cli import main as cli_main

DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"
NAMES = [
    "transform",
    "prototype_scores",
    "transform+prototype_scores",
    "transform+window_mean",
    "avg_pool",
    "ppv_pool",
    "max+avg+ppv_pool",
]


@pytest.fixture(scope="module")
def validation_run(tmp_path_factory) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("bench_outputs")
    bench = run_hapt_benchmark(
        DEBUG, seeds=(0,), split="validation", out_dir=out, yardstick_epochs=1
    )
    return out / "results_validation.json", bench


@pytest.fixture(scope="module")
def study(validation_run) -> dict:
    path, _ = validation_run
    return run_outputs_study([path])


@pytest.mark.slow
def test_the_reloaded_model_reproduces_the_bench_figures(validation_run, study):
    _, bench = validation_run
    (model,) = study["per_model"]
    assert list(model["outputs"]) == NAMES
    (run,) = bench["swav"]
    for name, key in (("transform", "embedding"), ("prototype_scores", "prototype_scores")):
        expected = [100 * run[key]["lr"][f] for f in (1.0, 0.1, 0.01)]
        assert model["outputs"][name]["lr"] == pytest.approx(expected, abs=1e-9), name


@pytest.mark.slow
def test_dimensions_and_the_summary(study):
    (model,) = study["per_model"]
    dims = {n: o["dim"] for n, o in model["outputs"].items()}
    assert dims["transform+prototype_scores"] == dims["transform"] + dims["prototype_scores"]
    assert dims["transform+window_mean"] == dims["transform"] + 6  # HAPT: 6 channels
    # the debug cnn3 averages its per-step features: its avg_pool is its transform
    assert dims["avg_pool"] == dims["ppv_pool"] == dims["transform"]
    assert model["outputs"]["avg_pool"]["lr"] == pytest.approx(model["outputs"]["transform"]["lr"])
    assert dims["max+avg+ppv_pool"] == 3 * dims["transform"]
    rows = {r["output"]: r for r in study["rows"]}
    assert list(rows) == NAMES and rows["transform"]["vs_transform"] == 0.0
    for name, r in rows.items():
        lr = model["outputs"][name]["lr"]
        assert [r["lr_100"], r["lr_10"], r["lr_1"]] == pytest.approx(lr)
        diff = sum(a - b for a, b in zip(lr, model["outputs"]["transform"]["lr"])) / 3
        assert r["vs_transform"] == pytest.approx(diff)


@pytest.mark.slow
def test_runs_of_the_test_split_are_refused(validation_run, tmp_path):
    path, _ = validation_run
    run = json.loads(path.read_text())
    run["split"] = "test"
    bad = tmp_path / "results_test.json"
    bad.write_text(json.dumps(run))
    with pytest.raises(ValueError, match="validation runs only"):
        run_outputs_study([bad])
    with pytest.raises(ValueError, match="not the --json of `swav-ts bench hapt`"):
        (tmp_path / "other.json").write_text(json.dumps({"benchmark": "uea"}))
        run_outputs_study([tmp_path / "other.json"])


@pytest.mark.slow
def test_the_command_line_writes_json(validation_run, tmp_path):
    path, _ = validation_run
    out = tmp_path / "outputs.json"
    argv = ["bench", "outputs", "--runs", str(path), "--max-windows", "3000"]
    assert cli_main([*argv, "--json", str(out)]) == 0
    result = json.loads(out.read_text())
    assert result["n_windows"] == 3000 and [r["output"] for r in result["rows"]] == NAMES
