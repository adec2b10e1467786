"""Embedding queue for small batches (Caron et al. 2020, Sec. 4 / Appendix: "queue").

Embeddings of the assignment crops from past batches are stored and, once the queue is full,
re-scored with the current prototypes and placed beside the batch in Sinkhorn, so that the
equipartition constraint acts on more samples than one small batch holds. Order inside the
queue does not matter to Sinkhorn, so it is a ring buffer (no shifting copies).
"""

from __future__ import annotations

import torch
from torch import nn


class EmbeddingQueue(nn.Module):
    """Ring buffer of past embeddings, one slot row per assignment crop.

    Parameters
    ----------
    n_assign_crops : int
        Number of assignment crops (one queue each).
    length : int
        Queue length L per process (the original divides the global length by world size).
    feat_dim : int
        Embedding width D.
    """

    def __init__(self, n_assign_crops: int, length: int, feat_dim: int):
        super().__init__()
        if n_assign_crops < 1 or length < 1 or feat_dim < 1:
            raise ValueError(
                f"need n_assign_crops, length, feat_dim >= 1; got "
                f"{n_assign_crops}, {length}, {feat_dim}"
            )
        self.register_buffer("embeddings", torch.zeros(n_assign_crops, length, feat_dim))
        self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
        self.register_buffer("n_filled", torch.zeros((), dtype=torch.long))
        self._filled_host = 0  # host mirror of n_filled: is_full() needs no device sync

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
        key = prefix + "n_filled"
        if key in state_dict:
            self._filled_host = int(state_dict[key])

    @property
    def length(self) -> int:
        return self.embeddings.shape[1]

    def is_full(self) -> bool:
        """True once ``length`` embeddings have been pushed (no device sync)."""
        return self._filled_host >= self.length

    @torch.no_grad()
    def scores(self, prototype_weights: list[torch.Tensor]) -> list[list[torch.Tensor]]:
        """Queue scores against the current prototypes: ``[head][crop] -> (L, K_h)``."""
        return [
            [self.embeddings[i] @ w.detach().t() for i in range(self.embeddings.shape[0])]
            for w in prototype_weights
        ]

    @torch.no_grad()
    def push(self, embeddings: list[torch.Tensor]) -> None:
        """Insert one (B, D) batch per assignment crop, overwriting the oldest entries."""
        if len(embeddings) != self.embeddings.shape[0]:
            raise ValueError(
                f"push expects {self.embeddings.shape[0]} tensors (one per assignment crop), "
                f"got {len(embeddings)}"
            )
        batch = embeddings[0].shape[0]
        if batch > self.length:
            raise ValueError(f"batch of {batch} is larger than the queue length {self.length}")
        idx = (self.ptr + torch.arange(batch, device=self.ptr.device)) % self.length  # (B,)
        for i, z in enumerate(embeddings):
            self.embeddings[i, idx] = z.detach().to(self.embeddings.dtype)
        self.ptr.copy_((self.ptr + batch) % self.length)
        self.n_filled.copy_(torch.clamp(self.n_filled + batch, max=self.length))
        self._filled_host = min(self._filled_host + batch, self.length)
