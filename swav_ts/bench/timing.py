"""How the benchmarks time code: repeated calls after a warm-up, the device's queued work
included, at a set number of torch threads.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch


def time_calls(
    fn: Callable[[], Any],
    repeats: int = 7,
    warmup: int = 2,
    sync: Callable[[], None] | None = None,
) -> list[float]:
    """Seconds of each of ``repeats`` calls of ``fn()`` (in call order), after ``warmup``
    untimed calls; ``sync`` (:func:`device_sync`) is called after the warm-up and ends every
    timed call, so that each time includes the work the call queued on a device."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return times


def median_time_s(
    fn: Callable[[], Any], repeats: int = 7, warmup: int = 2, sync: Callable[[], None] | None = None
) -> float:
    """Median wall time (s) of ``fn()`` over ``repeats`` calls after ``warmup`` calls
    (:func:`time_calls`)."""
    return statistics.median(time_calls(fn, repeats, warmup, sync))


def device_sync(device: str | torch.device) -> Callable[[], None]:
    """A function that waits for the work queued on ``device``: ``torch.cuda.synchronize`` on
    a CUDA device, a no-op elsewhere."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return lambda: torch.cuda.synchronize(dev)
    return lambda: None


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """``torch.set_num_threads(threads)`` inside the block, the previous count restored after.

    Parameters
    ----------
    threads : int or None
        Threads inside the block; ``None`` leaves the count as it is.

    Raises
    ------
    ValueError
        ``threads`` is below 1 (raised on entering the block).
    """
    if threads is None:
        yield
        return
    if threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    old = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(old)
