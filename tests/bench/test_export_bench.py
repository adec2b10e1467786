"""`swav-ts bench export` end to end on the debug model, with tiny repeat counts and stream."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from swav_ts import TimeSeriesSwAV
from swav_ts.bench.export import run_export_benchmark

DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"
RUNTIMES = ["torch_eager", "torchscript", "onnx_fp32", "onnx_int8"]


@pytest.fixture(scope="module")
def result(tmp_path_factory) -> dict:
    path = tmp_path_factory.mktemp("bench_export") / "model.safetensors"
    TimeSeriesSwAV.from_config(DEBUG).fit("hapt").save(path)
    return run_export_benchmark(
        path,
        threads=1,
        batch=16,
        rounds=1,
        latency_repeats=3,
        batch_repeats=1,
        n_calibration=32,
        probe_windows=300,
        stream_hours=0.05,
        stream_ref_hours=0.02,
        stream_backends=["torch", "onnx"],
    )


def test_every_runtime_is_timed_against_torch_eager(result):
    speed = {r["runtime"]: r for r in result["speed"]}
    assert list(speed) == RUNTIMES
    assert speed["torch_eager"]["batch1_speedup"] == pytest.approx(1.0)
    for r in speed.values():
        assert r["batch1_ms"] > 0 and math.isfinite(r["batch1_speedup"])
        assert r["batch16_windows_per_s"] > 0 and r["file_mib"] > 0


def test_exports_reproduce_torch_and_int8_is_close(result):
    acc = {r["runtime"]: r for r in result["accuracy"]}
    assert acc["onnx_fp32"]["max_rel_diff_vs_torch"] < 1e-4
    assert acc["torchscript"]["max_rel_diff_vs_torch"] < 1e-4
    assert acc["onnx_int8"]["mean_cosine_vs_torch"] > 0.9  # quantised, yet the same embedding
    assert 1 / 6 < acc["onnx_fp32"]["linear_probe_acc"] <= 1.0
    assert result["int8_drop_points"] == pytest.approx(
        100 * (acc["onnx_fp32"]["linear_probe_acc"] - acc["onnx_int8"]["linear_probe_acc"])
    )


def test_the_stream_is_embedded_in_flat_memory(result):
    assert [r["backend"] for r in result["stream"]] == ["torch", "onnx"]
    for r in result["stream"]:
        n = round(0.05 * 3600 * r["rate_hz"])  # samples of the stream
        assert r["windows"] == (n - r["window"]) // r["stride"] + 1  # every window, once
        assert r["peak_rss_ratio"] < 1.2 and r["realtime_factor"] > 1
