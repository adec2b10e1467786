from __future__ import annotations

import hashlib

import numpy as np
import pytest

import swav_ts
from swav_ts.data import hapt as ds

# Summary of the float32 reference windows (UCI-HAR-style windows_w128.npz, built from the
# original float32 recordings; see datasets/hapt/README.md): per-class and per-subject counts,
# hashes of the labels and subjects (int8), per-channel mean and std, and 8 sampled values
# (window, channel, time, value). load_hapt builds the same windows from the float16 copy that
# ships in datasets/hapt; "x_sha256" pins those windows byte for byte (float16 -> float32 is exact
# and windowing only slices, so the hash does not depend on the platform).
REFERENCE_CLASS_NAMES = [
    "WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING",
]  # fmt: skip
REFERENCE = {
    "train": {
        "n": 7143,
        "class_counts": [1186, 1019, 923, 1252, 1385, 1378],
        "subject_counts": {
            1: 336, 3: 329, 5: 290, 6: 309, 7: 292, 8: 269, 11: 312, 14: 312, 15: 319, 16: 349,
            17: 362, 19: 349, 21: 404, 22: 316, 23: 357, 25: 403, 26: 385, 27: 368, 28: 369,
            29: 333, 30: 380,
        },
        "y_sha256": "b779a031374fc555",
        "subject_sha256": "fa7fbd1f9cfcf899",
        "channel_mean": [0.803815, 0.030292, 0.087828, 0.005045, -0.002137, -0.007922],
        "channel_std": [0.416723, 0.393465, 0.359897, 0.413399, 0.4025, 0.258428],
        "points": [
            (1725, 5, 116, -0.5094616413116455), (4827, 5, 46, -0.003054326167330146),
            (659, 0, 33, 1.4597222805023193), (1530, 0, 21, 0.7902778387069702),
            (2268, 5, 58, 1.0778716802597046), (2210, 0, 75, 0.18333333730697632),
            (6490, 0, 102, 0.03194444626569748), (5710, 1, 78, 0.4166666865348816),
        ],
        "x_sha256": "6f60a36b543baea7093782d8d7b3f25ec0f5e44989e93f6ad19e539e4df7e239",
    },
    "test": {
        "n": 2874,
        "class_counts": [474, 449, 394, 484, 541, 532],
        "subject_counts": {
            2: 291, 4: 301, 9: 281, 10: 286, 12: 314, 13: 315, 18: 366, 20: 344, 24: 376,
        },
        "y_sha256": "0c034a2be30b0615",
        "subject_sha256": "38aa52aaeb2ed104",
        "channel_mean": [0.815086, 0.004901, 0.081595, 0.006238, -0.002433, -0.006767],
        "channel_std": [0.409693, 0.415418, 0.310436, 0.407294, 0.358721, 0.252788],
        "points": [
            (2833, 0, 16, 1.4625000953674316), (302, 5, 26, -0.015271631069481373),
            (1401, 3, 98, 0.00366519158706069), (1625, 4, 56, 1.4401148557662964),
            (1976, 3, 105, -0.1915062516927719), (13, 3, 35, 0.009162978269159794),
            (582, 2, 92, -0.02222222276031971), (1336, 1, 111, -0.18888889253139496),
        ],
        "x_sha256": "fa343006d3f23f7ceb98220ace0b5984d4cd0014e1c75bccc1a218b3efa480d5",
    },
}  # fmt: skip


