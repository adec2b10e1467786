from __future__ import annotations

import json

from swav_ts.bench import memory


def test_memory_benchmark_small(tmp_path, capsys):
    out = tmp_path / "m.json"
    assert memory.main(["--scales", "1", "--context", "512", "--json", str(out)]) == 0
    rep = json.loads(out.read_text())
    (r,) = rep["results"]
    assert r["scale"] == 1 and r["ratio_to_first"] == 1.0
    assert r["items"] == sum(n // 512 for n in _lengths()) and r["peak_rss_mib"] > 10
    assert "peak RSS MiB" in capsys.readouterr().out


def _lengths():
    from swav_ts.datasets import load_hapt_recordings

    return [r.n_samples for r in load_hapt_recordings("all")]
