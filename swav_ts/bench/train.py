"""Benchmark: windows/s of the default time-series SwAV pretraining step, and where it goes.

Two measurements of the same step on the real HAPT contexts (``TimeSeriesConfig`` defaults:
cnn3 encoder, 2 x 128 + 6 x 48 views of 256-sample contexts, batch 128, AdamW):

* a hand-written replica of one iteration of :func:`swav_ts.core.trainer.train` (same calls,
  same order) with a clock around each part: data loading, view making (crops +
  augmentations), model forward, Sinkhorn + swapped loss, backward, optimizer (+ prototype
  normalisation and the trainer's monitoring tensors);
* the real trainer for a few iterations, timed by stamping every ``make_views`` call (one per
  iteration), so the two totals can be compared.

Optionally the replica runs a second time with ``torch.compile`` on the model.

Run: ``swav-ts bench train --iters 30 --json runs/bench_train.json``
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from swav_ts.bench.common import format_table, machine_info, write_json
from swav_ts.core.config import load_config
from swav_ts.core.monitor import CollapseMonitor, NaNGuard
from swav_ts.core.optim import build_optimizer
from swav_ts.core.sampler import ResumableDistributedSampler
from swav_ts.core.trainer import autocast_context, swav_step_loss, train
from swav_ts.data.normalize import ChannelNormalizer
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.pretrain import ContextViews, build_model, contexts_from_recordings

logger = logging.getLogger(__name__)

PARTS = ("data", "augment", "forward", "sinkhorn_loss", "backward", "optimizer")
GOAL_DATA_AUG_SHARE = 0.15
GOAL_SINKHORN_LOSS_SHARE = 0.10


def load_hapt_contexts(
    cfg: TimeSeriesConfig | None = None, max_contexts: int | None = None
) -> np.ndarray:
    """Normalised HAPT contexts ``(n, C, T_ctx)`` float32, as the estimator prepares them.

    Parameters
    ----------
    cfg : TimeSeriesConfig, optional
        ``data.split``, ``data.context_length`` and ``data.stride`` are used (defaults:
        train split, 256 samples every 64).
    max_contexts : int, optional
        Keep only the first ``max_contexts`` contexts (for smoke runs).
    """
    from swav_ts.datasets import load_hapt_recordings

    cfg = cfg or TimeSeriesConfig()
    recordings = load_hapt_recordings(cfg.data.split)
    contexts = contexts_from_recordings(
        [r.signals for r in recordings], cfg.data.context_length, cfg.data.stride
    )
    if max_contexts is not None:
        if max_contexts < 1:
            raise ValueError(f"max_contexts must be >= 1, got {max_contexts}")
        contexts = contexts[:max_contexts]
    contexts = ChannelNormalizer().fit(contexts).transform(contexts)
    return np.ascontiguousarray(contexts, dtype=np.float32)


def resolve_config(overrides: Sequence[str] = ()) -> TimeSeriesConfig:
    """``TimeSeriesConfig()`` with ``section.key=value`` overrides applied."""
    return load_config(TimeSeriesConfig, None, overrides)


def _syncer(device: torch.device) -> Callable[[], None]:
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def _check_counts(iters: int, warmup: int) -> None:
    if iters < 1:
        raise ValueError(f"iters must be >= 1, got {iters}")
    if warmup < 0:
        raise ValueError(f"warmup must be >= 0, got {warmup}")


def _loader(cfg: TimeSeriesConfig, contexts: np.ndarray, device: torch.device) -> DataLoader:
    """The trainer's loader: resumable sampler, ``num_workers`` from the config, drop_last."""
    n = len(contexts)
    if n < cfg.train.batch_size:
        raise ValueError(f"{n} contexts are fewer than one batch of {cfg.train.batch_size}")
    sampler = ResumableDistributedSampler(n, 0, 1, seed=cfg.train.seed)
    return DataLoader(
        TensorDataset(torch.from_numpy(contexts)),
        batch_size=cfg.train.batch_size,
        sampler=sampler,
        num_workers=cfg.train.num_workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
    )


