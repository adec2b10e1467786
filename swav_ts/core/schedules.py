"""Per-iteration learning-rate schedule: linear warmup, then cosine decay to ``final_lr``."""

from __future__ import annotations

import numpy as np


def warmup_cosine_schedule(
    base_lr: float,
    final_lr: float,
    epochs: int,
    iters_per_epoch: int,
    warmup_epochs: float = 0.0,
    start_warmup_lr: float = 0.0,
) -> np.ndarray:
    """Learning rate for every iteration of a run, precomputed.

    Parameters
    ----------
    base_lr, final_lr : float
        Peak and final learning rates.
    epochs, iters_per_epoch : int
        Run length; the schedule has ``epochs * iters_per_epoch`` entries.
    warmup_epochs : float
        Linear ramp from ``start_warmup_lr`` to ``base_lr`` over this many epochs.
    start_warmup_lr : float
        First learning rate of the warmup.

    Returns
    -------
    ndarray, shape (epochs * iters_per_epoch,)
    """
    if epochs < 1 or iters_per_epoch < 1:
        raise ValueError(
            f"need epochs >= 1 and iters_per_epoch >= 1; got {epochs}, {iters_per_epoch}"
        )
    total = epochs * iters_per_epoch
    n_warm = min(round(warmup_epochs * iters_per_epoch), total)
    warm = np.linspace(start_warmup_lr, base_lr, n_warm, endpoint=False) if n_warm else np.zeros(0)
    n_cos = total - n_warm
    t = np.arange(n_cos)
    cosine = final_lr + 0.5 * (base_lr - final_lr) * (1 + np.cos(np.pi * t / max(n_cos, 1)))
    schedule = np.concatenate([warm, cosine])
    assert len(schedule) == total
    return schedule
