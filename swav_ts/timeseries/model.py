"""The time-series SwAV model: frozen input standardisation, an encoder, the SwAV heads.

The model takes windows in **sensor units** ``(B, C, T)``. Its first layer,
:class:`ChannelStandardize`, holds the training data's per-channel mean and standard deviation
as buffers (saved and exported with the weights, never trained), so augmentations act on
physical signals (a rotation turns gravity, it does not distort it) and no normaliser object
has to travel beside the weights.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from swav_ts.core.model import SwAVModel
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.encoders import create_encoder, pool_sequence

__all__ = ["ChannelStandardize", "StandardizedEncoder", "build_model"]


class ChannelStandardize(nn.Module):
    """``(x - mean) / std`` per channel with frozen statistics (buffers, not parameters).

    Parameters
    ----------
    mean, std : sequence of float, length C
        Training statistics in sensor units; ``std`` must be > 0.
    """

    def __init__(self, mean: Sequence[float], std: Sequence[float]) -> None:
        super().__init__()
        mean_t = torch.as_tensor(list(mean), dtype=torch.float32)
        std_t = torch.as_tensor(list(std), dtype=torch.float32)
        if mean_t.ndim != 1 or mean_t.shape != std_t.shape:
            raise ValueError(f"mean and std must be equal 1-D, got {mean_t.shape}, {std_t.shape}")
        if not (torch.isfinite(mean_t).all() and (std_t > 0).all() and torch.isfinite(std_t).all()):
            raise ValueError("mean must be finite and std finite and > 0")
        self.register_buffer("mean", mean_t)
        self.register_buffer("std", std_t)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - self.mean[:, None]) / self.std[:, None]  # (B, C, T)

    def extra_repr(self) -> str:
        return f"channels={self.mean.shape[0]}"


class StandardizedEncoder(nn.Module):
    """An encoder behind :class:`ChannelStandardize`: sensor units in, pooled features out.

    Exposes the encoder contract (``in_channels``, ``num_features``, ``min_length``) so the
    core model, the evaluation code and exports treat it as the encoder itself.
    """

    def __init__(self, standardize: ChannelStandardize, encoder: nn.Module) -> None:
        super().__init__()
        if standardize.mean.shape[0] != encoder.in_channels:
            raise ValueError(
                f"standardisation has {standardize.mean.shape[0]} channels, the encoder "
                f"{encoder.in_channels}"
            )
        self.standardize = standardize
        self.encoder = encoder
        self.in_channels = int(encoder.in_channels)
        self.num_features = int(encoder.num_features)
        self.min_length = int(encoder.min_length)
        self.width = int(encoder.width)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.encoder.check_input(x)
        return self.encoder.forward_features(self.standardize(x))  # (B, D)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """Per-time-step features ``(B, W, T')`` before pooling (see the encoder)."""
        self.encoder.check_input(x)
        return self.encoder.forward_sequence(self.standardize(x))

    def pool(self, sequence: torch.Tensor) -> torch.Tensor:
        """The encoder's global pooling of :meth:`forward_sequence` output: ``(B, D)``."""
        return pool_sequence(sequence, self.encoder.pooling)


def build_model(
    cfg: TimeSeriesConfig,
    in_channels: int,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
) -> SwAVModel:
    """Standardisation + encoder from the registry + the core projection head and prototypes.

    Parameters
    ----------
    cfg : TimeSeriesConfig
        ``encoder`` and ``swav`` sections.
    in_channels : int
    mean, std : sequence of float, optional
        Channel statistics in sensor units (default 0 and 1: the identity, e.g. before loading
        a saved state, which holds the real values).
    """
    mean = [0.0] * in_channels if mean is None else mean
    std = [1.0] * in_channels if std is None else std
    encoder = create_encoder(cfg.encoder.name, in_channels, **cfg.encoder.kwargs)
    backbone = StandardizedEncoder(ChannelStandardize(mean, std), encoder)
    return SwAVModel(
        backbone,
        hidden_mlp=cfg.swav.hidden_mlp,
        feat_dim=cfg.swav.feat_dim,
        n_prototypes=cfg.swav.n_prototypes,
        dense_prototypes=cfg.swav.dense_prototypes,
    )
