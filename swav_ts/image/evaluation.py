"""Evaluation of image backbones: weighted kNN, linear probe, semi-supervised fine-tuning.

* :func:`knn_evaluate`: weighted k-nearest-neighbour vote on L2-normalised features (cosine
  similarity), ``k=200``, votes weighted by ``exp(sim / T)`` with ``T=0.1`` (Wu et al. 2018).
* :func:`linear_evaluate`: the original's ``eval_linear.py`` protocol: frozen backbone in eval
  mode, average-pooled features, a linear layer initialised N(0, 0.01) with zero bias, SGD
  (momentum 0.9, lr 0.3, wd 1e-6, batch 256) with a cosine schedule over 100 epochs; training
  crops RandomResizedCrop 224 + flip, evaluation Resize 256 + CenterCrop 224; best and last
  top-1/top-5 are reported. Every value is configurable (CIFAR: 32 px, no resize).
* :func:`finetune_evaluate`: the original's ``eval_semisup.py``: the whole network trained on a
  1 % or 10 % label subset (SGD momentum 0.9, no weight decay, lr 0.01 trunk / 0.2 head for 10 %,
  0.02 / 5 for 1 %, 20 epochs, lr x0.2 at epochs 12 and 16).
"""

from __future__ import annotations

import copy
import logging
import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from swav_ts.image.transforms import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    eval_transform,
    linear_train_transform,
)

logger = logging.getLogger(__name__)


class TransformDataset(Dataset):
    """Apply ``transform`` to the image of an ``(image, target)`` dataset."""

    def __init__(self, base: Dataset, transform: Callable):
        self.base = base
        self.transform = transform

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        image, target = self.base[index]
        return self.transform(image), int(target)


def dataset_targets(dataset: Dataset) -> np.ndarray:
    """Integer labels of an ``(image, target)`` dataset without decoding images when possible."""
    if isinstance(dataset, Subset):
        return dataset_targets(dataset.dataset)[np.asarray(dataset.indices)]
    for attr in ("targets", "labels"):
        if hasattr(dataset, attr):
            return np.asarray(getattr(dataset, attr), dtype=np.int64)
    return np.asarray([int(dataset[i][1]) for i in range(len(dataset))], dtype=np.int64)


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


@torch.no_grad()
def knn_scores(
    train_feats: torch.Tensor,
    train_labels: torch.Tensor,
    test_feats: torch.Tensor,
    k: int = 200,
    temperature: float = 0.1,
    n_classes: int | None = None,
    chunk_size: int = 1024,
) -> torch.Tensor:
    """Weighted kNN class scores ``(N_test, C)`` from cosine similarity.

    Each test sample's ``k`` most similar training samples vote for their class with weight
    ``exp(sim / temperature)``.
    """
    if train_feats.ndim != 2 or test_feats.ndim != 2 or train_feats.shape[1] != test_feats.shape[1]:
        raise ValueError(
            f"features must be (N, F) with equal F; got {tuple(train_feats.shape)} and "
            f"{tuple(test_feats.shape)}"
        )
    if train_labels.shape[0] != train_feats.shape[0]:
        raise ValueError(
            f"{train_feats.shape[0]} training features but {train_labels.shape[0]} labels"
        )
    if k < 1 or temperature <= 0:
        raise ValueError(f"need k >= 1 and temperature > 0; got k={k}, temperature={temperature}")
    n_classes = int(n_classes or int(train_labels.max()) + 1)
    k = min(k, train_feats.shape[0])
    train_n = F.normalize(train_feats.float(), dim=1)  # (N_train, F)
    test_n = F.normalize(test_feats.float(), dim=1)  # (N_test, F)
    out = []
    for start in range(0, test_n.shape[0], chunk_size):
        sim = test_n[start : start + chunk_size] @ train_n.t()  # (b, N_train)
        top_sim, top_idx = sim.topk(k, dim=1)  # (b, k)
        weights = (top_sim / temperature).exp()  # (b, k)
        votes = torch.zeros(sim.shape[0], n_classes)
        votes.scatter_add_(1, train_labels[top_idx], weights)  # (b, C)
        out.append(votes)
    return torch.cat(out)


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
    scores = knn_scores(tr_x, tr_y, te_x, k, temperature, n_classes)
    result = topk_accuracy(scores, te_y)
    result.update(k=min(k, len(tr_y)), temperature=temperature, n_train=len(tr_y), n_test=len(te_y))
    return result


# ---------------------------------------------------------------------------------------------
# Linear evaluation
# ---------------------------------------------------------------------------------------------
@dataclass
class _EvalDataConfig:
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


@dataclass
class LinearEvalConfig(_EvalDataConfig):
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