def time_replica_step(
    cfg: TimeSeriesConfig,
    contexts: np.ndarray,
    iters: int = 20,
    warmup: int = 3,
    device: str = "cpu",
    use_compile: bool = False,
    max_seconds: float | None = None,
) -> dict[str, Any]:
    """Per-part times of a hand-written replica of the trainer's iteration.

    The parts follow :func:`swav_ts.core.trainer.train`: ``data`` (next batch of the
    DataLoader), ``augment`` (``ContextViews``: crops + augmentations on the device),
    ``forward`` (model under the configured autocast), ``sinkhorn_loss``
    (:func:`swav_step_loss`: Sinkhorn codes + swapped prediction loss), ``backward``
    (``zero_grad`` + ``backward`` + prototype freeze) and ``optimizer`` (learning rate,
    ``step``, next iteration's ``prototypes.normalize_`` and the monitoring tensors).
    On CUDA every part ends with a synchronisation, so each is charged its own kernels.

    Parameters
    ----------
    cfg : TimeSeriesConfig
        Model, views, optimizer, batch size and precision.
    contexts : ndarray (n, C, T_ctx)
        Normalised contexts.
    iters, warmup : int
        Timed and untimed iterations (the first untimed ones absorb compilation).
    device : str
        ``cpu`` or ``cuda[:N]``.
    use_compile : bool
        Wrap the model in ``torch.compile`` (as ``train.compile=true`` does).
    max_seconds : float, optional
        Stop timing once this much wall time has passed (at least one timed iteration).

    Returns
    -------
    dict
        ``parts_ms`` (median per part), ``share`` (part median / sum of part medians),
        ``step_ms`` (median per-iteration total), ``windows_per_s``, ``first_iter_s``
        (warm-up cost, i.e. compilation), ``iters`` (timed), ``final_loss``.
    """
    _check_counts(iters, warmup)
    dev = torch.device(device)
    sync = _syncer(dev)
    swav, tcfg = cfg.swav, cfg.train
    torch.manual_seed(tcfg.seed)
    model = build_model(cfg, contexts.shape[1]).to(dev)
    optimizer = build_optimizer(model, cfg.optim)
    forward_model: torch.nn.Module = torch.compile(model) if use_compile else model
    forward_model.train()
    make_views = ContextViews(cfg)
    generator = torch.Generator(device=dev).manual_seed(tcfg.seed)
    nan_guard = NaNGuard(dev)
    loader = _loader(cfg, contexts, dev)
    lr = float(cfg.optim.base_lr)

    def batches():
        epoch = 0
        while True:
            loader.sampler.set_epoch(epoch)
            yield from loader
            epoch += 1

    stream = batches()
    samples: dict[str, list[float]] = {p: [] for p in PARTS}
    totals: list[float] = []
    first_iter_s = float("nan")
    loss = torch.zeros(())
    model.prototypes.normalize_()
    t_begin = time.perf_counter()
    for it in range(warmup + iters):
        t = [time.perf_counter()]
        batch = next(stream)
        sync()
        t.append(time.perf_counter())
        with torch.no_grad():
            views = list(make_views(batch, generator, dev))
        sync()
        t.append(time.perf_counter())
        bs = views[0].shape[0]
        with autocast_context(dev, tcfg.precision):
            embeddings, scores_per_head = forward_model(views)  # (V*B, D), [(V*B, K)]
        embeddings = embeddings.detach().float()
        sync()
        t.append(time.perf_counter())
        loss = swav_step_loss(scores_per_head, len(views), swav, None, False)
        sync()
        t.append(time.perf_counter())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if it < swav.freeze_prototypes_iters:
            for p in model.prototypes.parameters():
                p.grad = None
        sync()
        t.append(time.perf_counter())
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.step()
        nan_guard.update(loss, it)
        CollapseMonitor.top_share(scores_per_head[0][:bs].detach())
        model.prototypes.normalize_()  # the trainer's next iteration starts with this
        sync()
        t.append(time.perf_counter())
        if it == 0:
            first_iter_s = t[-1] - t[0]
        if it >= warmup:
            for name, a, b in zip(PARTS, t[:-1], t[1:]):
                samples[name].append(b - a)
            totals.append(t[-1] - t[0])
            if max_seconds is not None and time.perf_counter() - t_begin > max_seconds:
                break
    nan_guard.check()
    return {
        "compile": use_compile,
        **summarise_parts(
            {p: [1e3 * x for x in v] for p, v in samples.items()},
            [1e3 * x for x in totals],
            tcfg.batch_size,
        ),
        "first_iter_s": first_iter_s,
        "final_loss": float(loss.detach()),
    }


