"""Engine-independent pieces: the ``Augmenter`` interface, input checks, knot bases."""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Protocol, runtime_checkable

import numpy as np
from scipy.interpolate import CubicSpline

from swav_ts.timeseries.augment.config import AugmentConfig


@runtime_checkable
class Augmenter(Protocol):
    """Callable applying a random augmentation pipeline to a batch ``(B, C, T)``.

    ``__call__(x, generator)`` returns an array/tensor of the same shape and dtype (and
    device, for tensors). All randomness comes from ``generator`` (a ``torch.Generator``
    for the torch engine, a ``numpy.random.Generator`` for the tsaug engine).
    """

    config: AugmentConfig

    def __call__(self, x: Any, generator: Any) -> Any: ...


class EngineBase:
    """What both engines share: the config and the optional channel statistics (float64
    arrays ``center``, ``scale``, validated by :func:`check_engine_args`)."""

    def __init__(
        self, config: AugmentConfig | None = None, center: Any = None, scale: Any = None
    ) -> None:
        self.config, self._center, self._scale = check_engine_args(config, center, scale)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(active={self.config.active()})"


def check_engine_args(
    config: AugmentConfig | None, center: Any, scale: Any
) -> tuple[AugmentConfig, np.ndarray | None, np.ndarray | None]:
    """Validate an engine's config and optional channel statistics (``center``, ``scale``).

    Returns the config (default ``AugmentConfig()``) and the statistics as float64 arrays.
    """
    if config is None:
        config = AugmentConfig()
    if not isinstance(config, AugmentConfig):
        raise TypeError(f"config must be an AugmentConfig, got {type(config).__name__}")
    if (center is None) != (scale is None):
        raise ValueError("give both center and scale, or neither")
    if center is None:
        return config, None, None
    center = np.asarray(center, dtype=np.float64)
    scale = np.asarray(scale, dtype=np.float64)
    if center.shape != scale.shape or center.ndim != 1:
        raise ValueError(f"center and scale must be equal 1-D, got {center.shape}, {scale.shape}")
    if not (np.isfinite(center).all() and (scale > 0).all()):
        raise ValueError(f"center must be finite and scale > 0, got {center}, {scale}")
    return config, center, scale


def check_batch_shape(shape: tuple[int, ...], config: AugmentConfig) -> tuple[int, int, int]:
    """Validate a ``(B, C, T)`` shape against the config; return ``(B, C, T)``.

    Raises
    ------
    ValueError
        If the input is not 3-D, is too short in time for the active augmentations, or a
        rotation triplet names a channel the input does not have.
    """
    if len(shape) != 3:
        raise ValueError(
            f"augmenter input must be 3-D (n_cases, n_channels, n_timepoints), got shape "
            f"{tuple(shape)}"
        )
    batch, n_channels, n_timepoints = (int(s) for s in shape)
    if n_timepoints < 2:
        raise ValueError(f"augmenter input needs at least 2 time points, got {n_timepoints}")
    triplets = config.rotation.index_triplets()
    if config.rotation.p > 0 and triplets:
        needed = max(max(t) for t in triplets) + 1
        if needed > n_channels:
            raise ValueError(
                f"RotationConfig.triplets {config.rotation.triplets} need {needed} channels, "
                f"input has {n_channels} (shape {tuple(shape)})"
            )
    if config.permutation.p > 0 and config.permutation.n_segments > n_timepoints:
        raise ValueError(
            f"PermutationConfig.n_segments={config.permutation.n_segments} exceeds the "
            f"{n_timepoints} time points of the input"
        )
    return batch, n_channels, n_timepoints


def knot_positions(n_knots: int, n_timepoints: int) -> np.ndarray:
    """Equally spaced knot positions ``k * (T - 1) / (n_knots - 1)``, shape ``(n_knots,)``."""
    return np.linspace(0.0, n_timepoints - 1.0, n_knots)


@lru_cache(maxsize=64)
def linear_basis(n_knots: int, n_timepoints: int) -> np.ndarray:
    """Piecewise-linear interpolation matrix ``W`` (T, n_knots): ``curve = W @ knot_values``."""
    pos = knot_positions(n_knots, n_timepoints)
    t = np.arange(n_timepoints, dtype=np.float64)
    basis = np.stack([np.interp(t, pos, e) for e in np.eye(n_knots)], axis=1)  # (T, n_knots)
    basis.setflags(write=False)
    return basis


@lru_cache(maxsize=64)
def cubic_basis(n_knots: int, n_timepoints: int) -> np.ndarray:
    """Natural cubic spline matrix ``W`` (T, n_knots): ``curve = W @ knot_values``.

    A natural cubic spline through fixed knots is linear in the knot values, so the
    spline of any batch of knot values is one matrix product.
    """
    pos = knot_positions(n_knots, n_timepoints)
    t = np.arange(n_timepoints, dtype=np.float64)
    basis = CubicSpline(pos, np.eye(n_knots), axis=0, bc_type="natural")(t)  # (T, n_knots)
    basis = np.ascontiguousarray(basis)
    basis.setflags(write=False)
    return basis


def segment_ids(n_segments: int, n_timepoints: int) -> np.ndarray:
    """Segment index of every time point: ``floor(t * n / T)``, shape ``(T,)``.

    Equivalent to segment ``j`` covering ``[ceil(j T / n), ceil((j + 1) T / n))``; segment
    lengths differ by at most one.
    """
    t = np.arange(n_timepoints)
    return (t * n_segments) // n_timepoints
