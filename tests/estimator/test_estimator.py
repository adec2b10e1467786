import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from swav_ts import TimeSeriesSwAV
from swav_ts.core.config import ConfigError
from swav_ts.data import Recording
from tests.fixtures import FAST_SWAV

FAST = FAST_SWAV


@pytest.fixture(scope="module")
def tiny(hapt_tiny):
    d = hapt_tiny
    return d["X_train"], d["y_train"].astype(int), d["X_test"], d["y_test"].astype(int)


@pytest.fixture(scope="module")
def fitted(tiny):
    return TimeSeriesSwAV(random_state=0, **FAST).fit(tiny[0])


def test_fit_transform_predict_shapes(fitted, tiny):
    Z = fitted.transform(tiny[2])
    assert Z.shape == (60, 16) and Z.dtype == np.float32 and np.isfinite(Z).all()
    p = fitted.predict(tiny[2])
    assert p.shape == (60,) and p.min() >= 0 and p.max() < 6
    assert len(fitted.history_) == 1


def test_prototype_scores_are_cosines_to_prototypes(fitted, tiny):
    import torch

    S = fitted.prototype_scores(tiny[2])
    assert S.shape == (60, 6) and S.dtype == np.float32
    # independent recomputation: encoder -> projection head -> unit vector, unit prototypes
    x = torch.from_numpy(tiny[2].astype(np.float32))  # sensor units: the model standardises
    model = fitted.model_.eval()
    with torch.no_grad():
        z = model.projection_head(model.backbone(x)).numpy().astype(np.float64)
    W = model.prototypes.heads[0].weight.detach().numpy().astype(np.float64)
    z /= np.linalg.norm(z, axis=1, keepdims=True)
    W /= np.linalg.norm(W, axis=1, keepdims=True)
    np.testing.assert_allclose(S, z @ W.T, rtol=1e-4, atol=1e-5)
    assert np.abs(S).max() <= 1 + 1e-5
    np.testing.assert_array_equal(fitted.predict(tiny[2]), S.argmax(axis=1))


def test_same_random_state_same_embeddings(fitted, tiny):
    again = TimeSeriesSwAV(random_state=0, **FAST).fit(tiny[0])
    np.testing.assert_array_equal(again.transform(tiny[2]), fitted.transform(tiny[2]))
    other = TimeSeriesSwAV(random_state=1, **FAST).fit(tiny[0])
    assert not np.allclose(other.transform(tiny[2]), fitted.transform(tiny[2]))


def test_save_load_round_trip(fitted, tiny, tmp_path):
    path = fitted.save(tmp_path / "model")
    assert path.suffix == ".safetensors"
    loaded = TimeSeriesSwAV.load(path)
    np.testing.assert_array_equal(loaded.transform(tiny[2]), fitted.transform(tiny[2]))
    np.testing.assert_array_equal(loaded.predict(tiny[2]), fitted.predict(tiny[2]))
    assert loaded.get_params() == fitted.get_params()


def test_load_rejects_other_files(fitted, tmp_path):
    import torch
    from safetensors.torch import save_file

    (tmp_path / "junk.safetensors").write_bytes(b"not a model at all")
    with pytest.raises(ValueError, match="not a TimeSeriesSwAV model file"):
        TimeSeriesSwAV.load(tmp_path / "junk.safetensors")
    save_file({"w": torch.zeros(2)}, str(tmp_path / "other.safetensors"), metadata={"format": "x"})
    with pytest.raises(ValueError, match="holds format 'x'"):
        TimeSeriesSwAV.load(tmp_path / "other.safetensors")
    # a file of another version
    path = fitted.save(tmp_path / "m.safetensors")
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        meta, state = f.metadata(), {k: f.get_tensor(k) for k in f.keys()}
    save_file(
        state, str(tmp_path / "old.safetensors"), metadata={**meta, "swav_ts_version": "0.0.1"}
    )
    with pytest.raises(ValueError, match="written by swav_ts 0.0.1"):
        TimeSeriesSwAV.load(tmp_path / "old.safetensors")
    # another architecture under the same config
    state["backbone.blocks.0.0.weight"] = torch.zeros(3, 3, 3)
    save_file(state, str(tmp_path / "arch.safetensors"), metadata=meta)
    with pytest.raises(ValueError, match="does not match the architecture"):
        TimeSeriesSwAV.load(tmp_path / "arch.safetensors")
    with pytest.raises(FileNotFoundError):
        TimeSeriesSwAV.load(tmp_path / "missing.safetensors")


