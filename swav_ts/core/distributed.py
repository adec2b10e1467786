"""Thin helpers over ``torch.distributed`` that switch off when no process group exists."""

from __future__ import annotations

import datetime
import logging
import os
import re

import torch
import torch.distributed as dist

logger = logging.getLogger(__name__)

# Texts of the RuntimeErrors that gloo/NCCL raise when a peer dies or a collective times out
# (torch raises plain RuntimeError for many of them, not torch.distributed.DistError).
_COLLECTIVE_FAILURE = re.compile(
    r"gloo|nccl|c10d|ProcessGroup|[Cc]onnection (reset|closed|refused)|[Tt]imed out|"
    r"[Tt]imeout|[Bb]roken pipe|peer"
)


class CollectiveError(RuntimeError):
    """A collective operation failed: another process died, stalled or lost its connection."""


def is_collective_failure(exc: BaseException) -> bool:
    """True for the errors a dead or stalled peer causes in a collective operation."""
    if isinstance(exc, dist.DistError):
        return True
    return isinstance(exc, RuntimeError) and bool(_COLLECTIVE_FAILURE.search(str(exc)))


def is_initialized() -> bool:
    """True when a ``torch.distributed`` process group is ready."""
    return dist.is_available() and dist.is_initialized()


def use_distributed(distributed: bool | None) -> bool:
    """Resolve a ``distributed=None|True|False`` argument against the process group state.

    ``None`` means "if a process group is initialised". ``True`` without one is an error.
    """
    if distributed is None:
        return is_initialized()
    if distributed and not is_initialized():
        raise RuntimeError("distributed=True but torch.distributed is not initialised")
    return bool(distributed)


def get_rank() -> int:
    return dist.get_rank() if is_initialized() else 0


def get_world_size() -> int:
    return dist.get_world_size() if is_initialized() else 1


def is_main_process() -> bool:
    return get_rank() == 0


def all_reduce_(tensor: torch.Tensor, op: str = "sum") -> torch.Tensor:
    """In-place all-reduce (``sum`` or ``max``); a no-op without a process group."""
    if is_initialized():
        dist.all_reduce(tensor, op=dist.ReduceOp.SUM if op == "sum" else dist.ReduceOp.MAX)
    return tensor


def init_from_env(backend: str | None = None, timeout_s: float = 300.0) -> bool:
    """Initialise the default process group from torchrun's environment variables.

    Returns True when a group was created (``WORLD_SIZE`` > 1), False for a single process.
    ``timeout_s`` bounds collective operations, so a dead peer ends the run with an error
    instead of a hang.
    """
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1 or is_initialized():
        return is_initialized()
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() else "gloo"
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    dist.init_process_group(backend=backend, timeout=datetime.timedelta(seconds=timeout_s))
    logger.info("initialised %s process group: rank %d of %d", backend, get_rank(), world_size)
    return True


def barrier() -> None:
    if is_initialized():
        dist.barrier()


def destroy() -> None:
    if is_initialized():
        dist.destroy_process_group()
