"""Both engines draw from the same distributions: compare statistics over many draws."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swav_ts.timeseries.augment import AugmentConfig, build_augmenter

N = 4000


def run_both(cfg: AugmentConfig, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    y_torch = build_augmenter(cfg, "torch")(torch.from_numpy(x), torch.Generator().manual_seed(0))
    y_np = build_augmenter(cfg, "tsaug")(x, np.random.default_rng(0))
    return y_torch.numpy(), y_np


def test_jitter_noise_std():
    cfg = AugmentConfig.disabled(jitter={"p": 1.0, "sigma": 0.07})
    y_t, y_n = run_both(cfg, np.zeros((500, 6, 64)))
    for y in (y_t, y_n):
        assert abs(y.mean()) < 0.002
        assert y.std() == pytest.approx(0.07, rel=0.01)


def test_scaling_factor_mean_std():
    cfg = AugmentConfig.disabled(scaling={"p": 1.0, "sigma": 0.15})
    y_t, y_n = run_both(cfg, np.ones((N, 6, 4)))
    for y in (y_t, y_n):
        factor = y[:, :, 0]
        np.testing.assert_allclose(y, np.repeat(factor[:, :, None], 4, axis=2))  # per channel
        assert factor.mean() == pytest.approx(1.0, abs=0.005)
        assert factor.std() == pytest.approx(0.15, rel=0.03)


def test_probability_of_application():
    cfg = AugmentConfig.disabled(scaling={"p": 0.3, "sigma": 0.5})
    y_t, y_n = run_both(cfg, np.ones((N, 6, 4)))
    for y in (y_t, y_n):
        assert (y[:, 0, 0] != 1.0).mean() == pytest.approx(0.3, abs=0.03)


@pytest.mark.parametrize(("max_change", "n_knots"), [(0.25, 4), (0.5, 4), (0.3, 6)])
def test_time_warp_speed_spread(max_change, n_knots):
    """On a ramp the warped output is the source time tau(t); compare its speed spread."""
    cfg = AugmentConfig.disabled(
        time_warp={"p": 1.0, "max_speed_change": max_change, "n_knots": n_knots}
    )
    ramp = np.tile(np.arange(128, dtype=np.float64), (1500, 1, 1))
    y_t, y_n = run_both(cfg, ramp)
    spread_t = np.diff(y_t[:, 0], axis=1).std(axis=1).mean()
    spread_n = np.diff(y_n[:, 0], axis=1).std(axis=1).mean()
    assert spread_t > 0.2 * max_change
    assert spread_n == pytest.approx(spread_t, rel=0.12)
    disp_t = np.abs(y_t[:, 0] - ramp[:, 0]).max(axis=1).mean()
    disp_n = np.abs(y_n[:, 0] - ramp[:, 0]).max(axis=1).mean()
    assert disp_n == pytest.approx(disp_t, rel=0.2)


@pytest.mark.parametrize("uniform_so3", [False, True])
def test_rotation_angle_distribution(uniform_so3):
    rotation = {"p": 1.0, "max_angle_deg": 50.0, "uniform_so3": uniform_so3}
    cfg = AugmentConfig.disabled(rotation={**rotation, "triplets": ((0, 1, 2),)})
    x = np.tile(np.eye(3)[:, :, None], (1500, 1, 1, 2)).reshape(4500, 3, 2)
    y_t, y_n = run_both(cfg, x)
    # the rotated basis vectors give R's columns: cos(angle) = (trace R - 1) / 2
    cos_t = (y_t[:, :, 0].reshape(1500, 3, 3).trace(axis1=1, axis2=2) - 1) / 2
    cos_n = (y_n[:, :, 0].reshape(1500, 3, 3).trace(axis1=1, axis2=2) - 1) / 2
    assert cos_n.mean() == pytest.approx(cos_t.mean(), abs=0.03)
    assert cos_n.std() == pytest.approx(cos_t.std(), abs=0.03)
    if uniform_so3:  # Haar measure: E[trace R] = 0, so E[cos angle] = -1/2
        assert cos_t.mean() == pytest.approx(-0.5, abs=0.04)
    else:  # angle ~ U(0, 50 deg): E[cos] = sin(a) / a
        a = np.radians(50.0)
        assert cos_t.mean() == pytest.approx(np.sin(a) / a, abs=0.01)


def test_magnitude_warp_curve_stats():
    cfg = AugmentConfig.disabled(magnitude_warp={"p": 1.0, "sigma": 0.2, "n_knots": 4})
    y_t, y_n = run_both(cfg, np.ones((1500, 2, 64)))
    for y in (y_t, y_n):
        assert y[:, :, 0].std() == pytest.approx(0.2, rel=0.05)  # curve passes through knot 0
        assert y.mean() == pytest.approx(1.0, abs=0.01)
    assert y_n.std(axis=2).mean() == pytest.approx(y_t.std(axis=2).mean(), rel=0.05)


def test_time_mask_and_channel_dropout_rates():
    cfg = AugmentConfig.disabled(
        time_mask={"p": 1.0, "max_fraction": 0.2}, channel_dropout={"p": 1.0, "drop_prob": 0.25}
    )
    y_t, y_n = run_both(cfg, np.ones((N, 6, 50)))
    for y in (y_t, y_n):
        dropped = (y == 0).all(axis=2)  # (B, C)
        assert dropped.mean() == pytest.approx(0.25, abs=0.015)
        kept = y[~dropped]  # (n, T): masked span length ~ U{1..10}, mean 5.5
        assert (kept == 0).sum(axis=1).mean() == pytest.approx(5.5, abs=0.15)
        assert (kept == 0).sum(axis=1).max() == 10
