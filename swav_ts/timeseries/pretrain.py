"""Time-series pretraining: contexts in, a trained SwAV model out (on the shared core trainer)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset, TensorDataset

from swav_ts.core.model import SwAVModel
from swav_ts.core.trainer import TrainResult, train
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.encoders import create_encoder
from swav_ts.timeseries.views import ViewMaker

logger = logging.getLogger(__name__)


def build_model(cfg: TimeSeriesConfig, in_channels: int) -> SwAVModel:
    """Encoder from the registry + the core projection head and prototypes."""
    encoder = create_encoder(cfg.encoder.name, in_channels, **cfg.encoder.kwargs)
    return SwAVModel(
        encoder,
        hidden_mlp=cfg.swav.hidden_mlp,
        feat_dim=cfg.swav.feat_dim,
        n_prototypes=cfg.swav.n_prototypes,
    )


class ContextViews:
    """``make_views`` for the trainer: a batch of contexts -> cropped, augmented views.

    Crops and augmentations run batched on the training device.
    """

    def __init__(self, cfg: TimeSeriesConfig):
        self.view_maker = ViewMaker(cfg.crops, cfg.augment, engine="torch")

    def __call__(self, batch, generator: torch.Generator, device: torch.device):
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        x = x.to(device, non_blocking=True)  # (B, C, T_ctx)
        return self.view_maker(x, generator)


def contexts_from_recordings(
    signals: Sequence[np.ndarray], context_length: int, stride: int
) -> np.ndarray:
    """Cut ``(C, T_i)`` signals into ``(n, C, context_length)`` contexts every ``stride``.

    Recordings shorter than one context are skipped with a logged count.
    """
    out, skipped = [], 0
    for s in signals:
        n = (s.shape[1] - context_length) // stride + 1
        if n <= 0:
            skipped += 1
            continue
        idx = np.arange(n)[:, None] * stride + np.arange(context_length)[None, :]  # (n, T)
        out.append(np.transpose(s[:, idx], (1, 0, 2)))  # (n, C, T)
    if skipped:
        logger.warning(
            "%d recordings shorter than context_length=%d were skipped", skipped, context_length
        )
    if not out:
        raise ValueError(f"no recording is at least context_length={context_length} samples long")
    return np.ascontiguousarray(np.concatenate(out), dtype=np.float32)


def pretrain_contexts(
    cfg: TimeSeriesConfig,
    contexts: np.ndarray | Dataset,
    run_dir: str | Path,
    in_channels: int | None = None,
    model: SwAVModel | None = None,
    resume: bool = True,
) -> tuple[SwAVModel, TrainResult]:
    """Pretrain on normalised contexts ``(n, C, T_ctx)`` (an array or a Dataset of tensors).

    Returns the model (on CPU, eval mode) and the trainer's result.
    """
    if isinstance(contexts, np.ndarray):
        in_channels = contexts.shape[1]
        dataset: Dataset = TensorDataset(torch.from_numpy(contexts))
    else:
        dataset = contexts
        if in_channels is None:
            in_channels = int(dataset[0].shape[0])
    torch.manual_seed(cfg.train.seed)
    model = model or build_model(cfg, in_channels)
    result = train(model, dataset, cfg, run_dir, make_views=ContextViews(cfg), resume=resume)
    return model.cpu().eval(), result
