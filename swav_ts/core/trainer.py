"""The SwAV training loop, shared by every modality.

Reads top to bottom: set-up, resume, then epochs of iterations (schedule, prototype
normalisation, views, forward, swapped loss with optional queue, backward, prototype freeze,
optimizer step), logging and checkpoints. Modality code enters only through the dataset and
``make_views`` (a batch -> list of crop tensors on the device).
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from swav_ts.core import distributed as dist_utils
from swav_ts.core.checkpoint import CheckpointError, atomic_save, require_keys, safe_load
from swav_ts.core.config import SwAVConfig, save_config, to_dict
from swav_ts.core.loss import swav_loss
from swav_ts.core.model import SwAVModel
from swav_ts.core.monitor import CollapseMonitor, MetricsWriter, NaNGuard
from swav_ts.core.optim import build_optimizer
from swav_ts.core.queue import EmbeddingQueue
from swav_ts.core.sampler import ResumableDistributedSampler
from swav_ts.core.schedules import warmup_cosine_schedule

logger = logging.getLogger(__name__)

CHECKPOINT_NAME = "checkpoint.pt"
CHECKPOINT_FORMAT = "swav_ts.train/1"

MakeViews = Callable[[Any, torch.Generator, torch.device], Sequence[torch.Tensor]]


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


def default_make_views(batch: Any, generator: torch.Generator, device: torch.device):
    """A collated ``(list_of_crops, targets)`` or list of crops -> crops on ``device``."""
    crops = batch[0] if isinstance(batch, (tuple, list)) and isinstance(batch[0], list) else batch
    return [c.to(device, non_blocking=True) for c in crops]


def autocast_context(device: torch.device, precision: str):
    if precision == "fp32":
        return nullcontext()
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("train.precision=fp16 needs a CUDA device; use bf16 on CPU")
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device_type=device.type, dtype=dtype)


def swav_step_loss(
    scores_per_head: list[torch.Tensor],
    n_crops: int,
    swav: SwAVConfig,
    queue_scores: list[list[torch.Tensor]] | None,
    distributed: bool,
) -> torch.Tensor:
    """Swapped loss averaged over prototype heads (one head in the original)."""
    total = scores_per_head[0].new_zeros((), dtype=torch.float32)
    for h, scores in enumerate(scores_per_head):
        total = total + swav_loss(
            scores,
            n_crops,
            swav.crops_for_assign,
            temperature=swav.temperature,
            epsilon=swav.epsilon,
            sinkhorn_iters=swav.sinkhorn_iters,
            queue_scores=None if queue_scores is None else queue_scores[h],
            distributed=distributed,
            check_finite=False,
        )
    return total / len(scores_per_head)


def _rng_state(generator: torch.Generator) -> dict[str, Any]:
    state = {
        "torch": torch.get_rng_state(),
        "views": generator.get_state(),
        "numpy": json.dumps(
            np.random.get_state(legacy=False),  # noqa: NPY002  (global RNG of user datasets)
            default=lambda a: a.tolist(),
        ),
        "python": json.dumps(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    torch.set_rng_state(state["torch"])
    generator.set_state(state["views"])
    np_state = json.loads(state["numpy"])
    np_state["state"]["key"] = np.asarray(np_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(np_state)  # noqa: NPY002
    py = json.loads(state["python"])
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


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


def load_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a training checkpoint safely (tensors and plain data only)."""
    ckpt = safe_load(path)
    require_keys(ckpt, ["format", "model", "optimizer", "epoch", "iteration", "config"], path)
    if ckpt["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has format {ckpt['format']!r}, expected {CHECKPOINT_FORMAT!r}"
        )
    return ckpt


