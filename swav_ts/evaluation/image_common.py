"""Pieces shared by the image protocols: labels of a dataset, top-k accuracy, the
transforms-and-loading settings, and scoring a classifier over a loader.

:mod:`~swav_ts.evaluation.image` (kNN, linear probe, :func:`evaluate`) and
:mod:`~swav_ts.evaluation.image_finetune` (semi-supervised fine-tuning) both import this
module; it imports neither, so the dependency runs one way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from swav_ts.image.transforms import IMAGENET_MEAN, IMAGENET_STD


def dataset_targets(dataset: Dataset) -> np.ndarray:
    """Integer labels of an ``(image, target)`` dataset without decoding images when possible."""
    if isinstance(dataset, Subset):
        return dataset_targets(dataset.dataset)[np.asarray(dataset.indices)]
    for attr in ("targets", "labels"):
        if hasattr(dataset, attr):
            return np.asarray(getattr(dataset, attr), dtype=np.int64)
    return np.asarray([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


def topk_accuracy(scores: torch.Tensor, labels: torch.Tensor, ks: Sequence[int] = (1, 5)) -> dict:
    """Top-k accuracies in percent, ``{"top1": ..., "top5": ...}`` (k capped at the classes)."""
    if scores.shape[0] != labels.shape[0]:
        raise ValueError(f"scores has {scores.shape[0]} rows, labels {labels.shape[0]}")
    out = {}
    for k in ks:
        kk = min(k, scores.shape[1])
        pred = scores.topk(kk, dim=1).indices  # (N, k)
        out[f"top{k}"] = 100.0 * float((pred == labels[:, None]).any(dim=1).float().mean())
    return out


@dataclass
class EvalDataConfig:
    """Transforms and loading shared by linear evaluation and fine-tuning (ImageNet
    defaults: RandomResizedCrop 224 for training, resize 256 / centre crop 224 for testing)."""

    train_crop: int = 224
    train_scale: list[float] = field(default_factory=lambda: [0.08, 1.0])
    eval_resize: int | None = 256
    eval_crop: int = 224
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))
    num_workers: int = 0
    seed: int = 31


@torch.no_grad()
def classify(
    backbone: nn.Module | None, head: nn.Module, loader: DataLoader, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """Class scores ``(N, n_classes)`` and labels ``(N,)`` (CPU) of every batch of ``loader``.

    Parameters
    ----------
    backbone : nn.Module or None
        Maps a batch to features; None when ``loader`` already yields features.
    head : nn.Module
        Maps features to class scores; put in eval mode.
    loader : DataLoader
        Yields ``(input, label)`` batches.
    device : torch.device
    """
    head.eval()
    scores, labels = [], []
    for x, y in loader:
        x = x.to(device)
        feats = backbone(x) if backbone is not None else x
        scores.append(head(feats.float()).float().cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(scores), torch.cat(labels).long()
