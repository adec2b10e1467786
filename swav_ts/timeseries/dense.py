"""Which per-position features of two views show the same moment: the pairs of the dense
(timestamp-level) swapped prediction.

A view's ``source_times`` (B, L) hold, for each of its samples, the context time it was read
from (crop offsets, time warps and permutations included). An encoder turns L samples into N
positions spread evenly over the view, so position ``j`` sits at view sample
``j (L - 1) / (N - 1)``; its context time is read from ``source_times`` by linear
interpolation. Each position of view a is paired with the position of view b nearest in context
time, if that is within half a position spacing; positions of a outside b's span stay unpaired.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["pair_positions", "position_times"]


def position_times(times: Tensor, n_positions: int) -> Tensor:
    """Context times ``(B, N)`` of ``n_positions`` positions spread over views ``(B, L)``."""
    length = times.shape[1]
    if n_positions == 1:
        at = torch.full((1,), (length - 1) / 2, dtype=torch.float64, device=times.device)
    else:
        at = torch.linspace(0, length - 1, n_positions, dtype=torch.float64, device=times.device)
    lo = at.floor().long().clamp(0, length - 2 if length > 1 else 0)  # (N,)
    w = (at - lo).to(times.dtype)  # (N,)
    hi = (lo + 1).clamp(max=length - 1)
    return times[:, lo] * (1 - w) + times[:, hi] * w  # (B, N)


def pair_positions(
    times_a: Tensor, times_b: Tensor, n_a: int, n_b: int
) -> tuple[Tensor, Tensor, Tensor]:
    """Pairs ``(batch index, position in a, position in b)`` that show the same moment.

    Parameters
    ----------
    times_a, times_b : Tensor (B, L_a), (B, L_b)
        Context time of every sample of the two views.
    n_a, n_b : int
        Positions the encoder gives for each view.

    Returns
    -------
    (P,), (P,), (P,) long tensors.
    """
    ta = position_times(times_a, n_a)  # (B, N_a)
    tb = position_times(times_b, n_b)  # (B, N_b)
    spacing_a = (ta[:, -1] - ta[:, 0]).abs() / max(n_a - 1, 1)  # (B,)
    spacing_b = (tb[:, -1] - tb[:, 0]).abs() / max(n_b - 1, 1)  # (B,)
    tolerance = 0.5 * torch.minimum(spacing_a, spacing_b)  # (B,)
    gap = (ta[:, :, None] - tb[:, None, :]).abs()  # (B, N_a, N_b)
    nearest, ib = gap.min(dim=2)  # (B, N_a)
    ok = nearest <= tolerance[:, None]
    b, ia = ok.nonzero(as_tuple=True)
    return b, ia, ib[b, ia]
