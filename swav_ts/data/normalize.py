"""Per-channel statistics for standardisation: streamed over recordings, robust to outliers.

:class:`StatsAccumulator` computes, chunk by chunk, what the model's input standardisation needs
(:class:`ChannelStats`: mean and standard deviation per channel), in two passes over the data:

1. a uniform random sample of time points (bottom-k by random keys, seeded, so the result does
   not depend on how the data is chunked) gives robust fences per channel: the 1st and 99th
   percentiles ``q_lo``, ``q_hi`` (untouched by up to 1 % of absurd values, however few the
   samples) widened by ``FENCE_FACTOR`` = 10 times their distance,
   ``[q_lo - 10 (q_hi - q_lo), q_hi + 10 (q_hi - q_lo)]`` (on the HAPT recordings about
   [-18, 20] g and [-40, 40] rad/s, where the data spans [-2, 2] and [-10, 10]);
2. exact float64 moments of every finite value inside the fences.

On clean data nothing lies outside the fences and the result is the plain mean and standard
deviation; a single absurd value (a logging glitch of 1e30) is left out and reported with its
recording, channel and value instead of setting the channel's scale to 1e27 and blanking it.
Channels whose values are all equal get scale 1 (and are reported): dividing by a floored zero
would turn any later variation into values of 1e5 and more.

:class:`ChannelNormalizer` applies such statistics to arrays (the supervised baseline uses it;
the pretrained model carries them as its first layer).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

__all__ = ["ChannelNormalizer", "ChannelStats", "StatsAccumulator", "channel_stats"]

logger = logging.getLogger(__name__)

#: Time points kept for the percentile estimates (all of them when the data has fewer).
SAMPLE_SIZE = 1 << 16
FENCE_FACTOR = 10.0
QUANTILES = (1.0, 99.0)


@dataclass
class ChannelStats:
    """Per-channel centre and scale of the training data, and what was left out.

    Attributes
    ----------
    channel_names : list of str
    mean, std : ndarray (C,) float64
        ``std`` is 1 for constant channels.
    n_values : ndarray (C,) int64
        Finite values used.
    n_outliers : ndarray (C,) int64
        Finite values outside the fences (left out).
    constant : list of str
        Channels whose used values are all equal.
    outliers : list of dict
        Up to 20 examples: ``recording_id``, ``channel``, ``value``.
    low, high : ndarray (C,) float64 or None
        The fences: values outside ``[low, high]`` were left out as implausible.
    """

    channel_names: list[str]
    mean: np.ndarray
    std: np.ndarray
    n_values: np.ndarray
    n_outliers: np.ndarray
    constant: list[str] = field(default_factory=list)
    outliers: list[dict] = field(default_factory=list)
    low: np.ndarray | None = None
    high: np.ndarray | None = None

    def to_dict(self) -> dict:
        """Plain JSON-serialisable data."""
        return {
            "channel_names": list(self.channel_names),
            "mean": [float(v) for v in self.mean],
            "std": [float(v) for v in self.std],
            "n_values": [int(v) for v in self.n_values],
            "n_outliers": [int(v) for v in self.n_outliers],
            "constant": list(self.constant),
            "outliers": list(self.outliers),
            "low": None if self.low is None else [float(v) for v in self.low],
            "high": None if self.high is None else [float(v) for v in self.high],
        }

    @classmethod
    def from_dict(cls, d: dict) -> ChannelStats:
        return cls(
            channel_names=list(d["channel_names"]),
            mean=np.asarray(d["mean"], dtype=np.float64),
            std=np.asarray(d["std"], dtype=np.float64),
            n_values=np.asarray(d["n_values"], dtype=np.int64),
            n_outliers=np.asarray(d["n_outliers"], dtype=np.int64),
            constant=list(d.get("constant", [])),
            outliers=list(d.get("outliers", [])),
            low=None if d.get("low") is None else np.asarray(d["low"], dtype=np.float64),
            high=None if d.get("high") is None else np.asarray(d["high"], dtype=np.float64),
        )

    def report(self) -> list[str]:
        """Warnings worth showing a user (empty when the data was clean)."""
        lines = []
        for j, name in enumerate(self.channel_names):
            if self.n_outliers[j]:
                ex = [o for o in self.outliers if o["channel"] == name][:3]
                shown = ", ".join(f"{o['value']:.4g} in {o['recording_id']!r}" for o in ex)
                lines.append(
                    f"channel {name!r}: {int(self.n_outliers[j])} value(s) far outside the "
                    f"channel's range [{self.low[j]:.4g}, {self.high[j]:.4g}] (e.g. {shown}) "
                    "were treated as missing; check the file for logging glitches or unit "
                    "errors"
                )
        if self.constant:
            lines.append(
                f"channel(s) {self.constant} are constant in the training data: they carry no "
                "information and are passed through with scale 1; drop them with data.channels "
                "if they are dead sensors"
            )
        return lines


class StatsAccumulator:
    """Two-pass streaming statistics (see the module docstring).

    Feed every chunk to :meth:`update` (pass 1), then every chunk again to :meth:`update_moments`
    (pass 2), then call :meth:`finish`. Chunks are ``(C, T)`` arrays in sensor units; NaN is
    ignored.
    """

    def __init__(self, sample_size: int = SAMPLE_SIZE, seed: int = 0) -> None:
        self.sample_size = int(sample_size)
        self._rng = np.random.default_rng(seed)
        self._keys = np.zeros(0)
        self._sample: np.ndarray | None = None  # (C, n) values of the kept time points
        self._fences: tuple[np.ndarray, np.ndarray] | None = None
        self._count: np.ndarray | None = None
        self._mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None
        self._outliers: np.ndarray | None = None
        self._examples: list[dict] = []
        self._n_channels: int | None = None

    def _check(self, chunk: np.ndarray) -> np.ndarray:
        chunk = np.asarray(chunk, dtype=np.float64)
        if chunk.ndim != 2:
            raise ValueError(f"statistics need (C, T) chunks, got shape {chunk.shape}")
        if self._n_channels is None:
            self._n_channels = chunk.shape[0]
        elif chunk.shape[0] != self._n_channels:
            raise ValueError(f"chunk has {chunk.shape[0]} channels, expected {self._n_channels}")
        return chunk

    def update(self, chunk: np.ndarray, recording_id: str = "") -> None:
        """Pass 1: add a chunk to the random sample of time points."""
        chunk = self._check(chunk)
        keys = self._rng.random(chunk.shape[1])
        if self._sample is None:
            self._sample = np.zeros((chunk.shape[0], 0))
        keys = np.concatenate([self._keys, keys])
        values = np.concatenate([self._sample, chunk], axis=1)
        if keys.shape[0] > self.sample_size:
            keep = np.argpartition(keys, self.sample_size)[: self.sample_size]
            keep.sort()
            keys, values = keys[keep], values[:, keep]
        self._keys, self._sample = keys, values

    def fences(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel ``(low, high)`` bounds of the values used for the moments."""
        if self._fences is None:
            if self._sample is None:
                raise ValueError("no data: call update() first")
            c = self._sample.shape[0]
            lo, hi = np.full(c, -np.inf), np.full(c, np.inf)
            for j in range(c):
                v = self._sample[j][np.isfinite(self._sample[j])]
                if v.size:
                    q_lo, q_hi = np.percentile(v, QUANTILES)
                    width = q_hi - q_lo
                    lo[j], hi[j] = q_lo - FENCE_FACTOR * width, q_hi + FENCE_FACTOR * width
            self._fences = (lo, hi)
        return self._fences

    def update_moments(self, chunk: np.ndarray, recording_id: str = "") -> np.ndarray | None:
        """Pass 2: exact moments of the finite values inside the fences (Chan et al. merge).

        Returns the ``(C, T)`` mask of finite values outside the fences (None when there is
        none), for callers that treat them as missing.
        """
        chunk = self._check(chunk)
        lo, hi = self.fences()
        c = chunk.shape[0]
        if self._count is None:
            self._count, self._mean, self._m2 = np.zeros(c), np.zeros(c), np.zeros(c)
            self._outliers = np.zeros(c, dtype=np.int64)
        finite = np.isfinite(chunk)
        inside = finite & (chunk >= lo[:, None]) & (chunk <= hi[:, None])
        out = finite & ~inside
        if out.any():
            self._outliers += out.sum(axis=1)
            for j, t in zip(*np.nonzero(out)):
                if len(self._examples) >= 20:
                    break
                self._examples.append(
                    {"recording_id": recording_id, "channel": j, "value": float(chunk[j, t])}
                )
        n_b = inside.sum(axis=1).astype(np.float64)  # (C,)
        outside = out if out.any() else None
        safe = np.where(inside, chunk, 0.0)
        with np.errstate(invalid="ignore", divide="ignore"):
            mean_b = np.where(n_b > 0, safe.sum(axis=1) / np.maximum(n_b, 1), 0.0)
        m2_b = (np.where(inside, chunk - mean_b[:, None], 0.0) ** 2).sum(axis=1)
        n_a = self._count
        n = n_a + n_b
        delta = mean_b - self._mean
        with np.errstate(invalid="ignore", divide="ignore"):
            self._mean = np.where(n > 0, self._mean + delta * n_b / np.maximum(n, 1), 0.0)
            self._m2 = self._m2 + m2_b + np.where(n > 0, delta**2 * n_a * n_b / np.maximum(n, 1), 0)
        self._count = n
        return outside

    def finish(self, channel_names: list[str]) -> ChannelStats:
        """The statistics; raises ``ValueError`` naming a channel without any finite value."""
        if self._count is None:
            raise ValueError("no data: call update() and update_moments() first")
        names = [str(n) for n in channel_names]
        empty = [names[j] for j in np.flatnonzero(self._count == 0)]
        if empty:
            raise ValueError(
                f"channel(s) {empty} hold no finite value in the training data; check the "
                "files, or leave these channels out with data.channels"
            )
        std = np.sqrt(self._m2 / self._count)
        scale = np.maximum(np.abs(self._mean), 1.0)
        const = std <= 1e-12 * scale
        examples = [{**e, "channel": names[e["channel"]]} for e in self._examples]
        low, high = self.fences()
        return ChannelStats(
            channel_names=names,
            mean=self._mean.copy(),
            std=np.where(const, 1.0, std),
            n_values=self._count.astype(np.int64),
            n_outliers=self._outliers.copy(),
            constant=[names[j] for j in np.flatnonzero(const)],
            outliers=examples,
            low=low.copy(),
            high=high.copy(),
        )


