"""Benchmarks run at toy size (the real runs are documented, not executed in tests)."""

from __future__ import annotations

import json

import pytest

from swav_ts.bench import image as bench


def test_throughput_quick_cpu(tmp_path, cifar_dir, monkeypatch):
    monkeypatch.setattr(bench, "shared_cifar10_dir", lambda: cifar_dir)  # the fixture JPEGs
    out = tmp_path / "thr.json"
    assert bench.main(["throughput", "--device", "cpu", "--quick", "--out", str(out)]) == 0
    res = json.loads(out.read_text())
    assert res["quick"] and res["device"] == "cpu"
    for key in ("synthetic_img_s", "jpeg_pipeline_img_s", "end_to_end_jpeg_img_s"):
        assert res[key] > 0
    assert res["jpeg_images"] == 100  # up to 20 per class asked for; the fixture has 10


@pytest.mark.slow
def test_cifar_small_scale_toy(tmp_path, cifar_dir):
    out = tmp_path / "cifar.json"
    argv = [
        "cifar",
        "--data-dir",
        str(cifar_dir),
        "--cache-dir",
        str(tmp_path / "cache"),
        "--minutes",
        "0.1",
        "--subset-per-class",
        "10",
        "--knn-train-per-class",
        "10",
        "--test-per-class",
        "5",
        "--width",
        "0.125",
        "--batch-size",
        "25",
        "--prototypes",
        "20",
        "--max-epochs",
        "2",
        "--threads",
        "1",
        "--out",
        str(out),
    ]
    assert bench.main(argv) == 0
    res = json.loads(out.read_text())
    assert res["pretrain_images"] == 100 and res["test_images"] == 50
    assert 1 <= res["epochs"] <= 2
    for key in ("knn_pretrained", "knn_random"):
        assert 0 <= res[key]["top1"] <= 100
