"""Benchmark: windows/s of the real time-series SwAV pretraining step, and where the time goes.

Figures: docs/benchmarks.md, "`swav-ts bench train`: the time-series pretraining step".

Runs :func:`swav_ts.timeseries.pretrain` (the path of ``swav-ts pretrain``) on the bundled HAPT
recordings for a few iterations, with a phase hook on the real training step
(:class:`swav_ts.core.step.SwAVStep`): no copy of the loop is timed, the loop itself is. Parts:

* ``data``: from the end of one step to the start of the next (the DataLoader reading contexts
  from the on-disk cache, the loop's bookkeeping);
* ``views``: crops + augmentations on the device;
* ``forward``: model under the configured autocast;
* ``loss``: Sinkhorn codes + swapped prediction loss (+ queue);
* ``backward``: ``zero_grad`` + backward + prototype freeze;
* ``optimizer``: the optimizer step.

On CUDA every part ends with a synchronisation, so each is charged its own kernels. Optionally
the run is repeated with ``train.compile=true``.

Run: ``swav-ts bench train --iters 30 --json runs/bench_train.json``
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import (
    add_options,
    format_table,
    load_average_text,
    machine_info,
    resolve_config,
    run_command,
    scratch_folder,
)
from swav_ts.bench.timing import device_sync, torch_threads
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.pretrain import pretrain

logger = logging.getLogger(__name__)

PARTS = ("data", "views", "forward", "loss", "backward", "optimizer")
GOAL_DATA_VIEWS_SHARE = 0.15
GOAL_LOSS_SHARE = 0.10


class PhaseTimer:
    """A ``phase_hook`` recording how long each phase of every step took (seconds)."""

    def __init__(
        self, sync: Callable[[], None], clock: Callable[[], float] = time.perf_counter
    ) -> None:
        self.sync = sync
        self.clock = clock
        self.steps: list[dict[str, float]] = []
        self._last: float | None = None
        self._end_of_step: float | None = None

    def __call__(self, name: str) -> None:
        self.sync()
        now = self.clock()
        if name == "start":
            gap = float("nan") if self._end_of_step is None else now - self._end_of_step
            self.steps.append({"data": gap})
        else:
            self.steps[-1][name] = now - self._last
            if name == PARTS[-1]:
                self._end_of_step = now
        self._last = now


def time_pretraining(
    cfg: TimeSeriesConfig,
    iters: int = 20,
    warmup: int = 3,
    device: str = "cpu",
    use_compile: bool = False,
    source: Any = "hapt",
) -> dict[str, Any]:
    """Per-part times of ``iters`` real training steps after ``warmup`` untimed ones.

    Returns
    -------
    dict
        ``parts_ms`` (median per part), ``share`` (part median / sum of part medians),
        ``step_ms`` (median per-step total), ``windows_per_s``, ``first_iter_s`` (warm-up cost,
        i.e. compilation), ``iters`` (timed), ``steps_ms`` (every timed step's parts).
    """
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")
    dev = torch.device(device)
    n_run = warmup + iters
    train = dataclasses.replace(
        cfg.train,
        progress=False,
        log_every_iters=n_run,
        device=device,
        compile=use_compile,
        checkpoint_every_iters=0,
    )
    run_cfg = dataclasses.replace(cfg, train=train)
    timer = PhaseTimer(device_sync(dev))
    with scratch_folder("swav_ts_bench_train_") as tmp:
        result = pretrain(
            run_cfg, source, tmp, resume=False, stop_after_iters=n_run, phase_hook=timer
        )
    if len(timer.steps) < n_run:
        raise RuntimeError(f"the trainer ran {len(timer.steps)} steps, expected {n_run}")
    first = sum(v for k, v in timer.steps[0].items() if k != "data")
    timed = timer.steps[warmup:n_run]
    # the first timed step's data gap may span the end of an epoch: use the median
    samples = {p: [1e3 * s[p] for s in timed if np.isfinite(s[p])] for p in PARTS}
    totals = [1e3 * sum(s[p] for p in PARTS if np.isfinite(s[p])) for s in timed]
    parts_ms = {p: statistics.median(v) if v else 0.0 for p, v in samples.items()}
    part_sum = sum(parts_ms.values())
    step_ms = statistics.median(totals)
    return {
        "compile": use_compile,
        "iters": len(timed),
        "parts_ms": parts_ms,
        "share": {p: v / part_sum for p, v in parts_ms.items()},
        "step_ms": step_ms,
        "windows_per_s": cfg.train.batch_size / (step_ms / 1e3),
        "first_iter_s": first,
        "n_contexts": result.n_contexts,
        "steps_ms": [{p: 1e3 * s[p] for p in PARTS} for s in timed],
    }


def run_train_benchmark(
    iters: int = 20,
    warmup: int = 3,
    batch_size: int | None = None,
    threads: int = 1,
    device: str = "cpu",
    precision: str = "fp32",
    compile_modes: Sequence[bool] = (False, True),
    overrides: Sequence[str] = (),
    source: Any = "hapt",
) -> dict[str, Any]:
    """The real step, eager and optionally compiled, in one process.

    Parameters
    ----------
    iters, warmup : int
        Timed / untimed steps per compile mode.
    batch_size : int, optional
        Override ``train.batch_size`` (default: the config's 128).
    threads : int
        ``torch.set_num_threads`` for the whole benchmark (restored afterwards).
    device, precision : str
        ``train.device`` and ``train.precision``.
    compile_modes : sequence of bool
        Runs without / with ``torch.compile``; a failing compile is recorded as an error
        string, not raised.
    overrides : sequence of str
        Extra ``section.key=value`` config overrides (e.g. ``data.stride=1024`` for a quick
        run on fewer contexts).
    source : optional
        Pretraining data (default: the bundled HAPT recordings).

    Returns
    -------
    dict
        ``settings``, ``machine``, ``load_avg`` (before / after), ``runs`` (one per compile
        mode) and ``goals``.
    """
    sets = [f"train.precision={precision}", f"train.device={device}", *overrides]
    if batch_size is not None:
        sets.append(f"train.batch_size={batch_size}")
    cfg = resolve_config(sets)
    with torch_threads(threads):
        load_before = os.getloadavg()
        out: dict[str, Any] = {
            "benchmark": "train",
            "machine": machine_info(),
            "settings": {
                "encoder": cfg.encoder.name,
                "views": f"{cfg.crops.n_global}x{cfg.crops.global_length} + "
                f"{cfg.crops.n_local}x{cfg.crops.local_length}",
                "context_length": cfg.data.context_length,
                "batch_size": cfg.train.batch_size,
                "n_prototypes": cfg.swav.n_prototypes,
                "optimizer": cfg.optim.name,
                "precision": precision,
                "device": device,
                "threads": threads,
                "iters": iters,
                "warmup": warmup,
            },
            "runs": {},
        }
        for use_compile in compile_modes:
            key = "compiled" if use_compile else "eager"
            try:
                res = time_pretraining(cfg, iters, warmup, device, use_compile, source)
            except Exception as exc:  # a compile failure is a result to report
                if not use_compile:
                    raise
                logger.warning("torch.compile run failed: %s", exc)
                res = {"error": f"{type(exc).__name__}: {exc}"[:500]}
            out["runs"][key] = res
            out["settings"]["n_contexts"] = res.get("n_contexts")
        out["load_avg"] = {"before": load_before, "after": os.getloadavg()}
        out["goals"] = _goals(out)
    return out


def _goals(result: dict[str, Any]) -> dict[str, Any]:
    eager = result["runs"].get("eager")
    if not eager:
        return {}
    data_views = eager["share"]["data"] + eager["share"]["views"]
    loss = eager["share"]["loss"]
    return {
        "data_views_share": data_views,
        "data_views_goal": GOAL_DATA_VIEWS_SHARE,
        "data_views_met": data_views < GOAL_DATA_VIEWS_SHARE,
        "loss_share": loss,
        "loss_goal": GOAL_LOSS_SHARE,
        "loss_met": loss < GOAL_LOSS_SHARE,
    }


def format_result(result: dict[str, Any]) -> str:
    """Plain-text table of a :func:`run_train_benchmark` result."""
    s = result["settings"]
    lines = [
        f"{s['encoder']}, views {s['views']} from {s.get('n_contexts')} HAPT contexts of "
        f"{s['context_length']}, batch {s['batch_size']}, {s['precision']} on {s['device']}, "
        f"{s['threads']} thread(s)",
    ]
    rows = []
    for key, r in result["runs"].items():
        if "error" in r:
            rows.append({"run": key, "step_ms": r["error"][:60]})
            continue
        row: dict[str, Any] = {"run": key, "step_ms": r["step_ms"], "windows/s": r["windows_per_s"]}
        for p in PARTS:
            row[f"{p} %"] = 100 * r["share"][p]
        row["1st iter s"] = r["first_iter_s"]
        rows.append(row)
    lines.append(
        format_table(
            rows, ["run", "step_ms", "windows/s", *[f"{p} %" for p in PARTS], "1st iter s"]
        )
    )
    g = result.get("goals")
    if g:
        lines.append(
            f"data+views {100 * g['data_views_share']:.1f} % of the step "
            f"(goal < {100 * g['data_views_goal']:.0f} %: "
            f"{'met' if g['data_views_met'] else 'NOT met'}); "
            f"Sinkhorn+loss {100 * g['loss_share']:.1f} % "
            f"(goal < {100 * g['loss_goal']:.0f} %: {'met' if g['loss_met'] else 'NOT met'})"
        )
    if result.get("load_avg"):
        lines.append(load_average_text(result["load_avg"]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: run, print the table, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench train", description=__doc__.splitlines()[0])
    kwargs = add_options(
        p,
        run_train_benchmark,
        skip=("compile_modes", "source"),
        names={"overrides": "set"},
        helps={"iters": "timed steps per mode", "overrides": "config overrides section.key=value"},
        choices={"precision": ("fp32", "bf16", "fp16")},
    )
    p.add_argument(
        "--compile", choices=["off", "on", "both"], default="both", help="torch.compile runs"
    )
    modes = {"off": (False,), "on": (True,), "both": (False, True)}
    return run_command(
        p,
        argv,
        lambda a: run_train_benchmark(**kwargs(a), compile_modes=modes[a.compile]),
        format_result,
    )


if __name__ == "__main__":
    main()
