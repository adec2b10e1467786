"""Recipes in configs/image: every file loads strictly and carries the original's values."""

from __future__ import annotations

import pytest

from swav_ts.core.config import ConfigError
from swav_ts.image.config import CONFIG_DIR, ImageConfig, load_image_config

RECIPES = sorted(p.stem for p in CONFIG_DIR.glob("*.yaml"))


def test_expected_recipes_present():
    assert {
        "swav_800ep_bs4096",
        "swav_400ep_bs4096",
        "swav_200ep_bs4096",
        "swav_100ep_bs4096",
        "swav_200ep_bs256",
        "swav_400ep_bs256",
        "cifar10_resnet18",
        "debug",
    } <= set(RECIPES)


@pytest.mark.parametrize("name", RECIPES)
def test_recipe_loads(name):
    cfg = load_image_config(name)
    assert isinstance(cfg, ImageConfig) and cfg.modality == "image"


@pytest.mark.parametrize("epochs", [100, 200, 400, 800])
def test_bs4096_recipes(epochs):
    c = load_image_config(f"swav_{epochs}ep_bs4096")
    assert c.train.epochs == epochs and c.train.batch_size == 64  # x 64 processes = 4096
    assert (c.optim.name, c.optim.base_lr, c.optim.final_lr) == ("lars", 4.8, 0.0048)
    assert (c.optim.warmup_epochs, c.optim.start_warmup_lr, c.optim.weight_decay) == (10, 0.3, 1e-6)
    assert (c.swav.epsilon, c.swav.sinkhorn_iters, c.swav.freeze_prototypes_iters) == (0.05, 3, 313)
    assert c.swav.queue_length == 0 and c.swav.n_prototypes == 3000
    assert c.crops.n_crops == [2, 6] and c.crops.size_crops == [224, 96]


@pytest.mark.parametrize("epochs", [200, 400])
def test_bs256_recipes(epochs):
    c = load_image_config(f"swav_{epochs}ep_bs256")
    assert (c.swav.queue_length, c.swav.queue_start_epoch) == (3840, 15)
    assert (c.optim.base_lr, c.optim.final_lr, c.optim.warmup_epochs) == (0.6, 0.0006, 0.0)
    assert c.swav.freeze_prototypes_iters == 5005 and c.train.batch_size == 64


def test_unknown_keys_and_bad_crops_rejected(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("modality: image\nmodel: {arch: resnet50, widht_multiplier: 2}\n")
    with pytest.raises(ConfigError, match="width_multiplier"):
        load_image_config(p)
    with pytest.raises(ConfigError, match="crops_for_assign"):
        load_image_config("debug", ["swav.crops_for_assign=[0, 7]"])
    with pytest.raises(ConfigError, match="modality"):
        load_image_config("debug", ["modality=timeseries"])