@torch.no_grad()
def _classify(
    backbone: nn.Module | None, head: nn.Module, loader: DataLoader, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    head.eval()
    scores, labels = [], []
    for x, y in loader:
        x = x.to(device)
        feats = backbone(x) if backbone is not None else x
        scores.append(head(feats.float()).float().cpu())
        labels.append(torch.as_tensor(y))
    return torch.cat(scores), torch.cat(labels).long()


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
        scores, labels = _classify(feat_backbone, head, test_loader, device)
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


# ---------------------------------------------------------------------------------------------
# Semi-supervised fine-tuning
# ---------------------------------------------------------------------------------------------
@dataclass
class FinetuneConfig(_EvalDataConfig):
    """Fine-tuning on a label subset (defaults: the original's 10 % ImageNet settings)."""

    label_fraction: float = 0.1
    epochs: int = 20
    batch_size: int = 256
    lr: float = 0.01
    lr_last_layer: float = 0.2
    decay_epochs: list[int] = field(default_factory=lambda: [12, 16])
    gamma: float = 0.2
    momentum: float = 0.9
    weight_decay: float = 0.0

    def __post_init__(self) -> None:
        if not 0 < self.label_fraction <= 1:
            raise ValueError(f"label_fraction must be in (0, 1], got {self.label_fraction}")

    @classmethod
    def paper(cls, percent: int, **kwargs: Any) -> FinetuneConfig:
        """The original's learning rates for 1 % (0.02 / 5) or 10 % (0.01 / 0.2) labels."""
        lrs = {1: (0.02, 5.0), 10: (0.01, 0.2)}
        if percent not in lrs:
            raise ValueError(f"percent must be 1 or 10, got {percent}")
        lr, lr_last = lrs[percent]
        return cls(label_fraction=percent / 100, lr=lr, lr_last_layer=lr_last, **kwargs)


def label_subset(targets: Sequence[int] | np.ndarray, fraction: float, seed: int = 0) -> np.ndarray:
    """Class-balanced random subset: ``max(1, round(fraction * n_c))`` indices of each class.

    Deterministic for a seed; returned sorted.
    """
    targets = np.asarray(targets)
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    rng = np.random.default_rng(seed)
    by_class: dict[int, list[int]] = defaultdict(list)
    for i, t in enumerate(targets.tolist()):
        by_class[int(t)].append(i)
    chosen = []
    for c in sorted(by_class):
        idx = np.asarray(by_class[c])
        n = max(1, round(fraction * len(idx)))
        chosen.extend(rng.choice(idx, size=n, replace=False).tolist())
    return np.sort(np.asarray(chosen, dtype=np.int64))


class _Classifier(nn.Module):
    def __init__(self, backbone: nn.Module, n_features: int, n_classes: int):
        super().__init__()
        self.backbone = backbone
        self.head = nn.Linear(n_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))  # (B, n_classes)


def finetune_evaluate(
    backbone: nn.Module,
    train_base: Dataset,
    test_base: Dataset,
    cfg: FinetuneConfig | None = None,
    device: str | torch.device = "cpu",
    n_classes: int | None = None,
    subset_indices: Sequence[int] | None = None,
) -> dict[str, Any]:
    """Fine-tune a copy of ``backbone`` plus a linear head on a labelled subset.

    ``subset_indices`` fixes the labelled images (e.g. the SimCLR 1 %/10 % ImageNet lists the
    original downloads); by default a class-balanced random subset of ``cfg.label_fraction``.

    Returns
    -------
    dict with ``best_top1``, ``best_top5``, ``last_top1``, ``last_top5``, ``n_labelled``,
    ``history``.
    """
    cfg = cfg or FinetuneConfig()
    device = torch.device(device)
    torch.manual_seed(cfg.seed)
    targets = dataset_targets(train_base)
    if subset_indices is None:
        subset_indices = label_subset(targets, cfg.label_fraction, cfg.seed)
    subset = Subset(train_base, list(map(int, subset_indices)))
    if n_classes is None:
        n_classes = int(max(targets.max(), dataset_targets(test_base).max())) + 1
    net = copy.deepcopy(backbone)
    for p in net.parameters():
        p.requires_grad_(True)
    n_features = int(net.num_features)
    model = _Classifier(net, n_features, n_classes).to(device)
    opt = torch.optim.SGD(
        [
            {"params": model.backbone.parameters(), "lr": cfg.lr},
            {"params": model.head.parameters(), "lr": cfg.lr_last_layer},
        ],
        momentum=cfg.momentum,
        weight_decay=cfg.weight_decay,
    )
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, cfg.decay_epochs, gamma=cfg.gamma)
    tr_t = linear_train_transform(cfg.train_crop, tuple(cfg.train_scale), cfg.mean, cfg.std)
    ev_t = eval_transform(cfg.eval_resize, cfg.eval_crop, cfg.mean, cfg.std)
    g = torch.Generator().manual_seed(cfg.seed)
    train_loader = DataLoader(
        TransformDataset(subset, tr_t),
        batch_size=cfg.batch_size,
        shuffle=True,
        generator=g,
        num_workers=cfg.num_workers,
    )
    test_loader = DataLoader(
        TransformDataset(test_base, ev_t), batch_size=cfg.batch_size, num_workers=cfg.num_workers
    )
    history, best = [], {"top1": -1.0, "top5": -1.0}
    n_skipped = 0
    for epoch in range(cfg.epochs):
        model.train()
        loss_sum, n_seen = 0.0, 0
        for x, y in train_loader:
            x, y = x.to(device), torch.as_tensor(y).to(device)
            if x.shape[0] < 2 and any(isinstance(m, nn.BatchNorm2d) for m in model.modules()):
                n_skipped += 1  # BatchNorm cannot train on a single image
                continue
            loss = F.cross_entropy(model(x), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += float(loss.detach()) * len(y)
            n_seen += len(y)
        sched.step()
        model.eval()
        scores, labels = _classify(None, model, test_loader, device)
        acc = topk_accuracy(scores, labels)
        if acc["top1"] > best["top1"]:
            best = acc
        history.append({"epoch": epoch, "train_loss": loss_sum / max(n_seen, 1), **acc})
    if n_skipped:
        logger.warning("fine-tuning skipped %d single-image batches (BatchNorm)", n_skipped)
    return {
        "best_top1": best["top1"],
        "best_top5": best["top5"],
        "last_top1": history[-1]["top1"],
        "last_top5": history[-1]["top5"],
        "n_labelled": len(subset),
        "skipped_single_image_batches": n_skipped,
        "history": history,
    }
