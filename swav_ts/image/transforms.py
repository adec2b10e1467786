"""Multi-crop augmentation of SwAV (Caron et al. 2020, Sec. 3.2 and Appendix A).

Each image gives ``sum(n_crops)`` views: ``n_crops[i]`` random resized crops of ``size_crops[i]``
pixels covering a fraction in ``[min_scale[i], max_scale[i]]`` of the image, each followed by a
horizontal flip, colour distortion (jitter with p=0.8, grayscale with p=0.2), Gaussian blur
(p=0.5, sigma uniform in [0.1, 2]) and normalisation. Defaults: the original's 2x224 + 6x96.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torchvision.transforms import v2

from swav_ts.core.config import ConfigError

IMAGENET_MEAN = (0.485, 0.456, 0.406)
# The correct ImageNet std. The original code uses 0.228 for the first channel (a typo); set
# ``std: [0.228, 0.224, 0.225]`` in a config to reproduce it bit for bit.
IMAGENET_STD = (0.229, 0.224, 0.225)
ORIGINAL_SWAV_STD = (0.228, 0.224, 0.225)


@dataclass
class CropsConfig:
    """Multi-crop settings (one entry per crop group in the list fields)."""

    n_crops: list[int] = field(default_factory=lambda: [2, 6])
    size_crops: list[int] = field(default_factory=lambda: [224, 96])
    min_scale: list[float] = field(default_factory=lambda: [0.14, 0.05])
    max_scale: list[float] = field(default_factory=lambda: [1.0, 0.14])
    flip_prob: float = 0.5
    color_strength: float = 1.0
    color_jitter_prob: float = 0.8
    grayscale_prob: float = 0.2
    blur_prob: float = 0.5
    blur_kernel_size: int = 23
    blur_sigma: list[float] = field(default_factory=lambda: [0.1, 2.0])
    mean: list[float] = field(default_factory=lambda: list(IMAGENET_MEAN))
    std: list[float] = field(default_factory=lambda: list(IMAGENET_STD))

    def __post_init__(self) -> None:
        groups = len(self.n_crops)
        for name in ("size_crops", "min_scale", "max_scale"):
            if len(getattr(self, name)) != groups:
                raise ConfigError(
                    f"{name}: has {len(getattr(self, name))} entries but n_crops has {groups}"
                )
        if groups == 0 or any(n < 0 for n in self.n_crops) or sum(self.n_crops) < 2:
            raise ConfigError(f"n_crops: need >= 2 crops in all, got {self.n_crops}")
        if any(s < 1 for s in self.size_crops):
            raise ConfigError(f"size_crops: must be >= 1, got {self.size_crops}")
        for i, (lo, hi) in enumerate(zip(self.min_scale, self.max_scale)):
            if not 0 < lo <= hi <= 1:
                raise ConfigError(f"min_scale/max_scale[{i}]: need 0 < {lo} <= {hi} <= 1")
        for name in ("flip_prob", "color_jitter_prob", "grayscale_prob", "blur_prob"):
            if not 0 <= getattr(self, name) <= 1:
                raise ConfigError(f"{name}: must be in [0, 1], got {getattr(self, name)}")
        if self.color_strength < 0:
            raise ConfigError(f"color_strength: must be >= 0, got {self.color_strength}")
        if self.blur_kernel_size < 1 or self.blur_kernel_size % 2 == 0:
            raise ConfigError(
                f"blur_kernel_size: must be odd and >= 1, got {self.blur_kernel_size}"
            )
        if len(self.blur_sigma) != 2 or not 0 < self.blur_sigma[0] <= self.blur_sigma[1]:
            raise ConfigError(f"blur_sigma: need [lo, hi] with 0 < lo <= hi, got {self.blur_sigma}")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ConfigError(f"mean/std: need 3 values each, std > 0; got {self.mean}, {self.std}")


def color_distortion(
    strength: float = 1.0, jitter_prob: float = 0.8, grayscale_prob: float = 0.2
) -> v2.Transform:
    """Colour jitter (0.8s, 0.8s, 0.8s, 0.2s) applied with ``jitter_prob``, then grayscale."""
    s = strength
    jitter = v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)
    return v2.Compose(
        [v2.RandomApply([jitter], p=jitter_prob), v2.RandomGrayscale(p=grayscale_prob)]
    )


def crop_transform(
    size: int,
    scale: tuple[float, float],
    cfg: CropsConfig,
) -> v2.Transform:
    """One crop's pipeline: PIL/uint8 image -> normalised float tensor ``(3, size, size)``."""
    steps: list[v2.Transform] = [
        v2.ToImage(),
        v2.RandomResizedCrop(size, scale=scale, antialias=True),
        v2.RandomHorizontalFlip(p=cfg.flip_prob),
        color_distortion(cfg.color_strength, cfg.color_jitter_prob, cfg.grayscale_prob),
    ]
    if cfg.blur_prob > 0:
        blur = v2.GaussianBlur(cfg.blur_kernel_size, sigma=tuple(cfg.blur_sigma))
        steps.append(v2.RandomApply([blur], p=cfg.blur_prob))
    steps += [v2.ToDtype(torch.float32, scale=True), v2.Normalize(cfg.mean, cfg.std)]
    return v2.Compose(steps)


class MultiCropTransform:
    """Image -> list of ``sum(n_crops)`` normalised crops, grouped by size (large first).

    Parameters
    ----------
    cfg : CropsConfig, optional
        Defaults to the original's 2x224 + 6x96.
    """

    def __init__(self, cfg: CropsConfig | None = None):
        self.cfg = cfg or CropsConfig()
        self.transforms: list[v2.Transform] = []
        for n, size, lo, hi in zip(
            self.cfg.n_crops, self.cfg.size_crops, self.cfg.min_scale, self.cfg.max_scale
        ):
            t = crop_transform(size, (lo, hi), self.cfg)
            self.transforms.extend([t] * n)

    @property
    def n_views(self) -> int:
        return len(self.transforms)

    def __call__(self, image) -> list[torch.Tensor]:
        return [t(image) for t in self.transforms]  # each (3, S, S)

    def __repr__(self) -> str:
        groups = " + ".join(f"{n}x{s}" for n, s in zip(self.cfg.n_crops, self.cfg.size_crops))
        return f"MultiCropTransform({groups})"


def eval_transform(
    resize: int | None = 256,
    crop: int = 224,
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> v2.Transform:
    """Evaluation pipeline: resize (shorter side; ``None`` to skip), centre crop, normalise."""
    steps: list[v2.Transform] = [v2.ToImage()]
    if resize is not None:
        steps.append(v2.Resize(resize, antialias=True))
    steps += [v2.CenterCrop(crop), v2.ToDtype(torch.float32, scale=True), v2.Normalize(mean, std)]
    return v2.Compose(steps)


def linear_train_transform(
    crop: int = 224,
    scale: tuple[float, float] = (0.08, 1.0),
    mean: Sequence[float] = IMAGENET_MEAN,
    std: Sequence[float] = IMAGENET_STD,
) -> v2.Transform:
    """Linear-evaluation training pipeline: random resized crop + flip, normalise."""
    return v2.Compose(
        [
            v2.ToImage(),
            v2.RandomResizedCrop(crop, scale=scale, antialias=True),
            v2.RandomHorizontalFlip(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(mean, std),
        ]
    )
