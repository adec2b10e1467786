"""Evaluation of image backbones: weighted kNN, linear probe, semi-supervised fine-tuning.

* :func:`knn_evaluate`: weighted k-nearest-neighbour vote on L2-normalised features (cosine
  similarity), ``k=200``, votes weighted by ``exp(sim / T)`` with ``T=0.1`` (Wu et al. 2018).
* :func:`linear_evaluate`: the original's ``eval_linear.py`` protocol: frozen backbone in eval
  mode, average-pooled features, a linear layer initialised N(0, 0.01) with zero bias, SGD
  (momentum 0.9, lr 0.3, wd 1e-6, batch 256) with a cosine schedule over 100 epochs; training
  crops RandomResizedCrop 224 + flip, evaluation Resize 256 + CenterCrop 224; best and last
  top-1/top-5 are reported. Every value is configurable (CIFAR: 32 px, no resize).
* :func:`~swav_ts.evaluation.image_finetune.finetune_evaluate` (its own module): the
  original's ``eval_semisup.py``.
* :mod:`~swav_ts.evaluation.image_common`: what both protocols share (``dataset_targets``,
  ``topk_accuracy``, ``EvalDataConfig``, ``classify``), below both modules.
* :func:`evaluate`: a checkpoint and a labelled image data set -> metric dict (``swav-ts
  evaluate --modality image``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset

from swav_ts.evaluation.image_common import (
    EvalDataConfig,
    classify,
    dataset_targets,
    topk_accuracy,
)
from swav_ts.evaluation.image_finetune import FinetuneConfig, finetune_evaluate
from swav_ts.evaluation.knn import knn_votes
from swav_ts.image.checkpoints import load_backbone
from swav_ts.image.data import DatasetKind, SafeImageFolder, TransformDataset, load_eval_splits
from swav_ts.image.models import ResNetBackbone
from swav_ts.image.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    eval_transform,
    linear_train_transform,
)

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Features and kNN
# ---------------------------------------------------------------------------------------------
@torch.no_grad()
def extract_features(
    backbone: nn.Module,
    dataset: Dataset,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    num_workers: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Backbone features ``(N, F)`` (float32, CPU) and labels ``(N,)`` of a tensor dataset."""
    device = torch.device(device)
    was_training = backbone.training
    backbone.eval().to(device)
    loader = DataLoader(dataset, batch_size=batch_size, shuffle=False, num_workers=num_workers)
    feats, labels = [], []
    for x, y in loader:
        feats.append(backbone(x.to(device)).float().cpu())  # (B, F)
        labels.append(torch.as_tensor(y))
    backbone.train(was_training)
    if not feats:
        raise ValueError("extract_features: the dataset is empty")
    return torch.cat(feats), torch.cat(labels).long()


def knn_evaluate(
    backbone: nn.Module,
    train_set: Dataset,
    test_set: Dataset,
    k: int = 200,
    temperature: float = 0.1,
    batch_size: int = 256,
    device: str | torch.device = "cpu",
    num_workers: int = 0,
) -> dict[str, float]:
    """kNN top-1/top-5 (%) of ``backbone`` features; datasets yield ``(tensor, label)``."""
    tr_x, tr_y = extract_features(backbone, train_set, batch_size, device, num_workers)
    te_x, te_y = extract_features(backbone, test_set, batch_size, device, num_workers)
    n_classes = int(max(tr_y.max(), te_y.max())) + 1
    k = min(k, len(tr_y))
    votes = knn_votes(tr_x.numpy(), tr_y.numpy(), te_x.numpy(), k, temperature, n_classes)
    result = topk_accuracy(torch.from_numpy(votes), te_y)
    result.update(k=min(k, len(tr_y)), temperature=temperature, n_train=len(tr_y), n_test=len(te_y))
    return result


# ---------------------------------------------------------------------------------------------
# Linear evaluation
# ---------------------------------------------------------------------------------------------
@dataclass
class LinearEvalConfig(EvalDataConfig):
    """Linear probe settings (defaults: the original's eval_linear.py on ImageNet)."""

    epochs: int = 100
    batch_size: int = 256
    lr: float = 0.3
    final_lr: float = 0.0
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 1e-6
    augment: bool = True

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.batch_size < 1 or self.lr <= 0:
            raise ValueError(
                f"need epochs >= 1, batch_size >= 1, lr > 0; got {self.epochs}, "
                f"{self.batch_size}, {self.lr}"
            )


