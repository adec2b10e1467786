"""One SwAV iteration as a callable object, shared by the trainer and the benchmarks.

``SwAVStep(batch, iteration, lr, generator)`` runs, in this order (the order of the original
``main_swav.py``):

1. set the learning rate; re-normalise the prototypes to unit norm;
2. **views**: ``make_views(batch, generator, device)`` -> crops on the device (no gradient);
3. **forward**: embeddings ``z`` (V*B, D) and scores ``z C^T`` (V*B, K) per prototype head;
4. **loss**: Sinkhorn codes of the assignment crops (with the queue's scores, once the queue is
   full, scored against the current prototypes) and the swapped prediction loss, averaged over
   heads; then the assignment crops' embeddings are pushed into the queue (after the loss, so a
   batch never sees itself in the queue);
5. **backward**: zero the gradients, backpropagate; drop the prototypes' gradients during the
   first ``freeze_prototypes_iters`` iterations;
6. **optimizer**: the optimizer step (through the GradScaler).

**Dense objective** (``swav.dense_prototypes > 0``, an extension of SwAV): the views object may
provide ``dense_pairs(n_a, n_b) -> (batch_index, index_a, index_b)``, the positions of the
first two crops' per-position features that show the same moment (for time series: matched by
the context time each position comes from, through crops and time warps). The paired
positions' features go through a second projection head to the dense prototypes; Sinkhorn over
all pairs of the batch gives each side's codes, which the other side predicts
(:func:`swav_ts.core.loss.swav_loss` with two crops). The loss adds ``swav.dense_weight`` times
this term. Views without ``dense_pairs`` train without it (in one process only: under DDP
the unused dense head is an error).

An optional ``phase_hook(name)`` is called after each of ``views``, ``forward``, ``loss``,
``backward`` and ``optimizer`` (and with ``"start"`` first): benchmarks time the real step
through it instead of keeping a copy of the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from swav_ts.core.config import SwAVConfig
from swav_ts.core.loss import swav_loss
from swav_ts.core.model import SwAVModel
from swav_ts.core.monitor import CollapseMonitor
from swav_ts.core.queue import EmbeddingQueue

__all__ = [
    "PHASES",
    "MakeViews",
    "StepOutput",
    "SwAVStep",
    "autocast_context",
    "dense_loss",
    "swav_step_loss",
]

MakeViews = Callable[[Any, torch.Generator, torch.device], Sequence[torch.Tensor]]
PHASES = ("views", "forward", "loss", "backward", "optimizer")


def default_make_views(batch: Any, generator: torch.Generator, device: torch.device):
    """A collated ``(list_of_crops, targets)`` or list of crops -> crops on ``device``."""
    crops = batch[0] if isinstance(batch, (tuple, list)) and isinstance(batch[0], list) else batch
    return [c.to(device, non_blocking=True) for c in crops]


def autocast_context(device: torch.device, precision: str):
    """Autocast for ``bf16``/``fp16`` on ``device``; nothing for ``fp32``."""
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


def dense_loss(
    model: SwAVModel,
    sequences: list[torch.Tensor],
    pairs: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
    swav: SwAVConfig,
    distributed: bool,
) -> torch.Tensor:
    """Swapped prediction between paired positions of two crops' sequences ``(B, W, N)``."""
    b, ia, ib = pairs  # each (P,)
    rows = torch.cat([sequences[0][b, :, ia], sequences[1][b, :, ib]])  # (2P, W)
    scores = model.dense_scores(rows)  # [(2P, K_d)]
    total = rows.new_zeros((), dtype=torch.float32)
    for head in scores:
        total = total + swav_loss(
            head,
            2,
            (0, 1),
            temperature=swav.temperature,
            epsilon=swav.epsilon,
            sinkhorn_iters=swav.sinkhorn_iters,
            distributed=distributed,
            check_finite=False,
        )
    return total / len(scores)


@dataclass
class StepOutput:
    """What one step leaves for monitoring (device tensors: no host synchronisation)."""

    loss: torch.Tensor  # scalar, detached: the total
    top_share: torch.Tensor  # scalar: share of the most used prototype (head 0, crop 0)
    batch_size: int
    n_views: int
    dense_loss: torch.Tensor | None = None  # scalar, detached: the dense term (unweighted)


