"""AugmentConfig validation and helpers."""

from __future__ import annotations

import pytest

from swav_ts.timeseries.augment import (
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
    build_augmenter,
)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (JitterConfig, {"p": 1.5}, r"JitterConfig\.p"),
        (JitterConfig, {"p": -0.1}, r"JitterConfig\.p"),
        (JitterConfig, {"sigma": -1.0}, r"JitterConfig\.sigma"),
        (ScalingConfig, {"sigma": -0.1}, r"ScalingConfig\.sigma"),
        (TimeWarpConfig, {"n_knots": 1}, r"TimeWarpConfig\.n_knots"),
        (TimeWarpConfig, {"max_speed_change": 1.0}, r"TimeWarpConfig\.max_speed_change"),
        (TimeWarpConfig, {"max_speed_change": -0.2}, r"TimeWarpConfig\.max_speed_change"),
        (RotationConfig, {"max_angle_deg": 190.0}, r"RotationConfig\.max_angle_deg"),
        (RotationConfig, {"max_angle_deg": -1.0}, r"RotationConfig\.max_angle_deg"),
        (RotationConfig, {"triplets": ((0, 1),)}, r"RotationConfig\.triplets"),
        (RotationConfig, {"triplets": ((0, 1, -2),)}, r"RotationConfig\.triplets"),
        (RotationConfig, {"triplets": ((0, 1, 2), (2, 3, 4))}, r"channel 2 more than once"),
        (MagnitudeWarpConfig, {"sigma": -0.5}, r"MagnitudeWarpConfig\.sigma"),
        (MagnitudeWarpConfig, {"n_knots": 0}, r"MagnitudeWarpConfig\.n_knots"),
        (TimeMaskConfig, {"max_fraction": 1.2}, r"TimeMaskConfig\.max_fraction"),
        (TimeMaskConfig, {"fill": "nan"}, r"TimeMaskConfig\.fill"),
        (ChannelDropoutConfig, {"drop_prob": 2.0}, r"ChannelDropoutConfig\.drop_prob"),
        (PermutationConfig, {"n_segments": 0}, r"PermutationConfig\.n_segments"),
    ],
)
def test_sub_config_value_errors(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)


@pytest.mark.parametrize(
    ("cls", "kwargs", "match"),
    [
        (JitterConfig, {"sigma": "0.1"}, r"JitterConfig\.sigma"),
        (TimeWarpConfig, {"n_knots": 3.0}, r"TimeWarpConfig\.n_knots"),
        (RotationConfig, {"uniform_so3": 1}, r"RotationConfig\.uniform_so3"),
        (RotationConfig, {"triplets": 5}, r"RotationConfig\.triplets"),
        (ScalingConfig, {"p": True}, r"ScalingConfig\.p"),
    ],
)
def test_sub_config_type_errors(cls, kwargs, match):
    with pytest.raises(TypeError, match=match):
        cls(**kwargs)


def test_dicts_and_lists_are_converted():
    cfg = AugmentConfig(jitter={"sigma": 0.2}, rotation={"triplets": [[0, 1, 2]]})
    assert isinstance(cfg.jitter, JitterConfig)
    assert cfg.jitter.sigma == 0.2
    assert cfg.rotation.triplets == [[0, 1, 2]]
    assert cfg.rotation.index_triplets() == ((0, 1, 2),)


def test_unknown_keys_and_wrong_types():
    with pytest.raises(TypeError, match=r"AugmentConfig\.jitter got unknown keys \['sgima'\]"):
        AugmentConfig(jitter={"sgima": 0.2})
    with pytest.raises(TypeError, match=r"AugmentConfig\.scaling must be a ScalingConfig"):
        AugmentConfig(scaling=JitterConfig())
    with pytest.raises(TypeError, match="unknown augmentations"):
        AugmentConfig.disabled(blur={"p": 1.0})


def test_disabled_and_active():
    cfg = AugmentConfig.disabled(jitter=JitterConfig(p=1.0), scaling={"p": 0.5})
    assert cfg.active() == ("scaling", "jitter")
    assert AugmentConfig.disabled().active() == ()
    assert set(AugmentConfig().active()) == set(AUGMENTATION_ORDER) - {"permutation"}


def test_build_augmenter_errors():
    with pytest.raises(ValueError, match="engine must be one of"):
        build_augmenter(AugmentConfig(), engine="jax")
    with pytest.raises(TypeError, match="config must be an AugmentConfig"):
        build_augmenter({"jitter": {}})
