from __future__ import annotations

import json

import numpy as np
import pytest

from swav_ts.data import ChannelNormalizer, channel_stats
from swav_ts.data.normalize import StatsAccumulator


def test_fit_transform_nan_robust_and_json_roundtrip():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[[3.0], [-1.0], [0.0]], scale=[[2.0], [0.5], [1.0]], size=(40, 3, 50))
    X[:, 2, :] = 4.0  # constant channel: scale 1, reported
    X[0, 0, :5] = np.nan
    norm = ChannelNormalizer().fit(X)
    assert norm.stats_.constant == ["ch2"] and norm.std_[2] == 1.0 and norm.mean_[2] == 4.0
    Z = norm.transform(X)
    assert Z.dtype == np.float32 and np.isnan(Z[0, 0, :5]).all()
    np.testing.assert_allclose(np.nanmean(Z[:, :2], axis=(0, 2)), 0, atol=1e-5)
    np.testing.assert_allclose(np.nanstd(Z[:, :2], axis=(0, 2)), 1, atol=1e-4)
    np.testing.assert_array_equal(Z[:, 2], 0.0)
    state = json.loads(json.dumps(norm.state_dict()))
    assert isinstance(state["mean"], list) and isinstance(state["std"][0], float)
    back = ChannelNormalizer.from_state_dict(state)
    np.testing.assert_array_equal(back.transform(X[1]), norm.transform(X[1]))
    np.testing.assert_allclose(back.inverse_transform(Z[3:4]), X[3:4], rtol=1e-5, atol=1e-5)


def test_one_absurd_value_cannot_blank_a_channel():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(20, 2, 100))
    clean = channel_stats(X, ["acc_x", "acc_y"])
    X[3, 1, 7] = 1e30  # a logging glitch
    stats = channel_stats(X, ["acc_x", "acc_y"])
    np.testing.assert_allclose(stats.std[1], clean.std[1], rtol=1e-3)  # not 1e27
    assert stats.n_outliers.tolist() == [0, 1]
    assert stats.outliers == [{"recording_id": "", "channel": "acc_y", "value": 1e30}]
    assert "acc_y" in stats.report()[0] and "1e+30" in stats.report()[0]
    assert clean.report() == []  # clean data: plain mean and std, nothing reported


def test_streamed_statistics_do_not_depend_on_chunking():
    rng = np.random.default_rng(2)
    x = rng.standard_t(df=3, size=(4, 30_000)) * [[1.0], [5.0], [0.1], [2.0]] + 3.0
    whole = StatsAccumulator(sample_size=1000)
    whole.update(x)
    whole.update_moments(x)
    parts = StatsAccumulator(sample_size=1000)
    for a in range(0, x.shape[1], 777):
        parts.update(x[:, a : a + 777])
    for a in range(0, x.shape[1], 1234):
        parts.update_moments(x[:, a : a + 1234])
    s1, s2 = whole.finish(list("abcd")), parts.finish(list("abcd"))
    np.testing.assert_allclose(s1.mean, s2.mean, rtol=1e-12)
    np.testing.assert_allclose(s1.std, s2.std, rtol=1e-12)
    inside = s1.n_outliers == 0
    np.testing.assert_allclose(s1.mean[inside], x[inside].mean(axis=1), rtol=1e-12)


def test_normalizer_errors():
    with pytest.raises(ValueError, match="not fitted"):
        ChannelNormalizer().transform(np.zeros((1, 2, 3)))
    with pytest.raises(ValueError, match=r"expects \(n, C, T\)"):
        ChannelNormalizer().fit(np.zeros((2, 3)))
    X = np.zeros((2, 2, 3))
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match=r"channel\(s\) \['ch1'\] hold no finite value"):
        ChannelNormalizer().fit(X)
    norm = ChannelNormalizer().fit(np.ones((2, 2, 3)))
    with pytest.raises(ValueError, match=r"expected \(n, 2, T\)"):
        norm.transform(np.zeros((1, 3, 3)))
    with pytest.raises(ValueError, match=r"missing keys \['std'\]"):
        ChannelNormalizer.from_state_dict({"mean": [0.0]})
    with pytest.raises(ValueError, match="std > 0"):
        ChannelNormalizer.from_state_dict({"mean": [0.0], "std": [0.0]})
