"""The channel-independent cross-data-set encoder (swav_ts.crossdata)."""

import numpy as np
import pytest

from swav_ts.crossdata import (
    ChannelIndependentSwAV,
    channel_correlations,
    check_triplets,
    random_rotations,
    read_out,
    resize_cases,
    stack_cases,
    univariate_corpus,
    with_magnitudes,
)
from tests.fixtures import FAST_SWAV

TINY = {**FAST_SWAV, "global_length": 32, "local_length": 16}


def _sources(seed=0):
    rng = np.random.default_rng(seed)
    return {
        "pen": rng.normal(size=(30, 2, 8)),  # 2 channels, 8 points
        "imu": rng.normal(size=(20, 6, 100)) * 9.81 + 3.0,  # other units and offset
        "ema": rng.normal(size=(10, 9, 144)),
    }


def test_resize_keeps_the_ends_and_interpolates_linearly():
    x = np.array([[[0.0, 10.0, 20.0, 30.0]]], dtype=np.float32)  # (1, 1, 4), slope 10
    y = resize_cases(x, 7)
    np.testing.assert_allclose(y[0, 0], np.linspace(0.0, 30.0, 7), atol=1e-5)
    np.testing.assert_allclose(resize_cases(y, 4), x, atol=1e-5)
    with pytest.raises(ValueError, match="length must be >= 2"):
        resize_cases(x, 1)


@pytest.mark.parametrize(
    "weighting, expected",
    [
        ("proportional", {"pen": 60, "imu": 120, "ema": 90}),  # series held: 60, 120, 90
        ("equal", {"pen": 90, "imu": 90, "ema": 90}),
    ],
)
def test_corpus_draws_sources_by_the_stated_weighting(weighting, expected):
    corpus, counts = univariate_corpus(_sources(), length=32, n_cases=270, weighting=weighting)
    assert corpus.shape == (270, 1, 32) and corpus.dtype == np.float32
    assert {k: v["drawn"] for k, v in counts.items()} == expected
    assert {k: v["held"] for k, v in counts.items()} == {"pen": 60, "imu": 120, "ema": 90}
    # every series normalised on its own: zero mean, unit std, whatever the units
    np.testing.assert_allclose(corpus.mean(axis=-1), 0.0, atol=1e-4)
    np.testing.assert_allclose(corpus.std(axis=-1), 1.0, atol=1e-3)


def test_sqrt_weighting_and_exact_total():
    _, counts = univariate_corpus(_sources(), length=16, n_cases=101, weighting="sqrt")
    drawn = {k: v["drawn"] for k, v in counts.items()}
    assert sum(drawn.values()) == 101
    share = np.sqrt([60, 120, 90]) / np.sqrt([60, 120, 90]).sum() * 101
    np.testing.assert_allclose([drawn["pen"], drawn["imu"], drawn["ema"]], share, atol=1.0)
    with pytest.raises(ValueError, match="weighting must be one of"):
        univariate_corpus(_sources(), weighting="uniform")


def test_one_model_embeds_any_channel_count_and_a_case_alone_as_in_a_batch(tmp_path):
    sources = _sources()
    model = ChannelIndependentSwAV(length=32, n_cases=64, swav_params=TINY).fit(sources)
    D = model.encoder_.n_features_out_
    rng = np.random.default_rng(1)
    for C, T in ((1, 50), (2, 8), (3, 128), (6, 100), (9, 144)):
        X = rng.normal(size=(5, C, T)).astype(np.float32)
        Z = model.transform(X)
        assert Z.shape == (5, C * (D + 2)) and np.isfinite(Z).all()
        np.testing.assert_allclose(model.transform(X[2:3]), Z[2:3], rtol=1e-4, atol=1e-5)
    # the mean and log std of each channel are kept as its last two features
    X = rng.normal(size=(4, 3, 40)).astype(np.float32) * 2.0 + 5.0
    Z = model.transform(X).reshape(4, 3, D + 2)
    np.testing.assert_allclose(Z[..., -2], X.mean(-1), rtol=1e-4)
    np.testing.assert_allclose(Z[..., -1], np.log(X.std(-1)), rtol=1e-4, atol=1e-5)
    # round trip through the univariate encoder's file
    again = ChannelIndependentSwAV.load(model.save(tmp_path / "ci.safetensors"))
    assert again.length == 32
    np.testing.assert_allclose(again.transform(X), model.transform(X), rtol=1e-5, atol=1e-6)