def test_bad_input(fitted, tiny):
    with pytest.raises(NotFittedError):
        TimeSeriesSwAV().transform(tiny[2])
    with pytest.raises(ValueError, match="X has 3 channels but the model was fitted on 6"):
        fitted.transform(tiny[2][:, :3])
    with pytest.raises(ValueError, match="shorter than the encoder's minimum of 8"):
        fitted.transform(tiny[2][:, :, :5])
    X = tiny[2].copy()
    X[0, 1, 5] = np.nan
    with pytest.raises(ValueError, match="1 NaN values"):
        fitted.transform(X)
    with pytest.raises(ValueError, match=r"must have shape \(n_cases, n_channels, n_timepoints\)"):
        fitted.transform(tiny[2][0])
    with pytest.raises(ValueError, match="unknown encoder 'nope'.*cnn3"):
        TimeSeriesSwAV(encoder="nope", epochs=1).fit(tiny[0])
    with pytest.raises(TypeError, match="real numbers"):
        fitted.transform(np.array([[["a"]]]))
    with pytest.raises(ValueError, match="fit got an empty list: pass Recordings"):
        TimeSeriesSwAV().fit([])


def test_impute(tiny):
    X = tiny[0].copy()
    X[:5, 2, 10:20] = np.nan
    est = TimeSeriesSwAV(random_state=0, impute=True, **FAST).fit(X)
    assert np.isfinite(est.transform(X)).all()


def test_sklearn_composition(tiny):
    X, y = tiny[0], tiny[1]
    est = TimeSeriesSwAV(random_state=0, **FAST)
    cloned = clone(est)
    assert cloned.get_params() == est.get_params()
    pipe = Pipeline([("swav", est), ("clf", LogisticRegression(max_iter=500))])
    scores = cross_val_score(pipe, X, y, cv=2)
    assert scores.shape == (2,) and np.all(scores > 0)
    grid = GridSearchCV(pipe, {"swav__n_prototypes": [4, 6]}, cv=2).fit(X, y)
    assert grid.best_params_["swav__n_prototypes"] in (4, 6)


def test_sklearn_estimator_checks():
    # sklearn's generic checks feed 2-D tabular data; the ones below apply to any estimator.
    # Exempt (and why): checks that fit on 2-D (n_samples, n_features) data, since this
    # estimator's contract is 3-D (n_cases, n_channels, n_timepoints) input.
    est = TimeSeriesSwAV(**FAST)
    check_parameters_default_constructible("TimeSeriesSwAV", est)
    check_no_attributes_set_in_init("TimeSeriesSwAV", est)
    check_get_params_invariance("TimeSeriesSwAV", est)
    check_set_params("TimeSeriesSwAV", est)


def test_does_not_overwrite_parameters(tiny):
    est = TimeSeriesSwAV(random_state=0, **FAST)
    before = est.get_params()
    est.fit(tiny[0])
    assert est.get_params() == before


