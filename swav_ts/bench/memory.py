"""Peak memory and step time of the real ``swav-ts pretrain`` path as the data grows.

Figures: docs/benchmarks.md, "`swav-ts bench memory`: the real `swav-ts pretrain` path as the
data grows".

For each scale ``s`` the 61 HAPT recordings are written ``s`` times as ``(C, T)`` ``.npy``
recordings, and a fresh Python process runs ``swav-ts pretrain`` (:func:`swav_ts.cli.main`)
on them for a fixed number of iterations: the sources are streamed into the run's on-disk
recording cache, and training reads its contexts back through the DataLoader. The process
reports its peak RSS (``ru_maxrss``); the step time comes from the run's ``metrics.jsonl``
(``elapsed_s`` of the logging windows after the warm-up). For comparison, another fresh process
trains the same model on the same contexts held in memory (a ``TensorDataset``, as swav_ts did
before the cache): flat memory means the cache path's ratio to 1x stays near 1 while the data
grows ``s``-fold, and its step time stays that of the in-memory path.

Run: ``swav-ts bench memory --scales 1 4 16 --json runs/bench_memory.json``
"""

from __future__ import annotations

import argparse
import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from swav_ts.bench.common import (
    add_options,
    format_table,
    iteration_rows,
    machine_info,
    run_child,
    run_command,
    scratch_folder,
)

__all__ = ["main", "run_memory_benchmark"]

logger = logging.getLogger(__name__)

CHANNELS = "[acc_x, acc_y, acc_z, gyro_x, gyro_y, gyro_z]"

# The real command line, wrapped only to report the process's peak RSS.
_CLI_CHILD = r"""
import json, resource, sys
import torch
torch.set_num_threads(int(sys.argv[1]))
from swav_ts.cli import main
code = main(sys.argv[2:])
print(json.dumps({"code": code,
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""

# The same training with every context in memory (the path swav_ts had before the cache).
_IN_MEMORY_CHILD = r"""
import glob, json, resource, sys
import numpy as np, torch
torch.set_num_threads(int(sys.argv[1]))
from torch.utils.data import TensorDataset
from swav_ts.core.config import apply_overrides, from_dict, read_yaml
from swav_ts.core.trainer import train
from swav_ts.data.normalize import channel_stats
from swav_ts.data.windows import cut_windows, window_starts
from swav_ts.timeseries.adapt import adapt_to_data, explicit_keys
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.model import build_model
from swav_ts.timeseries.pretrain import ContextViews
raw = apply_overrides(read_yaml(sys.argv[2]), sys.argv[5:])
cfg = from_dict(TimeSeriesConfig, raw)
names = cfg.data.channels
L, stride = cfg.data.context_length, cfg.data.stride
parts = []
for path in sorted(glob.glob(cfg.data.source)):
    sig = np.load(path)
    parts.append(cut_windows(sig, window_starts(sig.shape[1], L, stride), L))
contexts = np.concatenate(parts)
cfg, _ = adapt_to_data(cfg, len(contexts), None, explicit_keys(raw))  # the same rules
stats = channel_stats(contexts, names)
torch.manual_seed(cfg.train.seed)
model = build_model(cfg, contexts.shape[1], stats.mean, stats.std)
train(model, TensorDataset(torch.from_numpy(contexts)), cfg, sys.argv[3],
      make_views=ContextViews(cfg, names, stats), resume=False,
      stop_after_iters=int(sys.argv[4]))
