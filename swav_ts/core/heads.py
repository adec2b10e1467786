"""Projection head and prototypes (Caron et al. 2020, Sec. 3 and Appendix A)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


class ProjectionHead(nn.Module):
    """Maps backbone features to L2-normalised embeddings.

    ``Linear -> BatchNorm -> ReLU -> Linear`` with ``hidden_mlp`` hidden units, or a single
    ``Linear`` when ``hidden_mlp == 0`` (as in the original).

    Parameters
    ----------
    in_features : int
        Backbone feature width.
    hidden_mlp : int, default 2048
        Hidden width; 0 for a single linear layer.
    feat_dim : int, default 128
        Embedding width D.
    """

    def __init__(self, in_features: int, hidden_mlp: int = 2048, feat_dim: int = 128):
        super().__init__()
        if in_features <= 0 or feat_dim <= 0 or hidden_mlp < 0:
            raise ValueError(
                f"need in_features > 0, feat_dim > 0, hidden_mlp >= 0; got "
                f"{in_features}, {feat_dim}, {hidden_mlp}"
            )
        self.feat_dim = feat_dim
        if hidden_mlp == 0:
            self.mlp = nn.Linear(in_features, feat_dim)
        else:
            self.mlp = nn.Sequential(
                nn.Linear(in_features, hidden_mlp),
                nn.BatchNorm1d(hidden_mlp),
                nn.ReLU(inplace=True),
                nn.Linear(hidden_mlp, feat_dim),
            )

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        z = self.mlp(features)  # (B, D)
        return F.normalize(z, dim=1, p=2)  # (B, D), unit rows


class Prototypes(nn.Module):
    """K trainable prototype vectors: a bias-free linear layer, one or several heads.

    Scores are ``z @ C^T`` with unit-norm rows of ``C`` (call :meth:`normalize_` before each
    step), i.e. cosine similarities for unit embeddings ``z``.

    Parameters
    ----------
    feat_dim : int
        Embedding width D.
    n_prototypes : int or sequence of int
        K, or one K per head for multiple prototype heads.
    """

    def __init__(self, feat_dim: int, n_prototypes: int | Sequence[int] = 3000):
        super().__init__()
        sizes = [n_prototypes] if isinstance(n_prototypes, int) else list(n_prototypes)
        if not sizes or any(int(k) < 1 for k in sizes):
            raise ValueError(f"n_prototypes must be >= 1 (or a list of such); got {n_prototypes}")
        self.sizes = [int(k) for k in sizes]
        self.heads = nn.ModuleList(nn.Linear(feat_dim, k, bias=False) for k in self.sizes)

    @property
    def n_heads(self) -> int:
        return len(self.heads)

    @torch.no_grad()
    def normalize_(self) -> None:
        """Re-normalise every prototype vector to unit L2 norm, in place."""
        for head in self.heads:
            head.weight.copy_(F.normalize(head.weight, dim=1, p=2))  # (K, D)

    def forward(self, z: torch.Tensor) -> list[torch.Tensor]:
        return [head(z) for head in self.heads]  # each (B, K_h)

    def weights(self) -> list[torch.Tensor]:
        """Prototype matrices, one (K_h, D) per head."""
        return [head.weight for head in self.heads]
