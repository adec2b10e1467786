"""Image datasets for SwAV: ImageFolder (ImageNet layout), CIFAR-10/100, STL-10, and zips.

* :class:`SafeImageFolder` reads an ImageNet-style folder and survives unreadable files: a file
  that fails to decode is counted, reported with a warning, and replaced by the next readable
  sample (a deterministic substitute), or ``on_decode_error="raise"`` stops with the path.
  :func:`drop_unreadable` instead verifies every file up front and removes the bad ones (counted).
* :class:`TransformDataset` applies a transform to the image of any ``(image, target)``
  dataset (a multi-crop transform gives ``(list_of_crops, target)``, an evaluation transform
  ``(tensor, target)``);
* :func:`load_eval_splits` finds the labelled train and test splits of an evaluation.
* :func:`extract_image_zip` unpacks a zip in ImageNet folder layout (e.g. the project's
  ``cifar10/train.zip``) into a cache directory, optionally only ``n`` images per class.
"""

from __future__ import annotations

import logging
import os
import shutil
import warnings
import zipfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError
from torch.utils.data import Dataset
from torchvision import datasets

from swav_ts.core.config import ConfigError

logger = logging.getLogger(__name__)

DECODE_ERRORS = (
    OSError,
    UnidentifiedImageError,
    ValueError,
    SyntaxError,
    Image.DecompressionBombError,
)


@dataclass
class DataConfig:
    """Where the pretraining images come from.

    ``dataset``: ``imagefolder`` (``root`` = a folder of class folders, e.g. ImageNet ``train``),
    ``zip`` (``root`` = a zip in that layout, extracted to ``cache_dir``), or torchvision's
    ``cifar10``/``cifar100``/``stl10`` (``root`` = their data folder; ``download`` fetches them).
    ``subset_per_class`` keeps the first ``n`` files of every class (0 keeps all).
    """

    dataset: Literal["imagefolder", "zip", "cifar10", "cifar100", "stl10"] = "imagefolder"
    root: str = "/path/to/imagenet/train"
    split: str = "train"
    download: bool = False
    cache_dir: str = ""
    subset_per_class: int = 0
    on_decode_error: Literal["substitute", "raise", "drop"] = "substitute"

    def __post_init__(self) -> None:
        if self.subset_per_class < 0:
            raise ConfigError(f"subset_per_class: must be >= 0, got {self.subset_per_class}")
        if self.dataset == "stl10" and self.split not in (
            "train",
            "test",
            "unlabeled",
            "train+unlabeled",
        ):
            raise ConfigError(f"split: STL-10 has no split {self.split!r}")
        if self.dataset in ("cifar10", "cifar100") and self.split not in ("train", "test"):
            raise ConfigError(f"split: CIFAR has splits train/test, got {self.split!r}")


def pil_rgb_loader(path: str) -> Image.Image:
    """Open an image file fully (decode now, so errors surface here) as RGB."""
    with open(path, "rb") as fh:
        img = Image.open(fh)
        img.load()
        return img.convert("RGB")


