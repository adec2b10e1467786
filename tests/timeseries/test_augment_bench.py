"""Smoke test of the augmentation benchmark (tiny sizes)."""

from __future__ import annotations

import json

import pytest

from swav_ts.bench.augment import main, run_augment_benchmark


def test_run_augment_benchmark_small():
    res = run_augment_benchmark(batch=8, context=64, global_length=48, local_length=24,
                                n_local=2, repeats=2)  # fmt: skip
    assert res["settings"]["augmentations"] == ["time_warp", "rotation", "scaling", "jitter"]
    for engine in ("torch", "tsaug"):
        assert len(res[engine]["times_s"]) == 2
        assert res[engine]["windows_per_s"] == pytest.approx(8 / res[engine]["median_s"])
    assert res["speedup"] == pytest.approx(
        res["torch"]["windows_per_s"] / res["tsaug"]["windows_per_s"]
    )


def test_main_writes_json(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(["--batch", "4", "--context", "32", "--global-length", "32", "--local-length",
               "16", "--n-local", "2", "--repeats", "1", "--json", str(out)])  # fmt: skip
    assert rc == 0
    assert "torch / tsaug windows/s" in capsys.readouterr().out
    assert json.loads(out.read_text())["settings"]["batch"] == 4


def test_bad_arguments():
    with pytest.raises(ValueError, match="repeats must be >= 1"):
        run_augment_benchmark(repeats=0)
    with pytest.raises(ValueError, match="n_channels must be >= 3"):
        run_augment_benchmark(n_channels=2)