def summarise_parts(
    samples_ms: dict[str, list[float]], totals_ms: list[float], batch_size: int
) -> dict[str, Any]:
    """Medians, shares and windows/s from per-iteration part times (ms)."""
    parts_ms = {p: statistics.median(v) for p, v in samples_ms.items()}
    part_sum = sum(parts_ms.values())
    step_ms = statistics.median(totals_ms)
    return {
        "iters": len(totals_ms),
        "parts_ms": parts_ms,
        "share": {p: v / part_sum for p, v in parts_ms.items()},
        "step_ms": step_ms,
        "windows_per_s": batch_size / (step_ms / 1e3),
        "samples_ms": samples_ms,
        "totals_ms": totals_ms,
    }


def _merge_replica(old: dict[str, Any] | None, new: dict[str, Any], batch: int) -> dict[str, Any]:
    if old is None or "error" in old or "error" in new:
        return new if old is None or "error" in new else old
    samples = {p: old["samples_ms"][p] + new["samples_ms"][p] for p in PARTS}
    merged = {**new, **summarise_parts(samples, old["totals_ms"] + new["totals_ms"], batch)}
    merged["first_iter_s"] = old["first_iter_s"]
    return merged


def _merge_trainer(old: dict[str, Any] | None, new: dict[str, Any], batch: int) -> dict[str, Any]:
    if old is None:
        return new
    iter_ms = old["iter_ms"] + new["iter_ms"]
    step_ms = statistics.median(iter_ms)
    return {
        "iters": len(iter_ms),
        "step_ms": step_ms,
        "windows_per_s": batch / (step_ms / 1e3),
        "augment_ms": statistics.median([old["augment_ms"], new["augment_ms"]]),
        "wall_time_s": old["wall_time_s"] + new["wall_time_s"],
        "iter_ms": iter_ms,
    }


class _StampedViews:
    """``make_views`` that records when each call starts and how long it takes."""

    def __init__(self, inner: Callable, sync: Callable[[], None]):
        self.inner, self.sync = inner, sync
        self.starts: list[float] = []
        self.durations: list[float] = []

    def __call__(self, batch, generator, device):
        self.sync()
        t0 = time.perf_counter()
        views = self.inner(batch, generator, device)
        self.sync()
        self.starts.append(t0)
        self.durations.append(time.perf_counter() - t0)
        return views


def time_real_trainer(
    cfg: TimeSeriesConfig,
    contexts: np.ndarray,
    iters: int = 10,
    warmup: int = 3,
    device: str = "cpu",
) -> dict[str, Any]:
    """Per-iteration time of :func:`swav_ts.core.trainer.train` itself.

    Runs ``warmup + iters + 1`` iterations in a temporary run folder (no progress bar, one
    metrics row at the end); the time of iteration ``i`` is the gap between the starts of the
    ``make_views`` calls ``i`` and ``i + 1``.

    Returns
    -------
    dict
        ``step_ms`` (median over the timed iterations), ``windows_per_s``, ``augment_ms``
        (median ``make_views`` time), ``iters``, ``wall_time_s`` (whole call, set-up and final
        checkpoint included).
    """
    _check_counts(iters, warmup)
    dev = torch.device(device)
    n_run = warmup + iters + 1
    run_cfg = dataclasses.replace(
        cfg,
        train=dataclasses.replace(cfg.train, progress=False, log_every_iters=n_run, device=device),
    )
    torch.manual_seed(cfg.train.seed)
    model = build_model(run_cfg, contexts.shape[1])
    stamped = _StampedViews(ContextViews(run_cfg), _syncer(dev))
    with tempfile.TemporaryDirectory(prefix="swav_ts_bench_train_") as tmp:
        result = train(
            model,
            TensorDataset(torch.from_numpy(contexts)),
            run_cfg,
            tmp,
            make_views=stamped,
            resume=False,
            stop_after_iters=n_run,
        )
    gaps = np.diff(stamped.starts)[warmup:]  # one per timed iteration
    if len(gaps) == 0:
        raise RuntimeError(f"the trainer ran {result.iterations} iterations, expected {n_run}")
    step_ms = 1e3 * float(np.median(gaps))
    return {
        "iters": len(gaps),
        "step_ms": step_ms,
        "windows_per_s": cfg.train.batch_size / (step_ms / 1e3),
        "augment_ms": 1e3 * statistics.median(stamped.durations[warmup:-1]),
        "wall_time_s": result.wall_time_s,
        "iter_ms": [1e3 * float(g) for g in gaps],
    }