def train(
    model: SwAVModel,
    dataset: Dataset,
    config: Any,
    run_dir: str | Path,
    make_views: MakeViews | None = None,
    collate_fn: Callable | None = None,
    resume: bool = True,
    stop_after_iters: int | None = None,
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

    Returns
    -------
    TrainResult

    Raises
    ------
    swav_ts.core.distributed.CollectiveError
        In a multi-process run, when a collective fails because another process died or
        stalled (detected after ``train.dist_timeout_s``); names this rank and the iteration.
    """
    where: dict[str, Any] = {"iteration": None, "epoch": None}
    try:
        return _train(
            model, dataset, config, run_dir, make_views, collate_fn, resume, stop_after_iters, where
        )
    except RuntimeError as exc:
        if not dist_utils.is_initialized() or not dist_utils.is_collective_failure(exc):
            raise
        at = (
            "during set-up"
            if where["iteration"] is None
            else f"at iteration {where['iteration']} (epoch {where['epoch']})"
        )
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise dist_utils.CollectiveError(
            f"rank {dist_utils.get_rank()} of {dist_utils.get_world_size()}: a collective "
            f"operation failed {at}; another process probably died or stalled (a stalled peer "
            f"is detected after train.dist_timeout_s={config.train.dist_timeout_s:g} s). "
            f"Check the other ranks' logs. Original error: {first_line}"
        ) from exc


def _train(
    model: SwAVModel,
    dataset: Dataset,
    config: Any,
    run_dir: str | Path,
    make_views: MakeViews | None,
    collate_fn: Callable | None,
    resume: bool,
    stop_after_iters: int | None,
    where: dict[str, Any],
) -> TrainResult:
    """:func:`train`'s body; keeps ``where`` (iteration, epoch) current for error messages."""
    swav, ocfg, tcfg = config.swav, config.optim, config.train
    make_views = make_views or default_make_views
    run_dir = Path(run_dir)
    t_start = time.perf_counter()

    # ------------------------------------------------------------------ set-up
    distributed = dist_utils.init_from_env(timeout_s=tcfg.dist_timeout_s)
    rank, world_size = dist_utils.get_rank(), dist_utils.get_world_size()
    is_main = rank == 0
    device = resolve_device(tcfg.device)
    if device.type == "cuda" and distributed:
        device = torch.device("cuda", torch.cuda.current_device())
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        save_config(config, run_dir / "config.yaml")

    n_crops_needed = max(swav.crops_for_assign) + 1
    if len(dataset) < tcfg.batch_size * world_size:
        raise ValueError(
            f"dataset holds {len(dataset)} samples, fewer than one global batch "
            f"({tcfg.batch_size} x {world_size} processes)"
        )
    sampler = ResumableDistributedSampler(len(dataset), rank, world_size, seed=tcfg.seed)
    # The loader draws its workers' base seed from this generator, reseeded every epoch, and
    # not from the global RNG: otherwise a resumed run, which starts iterating the loader after
    # the RNG state is restored, would shift the global stream (dropout) against an
    # uninterrupted run.
    loader_generator = torch.Generator()
    loader = DataLoader(
        dataset,
        batch_size=tcfg.batch_size,
        sampler=sampler,
        num_workers=tcfg.num_workers,
        pin_memory=device.type == "cuda",
        drop_last=True,
        collate_fn=collate_fn,
        persistent_workers=False,
        generator=loader_generator,
    )
    iters_per_epoch = len(dataset) // world_size // tcfg.batch_size
    schedule = warmup_cosine_schedule(
        ocfg.base_lr,
        ocfg.final_lr,
        tcfg.epochs,
        iters_per_epoch,
        ocfg.warmup_epochs,
        ocfg.start_warmup_lr,
    )
    total_iters = len(schedule)

    torch.manual_seed(tcfg.seed)
    np.random.seed(tcfg.seed % 2**32)  # noqa: NPY002  (global RNG of user datasets)
    random.seed(tcfg.seed)
    generator = torch.Generator(device=device).manual_seed(tcfg.seed + 1000 * rank)

    model = model.to(device)
    if tcfg.sync_bn and distributed:
        if device.type != "cuda":
            raise ValueError(
                "train.sync_bn=true needs CUDA devices: torch's SyncBatchNorm does not run on "
                "CPU; set train.sync_bn=false for gloo/CPU runs"
            )
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    core_model: SwAVModel = model
    optimizer = build_optimizer(core_model, ocfg)
    scaler = torch.amp.GradScaler("cuda", enabled=tcfg.precision == "fp16")
    forward_model: nn.Module = core_model
    if distributed:
        forward_model = nn.parallel.DistributedDataParallel(
            core_model, device_ids=[device.index] if device.type == "cuda" else None
        )
    if tcfg.compile:
        forward_model = torch.compile(forward_model)

    queue: EmbeddingQueue | None = None
    queue_len = swav.queue_length // world_size
    if swav.queue_length and queue_len < tcfg.batch_size:
        raise ValueError(
            f"swav.queue_length={swav.queue_length} over {world_size} processes gives "
            f"{queue_len} per process, less than train.batch_size={tcfg.batch_size}"
        )

    check_assignment_pool(swav, tcfg.batch_size, world_size)

    def make_queue() -> EmbeddingQueue:
        n_assign, feat_dim = len(swav.crops_for_assign), core_model.projection_head.feat_dim
        return EmbeddingQueue(n_assign, queue_len, feat_dim).to(device)

    # ------------------------------------------------------------------ resume
    start_iter = 0
    history: list[dict[str, Any]] = []
    ckpt_path = run_dir / CHECKPOINT_NAME
    if resume and ckpt_path.exists():
        ckpt = load_training_checkpoint(ckpt_path)
        saved_cfg = json.loads(ckpt["config"])
        if saved_cfg != json.loads(json.dumps(to_dict(config))):
            logger.warning("resuming %s with a config that differs from the saved one", ckpt_path)
        core_model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if "scaler" in ckpt:
            scaler.load_state_dict(ckpt["scaler"])
        if ckpt.get("queue") is not None:
            queue = make_queue()
            queue.load_state_dict(ckpt["queue"])
        start_iter = int(ckpt["iteration"])
        history = json.loads(ckpt.get("history", "[]"))
        rng = ckpt.get("rng_per_rank", {}).get(str(rank)) if world_size > 1 else ckpt.get("rng")
        if rng is not None:
            _set_rng_state(rng, generator)
        logger.info("resumed from %s at iteration %d", ckpt_path, start_iter)
    if start_iter >= total_iters:
        logger.info("run already complete (%d iterations)", start_iter)
        return TrainResult(run_dir, ckpt_path, history, start_iter, 0.0)

    def save_checkpoint(iteration: int) -> None:
        nan_guard.check()
        rng = _rng_state(generator)
        if distributed:  # every rank's view generator, so each resumes its own stream
            gathered: list[Any] = [None] * world_size
            torch.distributed.all_gather_object(gathered, {str(rank): rng})
            rng_per_rank = {k: v for d in gathered for k, v in d.items()}
        if not is_main:
            return
        state = {
            "format": CHECKPOINT_FORMAT,
            "model": core_model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scaler": scaler.state_dict(),
            "queue": None if queue is None else queue.state_dict(),
            "epoch": iteration // iters_per_epoch,
            "iteration": iteration,
            "config": json.dumps(to_dict(config)),
            "history": json.dumps(history),
            "rng": rng,
            "world_size": world_size,
        }
        if distributed:
            state["rng_per_rank"] = rng_per_rank
        atomic_save(state, ckpt_path)

    # ------------------------------------------------------------------ training
    nan_guard = NaNGuard(device)
    n_protos = core_model.prototypes.sizes[0]
    collapse = CollapseMonitor(
        n_protos,
        tcfg.collapse_patience_iters,
        tcfg.collapse_loss_tolerance,
        tcfg.collapse_max_share,
    )
    metrics = MetricsWriter(run_dir, tcfg.metrics_format, enabled=is_main)
    progress_enabled = is_main and tcfg.progress
    iteration = start_iter
    start_epoch = start_iter // iters_per_epoch
    for epoch in range(start_epoch, tcfg.epochs):
        # ---------------- epoch set-up
        skip = iteration - epoch * iters_per_epoch  # batches already done (mid-epoch resume)
        sampler.set_epoch(epoch)
        sampler.set_start(skip * tcfg.batch_size)
        loader_generator.manual_seed(tcfg.seed + 1_000_003 * epoch + 7919 * rank)
        if swav.queue_length and epoch >= swav.queue_start_epoch and queue is None:
            queue = make_queue()
        forward_model.train()
        window_loss = torch.zeros((), device=device)
        window_share = torch.zeros((), device=device)
        window_n = 0
        epoch_loss_sum, epoch_n = torch.zeros((), device=device), 0
        t_epoch = time.perf_counter()
        bar = None
        if progress_enabled:
            from tqdm.auto import tqdm

            bar = tqdm(
                total=iters_per_epoch,
                initial=skip,
                desc=f"epoch {epoch + 1}/{tcfg.epochs}",
                leave=False,
                dynamic_ncols=True,
            )
        for batch in loader:
            where.update(iteration=iteration, epoch=epoch)
            # ---------------- schedule and prototype normalisation
            lr = float(schedule[iteration])
            for group in optimizer.param_groups:
                group["lr"] = lr
            core_model.prototypes.normalize_()

            # ---------------- forward: views -> embeddings, scores
            with torch.no_grad():
                views = list(make_views(batch, generator, device))
            if len(views) < n_crops_needed or len(views) < 2:
                raise ValueError(
                    f"make_views returned {len(views)} views; crops_for_assign "
                    f"{swav.crops_for_assign} needs at least {max(n_crops_needed, 2)}"
                )
            bs = views[0].shape[0]
            with autocast_context(device, tcfg.precision):
                embeddings, scores_per_head = forward_model(views)  # (V*B, D), [(V*B, K)]
            embeddings = embeddings.detach().float()

            # ---------------- swapped prediction loss (queue scored with current prototypes)
            queue_scores = None
            if queue is not None and queue.is_full():
                queue_scores = queue.scores(core_model.prototypes.weights())
            loss = swav_step_loss(scores_per_head, len(views), swav, queue_scores, distributed)
            if queue is not None:
                queue.push([embeddings[c * bs : (c + 1) * bs] for c in swav.crops_for_assign])

            # ---------------- backward, prototype freeze, step
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            if iteration < swav.freeze_prototypes_iters:
                for p in core_model.prototypes.parameters():
                    p.grad = None
            scaler.step(optimizer)
            scaler.update()

            # ---------------- monitoring without host syncs
            nan_guard.update(loss, iteration)
            window_loss += loss.detach()
            window_share += CollapseMonitor.top_share(scores_per_head[0][:bs].detach())
            window_n += 1
            epoch_loss_sum += loss.detach()
            epoch_n += 1
            iteration += 1
            if bar is not None:
                bar.update(1)
            if window_n == tcfg.log_every_iters or iteration == total_iters:
                nan_guard.check()
                mean_loss = float(window_loss) / window_n
                share = float(window_share) / window_n
                if distributed:
                    t = torch.tensor([mean_loss, share], device=device)
                    dist_utils.all_reduce_(t)
                    mean_loss, share = (t / world_size).tolist()
                if is_main:
                    collapse.observe(mean_loss, share, window_n)
                    metrics.write(
                        {
                            "kind": "iter",
                            "epoch": epoch,
                            "iteration": iteration,
                            "loss": mean_loss,
                            "lr": lr,
                            "top_prototype_share": share,
                        }
                    )
                    if bar is not None:
                        bar.set_postfix(loss=f"{mean_loss:.4f}", lr=f"{lr:.3g}")
                window_loss.zero_()
                window_share.zero_()
                window_n = 0
            if tcfg.checkpoint_every_iters and iteration % tcfg.checkpoint_every_iters == 0:
                save_checkpoint(iteration)
            if stop_after_iters is not None and iteration >= stop_after_iters:
                break
        if bar is not None:
            bar.close()

        # ---------------- end of epoch: metrics row and checkpoint
        nan_guard.check()
        if epoch_n:
            epoch_loss = float(epoch_loss_sum) / epoch_n
            if distributed:
                t = torch.tensor([epoch_loss], device=device)
                dist_utils.all_reduce_(t)
                epoch_loss = float(t) / world_size
            row = {
                "kind": "epoch",
                "epoch": epoch,
                "iteration": iteration,
                "loss": epoch_loss,
                "lr": float(schedule[iteration - 1]),
                "ln_k": math.log(n_protos),
                "top_prototype_share": collapse.last_share,
                "epoch_time_s": time.perf_counter() - t_epoch,
                "queue_in_use": bool(queue is not None and queue.is_full()),
            }
            if iteration % iters_per_epoch == 0:
                history.append(row)
            metrics.write(row)
            if is_main:
                logger.info(
                    "epoch %d/%d loss %.4f lr %.4g", epoch + 1, tcfg.epochs, epoch_loss, row["lr"]
                )
        save_checkpoint(iteration)
        if stop_after_iters is not None and iteration >= stop_after_iters:
            break

    dist_utils.barrier()
    return TrainResult(run_dir, ckpt_path, history, iteration, time.perf_counter() - t_start)
