"""Multi-crop transform: views, shapes and the original's augmentation parameters."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms import v2

from swav_ts.core.config import ConfigError
from swav_ts.image.transforms import (
    IMAGENET_STD,
    CropsConfig,
    MultiCropTransform,
    eval_transform,
)


def _image(h: int = 300, w: int = 400) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))


def _find(t: v2.Transform, cls: type) -> list:
    found = [t] if isinstance(t, cls) else []
    for child in getattr(t, "transforms", []) or []:
        found += _find(child, cls)
    return found


def test_default_is_2x224_plus_6x96():
    views = MultiCropTransform()(_image())
    assert len(views) == 8
    assert [tuple(v.shape) for v in views] == [(3, 224, 224)] * 2 + [(3, 96, 96)] * 6
    assert all(v.dtype == torch.float32 for v in views)


def test_parameters_match_the_original():
    mc = MultiCropTransform()
    big, small = mc.transforms[0], mc.transforms[2]
    assert _find(big, v2.RandomResizedCrop)[0].scale == (0.14, 1.0)
    assert _find(small, v2.RandomResizedCrop)[0].scale == (0.05, 0.14)
    assert list(_find(big, v2.RandomResizedCrop)[0].size) == [224, 224]
    jitter = _find(big, v2.ColorJitter)[0]
    assert jitter.brightness == (pytest.approx(0.2), pytest.approx(1.8))
    assert jitter.contrast == (pytest.approx(0.2), pytest.approx(1.8))
    assert jitter.saturation == (pytest.approx(0.2), pytest.approx(1.8))
    assert jitter.hue == (pytest.approx(-0.2), pytest.approx(0.2))
    applies = _find(big, v2.RandomApply)
    assert sorted(a.p for a in applies) == [0.5, 0.8]  # blur, colour jitter
    assert _find(big, v2.RandomGrayscale)[0].p == 0.2
    assert _find(big, v2.RandomHorizontalFlip)[0].p == 0.5
    blur = _find(big, v2.GaussianBlur)[0]
    assert list(blur.sigma) == [0.1, 2.0]
    norm = _find(big, v2.Normalize)[0]
    assert list(norm.std) == list(IMAGENET_STD) == [0.229, 0.224, 0.225]


def test_views_differ_and_are_normalised():
    torch.manual_seed(0)
    views = MultiCropTransform()(_image())
    assert not torch.equal(views[0], views[1])
    for v in views:
        assert torch.isfinite(v).all() and v.abs().max() < 10


def test_configurable_crops_for_cifar():
    cfg = CropsConfig(
        n_crops=[2, 4],
        size_crops=[32, 16],
        min_scale=[0.25, 0.1],
        max_scale=[1.0, 0.25],
        blur_prob=0.0,
    )
    mc = MultiCropTransform(cfg)
    views = mc(_image(32, 32))
    assert [v.shape[-1] for v in views] == [32, 32, 16, 16, 16, 16]
    assert not _find(mc.transforms[0], v2.GaussianBlur)


@pytest.mark.parametrize(
    "kwargs, key",
    [
        ({"size_crops": [224]}, "size_crops"),
        ({"min_scale": [0.5, 0.05], "max_scale": [0.4, 0.14]}, "min_scale"),
        ({"blur_kernel_size": 22}, "blur_kernel_size"),
        ({"n_crops": [1, 0]}, "n_crops"),
    ],
)
def test_bad_crop_configs_rejected(kwargs, key):
    with pytest.raises(ConfigError, match=key):
        CropsConfig(**kwargs)


def test_eval_transform_resize_and_crop():
    x = eval_transform(256, 224)(_image(300, 500))
    assert tuple(x.shape) == (3, 224, 224)
    x = eval_transform(None, 32)(_image(32, 32))
    assert tuple(x.shape) == (3, 32, 32)
