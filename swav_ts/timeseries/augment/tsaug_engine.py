"""numpy engine built on tsaug (``tsaug==0.2.1``, works with numpy 2.x as installed).

tsaug ops used: ``tsaug.AddNoise`` (jitter, an exact match of our distribution) and
``tsaug.TimeWarp`` (time warp, an approximate match, see :meth:`TsaugAugmenter._time_warp`).
tsaug has no rotation, per-channel scaling, smooth magnitude curve, single-span cut-out,
channel dropout or segment permutation with our distributions, so those are implemented in
numpy here, drawing from the same documented distributions as the torch engine.

tsaug works on ``(N, T, C)``; the conversion from/to our ``(B, C, T)`` happens only inside
this module. tsaug builds ``np.random.RandomState(seed)`` on every ``augment()`` call, so
a fixed seed would repeat the same draws on every call; a fresh seed is drawn from our
``numpy.random.Generator`` for every call. The per-sample probability ``p`` is applied by
this engine (tsaug's own ``prob`` is left at 1) so both engines select samples alike.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

with warnings.catch_warnings():
    # tsaug 0.2.1 imports scipy.ndimage.filters (deprecated namespace); not actionable here.
    warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"tsaug\.")
    import tsaug

from swav_ts.timeseries.augment.base import (
    EngineBase,
    check_batch_shape,
    cubic_basis,
    segment_ids,
)
from swav_ts.timeseries.augment.config import AUGMENTATION_ORDER

_MAX_SEED = 2**32 - 1  # RandomState seeds must be < 2**32

#: Shrink of knot-speed deviations before mapping them to tsaug's ``max_speed_ratio``.
TSAUG_SPEED_SHRINK = 2.0 / 3.0


def _to_ntc(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 1))  # (B, C, T) -> (B, T, C)


def _to_nct(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x.transpose(0, 2, 1))  # (B, T, C) -> (B, C, T)


def random_rotations(
    n: int, generator: np.random.Generator, uniform_so3: bool, max_angle_deg: float
) -> np.ndarray:
    """Draw ``n`` rotation matrices (n, 3, 3) from the distribution of ``RotationConfig``."""
    if uniform_so3:
        q = generator.standard_normal((n, 4))
        w, x, y, z = (q / np.linalg.norm(q, axis=1, keepdims=True)).T
        rows = [
            1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
            2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
            2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
        ]  # fmt: skip
        return np.stack(rows, axis=-1).reshape(n, 3, 3)
    axis = generator.standard_normal((n, 3))
    axis /= np.linalg.norm(axis, axis=1, keepdims=True)
    angle = generator.random(n) * math.radians(max_angle_deg)
    k = np.zeros((n, 3, 3))
    k[:, 0, 1], k[:, 0, 2], k[:, 1, 2] = -axis[:, 2], axis[:, 1], -axis[:, 0]
    k = k - k.transpose(0, 2, 1)
    return (
        np.eye(3)[None]
        + np.sin(angle)[:, None, None] * k
        + (1 - np.cos(angle))[:, None, None] * (k @ k)
    )


class TsaugAugmenter(EngineBase):
    """Apply the :class:`AugmentConfig` pipeline to a numpy batch ``(B, C, T)``.

    Parameters
    ----------
    config : AugmentConfig
        Augmentations, their probabilities and distribution parameters.
    center, scale : sequence of float (C,), optional
        Channel mean and standard deviation for input in sensor units: the rotation acts on
        sensor units, every other augmentation on standardised signals (as
        :class:`~swav_ts.timeseries.augment.torch_engine.TorchAugmenter`).
    """

    @property
    def center(self) -> np.ndarray | None:
        return self._center

    @property
    def scale(self) -> np.ndarray | None:
        return self._scale

    def __call__(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """Augment ``x`` (B, C, T); returns a new array of the same shape and dtype."""
        if not isinstance(x, np.ndarray):
            raise TypeError(f"x must be a numpy.ndarray (B, C, T), got {type(x).__name__}")
        if not np.issubdtype(x.dtype, np.floating):
            raise TypeError(f"x must be a floating-point array, got dtype {x.dtype}")
        if not isinstance(generator, np.random.Generator):
            raise TypeError(
                f"generator must be a numpy.random.Generator, got {type(generator).__name__}"
            )
        batch, _, _ = check_batch_shape(x.shape, self.config)
        out = x.astype(np.float64, copy=True)
        if self.center is not None:
            center, scale = self.center[None, :, None], self.scale[None, :, None]
            out = (out - center) / scale
        for name in AUGMENTATION_ORDER:
            sub = getattr(self.config, name)
            if sub.p <= 0:
                continue
            selected = np.flatnonzero(generator.random(batch) < sub.p)
            if not selected.size:
                continue
            part = out[selected]
            if name == "rotation" and self.center is not None:  # geometry in sensor units
                out[selected] = (self._rotation(part * scale + center, generator) - center) / scale
            else:
                out[selected] = getattr(self, f"_{name}")(part, generator)
        if self.center is not None:
            out = out * scale + center
        return out.astype(x.dtype, copy=False)

    def _seed(self, generator: np.random.Generator) -> int:
        return int(generator.integers(0, _MAX_SEED))

    # ---------------------------------------------------------------- tsaug ops
    def _jitter(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        sigma = self.config.jitter.sigma
        if sigma == 0:
            return x
        op = tsaug.AddNoise(
            loc=0.0,
            scale=float(sigma),
            distr="gaussian",
            kind="additive",
            per_channel=True,
            normalize=False,
            seed=self._seed(generator),
        )
        return _to_nct(op.augment(_to_ntc(x)))

    def _time_warp(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        """tsaug.TimeWarp with our parameters mapped onto tsaug's (approximate).

        tsaug draws ``n_speed_change + 1`` segment speeds, rescales them so that
        max/min equals a per-series ``max_speed_ratio`` and interpolates the cumulative
        anchors with PCHIP: its speed is roughly constant per segment, ours is linear
        between knots (smaller spread for the same knot speeds). Mapping:
        ``n_speed_change = n_knots - 1``; for each series, knot speeds
        ``v_k ~ U(1 - m, 1 + m)`` are drawn as in our definition, their deviations from 1 are
        shrunk by :data:`TSAUG_SPEED_SHRINK` (2/3) and the max/min ratio of the shrunk speeds
        is passed in the list tsaug samples ``max_speed_ratio`` from. The factor 2/3 is an
        empirical calibration: the mean per-step speed standard deviation then matches the
        torch engine within about 5 % for ``n_knots=4`` and 8 % for ``n_knots=6``
        (T = 128). Differences remain in the curve's shape (tsaug always reaches its two
        extreme speeds; ours is piecewise linear).
        """
        cfg = self.config.time_warp
        if cfg.max_speed_change == 0:
            return x
        n = x.shape[0]
        m = cfg.max_speed_change
        speeds = 1.0 + TSAUG_SPEED_SHRINK * generator.uniform(-m, m, size=(n, cfg.n_knots))
        ratios = np.maximum(speeds.max(axis=1) / speeds.min(axis=1), 1.0 + 1e-9)
        op = tsaug.TimeWarp(
            n_speed_change=cfg.n_knots - 1,
            max_speed_ratio=[float(r) for r in ratios],
            seed=self._seed(generator),
        )
        return _to_nct(op.augment(_to_ntc(x)))

    # ---------------------------------------------------------------- numpy ops
    def _permutation(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        n, _, n_timepoints = x.shape
        order = generator.random((n, self.config.permutation.n_segments)).argsort(axis=1)
        position = order.argsort(axis=1)  # (B, n) output position of each original segment
        seg = segment_ids(order.shape[1], n_timepoints)
        key = position[:, seg] * n_timepoints + np.arange(n_timepoints)  # (B, T)
        src = key.argsort(axis=1)
        return np.take_along_axis(x, src[:, None, :], axis=2)

    def _rotation(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        cfg = self.config.rotation
        triplets = cfg.index_triplets()
        if not triplets:
            return x
        n, _, n_timepoints = x.shape
        matrix = random_rotations(n, generator, cfg.uniform_so3, cfg.max_angle_deg)
        idx = np.array([c for trip in triplets for c in trip])
        xs = x[:, idx].reshape(n, len(triplets), 3, n_timepoints)
        out = x.copy()
        out[:, idx] = np.einsum("bij,bgjt->bgit", matrix, xs).reshape(n, -1, n_timepoints)
        return out

    def _scaling(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        factor = 1.0 + self.config.scaling.sigma * generator.standard_normal(x.shape[:2])
        return x * factor[:, :, None]

    def _magnitude_warp(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        cfg = self.config.magnitude_warp
        knots = 1.0 + cfg.sigma * generator.standard_normal((*x.shape[:2], cfg.n_knots))
        curve = knots @ cubic_basis(cfg.n_knots, x.shape[2]).T  # (B, C, T)
        return x * curve

    def _time_mask(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        n, _, n_timepoints = x.shape
        max_len = max(1, math.floor(self.config.time_mask.max_fraction * n_timepoints))
        length = generator.integers(1, max_len + 1, size=n)
        start = generator.integers(0, n_timepoints - length + 1)
        t = np.arange(n_timepoints)
        masked = (t >= start[:, None]) & (t < (start + length)[:, None])  # (B, T)
        fill = x.mean(axis=2, keepdims=True) if self.config.time_mask.fill == "mean" else 0.0
        return np.where(masked[:, None, :], fill, x)

    def _channel_dropout(self, x: np.ndarray, generator: np.random.Generator) -> np.ndarray:
        keep = generator.random(x.shape[:2]) >= self.config.channel_dropout.drop_prob
        return np.where(keep[:, :, None], x, 0.0)
