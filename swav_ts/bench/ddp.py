"""Benchmark: 2 gloo processes x 1 thread against 1 process x 2 threads, same global batch.

Figures: docs/benchmarks.md, "`swav-ts bench ddp`: 2 gloo processes vs 1 process with 2 threads".

Both settings run the real trainer (:func:`swav_ts.core.trainer.train`) for a fixed number
of iterations on the HAPT contexts, each in freshly spawned processes (the trainer builds its
gloo process group from the RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR / MASTER_PORT
variables). Throughput comes from rank 0's per-iteration times (DDP synchronises every
iteration); the loss curves come from the runs' ``metrics.jsonl`` (one row per iteration).

Variants:

* ``default``: the time-series defaults (the projection head's BatchNorm, random views; before
  2026-12-04 also cnn3's BatchNorm and dropout). The curves cannot agree exactly: BatchNorm
  normalises with per-rank statistics and the view generator (seeded ``seed + 1000 * rank``)
  differs between the two settings.
* ``exact``: no BatchNorm and no dropout (tcn encoder, ``swav.hidden_mlp=0``, no dense
  objective) and views that
  depend only on the samples (fixed crops, no augmentation), so DDP must reproduce the single
  process up to floating-point summation order.

Run: ``swav-ts bench ddp --iters 30 --json runs/bench_ddp.json``
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import socket
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.multiprocessing as mp

from swav_ts.bench.common import (
    add_options,
    format_table,
    iteration_rows,
    load_average_text,
    machine_info,
    output_folder,
    resolve_config,
    run_command,
    scratch_folder,
)

logger = logging.getLogger(__name__)

VARIANTS = ("default", "exact")
GOAL_RATIO = 0.9
EXACT_OVERRIDES = (
    "encoder.name=tcn",
    "encoder.kwargs={hidden: 32, depth: 4, output_dim: 128}",
    "swav.hidden_mlp=0",
    "swav.dense_prototypes=0",  # the fixed views carry no time positions to pair
)


def load_hapt_contexts(cfg, max_contexts: int | None = None) -> np.ndarray:
    """HAPT training contexts ``(n, C, T_ctx)`` in sensor units, cut by the window rules."""
    from swav_ts.data.hapt import load_hapt_recordings
    from swav_ts.data.windows import cut_windows, plan_windows

    recs = load_hapt_recordings(cfg.data.split)
    plan = plan_windows([r.n_samples for r in recs], cfg.data.context_length, cfg.data.stride)
    parts = [
        cut_windows(r.signals, plan.start[plan.recording == k], plan.length)
        for k, r in enumerate(recs)
    ]
    contexts = np.concatenate(parts)
    if max_contexts is not None:
        if max_contexts < 1:
            raise ValueError(f"max_contexts must be >= 1, got {max_contexts}")
        contexts = contexts[:max_contexts]
    return np.ascontiguousarray(contexts, dtype=np.float32)


class FixedViews:
    """Views that depend only on the samples: fixed crop positions, no augmentation.

    Globals: the first and the last ``global_length`` samples of each context; locals:
    ``n_local`` crops of ``local_length`` at evenly spaced offsets.
    """

    def __init__(self, n_global: int, global_length: int, n_local: int, local_length: int):
        self.n_global, self.global_length = n_global, global_length
        self.n_local, self.local_length = n_local, local_length

    def __call__(self, batch, generator: torch.Generator, device: torch.device):
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        x = x.to(device)  # (B, C, T)
        n_time = x.shape[-1]
        out = []
        for n, length in ((self.n_global, self.global_length), (self.n_local, self.local_length)):
            for start in np.linspace(0, n_time - length, n).round().astype(int) if n else []:
                out.append(x[..., start : start + length].contiguous())  # (B, C, L)
        return out


class _StampedViews:
    """Wraps ``make_views``; records the start time of every call (one per iteration)."""

    def __init__(self, inner):
        self.inner = inner
        self.starts: list[float] = []

    def __call__(self, batch, generator, device):
        self.starts.append(time.perf_counter())
        return self.inner(batch, generator, device)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(
    rank: int,
    world_size: int,
    port: int,
    threads: int,
    contexts_path: str,
    run_dir: str,
    overrides: list[str],
    fixed_views: bool,
    n_iters: int,
    stamps_path: str,
) -> None:
    """One process of a run (top level so ``spawn`` can import it)."""
    import torch.distributed as dist

    from swav_ts.core.trainer import train
    from swav_ts.data.hapt import load_hapt_recordings
    from swav_ts.data.normalize import channel_stats
    from swav_ts.timeseries.model import build_model
    from swav_ts.timeseries.pretrain import ContextViews

    torch.set_num_threads(threads)
    if world_size > 1:
        os.environ.update(
            MASTER_ADDR="127.0.0.1",
            MASTER_PORT=str(port),
            RANK=str(rank),
            LOCAL_RANK=str(rank),
            WORLD_SIZE=str(world_size),
        )
    cfg = resolve_config(overrides)
    contexts = np.load(contexts_path)
    names = load_hapt_recordings("train")[0].channel_names
    stats = channel_stats(contexts, names)
    torch.manual_seed(cfg.train.seed)
    model = build_model(cfg, contexts.shape[1], stats.mean, stats.std)
    c = cfg.crops
    inner = (
        FixedViews(c.n_global, c.global_length, c.n_local, c.local_length)
        if fixed_views
        else ContextViews(cfg, names, stats)
    )
    stamped = _StampedViews(inner)
    t0 = time.perf_counter()
    train(
        model,
        torch.utils.data.TensorDataset(torch.from_numpy(contexts)),
        cfg,
        run_dir,
        make_views=stamped,
        resume=False,
        stop_after_iters=n_iters,
    )
    wall = time.perf_counter() - t0
    if rank == 0:
        Path(stamps_path).write_text(json.dumps({"starts": stamped.starts, "wall_s": wall}))
    if dist.is_initialized():
        dist.destroy_process_group()


def run_setting(
    world_size: int,
    threads: int,
    contexts_path: Path,
    work_dir: Path,
    global_batch: int,
    iters: int,
    warmup: int,
    variant: str,
) -> dict[str, Any]:
    """Spawn one run (``world_size`` processes x ``threads`` threads); times and losses."""
    if global_batch % world_size:
        raise ValueError(f"global batch {global_batch} does not split over {world_size} ranks")
    name = f"{variant}_{world_size}x{threads}"
    run_dir = work_dir / name
    stamps_path = work_dir / f"{name}_stamps.json"
    n_iters = warmup + iters + 1
    overrides = [
        f"train.batch_size={global_batch // world_size}",
        "train.device=cpu",
        "train.progress=false",
        "train.log_every_iters=1",
        "train.checkpoint_every_iters=0",
        *(EXACT_OVERRIDES if variant == "exact" else ()),
    ]
    t0 = time.perf_counter()
    mp.start_processes(
        _worker,
        args=(
            world_size,
            _free_port(),
            threads,
            str(contexts_path),
            str(run_dir),
            overrides,
            variant == "exact",
            n_iters,
            str(stamps_path),
        ),
        nprocs=world_size,
        start_method="spawn",
    )
    launch_s = time.perf_counter() - t0
    stamps = json.loads(stamps_path.read_text())
    gaps = np.diff(stamps["starts"])[warmup:]
    step_s = float(np.median(gaps))
    losses = [r["loss"] for r in iteration_rows(run_dir)]
    if len(losses) != n_iters:
        raise RuntimeError(
            f"{run_dir}/metrics.jsonl holds {len(losses)} iteration rows, not {n_iters}"
        )
    return {
        "processes": world_size,
        "threads": threads,
        "batch_per_process": global_batch // world_size,
        "step_ms": 1e3 * step_s,
        "step_ms_mean": 1e3 * statistics.fmean(gaps),
        "windows_per_s": global_batch / step_s,
        "train_wall_s": stamps["wall_s"],
        "launch_wall_s": launch_s,
        "losses": losses,
    }


def _max_rel_diff(a: Sequence[float], b: Sequence[float]) -> float:
    x, y = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(x - y) / np.maximum(np.abs(y), 1e-12)))


def run_ddp_benchmark(
    iters: int = 30,
    warmup: int = 3,
    global_batch: int = 128,
    variants: Sequence[str] = VARIANTS,
    max_contexts: int | None = None,
    work_dir: str | Path | None = None,
    single_thread_baseline: bool = True,
) -> dict[str, Any]:
    """For each variant: 2 processes x 1 thread, then 1 process x 2 threads.

    Parameters
    ----------
    iters, warmup : int
        Timed and untimed iterations per run (one more runs to close the last interval).
    global_batch : int
        Windows per iteration over all processes (even).
    variants : sequence of {"default", "exact"}
        See the module docstring.
    max_contexts : int, optional
        Use only the first contexts (smoke runs); at least one global batch.
    work_dir : path, optional
        Keep the run folders here (default: a temporary folder, removed afterwards).
    single_thread_baseline : bool, default True
        Also run 1 process x 1 thread (default variant), for DDP's speed-up over one core.

    Returns
    -------
    dict
        ``machine``, ``settings``, ``load_avg`` and per variant the two settings,
        ``ratio`` (DDP windows/s over threaded windows/s), ``goal_met`` and
        ``loss_max_rel_diff``.
    """
    if iters < 1 or warmup < 0:
        raise ValueError(f"need iters >= 1 and warmup >= 0, got {iters}, {warmup}")
    bad = [v for v in variants if v not in VARIANTS]
    if bad:
        raise ValueError(f"unknown variant(s) {bad}; valid: {VARIANTS}")
    work = output_folder(work_dir, "--work-dir") if work_dir else None  # created if missing
    contexts = load_hapt_contexts(resolve_config(), max_contexts)
    if len(contexts) < global_batch * (warmup + iters + 1):
        logger.info("fewer contexts than iterations x batch: runs span more than one epoch")
    if len(contexts) < global_batch:
        raise ValueError(f"{len(contexts)} contexts are fewer than one global batch")
    out: dict[str, Any] = {
        "benchmark": "ddp",
        "machine": machine_info(),
        "settings": {
            "iters": iters,
            "warmup": warmup,
            "global_batch": global_batch,
            "n_contexts": len(contexts),
            "exact_overrides": list(EXACT_OVERRIDES),
        },
        "load_avg": {"before": os.getloadavg()},
        "variants": {},
    }
    with scratch_folder("swav_ts_bench_ddp_") as tmp:
        root = work or tmp  # run folders kept in --work-dir
        contexts_path = root / "contexts.npy"
        np.save(contexts_path, contexts)
        for variant in variants:
            ddp = run_setting(2, 1, contexts_path, root, global_batch, iters, warmup, variant)
            threaded = run_setting(1, 2, contexts_path, root, global_batch, iters, warmup, variant)
            ratio = ddp["windows_per_s"] / threaded["windows_per_s"]
            entry: dict[str, Any] = {}
            if variant == "default" and single_thread_baseline:
                one = run_setting(1, 1, contexts_path, root, global_batch, iters, warmup, variant)
                entry["single_1x1"] = one
                entry["ddp_speedup_over_1x1"] = ddp["windows_per_s"] / one["windows_per_s"]
            out["variants"][variant] = {
                **entry,
                "ddp_2x1": ddp,
                "single_1x2": threaded,
                "ratio": ratio,
                "goal": GOAL_RATIO,
                "goal_met": ratio >= GOAL_RATIO,
                "loss_max_rel_diff": _max_rel_diff(ddp["losses"], threaded["losses"]),
            }
            logger.info("ddp variant %s: ratio %.3f", variant, ratio)
    out["load_avg"]["after"] = os.getloadavg()
    return out


def format_result(result: dict[str, Any]) -> str:
    """Plain-text table of a :func:`run_ddp_benchmark` result."""
    rows = []
    for variant, v in result["variants"].items():
        for key in ("ddp_2x1", "single_1x2", "single_1x1"):
            if key not in v:
                continue
            r = v[key]
            rows.append(
                {
                    "variant": variant,
                    "setting": f"{r['processes']} proc x {r['threads']} thr",
                    "step_ms": r["step_ms"],
                    "windows/s": r["windows_per_s"],
                    "final_loss": r["losses"][-1],
                }
            )
    s = result["settings"]
    lines = [
        f"global batch {s['global_batch']}, {s['iters']} timed iterations "
        f"(+{s['warmup']} warm-up) of the real trainer on {s['n_contexts']} HAPT contexts",
        format_table(rows),
    ]
    for variant, v in result["variants"].items():
        lines.append(
            f"{variant}: DDP / threads = {v['ratio']:.3f} (goal >= {v['goal']}: "
            f"{'met' if v['goal_met'] else 'NOT met'}); loss curves max rel. diff "
            f"{v['loss_max_rel_diff']:.2e}"
        )
        if "ddp_speedup_over_1x1" in v:
            lines.append(
                f"{variant}: DDP / (1 process x 1 thread) = {v['ddp_speedup_over_1x1']:.2f}"
            )
    lines.append(load_average_text(result["load_avg"]))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: run, print the table, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench ddp", description=__doc__.splitlines()[0])
    kwargs = add_options(
        p,
        run_ddp_benchmark,
        names={"single_thread_baseline": "1x1"},
        helps={"single_thread_baseline": "the 1 process x 1 thread run"},
        choices={"variants": VARIANTS},
    )
    return run_command(p, argv, lambda a: run_ddp_benchmark(**kwargs(a)), format_result)


if __name__ == "__main__":
    main()
