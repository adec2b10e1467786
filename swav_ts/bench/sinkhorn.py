"""Benchmark: the time of our Sinkhorn against the plain formula of the original, in one
process, and whether each stays finite on extreme scores.

Figures: docs/benchmarks.md, "`swav-ts bench sinkhorn`: ours vs the original's formula".

``ours`` is what users call, ``sinkhorn(scores)`` with its defaults (the NaN/inf check on);
``ours_no_check`` is the trainer's call (``check_finite=False``).
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence
from typing import Any

import torch

from swav_ts.bench.common import add_options, format_table, machine_info, run_command
from swav_ts.bench.timing import device_sync, median_time_s, torch_threads
from swav_ts.core.sinkhorn import sinkhorn

logger = logging.getLogger(__name__)


def plain_sinkhorn(scores: torch.Tensor, epsilon: float = 0.05, n_iters: int = 3) -> torch.Tensor:
    """The original's ``distributed_sinkhorn`` (``main_swav.py``) in one process.

    Line by line: ``Q = exp(out / epsilon).t()``; ``B``, ``K`` from its shape; divide by the
    total; ``n_iters`` rounds of (row sums, ``/= K``, column sums, ``/= B``) in place;
    ``Q *= B``. The all-reduces are identities in one process. ``.float()`` stands for apex
    O1, which runs ``exp`` in float32; it is a no-op on float32 scores.
    """
    q = torch.exp(scores.float() / epsilon).t()  # (K, B)
    n_samples, n_protos = q.shape[1], q.shape[0]
    q /= torch.sum(q)
    for _ in range(n_iters):
        q /= torch.sum(q, dim=1, keepdim=True)
        q /= n_protos
        q /= torch.sum(q, dim=0, keepdim=True)
        q /= n_samples
    q *= n_samples
    return q.t()


def run_sinkhorn_benchmark(
    batch_sizes: Sequence[int] = (256, 4096, 16384),
    n_prototypes: Sequence[int] = (300, 3000),
    dtypes: Sequence[str] = ("float32", "bfloat16"),
    device: str = "cpu",
    repeats: int = 7,
    threads: int | None = 1,
) -> dict[str, Any]:
    """Median time of ours (public default, and without the NaN/inf check) vs the plain
    formula for every (B, K, dtype), and the ratios to the plain formula.

    Also records whether each stays finite on extreme scores (|scores / epsilon| = 1e4).
    ``threads``: torch threads while it runs (0 or ``None``: as they are).
    """
    dev = torch.device(device)
    with torch_threads(threads or None):
        rows = _rows(batch_sizes, n_prototypes, dtypes, dev, repeats)
        machine = machine_info()  # with the threads it ran on
    return {"benchmark": "sinkhorn", "device": str(dev), "machine": machine, "rows": rows}


def _rows(
    batch_sizes: Sequence[int],
    n_prototypes: Sequence[int],
    dtypes: Sequence[str],
    dev: torch.device,
    repeats: int,
) -> list[dict[str, Any]]:
    """One row per (B, K, dtype) of :func:`run_sinkhorn_benchmark`."""
    sync = device_sync(dev)
    rows = []
    for b in batch_sizes:
        for k in n_prototypes:
            g = torch.Generator(device="cpu").manual_seed(b + k)
            z = torch.nn.functional.normalize(torch.randn(b, 128, generator=g), dim=1)
            c = torch.nn.functional.normalize(torch.randn(k, 128, generator=g), dim=1)
            base = (z @ c.t()).to(dev)
            for dtype_name in dtypes:
                scores = base.to(getattr(torch, dtype_name))
                t_plain = median_time_s(lambda s=scores: plain_sinkhorn(s), repeats, sync=sync)
                t_ours = median_time_s(lambda s=scores: sinkhorn(s), repeats, sync=sync)
                t_no_check = median_time_s(
                    lambda s=scores: sinkhorn(s, check_finite=False), repeats, sync=sync
                )
                extreme = (scores.float() * 1e4 * 0.05 / scores.float().abs().max()).to(
                    scores.dtype
                )
                rows.append(
                    {
                        "B": b,
                        "K": k,
                        "dtype": dtype_name,
                        "plain_ms": t_plain * 1e3,
                        "ours_ms": t_ours * 1e3,
                        "ours_no_check_ms": t_no_check * 1e3,
                        "ratio_ours_over_plain": t_ours / t_plain,
                        "ratio_no_check_over_plain": t_no_check / t_plain,
                        "plain_finite_at_1e4": bool(torch.isfinite(plain_sinkhorn(extreme)).all()),
                        "ours_finite_at_1e4": bool(torch.isfinite(sinkhorn(extreme)).all()),
                    }
                )
                logger.info("sinkhorn B=%d K=%d %s done", b, k, dtype_name)
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="swav-ts bench sinkhorn", description=__doc__)
    kwargs = add_options(p, run_sinkhorn_benchmark, names={"n_prototypes": "prototypes"})
    return run_command(
        p, argv, lambda a: run_sinkhorn_benchmark(**kwargs(a)), lambda r: format_table(r["rows"])
    )
