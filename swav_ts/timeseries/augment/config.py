"""Configuration of the time-series augmentations (one sub-dataclass per augmentation).

Every augmentation is applied to each sample independently with probability ``p`` (a
Bernoulli(p) draw per sample). The distributions of the random parameters are documented
on each sub-dataclass and in ``docs/augmentations.md``. Both engines (torch and tsaug)
draw from these distributions; where the tsaug engine deviates it is said so there.

Defaults are chosen for 50 Hz wearable windows of 1-3 s (64-150 samples) holding
accelerometer (g) and gyroscope (rad/s) channels, i.e. signals of magnitude about 1.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

FILL_MODES = ("zero", "mean")


def _check_probability(owner: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be a number, got {type(value).__name__}")
    if not 0.0 <= float(value) <= 1.0:
        raise ValueError(f"{owner}.{name} must lie in [0, 1], got {value}")


def _check_non_negative(owner: str, name: str, value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be a number, got {type(value).__name__}")
    if float(value) < 0.0:
        raise ValueError(f"{owner}.{name} must be >= 0, got {value}")


def _check_int_at_least(owner: str, name: str, value: int, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{owner}.{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{owner}.{name} must be >= {minimum}, got {value}")


@dataclass
class JitterConfig:
    """Additive Gaussian noise.

    ``x'[c, t] = x[c, t] + sigma * z[c, t]`` with ``z[c, t] ~ N(0, 1)`` i.i.d. over channels
    and time points (in the units of the input, no normalisation).
    """

    p: float = 0.8
    sigma: float = 0.05

    def __post_init__(self) -> None:
        _check_probability("JitterConfig", "p", self.p)
        _check_non_negative("JitterConfig", "sigma", self.sigma)


@dataclass
class ScalingConfig:
    """Per-channel magnitude scaling.

    ``x'[c, t] = s[c] * x[c, t]`` with ``s[c] ~ N(1, sigma^2)`` i.i.d. per channel.
    """

    p: float = 0.8
    sigma: float = 0.1

    def __post_init__(self) -> None:
        _check_probability("ScalingConfig", "p", self.p)
        _check_non_negative("ScalingConfig", "sigma", self.sigma)


@dataclass
class TimeWarpConfig:
    """Smooth random speed changes (a monotone time map shared by all channels).

    Speeds ``v_k ~ U(1 - max_speed_change, 1 + max_speed_change)`` i.i.d. are drawn at
    ``n_knots`` equally spaced knots ``k * (T - 1) / (n_knots - 1)``; the speed curve
    ``v(t)`` is their piecewise-linear interpolation at ``t = 0..T-1``. The source time is
    ``tau(t) = (T - 1) * S(t) / S(T - 1)`` with ``S`` the trapezoidal cumulative sum of ``v``
    (``S(0) = 0``), so ``tau(0) = 0``, ``tau(T - 1) = T - 1`` and ``tau`` is strictly
    increasing. ``x'[c, t] = x[c, tau(t)]`` by linear interpolation.
    ``max_speed_change`` must be < 1 so every speed is positive.
    """

    p: float = 0.5
    n_knots: int = 4
    max_speed_change: float = 0.25

    def __post_init__(self) -> None:
        _check_probability("TimeWarpConfig", "p", self.p)
        _check_int_at_least("TimeWarpConfig", "n_knots", self.n_knots, 2)
        _check_non_negative("TimeWarpConfig", "max_speed_change", self.max_speed_change)
        if self.max_speed_change >= 1.0:
            raise ValueError(
                "TimeWarpConfig.max_speed_change must be < 1 (speeds must stay positive), "
                f"got {self.max_speed_change}"
            )


@dataclass
class RotationConfig:
    """Random 3-D rotation of 3-axis sensors (accelerometer, gyroscope, magnetometer).

    One rotation matrix ``R`` per sample is applied to every triplet in ``triplets`` (so the
    accelerometer and gyroscope of one device turn together): ``x'[trip, t] = R @ x[trip, t]``.
    The rotation acts on the signals in **sensor units** (before the model's standardisation):
    it turns the gravity vector and keeps its norm.

    - ``uniform_so3=True``: ``R`` is uniform (Haar) on SO(3), built from a unit quaternion
      ``q = g / |g|`` with ``g ~ N(0, I_4)``; ``max_angle_deg`` is ignored.
    - ``uniform_so3=False``: axis ``u`` uniform on the unit sphere (``g / |g|``,
      ``g ~ N(0, I_3)``), angle ``theta ~ U(0, max_angle_deg)`` degrees;
      ``R = I + sin(theta) K + (1 - cos(theta)) K^2`` (Rodrigues, ``K`` the cross-product
      matrix of ``u``).

    ``triplets``: the sensor groups, as channel indices or channel names (``[["acc_x", "acc_y",
    "acc_z"], ...]``); ``None`` (default) recognises them from the channel names (names that
    share a prefix and end in x / y / z, see :func:`sensor_triplets`); ``[]`` rotates nothing.
    Data without channel names (arrays) has no recognisable sensor, so by default it is not
    rotated. Channels not in any triplet are left unchanged.
    """

    p: float = 0.5
    max_angle_deg: float = 45.0  # the development panel's choice (docs/results.md)
    uniform_so3: bool = False
    triplets: list[list[int | str]] | None = None

    def __post_init__(self) -> None:
        _check_probability("RotationConfig", "p", self.p)
        _check_non_negative("RotationConfig", "max_angle_deg", self.max_angle_deg)
        if self.max_angle_deg > 180.0:
            raise ValueError(
                f"RotationConfig.max_angle_deg must be <= 180, got {self.max_angle_deg}"
            )
        if not isinstance(self.uniform_so3, bool):
            raise TypeError(
                f"RotationConfig.uniform_so3 must be a bool, got {type(self.uniform_so3).__name__}"
            )
        if self.triplets is None:
            return
        if not isinstance(self.triplets, (tuple, list)):
            raise TypeError(
                "RotationConfig.triplets must be a list of (x, y, z) channel triplets (indices "
                f"or names) or None, got {type(self.triplets).__name__}"
            )
        triplets = tuple(tuple(t) if isinstance(t, (list, tuple)) else t for t in self.triplets)
        seen: set = set()
        for trip in triplets:
            if not isinstance(trip, tuple) or len(trip) != 3:
                raise ValueError(
                    f"RotationConfig.triplets entries must be 3 channels, got {trip!r}"
                )
            kinds = {isinstance(ch, str) for ch in trip}
            for ch in trip:
                if isinstance(ch, str):
                    if not ch:
                        raise ValueError("RotationConfig.triplets: empty channel name")
                elif not isinstance(ch, int) or isinstance(ch, bool) or ch < 0:
                    raise ValueError(
                        "RotationConfig.triplets must hold non-negative channel indices or "
                        f"channel names, got {ch!r} in {trip!r}"
                    )
                if ch in seen:
                    raise ValueError(
                        f"RotationConfig.triplets uses channel {ch!r} more than once: {triplets!r}"
                    )
                seen.add(ch)
            if len(kinds) > 1:
                raise ValueError(f"RotationConfig.triplets entry {trip!r} mixes indices and names")
        self.triplets = [list(t) for t in triplets]

    def index_triplets(self) -> tuple[tuple[int, int, int], ...]:
        """The triplets as channel indices (names must be resolved first: see
        :func:`resolve_triplets`); None counts as no triplet."""
        if not self.triplets:
            return ()
        if any(isinstance(ch, str) for trip in self.triplets for ch in trip):
            raise ValueError(
                f"RotationConfig.triplets {self.triplets} names channels; resolve them against "
                "the data's channel names first (swav_ts.timeseries.augment.resolve_triplets)"
            )
        return tuple(tuple(int(c) for c in trip) for trip in self.triplets)  # type: ignore[misc]


_AXIS_NAME = re.compile(r"^(?P<prefix>.*?)(?P<sep>[_.\- ]?)(?P<axis>[xyz])$", re.IGNORECASE)


def sensor_triplets(channel_names: Sequence[str]) -> tuple[tuple[int, int, int], ...]:
    """3-axis sensors recognised from channel names.

    Three channels form a sensor when their names are ``<prefix><sep>x``, ``<prefix><sep>y`` and
    ``<prefix><sep>z`` (case-insensitive axis letter; ``sep`` one of ``_ . - space`` or none;
    the prefix may be empty), e.g. ``acc_x, acc_y, acc_z`` or ``gyroX, gyroY, gyroZ``. Triplets
    are returned in the order their x channel appears, each ordered (x, y, z).
    """
    groups: dict[tuple[str, str], dict[str, int]] = {}
    order: list[tuple[str, str]] = []
    for i, name in enumerate(channel_names):
        m = _AXIS_NAME.match(str(name))
        if not m:
            continue
        key = (m.group("prefix").lower(), m.group("sep"))
        if key not in groups:
            groups[key] = {}
            order.append(key)
        groups[key].setdefault(m.group("axis").lower(), i)
    return tuple(
        (groups[k]["x"], groups[k]["y"], groups[k]["z"])
        for k in order
        if set(groups[k]) == {"x", "y", "z"}
    )


def resolve_triplets(
    config: RotationConfig, channel_names: Sequence[str]
) -> tuple[tuple[int, int, int], ...]:
    """The sensor triplets of ``config`` as indices into ``channel_names``.

    Raises
    ------
    ValueError
        A named channel the data does not have, or an index beyond the channel count (both
        listing the data's channels).
    """
    names = [str(n) for n in channel_names]
    if config.triplets is None:
        return sensor_triplets(names)
    out = []
    for trip in config.triplets:
        idx = []
        for ch in trip:
            if isinstance(ch, str):
                if ch not in names:
                    raise ValueError(
                        f"augment.rotation.triplets names channel {ch!r}, which the data does "
                        f"not have; its channels are {names}"
                    )
                idx.append(names.index(ch))
            else:
                if ch >= len(names):
                    raise ValueError(
                        f"augment.rotation.triplets uses channel index {ch}, but the data has "
                        f"{len(names)} channels {names}"
                    )
                idx.append(int(ch))
        out.append(tuple(idx))
    return tuple(out)  # type: ignore[return-value]


@dataclass
class MagnitudeWarpConfig:
    """Smooth random multiplicative curve per channel.

    Knot values ``m_k[c] ~ N(1, sigma^2)`` i.i.d. at ``n_knots`` equally spaced knots
    ``k * (T - 1) / (n_knots - 1)``, interpolated by a natural cubic spline to ``m[c, t]``;
    ``x'[c, t] = m[c, t] * x[c, t]``.
    """

    p: float = 0.3
    sigma: float = 0.2
    n_knots: int = 4

    def __post_init__(self) -> None:
        _check_probability("MagnitudeWarpConfig", "p", self.p)
        _check_non_negative("MagnitudeWarpConfig", "sigma", self.sigma)
        _check_int_at_least("MagnitudeWarpConfig", "n_knots", self.n_knots, 2)


@dataclass
class TimeMaskConfig:
    """Cut-out of one random time span (all channels).

    Span length ``L ~ U{1, ..., max(1, floor(max_fraction * T))}``, start
    ``s ~ U{0, ..., T - L}``; ``x'[c, s:s+L]`` is set to 0 (``fill="zero"``) or to the
    channel's mean over the whole (pre-mask) window (``fill="mean"``).
    """

    p: float = 0.3
    max_fraction: float = 0.15
    fill: str = "zero"

    def __post_init__(self) -> None:
        _check_probability("TimeMaskConfig", "p", self.p)
        _check_probability("TimeMaskConfig", "max_fraction", self.max_fraction)
        if self.fill not in FILL_MODES:
            raise ValueError(f"TimeMaskConfig.fill must be one of {FILL_MODES}, got {self.fill!r}")


@dataclass
class ChannelDropoutConfig:
    """Zero whole channels.

    For a selected sample each channel is zeroed independently with probability
    ``drop_prob`` (so all channels may be zeroed, with probability ``drop_prob ** C``).
    """

    p: float = 0.1
    drop_prob: float = 0.15

    def __post_init__(self) -> None:
        _check_probability("ChannelDropoutConfig", "p", self.p)
        _check_probability("ChannelDropoutConfig", "drop_prob", self.drop_prob)


@dataclass
class PermutationConfig:
    """Split the window into segments and shuffle them.

    Time point ``t`` belongs to segment ``floor(t * n / T)`` (``n = n_segments``; segment
    lengths differ by at most one); the segments are concatenated in a uniformly random
    order (all ``n!`` orders equally likely). Off by default (it destroys temporal order).
    """

    p: float = 0.0
    n_segments: int = 4

    def __post_init__(self) -> None:
        _check_probability("PermutationConfig", "p", self.p)
        _check_int_at_least("PermutationConfig", "n_segments", self.n_segments, 1)


_SUB_CONFIGS: dict[str, type] = {
    "time_warp": TimeWarpConfig,
    "permutation": PermutationConfig,
    "rotation": RotationConfig,
    "scaling": ScalingConfig,
    "magnitude_warp": MagnitudeWarpConfig,
    "jitter": JitterConfig,
    "time_mask": TimeMaskConfig,
    "channel_dropout": ChannelDropoutConfig,
}

#: Order in which the augmentations are applied (time-axis ops, then geometry and
#: amplitude, then noise, then masking).
AUGMENTATION_ORDER: tuple[str, ...] = tuple(_SUB_CONFIGS)


@dataclass
class AugmentConfig:
    """All augmentations of one view pipeline, applied in :data:`AUGMENTATION_ORDER`.

    Sub-configs may be given as dicts (e.g. from YAML); they are converted to their
    dataclass (unknown keys raise ``TypeError`` naming the key).
    """

    time_warp: TimeWarpConfig = field(default_factory=TimeWarpConfig)
    permutation: PermutationConfig = field(default_factory=PermutationConfig)
    rotation: RotationConfig = field(default_factory=RotationConfig)
    scaling: ScalingConfig = field(default_factory=ScalingConfig)
    magnitude_warp: MagnitudeWarpConfig = field(default_factory=MagnitudeWarpConfig)
    jitter: JitterConfig = field(default_factory=JitterConfig)
    time_mask: TimeMaskConfig = field(default_factory=TimeMaskConfig)
    channel_dropout: ChannelDropoutConfig = field(default_factory=ChannelDropoutConfig)

    def __post_init__(self) -> None:
        for name, cls in _SUB_CONFIGS.items():
            value = getattr(self, name)
            if isinstance(value, dict):
                known = {f.name for f in dataclasses.fields(cls)}
                unknown = sorted(set(value) - known)
                if unknown:
                    raise TypeError(
                        f"AugmentConfig.{name} got unknown keys {unknown}; known: {sorted(known)}"
                    )
                value = cls(**value)
                setattr(self, name, value)
            if not isinstance(value, cls):
                raise TypeError(
                    f"AugmentConfig.{name} must be a {cls.__name__} or dict, "
                    f"got {type(value).__name__}"
                )

    @classmethod
    def disabled(cls, **enabled: Any) -> AugmentConfig:
        """Config with every augmentation off (``p=0``) except the keyword overrides.

        Parameters
        ----------
        **enabled
            ``name=SubConfig(...)`` or ``name=dict(...)`` for the augmentations to keep on.

        Returns
        -------
        AugmentConfig
        """
        unknown = sorted(set(enabled) - set(_SUB_CONFIGS))
        if unknown:
            raise TypeError(f"unknown augmentations {unknown}; known: {list(_SUB_CONFIGS)}")
        kwargs: dict[str, Any] = {name: sub(p=0.0) for name, sub in _SUB_CONFIGS.items()}
        kwargs.update(enabled)
        return cls(**kwargs)

    def active(self) -> tuple[str, ...]:
        """Names of the augmentations with ``p > 0``, in application order."""
        return tuple(name for name in AUGMENTATION_ORDER if getattr(self, name).p > 0)
