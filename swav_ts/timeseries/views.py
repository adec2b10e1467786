"""SwAV view maker for time series: multi-window crops, then augmentations."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

from swav_ts.timeseries.augment.build import ENGINES, build_augmenter
from swav_ts.timeseries.augment.config import AugmentConfig, resolve_triplets
from swav_ts.timeseries.crops import MultiCropConfig, MultiCropper
from swav_ts.timeseries.dense import pair_positions

logger = logging.getLogger(__name__)

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
    channel_names : sequence of str, optional
        Names of the input channels: rotation triplets given by name, or left to be recognised
        (``augment.rotation.triplets: null``), are resolved against them. Without names, only
        triplets given as indices are rotated.
    center, scale : sequence of float, optional
        The channels' training mean and standard deviation: the input is then in sensor units,
        the rotation acts on it as it is and every other augmentation on standardised signals
        (see :class:`~swav_ts.timeseries.augment.torch_engine.TorchAugmenter`).

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
        channel_names: Sequence[str] | None = None,
        center: Sequence[float] | None = None,
        scale: Sequence[float] | None = None,
    ) -> None:
        if engine not in ENGINES:
            raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
        augment_config = augment_config or AugmentConfig()
        rotation = augment_config.rotation
        if channel_names is not None:
            triplets = resolve_triplets(rotation, channel_names)
        else:
            triplets = rotation.index_triplets()
        self.rotated = [
            tuple(channel_names[c] if channel_names else c for c in t) for t in triplets
        ]
        if rotation.p > 0:
            if triplets:
                logger.info("rotation: sensor triplets %s turn together", self.rotated)
            else:
                logger.info(
                    "rotation: no 3-axis sensor among the channels %s, nothing is rotated "
                    "(declare augment.rotation.triplets to rotate)",
                    list(channel_names) if channel_names is not None else "(unnamed)",
                )
        augment_config = dataclasses.replace(
            augment_config,
            rotation=dataclasses.replace(rotation, triplets=[list(t) for t in triplets]),
        )
        self.cropper = MultiCropper(crop_config)
        self.augmenter = build_augmenter(augment_config, engine, center, scale)
        self.engine = engine

    @property
    def crop_config(self) -> MultiCropConfig:
        return self.cropper.config

    @property
    def augment_config(self) -> AugmentConfig:
        return self.augmenter.config

    def __repr__(self) -> str:
        return f"ViewMaker({self.cropper!r}, {self.augmenter!r})"

    def __call__(self, x: Tensor, generator: torch.Generator) -> Views:
        """Make the views of ``x`` (B, C, T_ctx).

        Returns
        -------
        Views
            ``n_global + n_local`` tensors ``(B, C, L)`` on ``x``'s device and dtype, globals
            first; with the torch engine also ``source_times``: for every view, the context
            time of each of its samples ``(B, L)`` (after crops, time warps and permutations).
        """
        if isinstance(x, Tensor) and not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        if not isinstance(x, Tensor) or x.ndim != 3:
            return self.cropper(x, generator)  # the cropper names the problem
        windows = self.cropper.sample_windows(x.shape[0], x.shape[2], generator, x.device)
        views = self.cropper.crop(x, windows)
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
        times: list[Tensor | None] = [None] * len(views)
        for indices in groups.values():
            stacked = torch.cat([views[i] for i in indices], dim=0)  # (V_L * B, C, L)
            if rng is None:
                augmented, tau = self.augmenter(stacked, generator, return_times=True)
            else:
                array = stacked.detach().cpu().numpy()
                augmented, tau = torch.from_numpy(self.augmenter(array, rng)).to(x.device), None
            for k, i in enumerate(indices):
                out[i] = augmented[k * batch : (k + 1) * batch]
                if tau is not None:  # context time = crop start + view time x crop step
                    w = windows[i]
                    step = (w.span - 1.0) / max(w.length - 1, 1)  # (B,)
                    part = tau[k * batch : (k + 1) * batch]  # (B, L)
                    times[i] = w.start[:, None] + part * step[:, None]
        return Views(out, None if rng is not None else times)  # type: ignore[arg-type]


class Views(list):
    """The views of one batch (a list of ``(B, C, L)`` tensors, globals first) and, where
    known, ``source_times``: one ``(B, L)`` float64 tensor per view, the context time of each
    of its samples. The dense (timestamp-level) objective pairs views through these times."""

    def __init__(self, views: list[Tensor], source_times: list[Tensor] | None = None) -> None:
        super().__init__(views)
        self.source_times = source_times

    def dense_pairs(self, n_a: int, n_b: int) -> tuple[Tensor, Tensor, Tensor]:
        """Positions of views 0 and 1 that show the same moment
        (:func:`swav_ts.timeseries.dense.pair_positions`); the dense objective's pairs."""
        if self.source_times is None:
            raise ValueError(
                "the dense objective needs the views' source times (the torch augmentation "
                "engine); set swav.dense_prototypes=0 for the tsaug engine"
            )
        return pair_positions(self.source_times[0], self.source_times[1], n_a, n_b)
