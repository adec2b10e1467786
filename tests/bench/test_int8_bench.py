"""`swav-ts bench int8` end to end on the debug model, on a subset of the training windows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from swav_ts import TimeSeriesSwAV
from swav_ts.bench.int8 import run_int8_study
from swav_ts.cli import main as cli_main
from swav_ts.data.hapt import load_hapt

DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("bench_int8") / "model.safetensors"
    TimeSeriesSwAV.from_config(DEBUG).fit("hapt").save(path)
    return path


@pytest.fixture(scope="module")
def result(model) -> dict:
    return run_int8_study(model, n_calibration=32, val_subjects=3, max_windows=400)


def test_every_variant_is_scored_against_fp32_on_held_out_training_subjects(result):
    layers = result["layers"]
    rows = {r["variant"]: r for r in result["rows"]}
    assert list(rows) == [
        "every layer int8",
        "input layer in float",
        *(f"{name} in float" for name in layers[1:]),
    ]
    assert rows["every layer int8"]["float_layers"] == "-"
    assert rows["input layer in float"]["float_layers"] == layers[0]
    for r in rows.values():
        assert 0.9 < r["mean_cosine_vs_fp32"] < 1.0  # quantised: close, not equal
        assert r["val_drop_points"] == pytest.approx(
            100 * (result["fp32_val_probe_acc"] - r["val_probe_acc"])
        )
    # held-out subjects are training subjects, never test ones
    _, _, train_subjects = load_hapt("train")
    assert len(result["val_subjects"]) == 3
    assert set(result["val_subjects"]) <= set(np.unique(train_subjects).tolist())
    assert result["n_windows"] == 400


def test_the_command_line_writes_json(model, tmp_path):
    out = tmp_path / "int8.json"
    argv = ["bench", "int8", "--model", str(model), "--n-calibration", "16"]
    argv += ["--val-subjects", "2", "--max-windows", "200", "--no-per-layer", "--json", str(out)]
    assert cli_main(argv) == 0
    assert '"every layer int8"' in out.read_text()