def test_pooled_readouts_and_their_round_trip(tmp_path):
    model = ChannelIndependentSwAV(length=32, n_cases=64, readout="mean-max", swav_params=TINY)
    model.fit(_sources())
    D = model.encoder_.n_features_out_
    X = np.random.default_rng(2).normal(size=(4, 3, 40)).astype(np.float32)
    F = model.channel_features(X)  # (4, 3, D + 2)
    Z = model.transform(X)
    assert Z.shape == (4, 2 * D + 2 * 3)
    np.testing.assert_allclose(Z[:, :D], F[..., :D].mean(axis=1), rtol=1e-6)
    np.testing.assert_allclose(Z[:, D : 2 * D], F[..., :D].max(axis=1), rtol=1e-6)
    np.testing.assert_allclose(Z[:, 2 * D :], F[..., D:].reshape(4, 6), rtol=1e-6)
    assert read_out(F, "mean").shape == (4, D + 6)
    assert read_out(F, "concat").shape == (4, 3 * (D + 2))
    # as wide for 9 channels as for 2, but for each channel's mean and log std
    assert model.transform(np.ones((2, 9, 16)) + np.arange(16)).shape == (2, 2 * D + 18)
    again = ChannelIndependentSwAV.load(model.save(tmp_path / "pooled"))
    assert again.readout == "mean-max" and again.n_cases == 64
    assert again.corpus_counts_ == model.corpus_counts_
    np.testing.assert_allclose(again.transform(X), Z, rtol=1e-5, atol=1e-6)
    # R0 plus the correlation of each channel pair, checked against numpy's
    Zc = read_out(F, "concat-corr", X)
    assert Zc.shape == (4, 3 * (D + 2) + 3)
    np.testing.assert_allclose(Zc[:, : 3 * (D + 2)], read_out(F, "concat"))
    want = np.array([np.corrcoef(x)[np.triu_indices(3, k=1)] for x in X])
    np.testing.assert_allclose(Zc[:, 3 * (D + 2) :], want, atol=1e-5)
    assert channel_correlations(np.ones((1, 2, 8))).tolist() == [[0.0]]  # constant channel
    with pytest.raises(ValueError, match="needs the"):
        read_out(F, "concat-corr")
    with pytest.raises(ValueError, match="readout must be one of"):
        read_out(F, "sum")
    with pytest.raises(ValueError, match="readout must be one of"):
        ChannelIndependentSwAV(readout="sum").fit(_sources())


def test_cases_of_one_source_are_stacked_or_resized():
    same = [np.ones((2, 8)), np.zeros((2, 8))]
    assert stack_cases(same, ["0", "1"], 16, "pen").shape == (2, 2, 8)  # kept as they are
    mixed = [np.arange(8.0).reshape(1, 8), np.arange(4.0).reshape(1, 4)]
    out = stack_cases(mixed, ["0", "1"], 16, "pen")
    assert out.shape == (2, 1, 16)
    np.testing.assert_allclose(out[1, 0], np.linspace(0, 3, 16), atol=1e-6)
    with pytest.raises(ValueError, match="source 'pen': case b has 3 channels, the first has 2"):
        stack_cases([np.ones((2, 8)), np.ones((3, 8))], ["a", "b"], 16, "pen")
    with pytest.raises(ValueError, match="source 'pen' gave no case"):
        stack_cases([], [], 16, "pen")