print(json.dumps({"code": 0, "n_contexts": len(contexts),
                  "peak_rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def _write_tiled(scale: int, directory: Path) -> int:
    """The HAPT recordings ``scale`` times as ``(C, T)`` float32 ``.npy`` files; total bytes."""
    from swav_ts.data.hapt import load_hapt_recordings

    directory.mkdir(parents=True, exist_ok=True)
    nbytes = 0
    for k in range(scale):
        for r in load_hapt_recordings("all"):
            path = directory / f"{r.recording_id}_t{k}.npy"
            np.save(path, r.signals)
            nbytes += path.stat().st_size
    return nbytes


def _step_ms(run_dir: Path, warmup_iters: int) -> tuple[float, int]:
    """Mean step time (ms) over the logging windows after ``warmup_iters``."""
    rows = iteration_rows(run_dir)
    first = next(r for r in rows if r["iteration"] >= warmup_iters)
    last = rows[-1]
    n = last["iteration"] - first["iteration"]
    if n < 1:
        raise RuntimeError(f"too few logged iterations in {run_dir / 'metrics.jsonl'}")
    return 1e3 * (last["elapsed_s"] - first["elapsed_s"]) / n, n


def run_memory_benchmark(
    scales: Sequence[int] = (1, 4, 16),
    iters: int = 60,
    warmup_iters: int = 20,
    threads: int = 1,
    in_memory: bool = True,
    overrides: Sequence[str] = (),
    work_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Peak RSS and step time of ``swav-ts pretrain`` at each scale (and of the in-memory path).

    Parameters
    ----------
    scales : sequence of int
        Tiling factors of the HAPT recordings; the first is the reference for the ratios.
    iters, warmup_iters : int
        Iterations of each run, and how many of them are left out of the step time.
    threads : int
        Torch threads of each child process.
    in_memory : bool
        Also run the in-memory path at each scale.
    overrides : sequence of str
        Config overrides on top of the HAPT recipe (e.g. ``train.batch_size=32``).
    work_dir : path, optional
        Where data and runs are written (default: a temporary folder, removed afterwards).
    """
    from swav_ts.core.config import save_config
    from swav_ts.timeseries.config import hapt_recipe

    scales = [int(s) for s in scales]
    if not scales or min(scales) < 1:
        raise ValueError(f"scales must be positive integers, got {scales}")
    if iters <= warmup_iters:
        raise ValueError(f"iters ({iters}) must exceed warmup_iters ({warmup_iters})")
    results = []
    with scratch_folder("swav_ts_mem_", work_dir) as root:
        config = root / "config.yaml"
        save_config(hapt_recipe(), config)
        for s in scales:
            data = root / f"x{s}"
            nbytes = _write_tiled(s, data)
            sets = [
                f"data.source={data}/*.npy",
                f"data.channels={CHANNELS}",
                "data.rate_hz=50",
                "train.progress=false",
                "train.log_every_iters=10",
                *overrides,
            ]
            row: dict[str, Any] = {"scale": s, "data_mib": nbytes / 2**20}
            run_dir = root / f"run{s}"
            cli = [
                str(threads),
                "pretrain",
                "--config",
                str(config),
                "--out",
                str(run_dir),
                "--stop-after-iters",
                str(iters),
            ]
            for o in sets:
                cli += ["--set", o]
            child = run_child(_CLI_CHILD, cli, f"swav-ts pretrain at scale {s}")
            row["cache_peak_rss_mib"] = child["peak_rss_kib"] / 1024
            row["cache_step_ms"], row["timed_iters"] = _step_ms(run_dir, warmup_iters)
            shutil.rmtree(run_dir, ignore_errors=True)
            if in_memory:
                mem_dir = root / f"mem{s}"
                child = run_child(
                    _IN_MEMORY_CHILD,
                    [str(threads), str(config), str(mem_dir), str(iters), *sets],
                    f"in-memory run at scale {s}",
                )
                row["n_contexts"] = child["n_contexts"]
                row["memory_peak_rss_mib"] = child["peak_rss_kib"] / 1024
                row["memory_step_ms"], _ = _step_ms(mem_dir, warmup_iters)
                row["step_ratio_cache_over_memory"] = row["cache_step_ms"] / row["memory_step_ms"]
                shutil.rmtree(mem_dir, ignore_errors=True)
            shutil.rmtree(data, ignore_errors=True)
            results.append(row)
            logger.info("scale %d: %s", s, row)
    base = results[0]
    for r in results:
        r["cache_rss_ratio_to_first"] = r["cache_peak_rss_mib"] / base["cache_peak_rss_mib"]
        if in_memory:
            r["memory_rss_ratio_to_first"] = r["memory_peak_rss_mib"] / base["memory_peak_rss_mib"]
    return {
        "benchmark": "memory",
        "machine": machine_info(),
        "settings": {
            "scales": scales,
            "iters": iters,
            "warmup_iters": warmup_iters,
            "threads": threads,
            "overrides": list(overrides),
        },
        "results": results,
    }


COLUMNS = (
    "scale",
    "data_mib",
    "cache_peak_rss_mib",
    "cache_rss_ratio_to_first",
    "cache_step_ms",
    "memory_peak_rss_mib",
    "memory_rss_ratio_to_first",
    "memory_step_ms",
    "step_ratio_cache_over_memory",
)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: print the table, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench memory", description=__doc__.splitlines()[0])
    kwargs = add_options(
        p, run_memory_benchmark, skip=("overrides",), helps={"in_memory": "time the in-RAM path"}
    )
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides")
    return run_command(
        p,
        argv,
        lambda a: run_memory_benchmark(**kwargs(a), overrides=a.overrides),
        lambda r: format_table(r["results"], [c for c in COLUMNS if c in r["results"][0]]),
        json_help="write the results here",
    )
