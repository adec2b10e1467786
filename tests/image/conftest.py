"""Fixtures for the image backend: the small real CIFAR-10 zips in ``tests/fixtures/cifar10``."""

from __future__ import annotations

from pathlib import Path

import pytest

from swav_ts.image.data import extract_image_zip


@pytest.fixture(scope="session")
def image_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("image_cache")


@pytest.fixture(scope="session")
def cifar_train_small(cifar_dir: Path, image_cache: Path) -> Path:
    """All 100 training JPEGs of the fixture (10 per class)."""
    return extract_image_zip(cifar_dir / "train.zip", image_cache)


@pytest.fixture(scope="session")
def cifar_test_small(cifar_dir: Path, image_cache: Path) -> Path:
    """All 50 test JPEGs of the fixture (5 per class)."""
    return extract_image_zip(cifar_dir / "test.zip", image_cache)
