from __future__ import annotations

import numpy as np
import pytest

import swav_ts
from swav_ts import datasets as ds


@pytest.mark.parametrize(("split", "n"), [("train", 7143), ("test", 2874)])
def test_load_hapt_matches_reference_windows(shared_data, split, n):
    ref = np.load(shared_data / "hapt" / "windows_w128.npz")
    X, y, subjects = ds.load_hapt(split)
    assert X.shape == (n, 6, 128) == ref[f"X_{split}"].shape
    assert X.dtype == np.float32 and y.dtype == np.int64 and y.min() == 0 and y.max() == 5
    np.testing.assert_array_equal(y, ref[f"y_{split}"])
    np.testing.assert_array_equal(subjects, ref[f"subject_{split}"])
    # float16 storage: relative error <= 2**-11 (plus a tiny absolute term near zero)
    refX = ref[f"X_{split}"]
    assert np.all(np.abs(X - refX) <= np.abs(refX) * 2.0**-11 + 1e-6)
    test_set = set(ds.HAPT_TEST_SUBJECTS)
    assert all((s in test_set) == (split == "test") for s in np.unique(subjects))
    assert list(ref["class_names"]) == list(ds.class_names)


def test_recordings_and_paths(tmp_path, monkeypatch):
    recs = ds.load_hapt_recordings("all")
    assert len(recs) == 61 and sum(r.n_samples for r in recs) == 1_122_772
    r = recs[0]
    assert r.recording_id == "s01_r0" and r.subject == 1 and r.rate_hz == 50.0
    assert r.channel_names[:3] == ["acc_x", "acc_y", "acc_z"] and r.signals.dtype == np.float32
    assert set(np.unique(r.labels)) <= {-1, *range(1, 13)}
    assert len(ds.load_hapt_recordings("test")) + len(ds.load_hapt_recordings("train")) == 61
    default = ds.hapt_path()
    assert default == Path_repo() / "datasets" / "hapt" / ds.HAPT_FILE
    monkeypatch.setenv("SWAV_TS_DATA", str(default.parents[1]))
    assert ds.hapt_path() == default
    monkeypatch.setenv("SWAV_TS_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="SWAV_TS_DATA"):
        ds.load_hapt("train")
    assert ds.hapt_path(default.parent) == default
    with pytest.raises(ValueError, match="split must be one of"):
        ds.load_hapt("all", data_dir=default.parent)


def Path_repo():
    from pathlib import Path

    return Path(swav_ts.__file__).resolve().parents[1]


def test_prepare_rebuilds_identical_content(shared_data, tmp_path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "hapt_prepare", Path_repo() / "datasets" / "hapt" / "prepare.py"
    )
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    out = tmp_path / "h.npz"
    prep.main(["--from-npz", str(shared_data / "hapt" / "recordings.npz"), "--out", str(out)])
    new, shipped = np.load(out), np.load(ds.hapt_path())
    assert sorted(new.files) == sorted(shipped.files)
    for k in ("signals", "labels", "lengths", "recording_ids"):
        np.testing.assert_array_equal(new[k], shipped[k])
    assert out.stat().st_size < 10.5e6
