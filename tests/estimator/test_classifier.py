"""TimeSeriesSwAVClassifier: fine-tuning, the sklearn contract, persistence, input errors."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from swav_ts import TimeSeriesSwAV
from swav_ts.classifier import TimeSeriesSwAVClassifier
from tests.fixtures import FAST_SWAV

FAST = FAST_SWAV
NAMES = np.array(["walk", "up", "down", "sit", "stand", "lay"])


@pytest.fixture(scope="module")
def data(hapt_tiny):
    d = hapt_tiny
    return d["X_train"], NAMES[d["y_train"]], d["X_test"], NAMES[d["y_test"]]


@pytest.fixture(scope="module")
def embedder(data):
    return TimeSeriesSwAV(random_state=0, **FAST).fit(data[0])


@pytest.fixture(scope="module")
def fitted(data, embedder):
    return TimeSeriesSwAVClassifier(embedder, max_epochs=40, min_per_class=0, random_state=0).fit(
        data[0], data[1]
    )


def test_fine_tuning_learns_and_predicts_labels(data, embedder, fitted):
    X, y, Xte, yte = data
    assert list(fitted.classes_) == sorted(NAMES)
    assert fitted.score(X, y) > 0.9  # fits its training windows
    # an unseen subject: above the frozen encoder's nearest-prototype guess and chance (1/6)
    assert fitted.score(Xte, yte) > 0.4
    proba = fitted.predict_proba(Xte)
    assert proba.shape == (60, 6)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(fitted.predict(Xte), fitted.classes_[proba.argmax(axis=1)])
    assert fitted.history_ and any("val_loss" in h for h in fitted.history_)
    assert 0 <= fitted.best_epoch_ <= len(fitted.history_)
    # the pretrained estimator is not modified
    assert embedder.transform(Xte).shape == (60, 16)


def test_fit_is_deterministic_and_seed_dependent(data, embedder):
    X, y, Xte, _ = data
    a = TimeSeriesSwAVClassifier(embedder, max_epochs=3, min_per_class=0, random_state=1).fit(X, y)
    b = TimeSeriesSwAVClassifier(embedder, max_epochs=3, min_per_class=0, random_state=1).fit(X, y)
    c = TimeSeriesSwAVClassifier(embedder, max_epochs=3, min_per_class=0, random_state=2).fit(X, y)
    np.testing.assert_array_equal(a.decision_function(Xte), b.decision_function(Xte))
    assert not np.array_equal(a.decision_function(Xte), c.decision_function(Xte))


def test_save_load_round_trip(tmp_path, data, fitted):
    Xte = data[2]
    path = fitted.save(tmp_path / "clf")
    assert path.suffix == ".safetensors"
    loaded = TimeSeriesSwAVClassifier.load(path)
    np.testing.assert_array_equal(loaded.decision_function(Xte), fitted.decision_function(Xte))
    np.testing.assert_array_equal(loaded.classes_, fitted.classes_)
    assert loaded.contract_.to_dict() == fitted.contract_.to_dict()
    assert loaded.get_params(deep=False) == {**fitted.get_params(deep=False), "pretrained": None}


def test_load_refuses_an_embedder_file(tmp_path, embedder):
    path = embedder.save(tmp_path / "emb.safetensors")
    with pytest.raises(ValueError, match="load it with TimeSeriesSwAV.load"):
        TimeSeriesSwAVClassifier.load(path)


def test_starts_from_a_saved_model_or_pretrains_itself(tmp_path, data, embedder):
    X, y, Xte, _ = data
    path = embedder.save(tmp_path / "emb.safetensors")
    kw = dict(max_epochs=2, min_per_class=0, random_state=0)
    from_file = TimeSeriesSwAVClassifier(str(path), **kw).fit(X, y)
    from_est = TimeSeriesSwAVClassifier(embedder, **kw).fit(X, y)
    np.testing.assert_array_equal(from_file.decision_function(Xte), from_est.decision_function(Xte))
    # an unfitted embedder is pretrained on X plus the unlabelled windows
    own = TimeSeriesSwAVClassifier(
        TimeSeriesSwAV(random_state=0, **FAST), max_epochs=2, random_state=0
    ).fit(X, y, X_unlabelled=Xte)
    assert own.predict(Xte).shape == (60,)
    with pytest.raises(ValueError, match="already fitted"):
        TimeSeriesSwAVClassifier(embedder).fit(X, y, X_unlabelled=Xte)


def test_clone_gives_an_unfitted_classifier_whose_pretraining_is_refitted(data, fitted):
    cloned = clone(fitted)
    assert "model_" not in cloned.__dict__
    assert isinstance(cloned.pretrained, TimeSeriesSwAV)
    assert "model_" not in cloned.pretrained.__dict__  # cross-validation pretrains per fold


def test_sklearn_estimator_checks():
    # sklearn's generic checks feed 2-D tabular data; the ones below apply to any estimator
    # (the classifier's contract is 3-D (n_cases, n_channels, n_timepoints) input).
    est = TimeSeriesSwAVClassifier(max_epochs=1)
    check_parameters_default_constructible("TimeSeriesSwAVClassifier", est)
    check_no_attributes_set_in_init("TimeSeriesSwAVClassifier", est)
    check_get_params_invariance("TimeSeriesSwAVClassifier", est)
    check_set_params("TimeSeriesSwAVClassifier", est)


def test_input_errors(data, embedder, fitted):
    X, y, Xte, yte = data
    with pytest.raises(NotFittedError):
        TimeSeriesSwAVClassifier(embedder).predict(Xte)
    with pytest.raises(ValueError, match="60 cases but y has 59 labels"):
        TimeSeriesSwAVClassifier(embedder).fit(X, y[:59])
    with pytest.raises(ValueError, match="at least 2 classes"):
        TimeSeriesSwAVClassifier(embedder).fit(X[:10], y[:10])
    with pytest.raises(ValueError, match=r"never seen in fit: \['jump'\]"):
        fitted.score(Xte, np.where(yte == "walk", "jump", yte))
    with pytest.raises(ValueError, match="channels"):
        fitted.predict(Xte[:, :3])
    with pytest.raises(ValueError, match="n_timepoints"):
        fitted.predict(Xte[:, :, 0])
    with pytest.raises(ValueError, match="NaN"):
        fitted.predict(np.where(np.arange(128) == 5, np.nan, Xte).astype(np.float32))
    with pytest.raises(TypeError, match="pretrained must be"):
        TimeSeriesSwAVClassifier(pretrained=3).fit(X, y)


@pytest.mark.parametrize("fmt, name", [("onnx", "clf.onnx"), ("torchscript", "clf.pt")])
def test_export_carries_logits_probabilities_and_the_contract(tmp_path, data, fitted, fmt, name):
    pytest.importorskip("onnxruntime") if fmt == "onnx" else None
    from swav_ts.export import load_exported

    Xte = data[2]
    path = fitted.export(tmp_path / name, format=fmt)
    exported = load_exported(path)
    assert exported.output_names == ["logits", "probabilities"]
    assert exported.contract.to_dict() == fitted.contract_.to_dict()
    out = exported.run(Xte)
    np.testing.assert_allclose(out["logits"], fitted.decision_function(Xte), atol=1e-4)
    np.testing.assert_allclose(out["probabilities"], fitted.predict_proba(Xte), atol=1e-5)
    with pytest.raises(ValueError, match="channels"):
        exported(Xte[:, :3])  # the input contract travels with the file


def test_group_holdout_keeps_groups_whole():
    from swav_ts.classifier import _group_holdout

    groups = np.repeat(np.arange(10), np.arange(1, 11))  # 10 groups of 1..10 cases: 55
    for seed in range(5):
        train, val = _group_holdout(groups, 0.2, seed)
        assert np.intersect1d(groups[train], groups[val]).size == 0  # no group on both sides
        assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(55))
        assert val.size >= 0.2 * 55 and np.unique(groups[train]).size >= 1
    train, val = _group_holdout(np.zeros(8), 0.5, 0)  # one group: no slice
    assert val is None and train.size == 8


def test_fit_with_groups(data, embedder, hapt_tiny):
    X, y, _, _ = data
    subjects = hapt_tiny["subject_train"]  # two subjects: one is held out
    clf = TimeSeriesSwAVClassifier(
        embedder, max_epochs=2, min_per_class=0, random_state=0, validation_fraction=0.3
    )
    clf.fit(X, y, groups=subjects)
    assert any("val_loss" in h for h in clf.history_)
    with pytest.raises(ValueError, match=r"one entry per case, shape \(60,\)"):
        clf.fit(X, y, groups=subjects[:10])


def test_few_labels_per_class_give_the_linear_probe(data, embedder):
    """Below min_per_class the encoder is not fine-tuned: the classifier is the probe of
    swav_ts.evaluation.linear_probe (logistic regression on standardised features)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y, Xte, _ = data  # 10 labelled windows per class
    clf = TimeSeriesSwAVClassifier(embedder, random_state=0).fit(X, y)
    assert clf.history_ == [] and clf.best_epoch_ == 0
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000, random_state=0))
    probe.fit(embedder.transform(X), y)
    agree = np.mean(clf.predict(Xte) == probe.predict(embedder.transform(Xte)))
    assert agree > 0.95, agree  # the same model up to float32 rounding of the folded scaler
    np.testing.assert_allclose(
        clf.predict_proba(Xte), probe.predict_proba(embedder.transform(Xte)), atol=1e-3
    )
