"""kNN, linear probe and label subsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swav_ts.image.data import SafeImageFolder
from swav_ts.image.evaluation import (
    FinetuneConfig,
    LinearEvalConfig,
    finetune_evaluate,
    knn_scores,
    label_subset,
    linear_classifier,
    linear_evaluate,
    topk_accuracy,
)
from swav_ts.image.models import ResNetBackbone


def test_knn_on_separable_clusters_and_weighting():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(4, 16, generator=g) * 5
    train_y = torch.arange(4).repeat_interleave(25)
    train_x = centres[train_y] + torch.randn(100, 16, generator=g) * 0.1
    test_y = torch.arange(4).repeat(5)
    test_x = centres[test_y] + torch.randn(20, 16, generator=g) * 0.1
    scores = knn_scores(train_x, train_y, test_x, k=10, temperature=0.1)
    assert topk_accuracy(scores, test_y)["top1"] == 100.0
    # a hand-checkable case: 2 neighbours of class 1 (sim 1 and 0) vs 1 of class 0 (sim 0.5)
    tr = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5**0.5 * 1.0]])
    tr_y = torch.tensor([1, 1, 0])
    s = knn_scores(tr, tr_y, torch.tensor([[1.0, 0.0]]), k=3, temperature=0.5)
    cos_third = float(torch.nn.functional.normalize(tr[2:3], dim=1)[0, 0])
    expected1 = np.exp(1 / 0.5) + np.exp(0.0)
    expected0 = np.exp(cos_third / 0.5)
    assert s[0, 1].item() == pytest.approx(expected1, rel=1e-5)
    assert s[0, 0].item() == pytest.approx(expected0, rel=1e-5)


def test_knn_input_errors():
    with pytest.raises(ValueError, match="equal F"):
        knn_scores(torch.zeros(3, 4), torch.zeros(3, dtype=torch.long), torch.zeros(2, 5))


def test_label_subset_balanced_and_deterministic():
    y = np.repeat(np.arange(10), 100)
    a = label_subset(y, 0.01, seed=3)
    assert len(a) == 10 and sorted(y[a].tolist()) == list(range(10))
    assert np.array_equal(a, label_subset(y, 0.01, seed=3))
    assert len(label_subset(y, 0.1, seed=0)) == 100


def test_linear_classifier_init():
    torch.manual_seed(0)
    lin = linear_classifier(2048, 1000)
    assert lin.bias.abs().max() == 0
    assert lin.weight.std().item() == pytest.approx(0.01, rel=0.02)


def test_linear_probe_learns_on_real_images(cifar_train_small, cifar_test_small):
    """Frozen random conv features of 100 real images (10 classes): the probe must learn."""
    torch.manual_seed(0)
    bb = ResNetBackbone("resnet18", cifar_stem=True, width_multiplier=0.125)
    cfg = LinearEvalConfig(
        epochs=100,
        batch_size=10,
        lr=0.3,
        augment=False,
        eval_resize=None,
        eval_crop=32,
        mean=[0.49, 0.48, 0.45],
        std=[0.25, 0.24, 0.26],
    )
    train = SafeImageFolder(cifar_train_small)
    # scored on its own training images: the linear layer fits them far above chance (10 %)
    fit = linear_evaluate(bb, train, train, cfg)
    assert fit["last_top1"] > 50.0
    assert fit["history"][-1]["train_loss"] < fit["history"][0]["train_loss"] / 10
    # held out: 50 test images (5 per class)
    res = linear_evaluate(bb, train, SafeImageFolder(cifar_test_small), cfg)
    assert len(res["history"]) == 100
    assert res["best_top1"] >= res["last_top1"]
    assert res["best_top1"] > 15.0  # chance is 10 %: random conv features carry some signal
    assert set(res) >= {"best_top1", "best_top5", "last_top1", "last_top5"}


def test_finetune_runs_and_uses_subset(cifar_train_small, cifar_test_small):
    torch.manual_seed(0)
    bb = ResNetBackbone("resnet18", cifar_stem=True, width_multiplier=0.125)
    cfg = FinetuneConfig(
        label_fraction=0.3,
        epochs=1,
        batch_size=16,
        train_crop=32,
        train_scale=[0.5, 1.0],
        eval_resize=None,
        eval_crop=32,
    )
    before = [p.clone() for p in bb.parameters()]
    res = finetune_evaluate(
        bb, SafeImageFolder(cifar_train_small), SafeImageFolder(cifar_test_small), cfg
    )
    assert res["n_labelled"] == 30
    assert all(torch.equal(a, b) for a, b in zip(before, bb.parameters()))  # input untouched
    assert 0 <= res["last_top1"] <= 100