def sha256(a: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


@pytest.mark.parametrize("split", ["train", "test"])
def test_load_hapt_matches_reference_windows(split):
    ref = REFERENCE[split]
    X, y, subjects = ds.load_hapt(split)
    assert X.shape == (ref["n"], 6, 128)
    assert X.dtype == np.float32 and y.dtype == np.int64 and y.min() == 0 and y.max() == 5
    assert np.bincount(y).tolist() == ref["class_counts"]
    values, counts = np.unique(subjects, return_counts=True)
    assert dict(zip(values.tolist(), counts.tolist())) == ref["subject_counts"]
    assert sha256(y.astype(np.int8))[:16] == ref["y_sha256"]  # same labels, same order
    assert sha256(subjects.astype(np.int8))[:16] == ref["subject_sha256"]
    # float16 storage: relative error <= 2**-11 (plus a tiny absolute term near zero)
    for i, c, t, v in ref["points"]:
        assert abs(float(X[i, c, t]) - v) <= abs(v) * 2.0**-11 + 1e-6, (i, c, t)
    X64 = X.astype(np.float64)
    np.testing.assert_allclose(X64.mean(axis=(0, 2)), ref["channel_mean"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(X64.std(axis=(0, 2)), ref["channel_std"], rtol=0, atol=1e-4)
    assert sha256(X) == ref["x_sha256"]
    test_set = set(ds.HAPT_TEST_SUBJECTS)
    assert all((s in test_set) == (split == "test") for s in np.unique(subjects))
    assert list(ds.class_names) == REFERENCE_CLASS_NAMES


def test_tiny_fixture_windows(hapt_tiny):
    """The tests' HAPT fixture: 10 windows per class, train subjects 1 and 3, test subject 2."""
    tiny = hapt_tiny
    for split, subjects in (("train", {1, 3}), ("test", {2})):
        X, y = tiny[f"X_{split}"], tiny[f"y_{split}"]
        assert X.shape == (60, 6, 128) and X.dtype == np.float32 and np.isfinite(X).all()
        assert y.tolist() == np.repeat(np.arange(6), 10).tolist()
        assert set(tiny[f"subject_{split}"].tolist()) == subjects
        assert len({w.tobytes() for w in X}) == 60  # 60 distinct windows
        # 1 g of gravity on the accelerometer, on average
        assert 0.9 < float(np.linalg.norm(X[:, :3], axis=1).mean()) < 1.1


def test_recordings_and_paths(tmp_path, monkeypatch):
    recs = ds.load_hapt_recordings("all")
    assert len(recs) == 61 and sum(r.n_samples for r in recs) == 1_122_772
    r = recs[0]
    assert r.recording_id == "s01_r0" and r.subject == 1 and r.rate_hz == 50.0
    assert r.channel_names[:3] == ["acc_x", "acc_y", "acc_z"] and r.signals.dtype == np.float32
    assert set(np.unique(r.labels)) <= {-1, *range(1, 13)}
    assert len(ds.load_hapt_recordings("test")) + len(ds.load_hapt_recordings("train")) == 61
    default = ds.hapt_path()
    # the packaged copy: in a source checkout a link to datasets/hapt
    assert default.parent.name == "bundled"
    assert default.resolve() == (Path_repo() / "datasets" / "hapt" / ds.HAPT_FILE).resolve()
    monkeypatch.setenv("SWAV_TS_DATA", str(Path_repo() / "datasets"))  # a root with hapt/
    assert ds.hapt_path().resolve() == default.resolve()
    monkeypatch.setenv("SWAV_TS_DATA", str(tmp_path))
    with pytest.raises(FileNotFoundError, match="SWAV_TS_DATA"):
        ds.load_hapt("train")
    assert ds.hapt_path(default.parent) == default
    with pytest.raises(ValueError, match="split must be one of"):
        ds.load_hapt("all", data_dir=default.parent)


def Path_repo():
    from pathlib import Path

    return Path(swav_ts.__file__).resolve().parents[1]


def test_prepare_rebuilds_identical_content(tmp_path):
    """prepare.py --from-npz on recordings in the converted recordings.npz layout.

    The input is made from the shipped file: float32 signals nudged by less than half a float16
    step (so rounding to float16 must restore the shipped values exactly), one ``<id>_signals``
    / ``<id>_labels`` pair per recording.
    """
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "hapt_prepare", Path_repo() / "datasets" / "hapt" / "prepare.py"
    )
    prep = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(prep)
    shipped = np.load(ds.hapt_path())
    sig32 = shipped["signals"].astype(np.float32)
    nudge = np.random.default_rng(0).uniform(-(2.0**-13), 2.0**-13, sig32.shape)
    sig32 = (sig32 * (1 + nudge)).astype(np.float32)
    ends = np.cumsum(shipped["lengths"])
    recs = {}
    for rid, a, b in zip(shipped["recording_ids"], ends - shipped["lengths"], ends):
        recs[f"{rid}_signals"] = sig32[:, a:b]
        recs[f"{rid}_labels"] = shipped["labels"][a:b]
    src = tmp_path / "recordings.npz"
    keys = ("recording_ids", "recording_subjects", "channel_names", "label_names")
    np.savez(src, **{k: shipped[k] for k in keys}, **recs)
    out = tmp_path / "h.npz"
    assert prep.main(["--from-npz", str(src), "--out", str(out)]) == 0
    new = np.load(out)
    assert sorted(new.files) == sorted(shipped.files)
    for k in ("signals", "labels", "lengths", "recording_ids", "recording_subjects"):
        np.testing.assert_array_equal(new[k], shipped[k])
    for k in ("channel_names", "label_names", "sampling_rate_hz", "test_subjects"):
        np.testing.assert_array_equal(new[k], shipped[k])
    # the reported float16 error is the nudge: > 0 and at most 2**-13 of the largest value
    err, bound = new["float16_max_abs_error"], np.abs(sig32).max(axis=1) * 2.0**-13
    assert err.shape == (6,) and np.all(err > 0) and np.all(err <= bound * 1.001)
    assert out.stat().st_size < 10.5e6
