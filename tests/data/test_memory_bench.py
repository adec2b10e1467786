"""Smoke test of ``swav-ts bench memory``: the real CLI path and the in-memory path, tiny."""

from __future__ import annotations

import json

from swav_ts.bench import memory


def test_memory_benchmark_small(tmp_path, capsys):
    out = tmp_path / "m.json"
    res = memory.main(
        [
            "--scales",
            "1",
            "--iters",
            "6",
            "--warmup-iters",
            "2",
            "--set",
            "train.batch_size=16",
            "--set",
            "train.log_every_iters=2",
            "--set",
            "data.stride=1024",
            "--json",
            str(out),
        ]
    )
    saved = json.loads(out.read_text())
    assert saved["results"] == json.loads(json.dumps(res["results"]))
    (r,) = saved["results"]
    assert r["scale"] == 1 and r["cache_rss_ratio_to_first"] == 1.0
    assert r["cache_peak_rss_mib"] > 50 and r["memory_peak_rss_mib"] > 50
    assert r["timed_iters"] == 4 and r["cache_step_ms"] > 0 and r["memory_step_ms"] > 0
    assert r["n_contexts"] > 16
    assert "cache_peak_rss_mib" in capsys.readouterr().out
