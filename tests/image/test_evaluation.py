"""kNN, linear probe and label subsets."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swav_ts.evaluation.image import (
    LinearEvalConfig,
    linear_classifier,
    linear_evaluate,
    topk_accuracy,
)
from swav_ts.evaluation.image_finetune import FinetuneConfig, finetune_evaluate
from swav_ts.evaluation.knn import knn_votes
from swav_ts.image.data import SafeImageFolder
from swav_ts.image.models import ResNetBackbone


def test_knn_votes_on_separable_clusters_and_weighting():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 5
    train_y = np.repeat(np.arange(4), 25)
    train_x = centres[train_y] + rng.normal(size=(100, 16)) * 0.1
    test_y = np.tile(np.arange(4), 5)
    test_x = centres[test_y] + rng.normal(size=(20, 16)) * 0.1
    votes = knn_votes(train_x, train_y, test_x, k=10, temperature=0.1, n_classes=4)
    assert topk_accuracy(torch.from_numpy(votes), torch.from_numpy(test_y))["top1"] == 100.0
    # a hand-checkable case: 2 neighbours of class 1 (sim 1 and 0) vs 1 of class 0; the votes
    # are exp(sim / T) up to one factor per query (exp(-max sim / T))
    tr = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5**0.5]])
    s = knn_votes(tr, np.array([1, 1, 0]), np.array([[1.0, 0.0]]), 3, 0.5, 2)
    cos_third = 0.5 / np.linalg.norm(tr[2])
    scale = np.exp(-1 / 0.5)
    assert s[0, 1] == pytest.approx((np.exp(1 / 0.5) + np.exp(0.0)) * scale, rel=1e-12)
    assert s[0, 0] == pytest.approx(np.exp(cos_third / 0.5) * scale, rel=1e-12)


def test_knn_input_errors():
    with pytest.raises(ValueError, match="all-zero rows"):
        knn_votes(np.zeros((3, 4)), np.zeros(3, int), np.ones((2, 4)), 2, 0.1, 1)


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