def run_train_benchmark(
    iters: int = 20,
    warmup: int = 3,
    trainer_iters: int = 10,
    batch_size: int | None = None,
    threads: int = 1,
    device: str = "cpu",
    precision: str = "fp32",
    compile_modes: Sequence[bool] = (False, True),
    max_contexts: int | None = None,
    max_seconds_per_run: float | None = None,
    overrides: Sequence[str] = (),
    contexts: np.ndarray | None = None,
    rounds: int = 2,
) -> dict[str, Any]:
    """Replica parts (eager and optionally compiled) and the real trainer, one process.

    Parameters
    ----------
    iters, warmup : int
        Timed / untimed replica iterations per compile mode.
    trainer_iters : int
        Timed iterations of the real trainer (0: skip it).
    batch_size : int, optional
        Override ``train.batch_size`` (default: the config's 128).
    threads : int
        ``torch.set_num_threads`` for the whole benchmark (restored afterwards).
    device, precision : str
        ``train.device`` and ``train.precision``.
    compile_modes : sequence of bool
        Replica runs without / with ``torch.compile``; a failing compile is recorded as an
        error string, not raised.
    max_contexts : int, optional
        Use only the first contexts (smoke runs).
    max_seconds_per_run : float, optional
        Time budget of each replica run.
    overrides : sequence of str
        Extra ``section.key=value`` config overrides.
    contexts : ndarray, optional
        Use these contexts instead of loading HAPT.
    rounds : int, default 2
        Repeat (replica runs, trainer run) this many times, alternating, and pool the
        per-iteration times, so a change of machine load affects both alike.

    Returns
    -------
    dict
        ``settings``, ``machine``, ``load_avg`` (before / after), ``replica`` (one entry per
        compile mode), ``trainer``, ``replica_over_trainer`` and ``goals``.
    """
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    if rounds < 1:
        raise ValueError(f"rounds must be >= 1, got {rounds}")
    sets = [f"train.precision={precision}", f"train.device={device}", *overrides]
    if batch_size is not None:
        sets.append(f"train.batch_size={batch_size}")
    cfg = resolve_config(sets)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(threads)
    load_before = os.getloadavg()
    try:
        if contexts is None:
            contexts = load_hapt_contexts(cfg, max_contexts)
        out: dict[str, Any] = {
            "benchmark": "train",
            "machine": machine_info(),
            "settings": {
                "encoder": cfg.encoder.name,
                "views": f"{cfg.crops.n_global}x{cfg.crops.global_length} + "
                f"{cfg.crops.n_local}x{cfg.crops.local_length}",
                "context_length": cfg.data.context_length,
                "n_contexts": len(contexts),
                "batch_size": cfg.train.batch_size,
                "n_prototypes": cfg.swav.n_prototypes,
                "optimizer": cfg.optim.name,
                "precision": precision,
                "device": device,
                "threads": threads,
                "iters": iters,
                "warmup": warmup,
                "trainer_iters": trainer_iters,
                "rounds": rounds,
            },
            "replica": {},
        }
        batch = cfg.train.batch_size
        for round_ in range(rounds):  # alternate replica and trainer: load drift hits both
            for use_compile in compile_modes:
                key = "compiled" if use_compile else "eager"
                try:
                    res = time_replica_step(
                        cfg, contexts, iters, warmup, device, use_compile, max_seconds_per_run
                    )
                except Exception as exc:  # a compile failure is a result to report
                    if not use_compile:
                        raise
                    logger.warning("torch.compile run failed: %s", exc)
                    res = {"error": f"{type(exc).__name__}: {exc}"[:500]}
                out["replica"][key] = _merge_replica(out["replica"].get(key), res, batch)
                logger.info("round %d: replica %s done", round_, key)
            if trainer_iters:
                res = time_real_trainer(cfg, contexts, trainer_iters, warmup, device)
                out["trainer"] = _merge_trainer(out.get("trainer"), res, batch)
        eager = out["replica"].get("eager")
        if eager and "trainer" in out:
            out["replica_over_trainer"] = eager["step_ms"] / out["trainer"]["step_ms"]
        out["load_avg"] = {"before": load_before, "after": os.getloadavg()}
        out["goals"] = _goals(out)
    finally:
        torch.set_num_threads(old_threads)
    return out


