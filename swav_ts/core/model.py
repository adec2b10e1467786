"""Backbone + projection head + prototypes, with the multi-crop forward of SwAV."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from swav_ts.core.heads import ProjectionHead, Prototypes


def group_crops(crops: Sequence[torch.Tensor]) -> list[tuple[int, int]]:
    """Split a crop list into runs of consecutive crops with equal shape after the batch dim.

    Returns ``(start, end)`` index pairs; each run goes through the backbone in one call
    (for time series: windows of equal length; for images: crops of equal size).
    """
    if not crops:
        raise ValueError("crops is empty: SwAV needs at least two views per sample")
    runs, start = [], 0
    for i in range(1, len(crops) + 1):
        if i == len(crops) or crops[i].shape[1:] != crops[start].shape[1:]:
            runs.append((start, i))
            start = i
    return runs


def multicrop_features(backbone: nn.Module, crops: Sequence[torch.Tensor]) -> torch.Tensor:
    """Backbone features of all crops, concatenated crop by crop: ``(V*B, F)``."""
    batch = crops[0].shape[0]
    for v, crop in enumerate(crops):
        if crop.shape[0] != batch:
            raise ValueError(f"crop {v} has batch {crop.shape[0]}, crop 0 has {batch}")
    feats = []
    for start, end in group_crops(crops):
        x = torch.cat(list(crops[start:end]))  # ((end-start)*B, C, ...)
        feats.append(backbone(x))  # ((end-start)*B, F)
    return torch.cat(feats)  # (V*B, F)


class SwAVModel(nn.Module):
    """A backbone with the SwAV projection head and prototypes.

    Parameters
    ----------
    backbone : nn.Module
        Maps a crop batch to pooled features ``(B, F)``; must expose ``num_features`` or be
        given ``num_features``.
    num_features : int, optional
        Backbone output width F (default: ``backbone.num_features``).
    hidden_mlp, feat_dim : int
        Projection head sizes (see :class:`ProjectionHead`).
    n_prototypes : int or sequence of int
        Prototypes per head (see :class:`Prototypes`).
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_features: int | None = None,
        hidden_mlp: int = 2048,
        feat_dim: int = 128,
        n_prototypes: int | Sequence[int] = 3000,
    ):
        super().__init__()
        if num_features is None:
            num_features = getattr(backbone, "num_features", None)
            if num_features is None:
                raise ValueError("backbone has no num_features attribute; pass num_features=")
        self.backbone = backbone
        self.num_features = int(num_features)
        self.projection_head = ProjectionHead(self.num_features, hidden_mlp, feat_dim)
        self.prototypes = Prototypes(feat_dim, n_prototypes)

    def forward(self, crops: Sequence[torch.Tensor] | torch.Tensor):
        """Embeddings and prototype scores of all crops.

        Parameters
        ----------
        crops : list of Tensor, each (B, C, ...), or one Tensor
            Views ordered as the loss expects (assignment crops first by convention).

        Returns
        -------
        embeddings : Tensor, shape (V*B, D)
        scores : list of Tensor, one (V*B, K_h) per prototype head
        """
        if isinstance(crops, torch.Tensor):
            crops = [crops]
        feats = multicrop_features(self.backbone, crops)  # (V*B, F)
        z = self.projection_head(feats)  # (V*B, D)
        return z, self.prototypes(z)

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features of one batch ``(B, F)`` (the representation used downstream)."""
        return self.backbone(x)
