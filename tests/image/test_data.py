"""Image data: zip extraction, unreadable files (counted, deterministic), multi-crop wrapper."""

from __future__ import annotations

import shutil
import warnings
import zipfile

import numpy as np
import pytest
import torch

from swav_ts.image.data import (
    DataConfig,
    SafeImageFolder,
    TransformDataset,
    build_base_dataset,
    extract_image_zip,
)
from swav_ts.image.transforms import CropsConfig, MultiCropTransform


def test_zip_extraction_and_subset(cifar_train_small, cifar_dir, image_cache):
    ds = SafeImageFolder(cifar_train_small)
    assert len(ds.classes) == 10 and len(ds) == 100
    assert ds.classes[:2] == ["airplane", "automobile"] and ds.classes[-1] == "truck"
    counts = torch.bincount(torch.tensor(ds.targets))
    assert counts.tolist() == [10] * 10
    img, target = ds[0]
    assert img.size == (32, 32) and img.mode == "RGB" and target == 0
    # a second call reuses the completed extraction
    assert extract_image_zip(cifar_dir / "train.zip", image_cache) == cifar_train_small
    # a subset: the first n files (by name) of each class, in its own folder
    sub = extract_image_zip(cifar_dir / "train.zip", image_cache, subset_per_class=3)
    assert sub != cifar_train_small
    files = sorted(p.relative_to(sub).as_posix() for p in sub.rglob("*.jpg"))
    assert len(files) == 30 and files[:3] == [f"airplane/{i:04d}.jpg" for i in range(3)]
    assert len(SafeImageFolder(sub)) == 30


def test_zip_rejects_escaping_members(tmp_path):
    z = tmp_path / "bad.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("train/cat/../../../evil.jpg", b"x")
    with pytest.raises(ValueError, match="escapes"):
        extract_image_zip(z, tmp_path / "cache")


@pytest.fixture()
def folder_with_bad_file(cifar_train_small, tmp_path):
    root = tmp_path / "imgs"
    for cls in ("airplane", "automobile"):
        (root / cls).mkdir(parents=True)
        for f in sorted((cifar_train_small / cls).iterdir())[:3]:
            shutil.copy(f, root / cls / f.name)
    bad = sorted((root / "airplane").iterdir())[1]
    bad.write_bytes(b"not a jpeg at all")
    return root, bad


def test_unreadable_file_substituted_and_counted(folder_with_bad_file):
    root, bad = folder_with_bad_file
    ds = SafeImageFolder(root)
    bad_index = [p for p, _ in ds.samples].index(str(bad))
    with pytest.warns(RuntimeWarning, match="1 unreadable file"):
        img, target = ds[bad_index]
    img_next, target_next = ds[bad_index + 1]
    assert np.array_equal(np.asarray(img), np.asarray(img_next)) and target == target_next
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the same file again: counted once, no new warning
        ds[bad_index]
    assert ds.n_decode_errors == 1


def test_unreadable_file_raise_and_drop(folder_with_bad_file):
    root, bad = folder_with_bad_file
    ds = SafeImageFolder(root, on_decode_error="raise")
    idx = [p for p, _ in ds.samples].index(str(bad))
    with pytest.raises(ValueError, match=bad.name):
        ds[idx]
    with pytest.warns(RuntimeWarning, match="dropped 1 unreadable"):
        dropped = SafeImageFolder(root, on_decode_error="drop")
    assert len(dropped) == 5 and dropped.dropped == 1


def test_multicrop_dataset_and_collation(cifar_train_small):
    crops = CropsConfig(
        n_crops=[2, 3],
        size_crops=[32, 16],
        min_scale=[0.3, 0.1],
        max_scale=[1.0, 0.3],
        blur_prob=0.0,
    )
    ds = TransformDataset(SafeImageFolder(cifar_train_small), MultiCropTransform(crops))
    loader = torch.utils.data.DataLoader(ds, batch_size=4)
    views, targets = next(iter(loader))
    assert [tuple(v.shape) for v in views] == [(4, 3, 32, 32)] * 2 + [(4, 3, 16, 16)] * 3
    assert targets.shape == (4,)


def test_missing_sources_have_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="image folder not found"):
        build_base_dataset(DataConfig(dataset="imagefolder", root=str(tmp_path / "nope")))
    with pytest.raises(ValueError, match="download=true"):
        build_base_dataset(DataConfig(dataset="cifar10", root=str(tmp_path), download=False))
