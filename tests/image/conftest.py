"""Fixtures for the image backend: small real CIFAR-10 folders extracted from the shared zips."""

from __future__ import annotations

from pathlib import Path

import pytest

from swav_ts.image.data import extract_image_zip


@pytest.fixture(scope="session")
def cifar_dir(shared_data: Path) -> Path:
    d = shared_data / "cifar10"
    if not (d / "train.zip").is_file():
        pytest.skip(f"{d}/train.zip is absent")
    return d


@pytest.fixture(scope="session")
def image_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("image_cache")


@pytest.fixture(scope="session")
def cifar_train_small(cifar_dir: Path, image_cache: Path) -> Path:
    """30 training JPEGs per class (300 images)."""
    return extract_image_zip(cifar_dir / "train.zip", image_cache, subset_per_class=30)


@pytest.fixture(scope="session")
def cifar_test_small(cifar_dir: Path, image_cache: Path) -> Path:
    """10 test JPEGs per class (100 images)."""
    return extract_image_zip(cifar_dir / "test.zip", image_cache, subset_per_class=10)
