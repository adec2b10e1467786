"""Torch engine: shapes, devices, exact agreement with a numpy reference, invariants."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from scipy.interpolate import CubicSpline

from swav_ts.timeseries.augment import AugmentConfig, build_augmenter
from swav_ts.timeseries.augment.torch_engine import TorchAugmenter

ALL_ON = AugmentConfig(
    time_warp={"p": 0.5, "n_knots": 5, "max_speed_change": 0.4},
    permutation={"p": 0.5, "n_segments": 5},
    rotation={"p": 0.5, "max_angle_deg": 90.0, "triplets": [[0, 1, 2], [3, 4, 5]]},
    scaling={"p": 0.5, "sigma": 0.2},
    magnitude_warp={"p": 0.5, "sigma": 0.2, "n_knots": 5},
    jitter={"p": 0.5, "sigma": 0.1},
    time_mask={"p": 0.5, "max_fraction": 0.3, "fill": "mean"},
    channel_dropout={"p": 0.5, "drop_prob": 0.3},
)


def numpy_reference(x: np.ndarray, params: dict, cfg: AugmentConfig) -> np.ndarray:
    """Apply the drawn params with plain numpy/scipy, following the documented definitions."""
    p = {k: {kk: vv.cpu().numpy() for kk, vv in v.items()} for k, v in params.items()}
    out = x.astype(np.float64)
    n_b, _, n_t = out.shape
    t = np.arange(n_t, dtype=np.float64)
    for b in range(n_b):
        y = out[b]
        if p["time_warp"]["apply"][b]:
            speed = p["time_warp"]["speed"][b].astype(np.float64)
            knots = np.linspace(0, n_t - 1, speed.size)
            v = np.interp(t, knots, speed)
            cum = np.concatenate([[0.0], np.cumsum((v[1:] + v[:-1]) / 2)])
            tau = (n_t - 1) * cum / cum[-1]
            y = np.stack([np.interp(tau, t, row) for row in y])
        if p["permutation"]["apply"][b]:
            order = p["permutation"]["order"][b]
            n = order.size
            bounds = [math.ceil(j * n_t / n) for j in range(n + 1)]
            y = np.concatenate([y[:, bounds[j] : bounds[j + 1]] for j in order], axis=1)
        if p["rotation"]["apply"][b]:
            r = p["rotation"]["matrix"][b].astype(np.float64)
            y = y.copy()
            for trip in cfg.rotation.triplets:
                y[list(trip)] = r @ y[list(trip)]
        if p["scaling"]["apply"][b]:
            y = y * p["scaling"]["factor"][b][:, None]
        if p["magnitude_warp"]["apply"][b]:
            kv = p["magnitude_warp"]["knot_value"][b].astype(np.float64)  # (C, n_knots)
            knots = np.linspace(0, n_t - 1, kv.shape[1])
            y = y * CubicSpline(knots, kv, axis=1, bc_type="natural")(t)
        if p["jitter"]["apply"][b]:
            y = y + p["jitter"]["noise"][b]
        if p["time_mask"]["apply"][b]:
            s, n = p["time_mask"]["start"][b], p["time_mask"]["length"][b]
            y = y.copy()
            y[:, s : s + n] = y.mean(axis=1, keepdims=True)
        if p["channel_dropout"]["apply"][b]:
            y = y * p["channel_dropout"]["keep"][b][:, None]
        out[b] = y
    return out


def test_torch_matches_numpy_reference():
    aug = TorchAugmenter(ALL_ON)
    gen = torch.Generator().manual_seed(3)
    x = torch.randn(64, 6, 50, generator=gen)
    params = aug.sample_params(64, 6, 50, gen, "cpu")
    for name in ALL_ON.active():  # every op applied to some samples and skipped on others
        assert 0 < int(params[name]["apply"].sum()) < 64, name
    y = aug.apply(x, params)
    ref = numpy_reference(x.numpy(), params, ALL_ON)
    np.testing.assert_allclose(y.numpy(), ref, rtol=0, atol=1e-5)


def test_param_shapes_and_ranges():
    aug = TorchAugmenter(ALL_ON)
    params = aug.sample_params(32, 6, 40, torch.Generator().manual_seed(0))
    assert params["jitter"]["noise"].shape == (32, 6, 40)
    assert params["scaling"]["factor"].shape == (32, 6)
    assert params["time_warp"]["speed"].shape == (32, 5)
    speed = params["time_warp"]["speed"]
    assert bool(((speed >= 0.6) & (speed <= 1.4)).all())
    assert params["rotation"]["matrix"].shape == (32, 3, 3)
    assert params["magnitude_warp"]["knot_value"].shape == (32, 6, 5)
    start, length = params["time_mask"]["start"], params["time_mask"]["length"]
    assert bool(((length >= 1) & (length <= 12) & (start >= 0) & (start + length <= 40)).all())
    order = params["permutation"]["order"]
    assert torch.equal(order.sort(dim=1).values, torch.arange(5).expand(32, 5))
    assert "permutation" not in TorchAugmenter(AugmentConfig()).sample_params(
        2, 6, 40, torch.Generator()
    )


@pytest.mark.parametrize("uniform_so3", [False, True])
def test_rotation_is_proper_and_preserves_triplet_norms(uniform_so3):
    cfg = AugmentConfig.disabled(
        rotation={
            "p": 1.0,
            "max_angle_deg": 60.0,
            "uniform_so3": uniform_so3,
            "triplets": [[0, 1, 2], [3, 4, 5]],
        }
    )
    aug = TorchAugmenter(cfg)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(128, 7, 30, generator=gen, dtype=torch.float64)
    params = aug.sample_params(128, 7, 30, gen)
    r = params["rotation"]["matrix"].double()
    torch.testing.assert_close(r @ r.transpose(1, 2), torch.eye(3).expand(128, 3, 3).double())
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(128, dtype=torch.float64))
    angle = torch.arccos(((r.diagonal(dim1=1, dim2=2).sum(-1) - 1) / 2).clamp(-1, 1))
    if not uniform_so3:
        assert float(angle.max()) <= math.radians(60.0) + 1e-5
    else:
        assert float(angle.max()) > math.radians(120.0)  # full SO(3) reaches large angles
    y = aug.apply(x, params)
    for trip in ((0, 1, 2), (3, 4, 5)):
        torch.testing.assert_close(y[:, trip].norm(dim=1), x[:, trip].norm(dim=1))
    torch.testing.assert_close(y[:, 6], x[:, 6])  # channel outside the triplets untouched
    # acc and gyro triplets turned by the same matrix
    torch.testing.assert_close(y[:, 0:3], torch.einsum("bij,bjt->bit", r, x[:, 0:3]))
    torch.testing.assert_close(y[:, 3:6], torch.einsum("bij,bjt->bit", r, x[:, 3:6]))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_shape_dtype_and_seeded_repeat(dtype):
    aug = build_augmenter(ALL_ON, "torch")
    x = torch.randn(16, 6, 64, dtype=dtype)
    y1 = aug(x, torch.Generator().manual_seed(5))
    y2 = aug(x, torch.Generator().manual_seed(5))
    y3 = aug(x, torch.Generator().manual_seed(6))
    assert y1.shape == x.shape and y1.dtype == dtype and y1.device == x.device
    assert torch.equal(y1, y2)
    assert not torch.equal(y1, y3)
    assert not torch.equal(y1, x)


def test_time_warp_is_monotone_and_fixes_ends():
    cfg = AugmentConfig.disabled(time_warp={"p": 1.0, "max_speed_change": 0.9})
    ramp = torch.arange(100, dtype=torch.float64).expand(50, 1, 100)
    y = build_augmenter(cfg)(ramp, torch.Generator().manual_seed(0))[:, 0]  # (B, T) = tau
    assert bool((y.diff(dim=1) > 0).all())
    torch.testing.assert_close(y[:, 0], torch.zeros(50, dtype=torch.float64))
    torch.testing.assert_close(y[:, -1], torch.full((50,), 99.0, dtype=torch.float64))
    assert float((y - ramp[:, 0]).abs().max()) > 2.0  # it does warp


def test_disabled_config_is_identity():
    x = torch.randn(4, 6, 20)
    assert torch.equal(build_augmenter(AugmentConfig.disabled())(x, torch.Generator()), x)


def test_input_errors():
    aug = TorchAugmenter(AugmentConfig(rotation={"triplets": [[0, 1, 2], [3, 4, 5]]}))
    gen = torch.Generator()
    with pytest.raises(ValueError, match=r"3-D.*shape \(6, 20\)"):
        aug(torch.randn(6, 20), gen)
    with pytest.raises(ValueError, match="at least 2 time points"):
        aug(torch.randn(2, 6, 1), gen)
    with pytest.raises(ValueError, match=r"need 6 channels, input has 3"):
        aug(torch.randn(2, 3, 20), gen)
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        aug(np.zeros((2, 6, 20)), gen)
    with pytest.raises(TypeError, match="floating-point"):
        aug(torch.zeros(2, 6, 20, dtype=torch.long), gen)
    with pytest.raises(TypeError, match=r"torch\.Generator"):
        aug(torch.randn(2, 6, 20), np.random.default_rng(0))
    with pytest.raises(TypeError, match="AugmentConfig"):
        TorchAugmenter({"jitter": {}})
    perm = TorchAugmenter(AugmentConfig.disabled(permutation={"p": 1.0, "n_segments": 8}))
    with pytest.raises(ValueError, match="n_segments=8 exceeds the 5 time points"):
        perm(torch.randn(2, 6, 5), gen)


@pytest.mark.requires_cuda
def test_cuda_matches_cpu():
    aug = TorchAugmenter(ALL_ON)
    x = torch.randn(32, 6, 64)
    y_cpu = aug(x, torch.Generator().manual_seed(2))
    y_cuda = aug(x.cuda(), torch.Generator().manual_seed(2))  # CPU generator, CUDA data
    assert y_cuda.device.type == "cuda" and y_cuda.dtype == x.dtype
    torch.testing.assert_close(y_cuda.cpu(), y_cpu, rtol=1e-5, atol=1e-5)
    y_gen = aug(x.cuda(), torch.Generator(device="cuda").manual_seed(2))
    assert y_gen.shape == x.shape and y_gen.device.type == "cuda"


def test_time_mask_zero_fill_and_permutation_of_ramp():
    cfg = AugmentConfig.disabled(
        time_mask={"p": 1.0, "max_fraction": 0.25}, permutation={"p": 1.0, "n_segments": 3}
    )
    ramp = torch.arange(1.0, 13.0).expand(20, 2, 12).clone()  # values 1..12, never 0
    aug = TorchAugmenter(cfg)
    params = aug.sample_params(20, 2, 12, torch.Generator().manual_seed(0))
    y = aug.apply(ramp, params)
    zeros = y[:, 0] == 0
    torch.testing.assert_close(zeros.sum(dim=1), params["time_mask"]["length"])
    kept = torch.where(zeros, torch.zeros_like(y[:, 0]), y[:, 0])
    order = params["permutation"]["order"]
    expected = torch.stack([torch.cat([ramp[0, 0, 4 * j : 4 * j + 4] for j in o]) for o in order])
    expected = torch.where(zeros, torch.zeros_like(expected), expected)
    torch.testing.assert_close(kept, expected)
