"""Benchmark: SwAV multi-window views with the torch vs the tsaug augmentation engine.

Figures: docs/benchmarks.md, "`swav-ts bench augment`: torch vs tsaug view making".

Times :class:`~swav_ts.timeseries.views.ViewMaker` (2 global + ``n_local`` local crops, then
jitter + per-channel scaling + time warp + rotation, each with ``p=1``) on one batch of
random context windows, both engines in the same process, and reports context windows per
second (median over ``repeats`` timed calls after one warm-up call).

Run: ``swav-ts bench augment --repeats 5 --json runs/bench_augment.json``
"""

from __future__ import annotations

import argparse
import logging
import statistics
from collections.abc import Sequence
from typing import Any

import torch

from swav_ts.bench.common import add_options, format_table, machine_info, run_command
from swav_ts.bench.timing import time_calls, torch_threads
from swav_ts.timeseries.augment import AugmentConfig
from swav_ts.timeseries.crops import MultiCropConfig
from swav_ts.timeseries.views import ViewMaker

logger = logging.getLogger(__name__)

ENGINES = ("torch", "tsaug")


def benchmark_config() -> AugmentConfig:
    """The benchmarked pipeline: jitter, scaling, time warp and rotation, always applied."""
    return AugmentConfig.disabled(
        jitter={"p": 1.0},
        scaling={"p": 1.0},
        time_warp={"p": 1.0},
        rotation={"p": 1.0},
    )


def run_augment_benchmark(
    batch: int = 256,
    n_channels: int = 6,
    context: int = 128,
    global_length: int = 96,
    local_length: int = 48,
    n_local: int = 6,
    repeats: int = 5,
    threads: int = 1,
    seed: int = 0,
) -> dict[str, Any]:
    """Time view making with both engines on CPU.

    Parameters
    ----------
    batch, n_channels, context : int
        Shape ``(B, C, T_ctx)`` of the random context batch.
    global_length, local_length, n_local : int
        Two global views of ``global_length`` and ``n_local`` local views of
        ``local_length`` samples (native-rate crops).
    repeats : int
        Timed calls per engine (after one warm-up call); the median is reported.
    threads : int
        ``torch.set_num_threads`` during the benchmark (restored afterwards).
    seed : int
        Seed of the input data and the generators.

    Returns
    -------
    dict
        ``{"settings": {...}, "torch": {...}, "tsaug": {...}, "speedup": float}``; each
        engine entry holds ``median_s``, ``times_s`` and ``windows_per_s`` (context windows
        per second) and ``views_per_s``.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    if n_channels < 3:
        raise ValueError(f"n_channels must be >= 3 (one rotation triplet), got {n_channels}")
    triplets = tuple((i, i + 1, i + 2) for i in range(0, n_channels - 2, 3))
    augment = benchmark_config()
    augment.rotation.triplets = triplets
    crops = MultiCropConfig(
        n_global=2, global_length=global_length, n_local=n_local, local_length=local_length
    )
    x = torch.randn(batch, n_channels, context, generator=torch.Generator().manual_seed(seed))
    n_views = crops.n_views
    with torch_threads(threads):
        results: dict[str, Any] = {
            "settings": {
                "batch": batch,
                "n_channels": n_channels,
                "context": context,
                "global_length": global_length,
                "local_length": local_length,
                "n_global": 2,
                "n_local": n_local,
                "repeats": repeats,
                "threads": threads,
                "augmentations": list(augment.active()),
            },
            "machine": machine_info(),
        }
        for engine in ENGINES:
            maker = ViewMaker(crops, augment, engine=engine)
            gen = torch.Generator().manual_seed(seed)
            # one warm-up call (lazy imports, basis caches), then the timed ones
            times = time_calls(lambda m=maker, g=gen: m(x, g), repeats, warmup=1)
            median = statistics.median(times)
            results[engine] = {
                "median_s": median,
                "times_s": times,
                "windows_per_s": batch / median,
                "views_per_s": batch * n_views / median,
            }
            logger.info("%s engine: %.1f windows/s", engine, batch / median)
    results["speedup"] = results["torch"]["windows_per_s"] / results["tsaug"]["windows_per_s"]
    return results


def format_result(results: dict[str, Any]) -> str:
    """Plain-text table of a :func:`run_augment_benchmark` result."""
    s = results["settings"]
    header = (
        f"views: 2 x {s['global_length']} + {s['n_local']} x {s['local_length']} from "
        f"(B={s['batch']}, C={s['n_channels']}, T={s['context']}); "
        f"augmentations: {', '.join(s['augmentations'])}; threads={s['threads']}; "
        f"median of {s['repeats']}"
    )
    rows = [
        {
            "engine": engine,
            "median ms": 1e3 * results[engine]["median_s"],
            "windows/s": results[engine]["windows_per_s"],
            "views/s": results[engine]["views_per_s"],
        }
        for engine in ENGINES
    ]
    speedup = f"torch / tsaug windows/s: {results['speedup']:.1f}x"
    return "\n".join([header, format_table(rows), speedup])


def main(argv: Sequence[str] | None = None) -> int:
    """Command line entry: run the benchmark, print a table, optionally write JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    kwargs = add_options(parser, run_augment_benchmark)
    run_command(
        parser,
        argv,
        lambda a: run_augment_benchmark(**kwargs(a)),
        format_result,
        json_help="write the result dict here",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
