"""Evaluation entry point: a checkpoint and a labelled image dataset -> metric dict."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import torch
from torch.utils.data import Dataset

from swav_ts.image.checkpoints import load_backbone
from swav_ts.image.data import DataConfig, SafeImageFolder, build_base_dataset, extract_image_zip
from swav_ts.image.evaluation import (
    FinetuneConfig,
    LinearEvalConfig,
    TransformDataset,
    finetune_evaluate,
    knn_evaluate,
    linear_evaluate,
)
from swav_ts.image.models import ResNetBackbone
from swav_ts.image.transforms import IMAGENET_MEAN, IMAGENET_STD, eval_transform

logger = logging.getLogger(__name__)

DatasetKind = Literal["auto", "imagefolder", "zip", "cifar10", "cifar100", "stl10"]


def load_eval_splits(
    data_dir: str | Path,
    dataset: DatasetKind = "auto",
    subset_per_class: int = 0,
    test_subset_per_class: int = 0,
    download: bool = False,
    cache_dir: str | Path | None = None,
) -> tuple[Dataset, Dataset]:
    """Train and test ``(PIL image, label)`` datasets.

    ``auto``: ``data_dir`` holds ``train/`` and ``val/`` (or ``test/``) class folders
    (ImageNet layout), or ``train.zip`` and ``test.zip`` (or ``val.zip``) in that layout.
    ``cifar10``/``cifar100``/``stl10``: torchvision's datasets under ``data_dir``.
    """
    data_dir = Path(data_dir).expanduser()
    if dataset in ("cifar10", "cifar100", "stl10"):
        splits = []
        for split in ("train", "test"):
            splits.append(
                build_base_dataset(
                    DataConfig(dataset=dataset, root=str(data_dir), split=split, download=download)
                )
            )
        return splits[0], splits[1]
    if not data_dir.is_dir():
        raise ValueError(f"evaluation data folder not found: {data_dir}")
    found = []
    for names in (("train",), ("val", "test")):
        folder = next((data_dir / n for n in names if (data_dir / n).is_dir()), None)
        zipped = next(
            (data_dir / f"{n}.zip" for n in names if (data_dir / f"{n}.zip").is_file()), None
        )
        if dataset in ("auto", "imagefolder") and folder is not None:
            found.append(folder)
        elif dataset in ("auto", "zip") and zipped is not None:
            cache = Path(cache_dir) if cache_dir else None
            if cache is None:
                from swav_ts.image.data import default_cache_dir

                cache = default_cache_dir()
            sub = subset_per_class if names == ("train",) else test_subset_per_class
            found.append(extract_image_zip(zipped, cache, sub))
        else:
            raise ValueError(
                f"{data_dir} has no {'/'.join(names)} folder or zip (needed for evaluation)"
            )
    train = SafeImageFolder(found[0], subset_per_class=subset_per_class)
    test = SafeImageFolder(found[1], subset_per_class=test_subset_per_class)
    if train.classes != test.classes:
        raise ValueError(
            f"train and test class folders differ: {len(train.classes)} vs {len(test.classes)} "
            f"classes under {found[0]} and {found[1]}"
        )
    return train, test


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
    finetune: FinetuneConfig | None = None,
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
