"""The SwAV training loop, shared by every modality.

Reads top to bottom: set-up, resume, then epochs of iterations, each one call of
:class:`swav_ts.core.step.SwAVStep` (schedule, prototype normalisation, views, forward, swapped
loss with optional queue, backward, prototype freeze, optimizer step), then logging and
checkpoints. Modality code enters only through the dataset and ``make_views`` (a batch -> list
of crop tensors on the device).

(About 500 lines: the set-up, resume, checkpoint and logging of one run live together in one
class, read top to bottom; the step is ``core/step.py``, clean stops ``core/signals.py``.)
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from swav_ts.core import distributed as dist_utils
from swav_ts.core.checkpoint import (
    CHECKPOINT_FORMAT,
    CheckpointError,
    atomic_save,
    load_training_checkpoint,
    rng_state,
    set_rng_state,
)
from swav_ts.core.config import SwAVConfig, changed_keys, save_config, to_dict
from swav_ts.core.model import SwAVModel
from swav_ts.core.monitor import CollapseMonitor, LossWindow, MetricsWriter, NaNGuard
from swav_ts.core.optim import build_optimizer
from swav_ts.core.queue import EmbeddingQueue
from swav_ts.core.sampler import ResumableDistributedSampler
from swav_ts.core.schedules import warmup_cosine_schedule
from swav_ts.core.signals import StopOnSignal, TrainingInterrupted
from swav_ts.core.step import MakeViews, SwAVStep

__all__ = [
    "TrainResult",
    "TrainingInterrupted",
    "check_assignment_pool",
    "load_training_checkpoint",
    "train",
]

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"


@dataclass
class TrainResult:
    """What a finished run leaves behind."""

    run_dir: Path
    checkpoint_path: Path
    history: list[dict[str, Any]] = field(default_factory=list)  # one row per epoch
    iterations: int = 0
    wall_time_s: float = 0.0


def resolve_device(name: str) -> torch.device:
    """``auto`` -> the local CUDA device when there is one, else CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")
    return torch.device(name)


def check_assignment_pool(swav: SwAVConfig, batch_size: int, world_size: int) -> None:
    """Refuse more prototypes than samples Sinkhorn can assign at once.

    The codes of one step are computed over the global batch plus the queue
    (``train.batch_size * world_size + swav.queue_length`` samples); with more prototypes than
    that, the equipartition constraint cannot hold and most prototypes get no sample. The
    original ImageNet recipes pass (K=3000: 64 x 4 processes + 3840 queued, or 64 x 64).

    Raises
    ------
    ValueError
        Naming ``swav.n_prototypes`` and the numbers.
    """
    sizes = [swav.n_prototypes] if isinstance(swav.n_prototypes, int) else swav.n_prototypes
    pool = batch_size * world_size + swav.queue_length
    if max(sizes) > pool:
        raise ValueError(
            f"swav.n_prototypes={swav.n_prototypes} is more than the {pool} samples assigned "
            f"at once (train.batch_size={batch_size} x {world_size} process(es) + "
            f"swav.queue_length={swav.queue_length}); use at most {pool} prototypes, a larger "
            "batch or a queue"
        )