def _goals(result: dict[str, Any]) -> dict[str, Any]:
    eager = result["replica"].get("eager")
    if not eager:
        return {}
    data_aug = eager["share"]["data"] + eager["share"]["augment"]
    sk = eager["share"]["sinkhorn_loss"]
    return {
        "data_augment_share": data_aug,
        "data_augment_goal": GOAL_DATA_AUG_SHARE,
        "data_augment_met": data_aug < GOAL_DATA_AUG_SHARE,
        "sinkhorn_loss_share": sk,
        "sinkhorn_loss_goal": GOAL_SINKHORN_LOSS_SHARE,
        "sinkhorn_loss_met": sk < GOAL_SINKHORN_LOSS_SHARE,
    }


def format_result(result: dict[str, Any]) -> str:
    """Plain-text tables of a :func:`run_train_benchmark` result."""
    s = result["settings"]
    lines = [
        f"{s['encoder']}, views {s['views']} from {s['n_contexts']} HAPT contexts of "
        f"{s['context_length']}, batch {s['batch_size']}, {s['precision']} on {s['device']}, "
        f"{s['threads']} thread(s)",
    ]
    rows = []
    for key, r in result["replica"].items():
        if "error" in r:
            rows.append({"run": f"replica {key}", "step_ms": r["error"][:60]})
            continue
        row: dict[str, Any] = {"run": f"replica {key}", "step_ms": r["step_ms"]}
        row["windows/s"] = r["windows_per_s"]
        for p in PARTS:
            row[f"{p} %"] = 100 * r["share"][p]
        row["1st iter s"] = r["first_iter_s"]
        rows.append(row)
    if "trainer" in result:
        t = result["trainer"]
        rows.append(
            {"run": "real trainer", "step_ms": t["step_ms"], "windows/s": t["windows_per_s"]}
        )
    lines.append(format_table(rows, ["run", "step_ms", "windows/s", *[f"{p} %" for p in PARTS]]))
    extra = [r for r in rows if "1st iter s" in r]
    if extra:
        lines.append(
            "first (warm-up) iteration: "
            + ", ".join(f"{r['run']} {r['1st iter s']:.2f} s" for r in extra)
        )
    if "replica_over_trainer" in result:
        lines.append(f"replica / real trainer step time: {result['replica_over_trainer']:.3f}")
    g = result.get("goals")
    if g:
        lines.append(
            f"data+augmentation {100 * g['data_augment_share']:.1f} % of the step "
            f"(goal < {100 * g['data_augment_goal']:.0f} %: "
            f"{'met' if g['data_augment_met'] else 'NOT met'}); "
            f"Sinkhorn+loss {100 * g['sinkhorn_loss_share']:.1f} % "
            f"(goal < {100 * g['sinkhorn_loss_goal']:.0f} %: "
            f"{'met' if g['sinkhorn_loss_met'] else 'NOT met'})"
        )
    la = result.get("load_avg")
    if la:
        lines.append(
            f"load average (1 min) before {la['before'][0]:.2f}, after {la['after'][0]:.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: run, print the tables, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench train", description=__doc__.splitlines()[0])
    p.add_argument("--iters", type=int, default=20, help="timed replica iterations per mode")
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--trainer-iters", type=int, default=10, help="0 skips the real trainer")
    p.add_argument("--rounds", type=int, default=2, help="alternating repeats, pooled")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", choices=["fp32", "bf16", "fp16"], default="fp32")
    p.add_argument(
        "--compile", choices=["off", "on", "both"], default="both", help="torch.compile runs"
    )
    p.add_argument("--max-contexts", type=int, default=None, help="first N contexts only")
    p.add_argument("--max-seconds", type=float, default=None, help="budget per replica run")
    p.add_argument("--set", nargs="*", default=[], help="config overrides section.key=value")
    p.add_argument("--json", default=None, help="write the result to this JSON file")
    a = p.parse_args(argv)
    modes = {"off": (False,), "on": (True,), "both": (False, True)}[a.compile]
    res = run_train_benchmark(
        iters=a.iters,
        warmup=a.warmup,
        trainer_iters=a.trainer_iters,
        batch_size=a.batch_size,
        threads=a.threads,
        device=a.device,
        precision=a.precision,
        compile_modes=modes,
        max_contexts=a.max_contexts,
        max_seconds_per_run=a.max_seconds,
        overrides=a.set,
        rounds=a.rounds,
    )
    print(format_result(res))
    write_json(res, a.json)
    return res


if __name__ == "__main__":
    main()
