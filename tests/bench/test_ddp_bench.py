"""``swav-ts bench ddp`` with 2 gloo processes for a few iterations."""

import math

import numpy as np
import pytest
import torch

from swav_ts.bench import ddp as bench_ddp


def test_fixed_views_depend_only_on_samples():
    views = bench_ddp.FixedViews(2, 128, 6, 48)
    x = torch.randn(4, 6, 256)
    out = views((x,), torch.Generator(), torch.device("cpu"))
    assert [v.shape[-1] for v in out] == [128, 128] + [48] * 6
    torch.testing.assert_close(out[0], x[..., :128])
    torch.testing.assert_close(out[1], x[..., 128:])
    torch.testing.assert_close(out[-1], x[..., 208:])
    halves = views((x[2:],), torch.Generator(), torch.device("cpu"))
    for a, b in zip(out, halves):
        torch.testing.assert_close(a[2:], b)


@pytest.mark.slow
@pytest.mark.distributed
def test_ddp_bench_exact_variant_agrees():
    res = bench_ddp.run_ddp_benchmark(
        iters=2,
        warmup=1,
        global_batch=64,
        variants=["exact"],
        max_contexts=200,
        single_thread_baseline=False,
    )
    v = res["variants"]["exact"]
    for key in ("ddp_2x1", "single_1x2"):
        r = v[key]
        assert len(r["losses"]) == 4  # warm-up + timed + the closing iteration
        assert all(math.isfinite(x) for x in r["losses"])
        assert r["windows_per_s"] > 0 and math.isfinite(r["windows_per_s"])
    assert v["ddp_2x1"]["batch_per_process"] == 32
    assert v["ratio"] > 0 and v["goal_met"] == (v["ratio"] >= 0.9)
    # no BatchNorm, no dropout, sample-only views: DDP reproduces the single process
    assert v["loss_max_rel_diff"] < 1e-4
    assert np.isfinite(res["load_avg"]["after"]).all()
