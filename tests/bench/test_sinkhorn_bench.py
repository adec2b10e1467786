"""`swav-ts bench sinkhorn`: its comparison formula is the original's, and it times what users
call (the public default) as well as the trainer's call."""

import json
import math

import numpy as np
import torch

from swav_ts.bench.sinkhorn import plain_sinkhorn, run_sinkhorn_benchmark
from swav_ts.cli import main as cli_main
from swav_ts.core.sinkhorn import sinkhorn
from tests.core.test_sinkhorn import original_sinkhorn, rtol_for, unit_scores
from tests.reference import sinkhorn_ref


def test_plain_formula_is_the_originals():
    # the original's distributed_sinkhorn in one process, in float32: equal to the test
    # suite's own transcription of it, and to the float64 reference up to float32 rounding
    scores = unit_scores(96, 40, seed=8)
    q = plain_sinkhorn(scores, epsilon=0.05, n_iters=3)
    torch.testing.assert_close(q, original_sinkhorn(scores, 0.05, 3), rtol=0, atol=0)
    ref = sinkhorn_ref(scores.double().numpy(), 0.05, 3)
    np.testing.assert_allclose(q.double().numpy(), ref, rtol=rtol_for(0.05), atol=0)
    assert not torch.isfinite(plain_sinkhorn(scores * 1e3)).all()  # it overflows, as the original


def test_benchmark_rows(tmp_path, capsys, monkeypatch):
    # "ours" is the public default (the finite check on), "ours_no_check" the trainer's call
    import swav_ts.bench.sinkhorn as bench

    calls = []

    def recording(*args, **kwargs):
        calls.append(kwargs.get("check_finite", "default"))
        return sinkhorn(*args, **kwargs)

    monkeypatch.setattr(bench, "sinkhorn", recording)
    res = run_sinkhorn_benchmark((64,), (30,), ("float32",), repeats=1, threads=None)
    # warmup 2 + 1 repeat for each timed variant, then the extreme-score check (default)
    assert calls == ["default"] * 3 + [False] * 3 + ["default"]
    (row,) = res["rows"]
    for key in ("plain_ms", "ours_ms", "ours_no_check_ms"):
        assert math.isfinite(row[key]) and row[key] > 0
    assert row["ratio_ours_over_plain"] == row["ours_ms"] / row["plain_ms"]
    assert row["ratio_no_check_over_plain"] == row["ours_no_check_ms"] / row["plain_ms"]
    assert row["ours_finite_at_1e4"] and not row["plain_finite_at_1e4"]
    out = tmp_path / "s.json"
    args = ["bench", "sinkhorn", "--batch-sizes", "32", "--prototypes", "8", "--dtypes"]
    code = cli_main([*args, "float32", "--repeats", "1", "--threads", "1", "--json", str(out)])
    assert code in (0, None)
    assert json.loads(out.read_text())["rows"][0]["B"] == 32
    assert "ours_no_check_ms" in capsys.readouterr().out
