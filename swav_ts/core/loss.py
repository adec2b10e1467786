"""The swapped prediction loss of SwAV (Caron et al. 2020, Eq. 1-2).

For every assignment crop ``s`` the codes ``q_s`` (Sinkhorn on that crop's scores, no gradient)
are predicted from every other crop ``t`` by ``p_t = softmax(scores_t / temperature)``:

    loss = 1/|S| sum_{s in S} 1/(V - 1) sum_{t != s} -1/B sum_b sum_k q_s[b, k] log p_t[b, k]

which is exactly the average the reference training loop computes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from swav_ts.core.sinkhorn import count_non_finite, sinkhorn, sums_are_finite


@dataclass
class SwAVLossOutput:
    """Loss and the codes behind it (codes are kept for monitoring prototype usage)."""

    loss: torch.Tensor  # scalar
    codes: list[torch.Tensor]  # one (B, K) per assignment crop


def _split_crops(scores: torch.Tensor, n_crops: int) -> int:
    if scores.ndim != 2:
        raise ValueError(f"scores must be 2-D (n_crops*B, K); got shape {tuple(scores.shape)}")
    if n_crops < 2:
        raise ValueError(f"n_crops must be >= 2 for a swapped prediction; got {n_crops}")
    n_rows = scores.shape[0]
    if n_rows % n_crops != 0:
        raise ValueError(
            f"scores has {n_rows} rows, not divisible by n_crops={n_crops}; "
            "rows must be ordered crop by crop, B rows per crop"
        )
    return n_rows // n_crops


def swav_loss(
    scores: torch.Tensor,
    n_crops: int,
    crops_for_assign: Sequence[int] = (0, 1),
    temperature: float = 0.1,
    epsilon: float = 0.05,
    sinkhorn_iters: int = 3,
    queue_scores: Sequence[torch.Tensor | None] | None = None,
    distributed: bool | None = None,
    check_finite: bool = True,
    return_codes: bool = False,
) -> torch.Tensor | SwAVLossOutput:
    """SwAV swapped prediction loss over a multi-crop batch.

    Parameters
    ----------
    scores : Tensor, shape (n_crops * B, K)
        Prototype scores ordered crop by crop (rows ``c*B:(c+1)*B`` belong to crop ``c``).
    n_crops : int
        Number of crops V (global + local).
    crops_for_assign : sequence of int, default (0, 1)
        Crops whose codes are predicted (the global crops in the original).
    temperature : float, default 0.1
        Softmax temperature of the predictions.
    epsilon, sinkhorn_iters : float, int
        Passed to :func:`swav_ts.core.sinkhorn`.
    queue_scores : sequence of Tensor (L, K) or None, optional
        One per assignment crop: scores of queued embeddings against the current prototypes,
        placed before that crop's scores for Sinkhorn; only the batch's codes are used.
    distributed : bool or None
        Passed to Sinkhorn (sum statistics over ranks).
    check_finite : bool, default True
        Raise ``ValueError`` on NaN/inf in ``scores`` (one per-prototype sum and one host
        sync; the exact count only when there is a bad value).
    return_codes : bool, default False
        Return a :class:`SwAVLossOutput` holding the codes as well.

    Returns
    -------
    Tensor (scalar) or SwAVLossOutput
    """
    batch = _split_crops(scores, n_crops)
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0; got {temperature}")
    crops_for_assign = list(crops_for_assign)
    if not crops_for_assign:
        raise ValueError("crops_for_assign must name at least one crop")
    for c in crops_for_assign:
        if not 0 <= c < n_crops:
            raise ValueError(f"crops_for_assign holds crop {c}, outside 0..{n_crops - 1}")
    if queue_scores is not None and len(queue_scores) != len(crops_for_assign):
        raise ValueError(
            f"queue_scores holds {len(queue_scores)} tensors for "
            f"{len(crops_for_assign)} assignment crops"
        )
    if check_finite:
        # judged from per-prototype sums (cheap); the exact count only when one is not finite
        sum_dtype = torch.promote_types(scores.dtype, torch.float32)
        if not sums_are_finite(scores.detach().sum(dim=0, dtype=sum_dtype)):
            n_bad = count_non_finite(scores.detach())
            if n_bad:
                raise ValueError(
                    f"scores contain {n_bad} NaN/inf values out of {scores.numel()} "
                    f"(shape {tuple(scores.shape)})"
                )

    n_protos = scores.shape[1]
    log_p = F.log_softmax(scores.float() / temperature, dim=1).view(n_crops, batch, n_protos)
    log_p_total = log_p.sum(dim=0)  # (B, K): sum over all crops, own crop removed below

    loss = scores.new_zeros((), dtype=torch.float32)
    codes_out = []
    for i, crop in enumerate(crops_for_assign):
        with torch.no_grad():
            crop_scores = scores[crop * batch : (crop + 1) * batch].detach()  # (B, K)
            queued = None if queue_scores is None else queue_scores[i]
            if queued is not None:
                crop_scores = torch.cat([queued.detach().to(crop_scores.dtype), crop_scores])
            codes = sinkhorn(
                crop_scores,
                epsilon=epsilon,
                n_iters=sinkhorn_iters,
                distributed=distributed,
                check_finite=False,
            )[-batch:]  # (B, K)
        codes_out.append(codes)
        others = log_p_total - log_p[crop]  # (B, K): sum over the V - 1 other crops
        subloss = -(codes * others).sum(dim=1).mean()
        loss = loss + subloss / (n_crops - 1)
    loss = loss / len(crops_for_assign)
    if return_codes:
        return SwAVLossOutput(loss=loss, codes=codes_out)
    return loss
