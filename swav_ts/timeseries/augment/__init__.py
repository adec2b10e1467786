"""Time-series augmentations with two engines (batched torch, numpy/tsaug)."""

from swav_ts.timeseries.augment.base import Augmenter
from swav_ts.timeseries.augment.build import ENGINES, build_augmenter
from swav_ts.timeseries.augment.config import (
    AUGMENTATION_ORDER,
    AugmentConfig,
    ChannelDropoutConfig,
    JitterConfig,
    MagnitudeWarpConfig,
    PermutationConfig,
    RotationConfig,
    ScalingConfig,
    TimeMaskConfig,
    TimeWarpConfig,
    resolve_triplets,
    sensor_triplets,
)

__all__ = [
    "AUGMENTATION_ORDER",
    "ENGINES",
    "AugmentConfig",
    "Augmenter",
    "ChannelDropoutConfig",
    "JitterConfig",
    "MagnitudeWarpConfig",
    "PermutationConfig",
    "RotationConfig",
    "ScalingConfig",
    "TimeMaskConfig",
    "TimeWarpConfig",
    "build_augmenter",
    "resolve_triplets",
    "sensor_triplets",
]
