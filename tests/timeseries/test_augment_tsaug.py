"""tsaug engine: shapes, dtypes, seeding, invariants, input errors."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from swav_ts.timeseries.augment import AugmentConfig, build_augmenter
from swav_ts.timeseries.augment.tsaug_engine import TsaugAugmenter, random_rotations

ALL_ON = AugmentConfig(
    permutation={"p": 0.5},
    time_mask={"p": 0.5, "fill": "mean"},
    channel_dropout={"p": 0.5},
)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_dtype_and_seeded_repeat(dtype):
    aug = build_augmenter(ALL_ON, "tsaug")
    x = np.random.default_rng(0).standard_normal((16, 6, 64)).astype(dtype)
    y1 = aug(x, np.random.default_rng(5))
    y2 = aug(x, np.random.default_rng(5))
    y3 = aug(x, np.random.default_rng(6))
    assert y1.shape == x.shape and y1.dtype == dtype
    np.testing.assert_array_equal(y1, y2)
    assert not np.array_equal(y1, y3)
    assert not np.array_equal(y1, x)


def test_fresh_tsaug_seed_per_call():
    """Two calls with one generator differ (tsaug's fixed-seed RandomState is bypassed)."""
    cfg = AugmentConfig.disabled(jitter={"p": 1.0}, time_warp={"p": 1.0})
    aug = TsaugAugmenter(cfg)
    gen = np.random.default_rng(0)
    x = np.zeros((2, 6, 50))
    first, second = aug(x, gen), aug(x, gen)
    assert not np.allclose(first, second)
    assert not np.allclose(first[0], first[1])  # samples of one batch differ too


def test_rotation_preserves_norms_and_is_proper():
    cfg = AugmentConfig.disabled(
        rotation={"p": 1.0, "uniform_so3": True, "triplets": [[0, 1, 2], [3, 4, 5]]}
    )
    x = np.random.default_rng(1).standard_normal((64, 6, 30))
    y = TsaugAugmenter(cfg)(x, np.random.default_rng(2))
    for trip in ([0, 1, 2], [3, 4, 5]):
        np.testing.assert_allclose(
            np.linalg.norm(y[:, trip], axis=1), np.linalg.norm(x[:, trip], axis=1), rtol=1e-12
        )
    for so3 in (True, False):
        r = random_rotations(200, np.random.default_rng(3), so3, 30.0)
        np.testing.assert_allclose(np.linalg.det(r), 1.0, atol=1e-12)
        np.testing.assert_allclose(r @ r.transpose(0, 2, 1), np.broadcast_to(np.eye(3), r.shape),
                                   atol=1e-12)  # fmt: skip
        if not so3:
            angle = np.arccos(np.clip((np.trace(r, axis1=1, axis2=2) - 1) / 2, -1, 1))
            assert angle.max() <= np.radians(30.0) + 1e-9


def test_time_warp_monotone_with_fixed_ends():
    cfg = AugmentConfig.disabled(time_warp={"p": 1.0, "max_speed_change": 0.5})
    ramp = np.tile(np.arange(80, dtype=np.float64), (40, 1, 1))
    tau = TsaugAugmenter(cfg)(ramp, np.random.default_rng(0))[:, 0]
    assert (np.diff(tau, axis=1) > 0).all()
    np.testing.assert_allclose(tau[:, [0, -1]], np.tile([0.0, 79.0], (40, 1)), atol=1e-9)


def test_permutation_keeps_segments():
    cfg = AugmentConfig.disabled(permutation={"p": 1.0, "n_segments": 4})
    ramp = np.tile(np.arange(10, dtype=np.float64), (30, 1, 1))
    y = TsaugAugmenter(cfg)(ramp, np.random.default_rng(0))[:, 0]
    np.testing.assert_array_equal(np.sort(y, axis=1), ramp[:, 0])
    segments = {(0, 1, 2), (3, 4), (5, 6, 7), (8, 9)}  # floor(t * 4 / 10)
    for row in y:
        pieces, current = [], [row[0]]
        for a, b in itertools.pairwise(row):
            if b == a + 1 and int(b) not in (3, 5, 8):
                current.append(b)
            else:
                pieces.append(tuple(int(v) for v in current))
                current = [b]
        pieces.append(tuple(int(v) for v in current))
        assert set(pieces) == segments


def test_input_errors():
    aug = TsaugAugmenter(AugmentConfig(rotation={"triplets": [[0, 1, 2], [3, 4, 5]]}))
    gen = np.random.default_rng(0)
    with pytest.raises(TypeError, match=r"numpy\.ndarray"):
        aug(torch.zeros(2, 6, 20), gen)
    with pytest.raises(TypeError, match="floating-point"):
        aug(np.zeros((2, 6, 20), dtype=np.int64), gen)
    with pytest.raises(TypeError, match=r"numpy\.random\.Generator"):
        aug(np.zeros((2, 6, 20)), torch.Generator())
    with pytest.raises(ValueError, match=r"3-D.*shape \(2, 6, 20, 1\)"):
        aug(np.zeros((2, 6, 20, 1)), gen)
    with pytest.raises(ValueError, match=r"need 6 channels, input has 4"):
        aug(np.zeros((2, 4, 20)), gen)
    with pytest.raises(TypeError, match="AugmentConfig"):
        TsaugAugmenter("default")
