"""SwAV view maker for time series: multi-window crops, then augmentations."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from swav_ts.timeseries.augment.build import ENGINES, build_augmenter
from swav_ts.timeseries.augment.config import AugmentConfig
from swav_ts.timeseries.crops import MultiCropConfig, MultiCropper

_MAX_NUMPY_SEED = 2**63 - 1


class ViewMaker:
    """Crop ``n_global + n_local`` views from a context batch and augment each view.

    Parameters
    ----------
    crop_config : MultiCropConfig, optional
        View numbers, lengths and crop mode (default ``MultiCropConfig()``).
    augment_config : AugmentConfig, optional
        Augmentations (default ``AugmentConfig()``).
    engine : {"torch", "tsaug"}
        Augmentation engine. ``"tsaug"`` moves the views to numpy (CPU) and back, using a
        ``numpy.random.Generator`` seeded from the torch generator.

    Notes
    -----
    Views of equal length (e.g. all globals, all locals) are augmented in one batched call
    of ``(n_views_of_that_length * B, C, L)``; every view of every sample gets independent
    augmentation draws.
    """

    def __init__(
        self,
        crop_config: MultiCropConfig | None = None,
        augment_config: AugmentConfig | None = None,
        engine: str = "torch",
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        self.cropper = MultiCropper(crop_config)
        self.augmenter = build_augmenter(augment_config, engine)
        self.engine = engine

    @property
    def crop_config(self) -> MultiCropConfig:
        return self.cropper.config

    @property
    def augment_config(self) -> AugmentConfig:
        return self.augmenter.config

    def __repr__(self) -> str:
        return f"ViewMaker({self.cropper!r}, {self.augmenter!r})"

    def __call__(self, x: Tensor, generator: torch.Generator) -> list[Tensor]:
        """Make the views of ``x`` (B, C, T_ctx).

        Returns
        -------
        list of Tensor
            ``n_global + n_local`` tensors ``(B, C, L)`` on ``x``'s device and dtype,
            globals first.
        """
        if isinstance(x, Tensor) and not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        views = self.cropper(x, generator)
        batch = x.shape[0]
        groups: dict[int, list[int]] = {}
        for i, v in enumerate(views):
            groups.setdefault(v.shape[2], []).append(i)
        rng = None
        if self.engine == "tsaug":
            seed = torch.randint(
                0, _MAX_NUMPY_SEED, (1,), generator=generator, device=generator.device
            )
            rng = np.random.default_rng(int(seed.item()))
        out: list[Tensor | None] = [None] * len(views)
        for indices in groups.values():
            stacked = torch.cat([views[i] for i in indices], dim=0)  # (V_L * B, C, L)
            if rng is None:
                augmented = self.augmenter(stacked, generator)
            else:
                array = stacked.detach().cpu().numpy()
                augmented = torch.from_numpy(self.augmenter(array, rng)).to(x.device)
            for k, i in enumerate(indices):
                out[i] = augmented[k * batch : (k + 1) * batch]
        return out  # type: ignore[return-value]