def test_fit_on_recordings_and_embed_recording(tiny):
    rng = np.random.default_rng(0)
    recs = [
        Recording(
            signals=rng.standard_normal((6, 2000)).cumsum(1).astype(np.float32) / 20,
            labels=None,
            rate_hz=50.0,
            channel_names=[f"c{i}" for i in range(6)],
            start_time=10.0,
            recording_id=f"r{i}",
        )
        for i in range(2)
    ]
    est = TimeSeriesSwAV(random_state=0, context_length=128, **FAST).fit(recs)
    Z, t = est.embed_recording(recs[0], window_s=2.56, stride_s=1.0)
    n_expected = (2000 - 128) // 50 + 1
    assert Z.shape == (n_expected, 16) and t.shape == (n_expected,)
    assert t[0] == pytest.approx(10.0) and t[1] == pytest.approx(11.0)
    direct = est.transform(recs[0].signals[None, :, 50:178])
    np.testing.assert_allclose(Z[1], direct[0], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="longer than recording 'r0'"):
        est.embed_recording(recs[0], window_s=100.0, stride_s=1.0)


def test_builtin_defaults_adapt_to_small_data_but_explicit_values_are_kept():
    from swav_ts.timeseries.adapt import adapt_to_data

    def resolved(n_cases, n_timepoints, **params):
        cfg, explicit = TimeSeriesSwAV(random_state=0, **params).requested_config()
        return adapt_to_data(cfg, n_cases, n_timepoints, explicit)[0]

    small = resolved(40, 100)
    assert small.train.batch_size == 16  # a quarter of 40 cases, at least 16
    assert small.train.epochs * (40 // 16) >= 250  # at least 250 optimisation steps
    assert small.swav.n_prototypes == 16  # no more prototypes than the batch
    assert (small.crops.global_length, small.crops.local_length) == (80, 37)  # 0.8, 0.375
    chosen = resolved(40, 100, config={"small_data": {"min_steps": 100, "batch_fraction": 0.5}})
    assert chosen.train.batch_size == 20 and chosen.train.epochs == 50  # 2 steps per epoch
    crops = resolved(
        40, 100, config={"small_data": {"global_fraction": 0.8, "local_fraction": 0.3}}
    )
    assert (crops.crops.global_length, crops.crops.local_length) == (80, 30)
    with pytest.raises(ConfigError, match="small_data.local_fraction: must be in"):
        resolved(40, 100, config={"small_data": {"local_fraction": 0.0}})
    large = resolved(20000, 128)
    assert (large.train.batch_size, large.train.epochs, large.swav.n_prototypes) == (64, 6, 60)
    explicit = resolved(40, 100, epochs=3, batch_size=8, n_prototypes=6)
    assert (explicit.train.epochs, explicit.train.batch_size, explicit.swav.n_prototypes) == (
        3,
        8,
        6,
    )
    # what cannot work is lowered even when chosen (K above the 8 samples assigned at once)
    assert resolved(40, 100, batch_size=8, n_prototypes=30).swav.n_prototypes == 8


@pytest.mark.parametrize(
    "n_timepoints, explicit, stride",
    [
        (128, False, 4),  # local views of 48 steps: 12 positions at stride 4
        (100, False, 4),  # locals of 37 (at most 0.375 of the case): 9 positions
        (45, False, 2),  # locals of 16: 8 positions at stride 2
        (30, False, 1),  # locals of 11: stride 2 would leave 5
        (8, False, 1),
        (30, True, 4),  # chosen by the user: kept while it can work (11 >= 2 x 4)
        (12, True, 2),  # locals of 4: 2 x 4 steps would not fit, lowered to 2
    ],
)
def test_tcn_stride_fits_the_shortest_view(n_timepoints, explicit, stride):
    from swav_ts.timeseries.adapt import adapt_to_data

    kwargs = {"hidden": 8, "depth": 2, "output_dim": 8, "stride": 4}
    if explicit:
        cfg, keys = TimeSeriesSwAV(encoder="tcn", encoder_kwargs=kwargs).requested_config()
    else:  # as defaults: the config's own values, not chosen by the user
        cfg = TimeSeriesSwAV(config={"encoder": {"name": "tcn", "kwargs": kwargs}})
        cfg, keys = cfg.requested_config()[0], set()
    adapted, changes = adapt_to_data(cfg, 200, n_timepoints, keys)
    assert adapted.encoder.kwargs["stride"] == stride, changes
    assert adapted.encoder.kwargs["hidden"] == 8  # the other encoder settings are kept
    if stride != 4:
        assert any(c.startswith("encoder.kwargs:") for c in changes)


@pytest.mark.parametrize("n_timepoints, stride", [(128, 4), (45, 2), (30, 1), (8, 1)])
def test_default_encoder_stride_fits_without_kwargs(n_timepoints, stride):
    """The default encoder (fast_tcn) names no stride in its kwargs: its built-in stride of 4
    is fitted all the same, and an encoder without a stride argument (cnn3) gets none."""
    from swav_ts.timeseries.adapt import adapt_to_data

    cfg, keys = TimeSeriesSwAV().requested_config()
    assert cfg.encoder.name == "fast_tcn" and cfg.encoder.kwargs == {}
    adapted, changes = adapt_to_data(cfg, 200, n_timepoints, keys)
    assert adapted.encoder.kwargs.get("stride", 4) == stride, changes
    cfg, keys = TimeSeriesSwAV(encoder="cnn3").requested_config()
    assert "stride" not in adapt_to_data(cfg, 200, n_timepoints, keys)[0].encoder.kwargs


@pytest.mark.parametrize("n_channels", [1, 2, 3, 4, 6, 24])
def test_defaults_work_for_any_channel_count(n_channels, caplog):
    """The built-in defaults on unnamed data of any width: nothing is rotated (no sensor is
    declared), every default fits, the embeddings are finite."""
    rng = np.random.default_rng(n_channels)
    X = rng.standard_normal((40, n_channels, 64)).cumsum(-1).astype(np.float32)
    with caplog.at_level("INFO", logger="swav_ts.timeseries.views"):
        est = TimeSeriesSwAV(random_state=0, epochs=1, device="cpu").fit(X)
    Z = est.transform(X)
    assert Z.shape[0] == 40 and np.isfinite(Z).all()
    assert "nothing is rotated" in caplog.text


def test_a_named_accelerometer_is_rotated_by_default(caplog):
    from swav_ts.data import Recording

    rng = np.random.default_rng(0)
    sig = rng.standard_normal((3, 3000)).cumsum(-1).astype(np.float32) / 30
    rec = Recording(sig, None, 50.0, ["acc_x", "acc_y", "acc_z"], 0.0, "watch")
    with caplog.at_level("INFO", logger="swav_ts.timeseries.views"):
        TimeSeriesSwAV(random_state=0, epochs=1, device="cpu", context_length=128).fit(rec)
    assert "sensor triplets [('acc_x', 'acc_y', 'acc_z')] turn together" in caplog.text


def test_views_are_lengthened_to_the_encoders_minimum():
    """PenDigits-sized cases (8 steps): views of a fraction of a case would be shorter than
    cnn3's 8-step minimum; they are lengthened, and a case shorter than it is a clear error."""
    from swav_ts.timeseries.adapt import adapt_to_data

    cfg, keys = TimeSeriesSwAV(encoder="cnn3").requested_config()
    adapted, changes = adapt_to_data(cfg, 500, 8, keys)
    assert adapted.crops.local_length == 8, changes
    assert "crops.local_length: 3 -> 8 (the encoder needs 8 time points)" in changes
    X = np.random.default_rng(0).standard_normal((40, 2, 8)).astype(np.float32)
    small = {"widths": [4, 4, 4]}
    est = TimeSeriesSwAV(encoder="cnn3", encoder_kwargs=small, epochs=1, random_state=0).fit(X)
    assert est.transform(X).shape == (40, 4)
    # global views of 0.8 of a case (6 steps) are lengthened to the minimum the case allows
    assert adapted.crops.global_length == 8, changes
    assert "crops.global_length: 6 -> 8 (the encoder needs 8 time points)" in changes
    with pytest.raises(ValueError, match="needs at least 8 time points; the contexts are 6 long"):
        adapt_to_data(cfg, 500, 6, keys)
