"""Semi-supervised fine-tuning of image backbones: the original's ``eval_semisup.py``.

The whole network is trained on a 1 % or 10 % class-balanced label subset
(:func:`swav_ts.evaluation.stratified_fraction`): SGD momentum 0.9, no weight decay, lr 0.01
trunk / 0.2 head for 10 %, 0.02 / 5 for 1 %, 20 epochs, lr x0.2 at epochs 12 and 16.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader, Dataset, Subset

from swav_ts.evaluation.image_common import (
    EvalDataConfig,
    classify,
    dataset_targets,
    topk_accuracy,
)
from swav_ts.evaluation.label_fractions import stratified_fraction
from swav_ts.image.data import TransformDataset
from swav_ts.image.transforms import eval_transform, linear_train_transform

logger = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Semi-supervised fine-tuning
# ---------------------------------------------------------------------------------------------
@dataclass
class FinetuneConfig(EvalDataConfig):
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
        subset_indices = stratified_fraction(targets, cfg.label_fraction, cfg.seed)
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
        scores, labels = classify(None, model, test_loader, device)
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