class SafeImageFolder(datasets.ImageFolder):
    """ImageFolder that counts and substitutes images which fail to decode.

    Parameters
    ----------
    root : str or Path
        Folder holding one sub-folder per class.
    transform, target_transform : callable, optional
        As in torchvision.
    on_decode_error : {"substitute", "raise", "drop"}
        ``substitute``: warn and return the next readable sample (index + 1, wrapping), so the
        same bad file always maps to the same substitute; ``raise``: ``ValueError`` naming the
        file; ``drop``: verify every file now and remove the unreadable ones (counted).
    subset_per_class : int, default 0
        Keep only the first ``n`` files (sorted) of each class; 0 keeps all.
    """

    def __init__(
        self,
        root: str | Path,
        transform: Callable | None = None,
        target_transform: Callable | None = None,
        on_decode_error: str = "substitute",
        subset_per_class: int = 0,
    ):
        root = Path(root)
        if not root.is_dir():
            raise ValueError(f"image folder not found: {root}")
        if on_decode_error not in ("substitute", "raise", "drop"):
            raise ValueError(
                f"on_decode_error must be substitute/raise/drop, got {on_decode_error!r}"
            )
        super().__init__(
            str(root), transform=transform, target_transform=target_transform, loader=pil_rgb_loader
        )
        self.on_decode_error = on_decode_error
        if subset_per_class > 0:
            self.samples = take_per_class(self.samples, subset_per_class)
            self.imgs = self.samples
            self.targets = [t for _, t in self.samples]
        self.bad_paths: set[str] = set()
        if on_decode_error == "drop":
            n_bad = drop_unreadable(self)
            self.dropped = n_bad

    @property
    def n_decode_errors(self) -> int:
        """Distinct unreadable files met so far (in this process)."""
        return len(self.bad_paths)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        n = len(self.samples)
        for attempt in range(n):
            i = (index + attempt) % n
            path, target = self.samples[i]
            try:
                sample = self.loader(path)
            except DECODE_ERRORS as exc:
                if self.on_decode_error == "raise":
                    raise ValueError(f"cannot decode image file {path}: {exc}") from exc
                if path not in self.bad_paths:
                    self.bad_paths.add(path)
                    warnings.warn(
                        f"unreadable image {path} ({type(exc).__name__}: {exc}); substituted by "
                        f"the next sample; {len(self.bad_paths)} unreadable file(s) so far",
                        RuntimeWarning,
                        stacklevel=2,
                    )
                continue
            if self.transform is not None:
                sample = self.transform(sample)
            if self.target_transform is not None:
                target = self.target_transform(target)
            return sample, target
        raise ValueError(f"no readable image in {self.root} ({n} files tried)")


def take_per_class(samples: list[tuple[str, int]], n: int) -> list[tuple[str, int]]:
    """The first ``n`` samples of every class, in the given (sorted) order."""
    counts: dict[int, int] = defaultdict(int)
    out = []
    for path, target in samples:
        if counts[target] < n:
            out.append((path, target))
            counts[target] += 1
    return out


def drop_unreadable(dataset: datasets.ImageFolder) -> int:
    """Decode every file of ``dataset`` once and remove those that fail; returns their count."""
    keep, bad = [], []
    for path, target in dataset.samples:
        try:
            pil_rgb_loader(path)
        except DECODE_ERRORS:
            bad.append(path)
            continue
        keep.append((path, target))
    if bad:
        warnings.warn(
            f"dropped {len(bad)} unreadable image file(s) of {len(dataset.samples)} in "
            f"{dataset.root} (first: {bad[0]})",
            RuntimeWarning,
            stacklevel=2,
        )
    dataset.samples = keep
    dataset.imgs = keep
    dataset.targets = [t for _, t in keep]
    return len(bad)


class TransformDataset(Dataset):
    """Wrap an ``(image, target)`` dataset to return ``(list_of_crops, target)``.

    Parameters
    ----------
    base : Dataset
        Yields ``(PIL image or uint8 tensor, int target)``; its own transform must be None.
    transform : callable
        Image -> list of crop tensors (e.g. :class:`~swav_ts.image.transforms.MultiCropTransform`).
    """

    def __init__(self, base: Dataset, transform: Callable[[Any], list]):
        self.base = base
        self.transform = transform

    def __len__(self) -> int:
        return len(self.base)  # type: ignore[arg-type]

    def __getitem__(self, index: int):
        image, target = self.base[index]
        return self.transform(image), int(target)