def train(
    model: SwAVModel,
    dataset: Dataset,
    config: Any,
    run_dir: str | Path,
    make_views: MakeViews | None = None,
    collate_fn: Callable | None = None,
    resume: bool = True,
    stop_after_iters: int | None = None,
    phase_hook: Callable[[str], None] | None = None,
) -> TrainResult:
    """Pretrain ``model`` with SwAV on ``dataset``.

    Parameters
    ----------
    model : SwAVModel
        Backbone + projection head + prototypes.
    dataset : torch Dataset
        Items collated by ``collate_fn`` into batches.
    config : dataclass
        Holds ``.swav`` (SwAVConfig), ``.optim`` (OptimConfig), ``.train`` (TrainConfig); the
        whole object is saved as the run's resolved config.
    run_dir : path
        Run folder: ``config.yaml``, ``metrics.jsonl``, ``checkpoint.pt``.
    make_views : callable, optional
        ``(batch, generator, device) -> list of crop tensors`` (B, C, ...) on the device;
        default: the batch is ``(crops, targets)`` or ``crops``, moved to the device.
    resume : bool, default True
        Continue from ``run_dir/checkpoint.pt`` when it exists.
    stop_after_iters : int, optional
        Stop (after checkpointing) once this many iterations of the whole run are done; for
        tests of interruption and for time-boxed runs.
    phase_hook : callable, optional
        Passed to :class:`~swav_ts.core.step.SwAVStep` (benchmarks time the step through it).

    Returns
    -------
    TrainResult

    Raises
    ------
    swav_ts.core.distributed.CollectiveError
        In a multi-process run, when a collective fails because another process died or
        stalled (detected after ``train.dist_timeout_s``); names this rank and the iteration.
    """
    run = _Training(model, dataset, config, Path(run_dir), make_views, collate_fn, phase_hook)
    try:
        return run.fit(resume, stop_after_iters)
    except RuntimeError as exc:
        if not dist_utils.is_initialized() or not dist_utils.is_collective_failure(exc):
            raise
        at = (
            "during set-up"
            if run.iteration is None
            else f"at iteration {run.iteration} (epoch {run.epoch})"
        )
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise dist_utils.CollectiveError(
            f"rank {dist_utils.get_rank()} of {dist_utils.get_world_size()}: a collective "
            f"operation failed {at}; another process probably died or stalled (a stalled peer "
            f"is detected after train.dist_timeout_s={config.train.dist_timeout_s:g} s). "
            f"Check the other ranks' logs. Original error: {first_line}"
        ) from exc


