"""Sinkhorn-Knopp: equipartitioned soft assignments of samples to prototypes.

Paper (Caron et al. 2020, Sec. 3.1): with prototype scores ``C^T Z`` (K x B) the codes are

    Q* = Diag(u) exp(C^T Z / epsilon) Diag(v),

where ``u`` (K) and ``v`` (B) rescale rows and columns so that every prototype holds mass 1/K and
every sample mass 1/B. The reference implementation normalises the matrix in place for a fixed
number of rounds (prototype rows, then sample columns) and returns ``B * Q`` so that each
sample's code sums to 1.

This implementation runs the very same rounds but keeps the K x B matrix fixed and updates only
the scaling vectors u and v (matrix-vector products instead of repeated in-place divisions of the
whole matrix), and it takes two steps that change nothing mathematically but keep it finite:

* each prototype row is shifted by its own maximum before ``exp``. A per-row factor is removed
  exactly by the first row normalisation (and the original's division by the total is such a
  factor), so the result is unchanged, while every row keeps an entry equal to 1: no overflow
  for any finite input;
* a sample whose entries all underflow (possible only for extreme, non-cosine scores) gets its
  last column normalisation as a softmax over prototypes in the log domain, so every sample's
  code sums to 1.
"""

from __future__ import annotations

import math

import torch

from swav_ts.core import distributed as dist_utils


def _check_shape(scores: torch.Tensor) -> None:
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (B, K); got shape {tuple(scores.shape)}")
    if scores.shape[0] == 0 or scores.shape[1] == 0:
        raise ValueError(f"scores must be non-empty; got shape {tuple(scores.shape)}")


def count_non_finite(x: torch.Tensor) -> int:
    """Number of NaN/inf entries of ``x`` (a full pass over ``x`` and one host sync)."""
    return int((~torch.isfinite(x)).sum())


def sums_are_finite(sums: torch.Tensor) -> bool:
    """Whether partial sums of a tensor are all finite (one host sync on a small vector).

    A float sum is finite only if every term is: once a NaN or an inf enters, no finite term
    takes it back. So finite sums prove finite input at the cost of one cheap reduction instead
    of a full ``isfinite`` pass. The converse can fail (huge finite terms can overflow their
    sum), so callers recount with :func:`count_non_finite` when this returns False.
    """
    return bool(torch.isfinite(sums).all())


def _non_finite_error(n_bad: int, scores: torch.Tensor) -> ValueError:
    return ValueError(
        f"scores contain {n_bad} NaN/inf values out of {scores.numel()} "
        f"(shape {tuple(scores.shape)}); Sinkhorn needs finite scores"
    )


