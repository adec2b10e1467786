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


def multicrop_features(
    backbone: nn.Module, crops: Sequence[torch.Tensor], keep_sequences: int = 0
) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
    """Backbone features of all crops, concatenated crop by crop: ``(V*B, F)``.

    With ``keep_sequences = n`` the first ``n`` crops (which must form the first group of
    equal shape) also return their per-position features ``[(B, W, N)] * n``
    (``backbone.forward_sequence``, pooled by ``backbone.pool``).
    """
    batch = crops[0].shape[0]
    for v, crop in enumerate(crops):
        if crop.shape[0] != batch:
            raise ValueError(f"crop {v} has batch {crop.shape[0]}, crop 0 has {batch}")
    feats, sequences = [], []
    for start, end in group_crops(crops):
        x = torch.cat(list(crops[start:end]))  # ((end-start)*B, C, ...)
        if start == 0 and keep_sequences:
            if end < keep_sequences:
                raise ValueError(
                    f"the first {keep_sequences} crops must have one shape for the dense "
                    f"objective; only {end} do"
                )
            seq = backbone.forward_sequence(x)  # ((end-start)*B, W, N)
            sequences = list(seq[: keep_sequences * batch].split(batch))
            feats.append(backbone.pool(seq))
        else:
            feats.append(backbone(x))  # ((end-start)*B, F)
    out = torch.cat(feats)  # (V*B, F)
    return (out, sequences) if keep_sequences else out


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
    dense_prototypes : int, default 0
        Prototypes of the dense objective (0: none). The backbone must then provide
        ``forward_sequence(x) -> (B, W, N)``, ``pool(seq) -> (B, F)`` and ``width`` (W); a
        second projection head maps positions to embeddings.
    """

    def __init__(
        self,
        backbone: nn.Module,
        num_features: int | None = None,
        hidden_mlp: int = 2048,
        feat_dim: int = 128,
        n_prototypes: int | Sequence[int] = 3000,
        dense_prototypes: int = 0,
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
        self.dense_head: ProjectionHead | None = None
        self.dense_prototypes: Prototypes | None = None
        if dense_prototypes:
            for attr in ("forward_sequence", "pool", "width"):
                if not hasattr(backbone, attr):
                    raise ValueError(f"the dense objective needs backbone.{attr}")
            self.dense_head = ProjectionHead(int(backbone.width), hidden_mlp, feat_dim)
            self.dense_prototypes = Prototypes(feat_dim, dense_prototypes)

    def forward(self, crops: Sequence[torch.Tensor] | torch.Tensor, keep_sequences: int = 0):
        """Embeddings and prototype scores of all crops.

        Parameters
        ----------
        crops : list of Tensor, each (B, C, ...), or one Tensor
            Views ordered as the loss expects (assignment crops first by convention).
        keep_sequences : int, default 0
            Also return the per-position features of the first crops (the dense objective).

        Returns
        -------
        embeddings : Tensor, shape (V*B, D)
        scores : list of Tensor, one (V*B, K_h) per prototype head
        sequences : list of Tensor (B, W, N)
            Only with ``keep_sequences``.
        """
        if isinstance(crops, torch.Tensor):
            crops = [crops]
        if keep_sequences:
            feats, seqs = multicrop_features(self.backbone, crops, keep_sequences)
        else:
            feats = multicrop_features(self.backbone, crops)  # (V*B, F)
        z = self.projection_head(feats)  # (V*B, D)
        if keep_sequences:
            return z, self.prototypes(z), seqs
        return z, self.prototypes(z)

    def dense_scores(self, rows: torch.Tensor) -> list[torch.Tensor]:
        """Dense-prototype scores of per-position features ``rows`` (N, W): [(N, K_d)]."""
        if self.dense_head is None or self.dense_prototypes is None:
            raise ValueError("this model has no dense head (swav.dense_prototypes is 0)")
        return self.dense_prototypes(self.dense_head(rows))  # each (N, K_d)

    @torch.no_grad()
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Backbone features of one batch ``(B, F)`` (the representation used downstream)."""
        return self.backbone(x)
