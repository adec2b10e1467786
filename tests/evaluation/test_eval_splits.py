from __future__ import annotations

import numpy as np
import pytest

from swav_ts.evaluation.splits import subject_kfold, subject_kfold_linear_probe


def test_subject_kfold_separates_subjects(hapt_subjects):
    groups = hapt_subjects["subject"]
    folds = subject_kfold(groups, n_splits=3)
    assert len(folds) == 3
    seen_test = []
    for tr, te in folds:
        assert set(groups[tr]).isdisjoint(groups[te])
        assert tr.shape[0] + te.shape[0] == groups.shape[0]
        seen_test.append(te)
    np.testing.assert_array_equal(np.sort(np.concatenate(seen_test)), np.arange(groups.shape[0]))


def test_subject_kfold_rejects_too_many_splits():
    with pytest.raises(ValueError, match=r"number of subjects=2\], got 3"):
        subject_kfold(np.array([1, 1, 2, 2]), n_splits=3)


def test_subject_kfold_linear_probe_on_real_windows(hapt_subjects, stats):
    emb = stats(hapt_subjects["X"])
    res = subject_kfold_linear_probe(emb, hapt_subjects["y"], hapt_subjects["subject"], n_splits=3)
    folds = res["folds"]
    assert len(folds) == 3
    assert sorted(s for f in folds["test_subjects"] for s in f) == [1, 3, 5, 6, 7, 8]
    assert folds["n"].sum() == emb.shape[0]
    assert res["accuracy_mean"] == pytest.approx(folds["accuracy"].mean())
    assert res["accuracy_mean"] > 0.5  # chance 1/6
    with pytest.raises(ValueError, match="groups has 3 entries"):
        subject_kfold_linear_probe(emb, hapt_subjects["y"], np.array([1, 2, 3]))