class _Training:
    """State of one :func:`train` call: set up in ``__init__``, run by :meth:`fit`."""

    def __init__(
        self,
        model: SwAVModel,
        dataset: Dataset,
        config: Any,
        run_dir: Path,
        make_views: MakeViews | None,
        collate_fn: Callable | None,
        phase_hook: Callable[[str], None] | None,
    ) -> None:
        self.iteration: int | None = None  # kept current for error messages
        self.epoch: int | None = None
        self.config, self.run_dir = config, run_dir
        swav, tcfg = config.swav, config.train
        self.t_start = time.perf_counter()

        # ---------------- processes and device
        self.distributed = dist_utils.init_from_env(timeout_s=tcfg.dist_timeout_s)
        self.rank, self.world_size = dist_utils.get_rank(), dist_utils.get_world_size()
        self.is_main = self.rank == 0
        device = resolve_device(tcfg.device)
        if device.type == "cuda" and self.distributed:
            device = torch.device("cuda", torch.cuda.current_device())
        self.device = device
        if self.is_main:
            run_dir.mkdir(parents=True, exist_ok=True)
            save_config(config, run_dir / "config.yaml")

        # ---------------- data and schedule
        if len(dataset) < tcfg.batch_size * self.world_size:
            raise ValueError(
                f"dataset holds {len(dataset)} samples, fewer than one global batch "
                f"({tcfg.batch_size} x {self.world_size} processes)"
            )
        self.sampler = ResumableDistributedSampler(
            len(dataset), self.rank, self.world_size, seed=tcfg.seed
        )
        # The loader draws its workers' base seed from this generator, reseeded every epoch,
        # and not from the global RNG: otherwise a resumed run, which starts iterating the
        # loader after the RNG state is restored, would shift the global stream (dropout)
        # against an uninterrupted run.
        self.loader_generator = torch.Generator()
        self.loader = DataLoader(
            dataset,
            batch_size=tcfg.batch_size,
            sampler=self.sampler,
            num_workers=tcfg.num_workers,
            pin_memory=device.type == "cuda",
            drop_last=True,
            collate_fn=collate_fn,
            persistent_workers=False,
            generator=self.loader_generator,
        )
        self.iters_per_epoch = len(dataset) // self.world_size // tcfg.batch_size
        ocfg = config.optim
        self.schedule = warmup_cosine_schedule(
            ocfg.base_lr,
            ocfg.final_lr,
            tcfg.epochs,
            self.iters_per_epoch,
            ocfg.warmup_epochs,
            ocfg.start_warmup_lr,
        )
        self.total_iters = len(self.schedule)

        # ---------------- seeds, model, optimizer, step
        torch.manual_seed(tcfg.seed)
        np.random.seed(tcfg.seed % 2**32)  # noqa: NPY002  (global RNG of user datasets)
        random.seed(tcfg.seed)
        self.generator = torch.Generator(device=device).manual_seed(tcfg.seed + 1000 * self.rank)
        model = model.to(device)
        if tcfg.sync_bn and self.distributed:
            if device.type != "cuda":
                raise ValueError(
                    "train.sync_bn=true needs CUDA devices: torch's SyncBatchNorm does not run "
                    "on CPU; set train.sync_bn=false for gloo/CPU runs"
                )
            model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
        self.model: SwAVModel = model
        self.optimizer = build_optimizer(model, ocfg)
        self.scaler = torch.amp.GradScaler("cuda", enabled=tcfg.precision == "fp16")
        forward_model: nn.Module = model
        if self.distributed:
            forward_model = nn.parallel.DistributedDataParallel(
                model, device_ids=[device.index] if device.type == "cuda" else None
            )
        if tcfg.compile:
            forward_model = torch.compile(forward_model)
        self.queue_len = swav.queue_length // self.world_size
        if swav.queue_length and self.queue_len < tcfg.batch_size:
            raise ValueError(
                f"swav.queue_length={swav.queue_length} over {self.world_size} processes gives "
                f"{self.queue_len} per process, less than train.batch_size={tcfg.batch_size}"
            )
        check_assignment_pool(swav, tcfg.batch_size, self.world_size)
        self.step = SwAVStep(
            model,
            self.optimizer,
            swav,
            device,
            precision=tcfg.precision,
            scaler=self.scaler,
            forward_model=forward_model,
            make_views=make_views,
            distributed=self.distributed,
            phase_hook=phase_hook,
        )
        self.forward_model = forward_model
        self.ckpt_path = run_dir / CHECKPOINT_NAME
        self.history: list[dict[str, Any]] = []
        self.nan_guard = NaNGuard(device)
        self.stop = StopOnSignal(enabled=False)

    # ------------------------------------------------------------------ queue
    def make_queue(self) -> EmbeddingQueue:
        n_assign = len(self.config.swav.crops_for_assign)
        feat_dim = self.model.projection_head.feat_dim
        return EmbeddingQueue(n_assign, self.queue_len, feat_dim).to(self.device)

    # ------------------------------------------------------------------ resume
    def resume_from_checkpoint(self) -> int:
        """Restore model, optimizer, scaler, queue, history and RNG; the iteration reached."""
        ckpt = load_training_checkpoint(self.ckpt_path)
        saved_cfg = json.loads(ckpt["config"])
        changed = changed_keys(saved_cfg, json.loads(json.dumps(to_dict(self.config))))
        if changed:
            logger.warning(
                "resuming %s with a config that differs from the saved one: %s",
                self.ckpt_path,
                ", ".join(changed[:8]),
            )
        try:
            self.model.load_state_dict(ckpt["model"])
        except RuntimeError as exc:
            wrong = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line]
            what = "; ".join(wrong[:3]) or str(exc).splitlines()[0]
            keys = ", ".join(changed) or "none (the model was built differently)"
            raise CheckpointError(
                f"checkpoint {self.ckpt_path} holds another architecture ({what}); config keys "
                f"changed since it was written: {keys}. Use a new run folder, or restore those "
                "settings"
            ) from None
        self.optimizer.load_state_dict(ckpt["optimizer"])
        if "scaler" in ckpt:
            self.scaler.load_state_dict(ckpt["scaler"])
        if ckpt.get("queue") is not None:
            self.step.queue = self.make_queue()
            self.step.queue.load_state_dict(ckpt["queue"])
        self.history = json.loads(ckpt.get("history", "[]"))
        rng = (
            ckpt.get("rng_per_rank", {}).get(str(self.rank))
            if self.world_size > 1
            else ckpt.get("rng")
        )
        if rng is not None:
            set_rng_state(rng, self.generator)
        start = int(ckpt["iteration"])
        if self.is_main:
            logger.warning(
                "resuming %s at iteration %d of %d", self.run_dir, start, self.total_iters
            )
        return start

    def save_checkpoint(self, iteration: int) -> None:
        self.nan_guard.check()
        rng = rng_state(self.generator)
        rng_per_rank = None
        if self.distributed:  # every rank's view generator, so each resumes its own stream
            gathered: list[Any] = [None] * self.world_size
            torch.distributed.all_gather_object(gathered, {str(self.rank): rng})
            rng_per_rank = {k: v for d in gathered for k, v in d.items()}
        if not self.is_main:
            return
        queue = self.step.queue
        state = {
            "format": CHECKPOINT_FORMAT,
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(),
            "queue": None if queue is None else queue.state_dict(),
            "epoch": iteration // self.iters_per_epoch,
            "iteration": iteration,
            "config": json.dumps(to_dict(self.config)),
            "history": json.dumps(self.history),
            "rng": rng,
            "world_size": self.world_size,
        }
        if rng_per_rank is not None:
            state["rng_per_rank"] = rng_per_rank
        atomic_save(state, self.ckpt_path)

    # ------------------------------------------------------------------ the run
    def fit(self, resume: bool, stop_after_iters: int | None) -> TrainResult:
        start_iter = 0
        if resume and self.ckpt_path.exists():
            start_iter = self.resume_from_checkpoint()
        if start_iter >= self.total_iters:
            logger.info("run already complete (%d iterations)", start_iter)
            return TrainResult(self.run_dir, self.ckpt_path, self.history, start_iter, 0.0)
        tcfg = self.config.train
        n_protos = self.model.prototypes.sizes[0]
        self.collapse = CollapseMonitor(
            n_protos,
            tcfg.collapse_patience_iters,
            tcfg.collapse_loss_tolerance,
            tcfg.collapse_max_share,
        )
        self.metrics = MetricsWriter(self.run_dir, tcfg.metrics_format, enabled=self.is_main)
        iteration = start_iter
        with StopOnSignal(enabled=not self.distributed) as stop:
            self.stop = stop
            for epoch in range(start_iter // self.iters_per_epoch, tcfg.epochs):
                iteration = self.run_epoch(epoch, iteration, stop_after_iters)
                self.save_checkpoint(iteration)
                if stop.signal is not None:
                    raise TrainingInterrupted(stop.signal, iteration, self.ckpt_path)
                if stop_after_iters is not None and iteration >= stop_after_iters:
                    break
        dist_utils.barrier()
        wall = time.perf_counter() - self.t_start
        return TrainResult(self.run_dir, self.ckpt_path, self.history, iteration, wall)

    def run_epoch(self, epoch: int, iteration: int, stop_after_iters: int | None) -> int:
        """Iterations of one epoch (from a mid-epoch ``iteration`` when resuming)."""
        swav, tcfg = self.config.swav, self.config.train
        device = self.device
        # ---------------- epoch set-up
        skip = iteration - epoch * self.iters_per_epoch  # batches already done (mid-epoch)
        self.sampler.set_epoch(epoch)
        self.sampler.set_start(skip * tcfg.batch_size)
        self.loader_generator.manual_seed(tcfg.seed + 1_000_003 * epoch + 7919 * self.rank)
        if swav.queue_length and epoch >= swav.queue_start_epoch and self.step.queue is None:
            self.step.queue = self.make_queue()
        self.forward_model.train()
        window = LossWindow(device)
        epoch_sums = LossWindow(device)
        t_epoch = time.perf_counter()
        bar = self._progress_bar(epoch, skip)
        for batch in self.loader:
            self.iteration, self.epoch = iteration, epoch
            lr = float(self.schedule[iteration])
            out = self.step(batch, iteration, lr, self.generator)
            # ---------------- monitoring without host syncs
            self.nan_guard.update(out.loss, iteration)
            window.add(out)
            epoch_sums.add(out)
            iteration += 1
            if bar is not None:
                bar.update(1)
            if window.n == tcfg.log_every_iters or iteration == self.total_iters:
                self.log_window(window, epoch, iteration, lr, bar)
            if tcfg.checkpoint_every_iters and iteration % tcfg.checkpoint_every_iters == 0:
                self.save_checkpoint(iteration)
            if stop_after_iters is not None and iteration >= stop_after_iters:
                break
            if self.stop.signal is not None:  # SIGINT/SIGTERM: stop at this step boundary
                break
        if bar is not None:
            bar.close()
        # ---------------- end of epoch: metrics row
        self.nan_guard.check()
        if epoch_sums.n:
            self.log_epoch(epoch, iteration, epoch_sums.means(), t_epoch)
        return iteration

    def _progress_bar(self, epoch: int, skip: int):
        if not (self.is_main and self.config.train.progress):
            return None
        from tqdm.auto import tqdm

        return tqdm(
            total=self.iters_per_epoch,
            initial=skip,
            desc=f"epoch {epoch + 1}/{self.config.train.epochs}",
            leave=False,
            dynamic_ncols=True,
        )

    def _mean_over_ranks(self, values: list[float]) -> list[float]:
        if not self.distributed:
            return values
        t = torch.tensor(values, device=self.device)
        dist_utils.all_reduce_(t)
        return (t / self.world_size).tolist()

    def log_window(self, window: LossWindow, epoch: int, iteration: int, lr: float, bar) -> None:
        self.nan_guard.check()
        means = window.means()
        names = sorted(means)
        means = dict(zip(names, self._mean_over_ranks([means[k] for k in names])))
        if self.is_main:
            self.collapse.observe(means["loss"], means["top_prototype_share"], window.n)
            self.metrics.write(
                {
                    "kind": "iter",
                    "epoch": epoch,
                    "iteration": iteration,
                    **means,
                    "lr": lr,
                    "elapsed_s": time.perf_counter() - self.t_start,
                }
            )
            if bar is not None:
                bar.set_postfix(loss=f"{means['loss']:.4f}", lr=f"{lr:.3g}")
        window.reset()

    def log_epoch(self, epoch: int, iteration: int, means: dict, t_epoch: float) -> None:
        names = [k for k in ("loss", "dense_loss") if k in means]
        values = dict(zip(names, self._mean_over_ranks([means[k] for k in names])))
        epoch_loss = values["loss"]
        queue = self.step.queue
        row = {
            "kind": "epoch",
            "epoch": epoch,
            "iteration": iteration,
            "loss": epoch_loss,
            "lr": float(self.schedule[iteration - 1]),
            "ln_k": math.log(self.model.prototypes.sizes[0]),
            "top_prototype_share": self.collapse.last_share,
            "epoch_time_s": time.perf_counter() - t_epoch,
            "queue_in_use": bool(queue is not None and queue.is_full()),
        }
        if "dense_loss" in values:
            row["dense_loss"] = values["dense_loss"]
        if iteration % self.iters_per_epoch == 0:
            self.history.append(row)
        self.metrics.write(row)
        if self.is_main:
            logger.info(
                "epoch %d/%d loss %.4f lr %.4g",
                epoch + 1,
                self.config.train.epochs,
                epoch_loss,
                row["lr"],
            )