def test_a_memory_mapped_source_gives_the_same_corpus_and_is_read_only_where_drawn(tmp_path):
    from swav_ts.crossdata import read_source

    sources = _sources()
    X = sources.pop("imu").astype(np.float32)  # 20 cases x 6 channels: 120 series
    # imu comes first, so its 50 series are the seed's first draw: find a case never drawn
    drawn_cases = set(np.random.default_rng(0).choice(120, size=50, replace=False) // 6)
    spared = min(set(range(20)) - drawn_cases)
    X[spared, 2, 10] = np.nan
    np.save(tmp_path / "imu.npy", X)
    lazy = read_source(tmp_path / "imu.npy")
    assert isinstance(lazy, np.memmap)
    pick = dict(length=16, n_cases=150, weighting="equal")  # 50 series from each source
    want, counts = univariate_corpus({"imu": np.nan_to_num(X), **sources}, **pick)
    got, _ = univariate_corpus({"imu": lazy, **sources}, **pick)
    assert counts["imu"] == {"held": 120, "drawn": 50}
    np.testing.assert_array_equal(got, want)  # the spared case's NaN is never read
    with pytest.raises(ValueError, match=rf"source 'imu': non-finite value at case {spared}, ch"):
        univariate_corpus({"imu": lazy, **sources}, length=16, n_cases=600, weighting="equal")


def test_bad_input_is_named():
    model = ChannelIndependentSwAV()
    with pytest.raises(ValueError, match="source 'pen': expected an array"):
        model.fit({"pen": np.zeros((3, 8))})
    bad = np.zeros((3, 2, 8))
    bad[1, 1, 4] = np.nan
    with pytest.raises(ValueError, match="source 'pen': non-finite value at case 1, channel 1"):
        model.fit({"pen": bad})
    with pytest.raises(ValueError, match="no sources"):
        model.fit({})
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        model.transform(np.zeros((1, 1, 8)))


def test_random_rotations_are_rotations_in_every_direction():
    Q = random_rotations(4000, np.random.default_rng(0))
    np.testing.assert_allclose(
        Q @ Q.transpose(0, 2, 1), np.broadcast_to(np.eye(3), Q.shape), atol=1e-12
    )
    np.testing.assert_allclose(np.linalg.det(Q), 1.0, atol=1e-12)  # no reflection
    # Haar: a fixed axis is sent anywhere on the sphere, so its images average to zero
    assert np.abs((Q @ np.array([0.0, 0.0, 1.0])).mean(axis=0)).max() < 0.05


def test_magnitudes_follow_the_sensor_not_its_orientation():
    X = np.random.default_rng(1).normal(size=(7, 6, 40)).astype(np.float32)
    plain = with_magnitudes(X, [(0, 1, 2), (3, 4, 5)])
    assert plain.shape == (7, 8, 40)
    np.testing.assert_array_equal(plain[:, :6], X)
    np.testing.assert_allclose(plain[:, 6], np.linalg.norm(X[:, :3], axis=1), rtol=1e-6)
    turned = with_magnitudes(X, [(0, 1, 2), (3, 4, 5)], np.random.default_rng(2))
    np.testing.assert_allclose(turned[:, 6:], plain[:, 6:], rtol=1e-5)  # the same magnitudes
    assert np.abs(turned[:, :3] - X[:, :3]).max() > 0.5  # the axes turned
    np.testing.assert_allclose(  # by one rotation per case: every instant keeps its length
        np.linalg.norm(turned[:, 3:6], axis=1), np.linalg.norm(X[:, 3:6], axis=1), rtol=1e-5
    )
    assert with_magnitudes(X, []) is X
    for bad in ([(0, 1)], [(0, 1, 1)], [(0, 1, 6)], [(0, 1, 2), (2, 3, 4)]):
        with pytest.raises(ValueError, match="triplets must be distinct"):
            check_triplets(bad, 6)


def test_triplets_add_magnitude_series_to_the_corpus_and_a_row_to_the_embedding(tmp_path):
    sources = _sources()
    plain, counts = univariate_corpus(sources, length=32, n_cases=64)
    again, _ = univariate_corpus(sources, length=32, n_cases=64, triplets={})
    np.testing.assert_array_equal(plain, again)  # no triplets: the corpus R0 always drew
    trip = {"imu": [(0, 1, 2), (3, 4, 5)]}
    _, with_trip = univariate_corpus(sources, length=32, n_cases=64, triplets=trip)
    assert with_trip["imu"]["held"] == 20 * 8 and counts["imu"]["held"] == 20 * 6
    # the sensor is turned before its axes are drawn: a motion along x alone shows on y and z
    flat = np.zeros((50, 3, 32), dtype=np.float32)
    flat[:, 0] = np.sin(np.linspace(0, 6, 32))
    drawn, _ = univariate_corpus({"x": flat}, length=32, n_cases=200)
    turned, _ = univariate_corpus({"x": flat}, length=32, n_cases=200, triplets={"x": [(0, 1, 2)]})
    assert (np.abs(drawn).max(axis=-1) == 0).mean() > 0.5  # y and z: zero series
    assert (np.abs(turned).max(axis=-1) == 0).mean() == 0
    with pytest.raises(ValueError, match=r"triplets name no source: \['watch'\]"):
        univariate_corpus(sources, triplets={"watch": [(0, 1, 2)]})
    model = ChannelIndependentSwAV(length=32, n_cases=64, swav_params=TINY)
    model.fit(sources, triplets=trip)
    D = model.encoder_.n_features_out_
    X = np.random.default_rng(3).normal(size=(4, 6, 50)).astype(np.float32)
    F = model.channel_features(X, triplets=[(0, 1, 2)])
    assert F.shape == (4, 7, D + 2)
    np.testing.assert_allclose(F[:, :6], model.channel_features(X), rtol=1e-5, atol=1e-6)
    mag = np.linalg.norm(X[:, :3], axis=1)
    np.testing.assert_allclose(F[:, 6, -2], mag.mean(-1), rtol=1e-4)  # the magnitude's mean
    assert model.transform(X, triplets=[(0, 1, 2), (3, 4, 5)]).shape == (4, 8 * (D + 2))
    loaded = ChannelIndependentSwAV.load(model.save(tmp_path / "t"))
    assert loaded.triplets_ == {"imu": [[0, 1, 2], [3, 4, 5]]}
