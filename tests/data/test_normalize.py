from __future__ import annotations

import json

import numpy as np
import pytest

from swav_ts.data import ChannelNormalizer


def test_fit_transform_nan_robust_and_json_roundtrip():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[[3.0], [-1.0], [0.0]], scale=[[2.0], [0.5], [1.0]], size=(40, 3, 50))
    X[:, 2, :] = 4.0  # constant channel -> std floor
    X[0, 0, :5] = np.nan
    norm = ChannelNormalizer(std_floor=1e-3).fit(X)
    assert norm.n_floored_ == 1 and norm.std_[2] == pytest.approx(1e-3)
    Z = norm.transform(X)
    assert Z.dtype == np.float32 and np.isnan(Z[0, 0, :5]).all()
    np.testing.assert_allclose(np.nanmean(Z[:, :2], axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(np.nanstd(Z[:, :2], axis=(0, 2)), 1, atol=1e-4)
    state = json.loads(json.dumps(norm.state_dict()))
    assert isinstance(state["mean"], list) and isinstance(state["std"][0], float)
    back = ChannelNormalizer.from_state_dict(state)
    np.testing.assert_array_equal(back.transform(X[1]), norm.transform(X[1]))
    np.testing.assert_allclose(back.inverse_transform(Z[3:4]), X[3:4], rtol=1e-5, atol=1e-5)


def test_normalizer_errors():
    with pytest.raises(ValueError, match="not fitted"):
        ChannelNormalizer().transform(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=r"expects \(n, C, T\)"):
        ChannelNormalizer().fit(np.zeros((2, 3)))
    X = np.zeros((2, 2, 3))
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match="channel 1 has no finite values"):
        ChannelNormalizer().fit(X)
    norm = ChannelNormalizer().fit(np.ones((2, 2, 3)))
    with pytest.raises(ValueError, match=r"expected \(n, 2, T\)"):
        norm.transform(np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match=r"missing keys \['std_floor'\]"):
        ChannelNormalizer.from_state_dict({"mean": [0.0], "std": [1.0]})
    with pytest.raises(ValueError, match="std > 0"):
        ChannelNormalizer.from_state_dict({"mean": [0.0], "std": [0.0], "std_floor": 1e-6})