def _cosine_lr(base: float, final: float, epoch: int, epochs: int) -> float:
    """``CosineAnnealingLR`` value at the start of ``epoch`` (stepped once per epoch)."""
    return final + 0.5 * (base - final) * (1 + math.cos(math.pi * epoch / epochs))


def linear_classifier(n_features: int, n_classes: int) -> nn.Linear:
    """Linear layer initialised as in the original: weights N(0, 0.01), bias 0."""
    layer = nn.Linear(n_features, n_classes)
    nn.init.normal_(layer.weight, mean=0.0, std=0.01)
    nn.init.zeros_(layer.bias)
    return layer


def linear_evaluate(
    backbone: nn.Module,
    train_base: Dataset,
    test_base: Dataset,
    cfg: LinearEvalConfig | None = None,
    device: str | torch.device = "cpu",
    n_classes: int | None = None,
) -> dict[str, Any]:
    """Train a linear classifier on frozen ``backbone`` features; report best/last accuracy.

    Parameters
    ----------
    backbone : nn.Module
        Maps images ``(B, 3, H, W)`` to features ``(B, F)``; kept in eval mode, not trained.
    train_base, test_base : Dataset
        ``(PIL image, label)`` datasets (their own transform None); transforms come from ``cfg``.
    cfg : LinearEvalConfig
        With ``augment=False`` the training features are computed once (eval transform) and the
        classifier trains on them; otherwise every epoch re-augments through the backbone.

    Returns
    -------
    dict with ``best_top1``, ``best_top5``, ``last_top1``, ``last_top5`` (percent) and
    ``history`` (per-epoch train loss and test accuracy).
    """
    cfg = cfg or LinearEvalConfig()
    device = torch.device(device)
    backbone = backbone.to(device).eval()
    for p in backbone.parameters():
        p.requires_grad_(False)
    g = torch.Generator().manual_seed(cfg.seed)
    torch.manual_seed(cfg.seed)
    ev_t = eval_transform(cfg.eval_resize, cfg.eval_crop, cfg.mean, cfg.std)
    test_set = TransformDataset(test_base, ev_t)
    if n_classes is None:
        n_classes = (
            int(max(dataset_targets(train_base).max(), dataset_targets(test_base).max())) + 1
        )
    n_features = int(getattr(backbone, "num_features", 0)) or None

    if cfg.augment:
        tr_t = linear_train_transform(cfg.train_crop, tuple(cfg.train_scale), cfg.mean, cfg.std)
        train_loader = DataLoader(
            TransformDataset(train_base, tr_t),
            batch_size=cfg.batch_size,
            shuffle=True,
            generator=g,
            num_workers=cfg.num_workers,
            drop_last=False,
        )
        test_loader = DataLoader(test_set, batch_size=cfg.batch_size, num_workers=cfg.num_workers)
        feat_backbone: nn.Module | None = backbone
    else:
        tr_x, tr_y = extract_features(
            backbone, TransformDataset(train_base, ev_t), cfg.batch_size, device, cfg.num_workers
        )
        te_x, te_y = extract_features(backbone, test_set, cfg.batch_size, device, cfg.num_workers)
        train_loader = DataLoader(
            torch.utils.data.TensorDataset(tr_x, tr_y),
            batch_size=cfg.batch_size,
            shuffle=True,
            generator=g,
        )
        test_loader = DataLoader(torch.utils.data.TensorDataset(te_x, te_y), batch_size=4096)
        n_features = tr_x.shape[1]
        feat_backbone = None
    if n_features is None:
        raise ValueError("backbone has no num_features attribute; cannot size the classifier")

    head = linear_classifier(n_features, n_classes).to(device)
    opt = torch.optim.SGD(
        head.parameters(),
        lr=cfg.lr,
        momentum=cfg.momentum,
        nesterov=cfg.nesterov,
        weight_decay=cfg.weight_decay,
    )
    history, best = [], {"top1": -1.0, "top5": -1.0}
    for epoch in range(cfg.epochs):
        for group in opt.param_groups:
            group["lr"] = _cosine_lr(cfg.lr, cfg.final_lr, epoch, cfg.epochs)
        head.train()
        loss_sum, n_seen = 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), torch.as_tensor(y).to(device)
            if feat_backbone is not None:
                with torch.no_grad():
                    x = feat_backbone(x)
            loss = F.cross_entropy(head(x.float()), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(y)
            n_seen += len(y)
        scores, labels = classify(feat_backbone, head, test_loader, device)
        acc = topk_accuracy(scores, labels)
        if acc["top1"] > best["top1"]:
            best = acc
        history.append({"epoch": epoch, "train_loss": loss_sum / max(n_seen, 1), **acc})
        logger.info(
            "linear epoch %d/%d loss %.4f top1 %.2f",
            epoch + 1,
            cfg.epochs,
            history[-1]["train_loss"],
            acc["top1"],
        )
    return {
        "best_top1": best["top1"],
        "best_top5": best["top5"],
        "last_top1": history[-1]["top1"],
        "last_top5": history[-1]["top5"],
        "history": history,
    }


def evaluate(
    checkpoint: str | Path | None,
    data_dir: str | Path,
    mode: Literal["knn", "linear", "finetune"] = "knn",
    dataset: DatasetKind = "auto",
    arch: str = "resnet50",
    cifar_stem: bool = False,
    resize: int | None = 256,
    crop: int = 224,
    mean: tuple[float, ...] = IMAGENET_MEAN,
    std: tuple[float, ...] = IMAGENET_STD,
    k: int = 200,
    temperature: float = 0.1,
    linear: LinearEvalConfig | None = None,
    finetune: Any = None,
    subset_per_class: int = 0,
    test_subset_per_class: int = 0,
    batch_size: int = 256,
    device: str = "auto",
    num_workers: int = 0,
    download: bool = False,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Evaluate a pretrained backbone on a labelled image dataset.

    Parameters
    ----------
    checkpoint : path or None
        This project's training checkpoint, an original SwAV checkpoint, or a torchvision
        ResNet state dict. ``None``: a randomly initialised ``arch`` (the baseline).
    data_dir : path
        See :func:`load_eval_splits`.
    mode : {"knn", "linear", "finetune"}
        Weighted kNN (``k``, ``temperature``), linear probe (``linear`` config) or
        semi-supervised fine-tuning (``finetune`` config).
    resize, crop : int
        Evaluation preprocessing (ImageNet: 256 / 224; CIFAR: ``resize=None, crop=32``); kNN
        uses it for both splits. For ``linear``/``finetune`` the configs carry their own.

    Returns
    -------
    dict
        ``mode``, accuracies in percent (``top1``/``top5`` for kNN; ``best_top1``,
        ``last_top1``, ... for linear/finetune), dataset sizes.
    """
    if mode not in ("knn", "linear", "finetune"):
        raise ValueError(f"mode must be knn, linear or finetune, got {mode!r}")
    dev = torch.device(
        "cuda"
        if device == "auto" and torch.cuda.is_available()
        else ("cpu" if device == "auto" else device)
    )
    if checkpoint is None:
        backbone = ResNetBackbone(arch, cifar_stem=cifar_stem)
    else:
        backbone = load_backbone(checkpoint)
    train_base, test_base = load_eval_splits(
        data_dir, dataset, subset_per_class, test_subset_per_class, download, cache_dir
    )
    out: dict[str, Any] = {
        "mode": mode,
        "checkpoint": None if checkpoint is None else str(checkpoint),
    }
    if mode == "knn":
        t = eval_transform(resize, crop, mean, std)
        res = knn_evaluate(
            backbone,
            TransformDataset(train_base, t),
            TransformDataset(test_base, t),
            k,
            temperature,
            batch_size,
            dev,
            num_workers,
        )
    elif mode == "linear":
        res = linear_evaluate(backbone, train_base, test_base, linear or LinearEvalConfig(), dev)
    else:
        res = finetune_evaluate(backbone, train_base, test_base, finetune or FinetuneConfig(), dev)
    out.update(res)
    out.update(n_train=len(train_base), n_test=len(test_base))
    for split in (train_base, test_base):
        if isinstance(split, SafeImageFolder) and split.n_decode_errors:
            out.setdefault("unreadable_files", 0)
            out["unreadable_files"] += split.n_decode_errors
    logger.info("evaluation (%s): %s", mode, {k: v for k, v in out.items() if k != "history"})
    return out