@torch.no_grad()
def sinkhorn(
    scores: torch.Tensor,
    epsilon: float = 0.05,
    n_iters: int = 3,
    distributed: bool | None = None,
    check_finite: bool = True,
) -> torch.Tensor:
    """Soft codes from prototype scores with the Sinkhorn-Knopp algorithm.

    Parameters
    ----------
    scores : Tensor, shape (B, K)
        Scores of B samples against K prototypes (cosine similarities in SwAV). Any floating
        dtype; computed in float32 (float64 stays float64), autocast disabled.
    epsilon : float, default 0.05
        Entropic regularisation; smaller gives sharper codes.
    n_iters : int, default 3
        Rounds of (prototype-row, sample-column) normalisation, as in the original.
    distributed : bool or None, default None
        Sum the per-prototype statistics over all ranks (``None``: when a process group is
        initialised). N ranks holding N shards then get the codes of one process holding the
        whole batch.
    check_finite : bool, default True
        Raise ``ValueError`` on NaN/+inf/-inf scores. Judged from one per-prototype sum
        (a few percent of the run time; the exact count is taken only when that sum is not
        finite) and one host sync. Under ``torch.distributed`` every rank raises together
        (a rank with bad scores poisons the all-reduced maximum), so none is left waiting
        in a collective. The trainer turns it off and guards the loss instead.

    Returns
    -------
    Tensor, shape (B, K), float32
        Codes; each row sums to 1, no gradient.
    """
    if epsilon <= 0:
        raise ValueError(f"epsilon must be > 0; got {epsilon}")
    if n_iters < 1:
        raise ValueError(f"n_iters must be >= 1; got {n_iters}")
    if check_finite:
        _check_shape(scores)
    elif scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (B, K); got shape {tuple(scores.shape)}")
    is_dist = dist_utils.use_distributed(distributed)
    dtype = torch.promote_types(scores.dtype, torch.float32)
    device_type = scores.device.type
    with torch.autocast(device_type=device_type, enabled=False):
        scores_t = scores.to(dtype).t()  # (K, B), a view: memory stays (B, K)
        n_protos = scores_t.shape[0]
        n_samples = torch.tensor(float(scores_t.shape[1]), device=scores.device, dtype=dtype)
        finfo = torch.finfo(dtype)

        row_max = scores_t.amax(dim=1, keepdim=True)  # (K, 1)
        n_bad = 0
        if check_finite and not sums_are_finite(scores_t.sum(dim=1)):
            n_bad = count_non_finite(scores_t)
            if n_bad and not is_dist:
                raise _non_finite_error(n_bad, scores)
        if is_dist:
            if n_bad:  # +inf wins every max: all ranks see it and raise together below
                row_max.fill_(math.inf)
            dist_utils.all_reduce_(row_max, op="max")
            dist_utils.all_reduce_(n_samples, op="sum")
            if check_finite and not sums_are_finite(row_max):
                if n_bad:
                    raise _non_finite_error(n_bad, scores)
                raise ValueError(
                    f"the scores of another process contain NaN/inf values (this rank's "
                    f"{tuple(scores.shape)} scores are finite); Sinkhorn needs finite scores"
                )
        # exp(scores / epsilon) up to a per-prototype factor: entries in [0, 1], each row
        # holds a 1. (A difference of huge finite scores that overflows gives exp(-inf) = 0.)
        p = (scores_t - row_max).mul_(1.0 / epsilon).exp_()  # (K, B)

        v = torch.ones(p.shape[1], 1, device=p.device, dtype=dtype)  # (B, 1) column scaling
        for it in range(n_iters):
            # prototype rows: total mass per prototype must be 1/K
            row_sum = p @ v  # (K, 1)
            if is_dist:
                dist_utils.all_reduce_(row_sum, op="sum")
            row_sum = row_sum.clamp_min(finfo.tiny)
            u = 1.0 / (n_protos * row_sum)  # (K, 1)
            if it == n_iters - 1:
                break
            # sample columns: total mass per sample must be 1/B
            col_sum = p.t() @ u  # (B, 1)
            v = 1.0 / (n_samples * col_sum.clamp_min(finfo.tiny))  # (B, 1)

        # last column normalisation, times B: each sample's code sums to 1 (in place: p is
        # not needed afterwards, and a second K x B buffer would cost an allocation)
        col_sum = p.t() @ u  # (B, 1)
        codes = p.mul_(u).div_(col_sum.t().clamp_min(finfo.tiny)).t()  # (B, K)
        # Samples whose whole column underflowed (only for extreme, non-cosine scores): the
        # same normalisation as a softmax over prototypes in the log domain.
        bad = col_sum[:, 0] < finfo.tiny / finfo.eps  # (B,)
        log_u = -math.log(n_protos) - torch.log(row_sum).t()  # (1, K)
        if codes.device.type == "cpu":
            if bool(bad.any()):
                log_q = ((scores_t.t()[bad] - row_max.t()) / epsilon).clamp_min(-finfo.max)
                codes[bad] = torch.softmax(log_q + log_u, dim=1)
        else:  # no host sync on accelerators: compute the fallback for all, select
            log_q = ((scores_t.t() - row_max.t()) / epsilon).clamp_min(-finfo.max)  # (B, K)
            codes = torch.where(bad[:, None], torch.softmax(log_q + log_u, dim=1), codes)
    return codes.float() if dtype != torch.float64 else codes