def channel_stats(X: np.ndarray, channel_names: list[str] | None = None) -> ChannelStats:
    """:class:`ChannelStats` of an in-memory array ``(n, C, T)`` or ``(C, T)``."""
    X = np.asarray(X)
    if X.ndim == 2:
        X = X[None]
    if X.ndim != 3 or X.shape[0] == 0 or X.shape[2] == 0:
        raise ValueError(f"channel_stats expects a non-empty (n, C, T) array, got shape {X.shape}")
    names = channel_names or [f"ch{j}" for j in range(X.shape[1])]
    acc = StatsAccumulator()
    flat = np.ascontiguousarray(X.transpose(1, 0, 2)).reshape(X.shape[1], -1)  # (C, n*T)
    step = 1 << 20
    for a in range(0, flat.shape[1], step):
        acc.update(flat[:, a : a + step])
    for a in range(0, flat.shape[1], step):
        acc.update_moments(flat[:, a : a + step])
    return acc.finish(names)


class ChannelNormalizer:
    """Per-channel ``(x - mean) / std`` with statistics from training data.

    ``fit`` uses :func:`channel_stats` (robust to isolated absurd values; constant channels get
    scale 1).

    Attributes
    ----------
    mean_, std_ : ndarray or None
        float64 ``(C,)`` after :meth:`fit`.
    stats_ : ChannelStats or None
        What :meth:`fit` found (outliers left out, constant channels).
    """

    def __init__(self) -> None:
        self.mean_: np.ndarray | None = None
        self.std_: np.ndarray | None = None
        self.stats_: ChannelStats | None = None

    def fit(self, X: np.ndarray) -> ChannelNormalizer:
        """Fit on ``(n, C, T)`` data, ignoring NaN.

        Raises
        ------
        ValueError
            ``X`` not 3-D, empty, or a channel with no finite value.
        """
        X = np.asarray(X)
        if X.ndim != 3:
            raise ValueError(f"ChannelNormalizer.fit expects (n, C, T), got shape {X.shape}")
        self.stats_ = channel_stats(X)
        self.mean_, self.std_ = self.stats_.mean, self.stats_.std
        return self

    def _check(self, X: np.ndarray) -> np.ndarray:
        if self.mean_ is None:
            raise ValueError("ChannelNormalizer is not fitted; call fit() or from_state_dict()")
        X = np.asarray(X)
        if X.ndim not in (2, 3) or X.shape[-2] != len(self.mean_):
            raise ValueError(
                f"expected (n, {len(self.mean_)}, T) or ({len(self.mean_)}, T), got shape {X.shape}"
            )
        return X

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Standardise ``(n, C, T)`` or ``(C, T)``; returns float32, NaN stays NaN."""
        X = self._check(X)
        out = (X - self.mean_[:, None]) / self.std_[:, None]
        return out.astype(np.float32)

    def fit_transform(self, X: np.ndarray) -> np.ndarray:
        """:meth:`fit` then :meth:`transform`."""
        return self.fit(X).transform(X)

    def inverse_transform(self, X: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`; returns float32."""
        X = self._check(X)
        return (X * self.std_[:, None] + self.mean_[:, None]).astype(np.float32)

    def state_dict(self) -> dict:
        """Plain-Python state (lists and floats) for JSON storage."""
        if self.mean_ is None:
            raise ValueError("ChannelNormalizer is not fitted; nothing to save")
        return {"mean": [float(m) for m in self.mean_], "std": [float(s) for s in self.std_]}

    @classmethod
    def from_state_dict(cls, state: dict) -> ChannelNormalizer:
        """Rebuild from :meth:`state_dict` output.

        Raises
        ------
        ValueError
            Missing keys, mismatched lengths, or non-positive std.
        """
        missing = [k for k in ("mean", "std") if k not in state]
        if missing:
            raise ValueError(f"ChannelNormalizer state is missing keys {missing}")
        mean = np.asarray(state["mean"], dtype=np.float64)
        std = np.asarray(state["std"], dtype=np.float64)
        if mean.ndim != 1 or mean.shape != std.shape:
            raise ValueError(
                f"ChannelNormalizer state: mean {mean.shape} and std {std.shape} must be equal 1-D"
            )
        if not (np.all(np.isfinite(mean)) and np.all(std > 0)):
            raise ValueError("ChannelNormalizer state: mean must be finite and std > 0")
        obj = cls()
        obj.mean_, obj.std_ = mean, std
        return obj
