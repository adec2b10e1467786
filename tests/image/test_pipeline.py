"""End to end on real CIFAR-10 JPEGs: pretrain (core trainer) -> kNN -> linear evaluation."""

from __future__ import annotations

import pytest

from swav_ts.evaluation.image import LinearEvalConfig, evaluate
from swav_ts.image.config import load_image_config
from swav_ts.image.pretrain import pretrain


@pytest.mark.slow
def test_pretrain_knn_linear(cifar_dir, image_cache, tmp_path):
    cfg = load_image_config(
        "debug",
        [
            f"data.root={cifar_dir / 'train.zip'}",
            f"data.cache_dir={image_cache}",
            "data.subset_per_class=10",
            "train.epochs=2",
            "train.batch_size=25",
        ],
    )
    result = pretrain(cfg, tmp_path / "run", resume=False)
    assert len(result.history) == 2 and result.checkpoint_path.is_file()
    losses = [row["loss"] for row in result.history]
    assert all(0 < v < 20 for v in losses)
    # resuming a finished run does no work and returns the same history
    again = pretrain(cfg, tmp_path / "run", resume=True)
    assert again.history == result.history

    common = dict(subset_per_class=10, test_subset_per_class=5, cache_dir=image_cache, device="cpu")
    knn = evaluate(
        result.checkpoint_path, cifar_dir, mode="knn", resize=None, crop=32, k=20, **common
    )
    assert knn["n_train"] == 100 and knn["n_test"] == 50
    assert 0 <= knn["top1"] <= knn["top5"] <= 100
    lin = evaluate(
        result.checkpoint_path,
        cifar_dir,
        mode="linear",
        linear=LinearEvalConfig(
            epochs=2,
            batch_size=64,
            augment=True,
            train_crop=32,
            train_scale=[0.5, 1.0],
            eval_resize=None,
            eval_crop=32,
        ),
        **common,
    )
    assert len(lin["history"]) == 2 and lin["best_top1"] >= lin["last_top1"]
    random_knn = evaluate(
        None,
        cifar_dir,
        mode="knn",
        arch="resnet18",
        cifar_stem=True,
        resize=None,
        crop=32,
        k=20,
        **common,
    )
    assert random_knn["n_test"] == 50