class SwAVStep:
    """One SwAV iteration (see the module docstring).

    Parameters
    ----------
    model : SwAVModel
        The unwrapped model (prototypes are normalised and frozen through it).
    optimizer : torch.optim.Optimizer
    swav : SwAVConfig
    device : torch.device
    precision : {"fp32", "bf16", "fp16"}
    scaler : torch.amp.GradScaler, optional
        Default: a disabled scaler (fp32/bf16).
    forward_model : nn.Module, optional
        What the forward pass calls (a DDP or compiled wrapper of ``model``); default ``model``.
    make_views : callable, optional
        ``(batch, generator, device) -> list of crops``; default: the batch holds the crops.
    distributed : bool
        Sum Sinkhorn statistics over processes.
    phase_hook : callable, optional
        Called with ``"start"`` and then each name of :data:`PHASES` as the phase ends.

    Attributes
    ----------
    queue : EmbeddingQueue or None
        Set by the trainer when the queue starts; used once full.
    """

    def __init__(
        self,
        model: SwAVModel,
        optimizer: torch.optim.Optimizer,
        swav: SwAVConfig,
        device: torch.device,
        precision: str = "fp32",
        scaler: torch.amp.GradScaler | None = None,
        forward_model: nn.Module | None = None,
        make_views: MakeViews | None = None,
        distributed: bool = False,
        phase_hook: Callable[[str], None] | None = None,
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.swav = swav
        self.device = device
        self.precision = precision
        self.scaler = scaler or torch.amp.GradScaler("cuda", enabled=False)
        self.forward_model = forward_model or model
        self.make_views = make_views or default_make_views
        self.distributed = distributed
        self.phase_hook = phase_hook
        self.queue: EmbeddingQueue | None = None
        self.n_crops_needed = max(max(swav.crops_for_assign) + 1, 2)
        self.dense = model.dense_prototypes is not None

    def _phase(self, name: str) -> None:
        if self.phase_hook is not None:
            self.phase_hook(name)

    def __call__(
        self, batch: Any, iteration: int, lr: float, generator: torch.Generator
    ) -> StepOutput:
        """Run one iteration on ``batch``; ``iteration`` counts from 0 over the whole run."""
        self._phase("start")
        # ---------------- schedule and prototype normalisation
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.model.prototypes.normalize_()
        if self.dense:
            self.model.dense_prototypes.normalize_()

        # ---------------- views
        with torch.no_grad():
            views = self.make_views(batch, generator, self.device)
            if not isinstance(views, list):  # a list subclass keeps its extras (dense_pairs)
                views = list(views)
        if len(views) < self.n_crops_needed:
            raise ValueError(
                f"make_views returned {len(views)} views; crops_for_assign "
                f"{self.swav.crops_for_assign} needs at least {self.n_crops_needed}"
            )
        bs = views[0].shape[0]
        self._phase("views")

        # ---------------- forward: views -> embeddings, scores
        pairs = None
        if self.dense and hasattr(views, "dense_pairs"):
            with autocast_context(self.device, self.precision):
                embeddings, scores_per_head, sequences = self.forward_model(
                    views, keep_sequences=2
                )  # (V*B, D), [(V*B, K)], [(B, W, N)] * 2
            pairs = views.dense_pairs(sequences[0].shape[-1], sequences[1].shape[-1])
        else:
            if self.dense and self.distributed:  # DDP needs every parameter in every step
                raise ValueError(
                    "swav.dense_prototypes > 0, but make_views gives no dense_pairs: under "
                    "torchrun the dense head would get no gradient and the processes stop; "
                    "set swav.dense_prototypes=0 for views without time positions"
                )
            with autocast_context(self.device, self.precision):
                embeddings, scores_per_head = self.forward_model(views)  # (V*B, D), [(V*B, K)]
        embeddings = embeddings.detach().float()
        self._phase("forward")

        # ---------------- swapped prediction loss (queue scored with current prototypes)
        queue = self.queue
        queue_scores = None
        if queue is not None and queue.is_full():
            queue_scores = queue.scores(self.model.prototypes.weights())
        loss = swav_step_loss(
            scores_per_head, len(views), self.swav, queue_scores, self.distributed
        )
        dense = None
        if pairs is not None:
            with autocast_context(self.device, self.precision):
                dense = dense_loss(self.model, sequences, pairs, self.swav, self.distributed)
            loss = loss + self.swav.dense_weight * dense
        if queue is not None:
            queue.push([embeddings[c * bs : (c + 1) * bs] for c in self.swav.crops_for_assign])
        self._phase("loss")

        # ---------------- backward, prototype freeze
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        if iteration < self.swav.freeze_prototypes_iters:
            frozen = [self.model.prototypes, self.model.dense_prototypes]
            for p in (p for m in frozen if m is not None for p in m.parameters()):
                p.grad = None
        self._phase("backward")

        # ---------------- optimizer step
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self._phase("optimizer")
        top_share = CollapseMonitor.top_share(scores_per_head[0][:bs].detach())
        return StepOutput(
            loss.detach(), top_share, bs, len(views), None if dense is None else dense.detach()
        )