def extract_image_zip(
    zip_path: str | Path,
    cache_dir: str | Path,
    subset_per_class: int = 0,
) -> Path:
    """Extract a zip in ImageNet folder layout (``<split>/<class>/<file>``) to ``cache_dir``.

    Returns the folder holding the class folders. Extraction is skipped when a completed copy
    (same zip size, same subset) is already there. With ``subset_per_class > 0`` only the first
    ``n`` files (sorted by name) of each class are extracted.
    """
    zip_path = Path(zip_path)
    if not zip_path.is_file():
        raise ValueError(f"zip file not found: {zip_path}")
    tag = (
        f"{zip_path.stem}_all" if subset_per_class <= 0 else f"{zip_path.stem}_{subset_per_class}pc"
    )
    dest = Path(cache_dir) / tag
    stamp = dest / ".complete"
    signature = f"{zip_path.resolve()} {zip_path.stat().st_size}"
    if stamp.is_file() and stamp.read_text() == signature:
        return _class_root(dest, zip_path)
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    with zipfile.ZipFile(zip_path) as zf:
        members = sorted(m for m in zf.namelist() if not m.endswith("/"))
        per_class: dict[str, list[str]] = defaultdict(list)
        for m in members:
            parts = m.split("/")
            if len(parts) < 2:
                raise ValueError(f"{zip_path}: member {m!r} is not inside a class folder")
            per_class["/".join(parts[:-1])].append(m)
        chosen = [
            m
            for cls in sorted(per_class)
            for m in (per_class[cls][:subset_per_class] if subset_per_class > 0 else per_class[cls])
        ]
        for m in chosen:
            target = dest / m
            if not target.resolve().is_relative_to(dest.resolve()):
                raise ValueError(f"{zip_path}: member {m!r} escapes the extraction folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    stamp.write_text(signature)
    logger.info("extracted %d files of %s to %s", len(chosen), zip_path, dest)
    return _class_root(dest, zip_path)


def _class_root(dest: Path, zip_path: Path) -> Path:
    """The folder whose sub-folders are classes: ``dest/<split>`` if the zip has one top folder."""
    tops = [p for p in dest.iterdir() if p.is_dir()]
    if len(tops) == 1 and any(q.is_dir() for q in tops[0].iterdir()):
        return tops[0]
    if not tops:
        raise ValueError(f"{zip_path}: no class folders found after extraction")
    return dest


def default_cache_dir() -> Path:
    """``$SWAV_TS_CACHE`` or ``~/.cache/swav_ts``."""
    return Path(os.environ.get("SWAV_TS_CACHE", Path.home() / ".cache" / "swav_ts"))


def build_base_dataset(cfg: DataConfig, transform: Callable | None = None) -> Dataset:
    """The ``(image, target)`` dataset described by ``cfg`` (images untransformed by default)."""
    root = Path(cfg.root).expanduser()
    if cfg.dataset == "imagefolder":
        return SafeImageFolder(root, transform, None, cfg.on_decode_error, cfg.subset_per_class)
    if cfg.dataset == "zip":
        cache = Path(cfg.cache_dir).expanduser() if cfg.cache_dir else default_cache_dir()
        folder = extract_image_zip(root, cache, cfg.subset_per_class)
        return SafeImageFolder(folder, transform, None, cfg.on_decode_error, 0)
    if cfg.subset_per_class:
        raise ConfigError(
            f"data.subset_per_class is only supported for imagefolder/zip, not {cfg.dataset}"
        )
    try:
        if cfg.dataset == "cifar10":
            return datasets.CIFAR10(
                str(root), train=cfg.split == "train", transform=transform, download=cfg.download
            )
        if cfg.dataset == "cifar100":
            return datasets.CIFAR100(
                str(root), train=cfg.split == "train", transform=transform, download=cfg.download
            )
        return datasets.STL10(
            str(root), split=cfg.split, transform=transform, download=cfg.download
        )
    except RuntimeError as exc:  # torchvision: "Dataset not found or corrupted"
        raise ValueError(
            f"{cfg.dataset} not found under {root} ({exc}); set data.download=true to fetch it"
        ) from exc


def build_pretrain_dataset(cfg: DataConfig, transform: Callable[[Any], list]) -> TransformDataset:
    """``(list_of_crops, target)`` dataset for SwAV pretraining."""
    return TransformDataset(build_base_dataset(cfg), transform)


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
