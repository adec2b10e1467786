"""No silent wrong embeddings, property-tested with at least 1,000 generated inputs per reader
and entry point: shuffled, duplicated and irregular timestamps, unit mix-ups, NaN/inf runs,
outliers, constant channels, reordered, extra and missing columns, other sampling rates.

Each input either raises a clear error (naming the file, column, channel or rate), or gives
the output of the clean input (within a stated tolerance), or, where the data itself was
changed (an outlier, a constant channel), the output of exactly the data given, never a
silently different one. docs/reliability.md tabulates the behaviour per input.
"""

from __future__ import annotations

import logging
import os
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swav_ts import TimeSeriesSwAV
from swav_ts.cli import main
from swav_ts.data import ContextDataset, Recording, RecordingCache
from swav_ts.data.readers import read_recording
from swav_ts.data.windows import cut_windows, window_starts

NAMES = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
RATE = 50.0


def many(n: int) -> settings:
    """``n`` examples (``SWAV_TS_EXAMPLES`` overrides it for quick local runs)."""
    return settings(
        max_examples=int(os.environ.get("SWAV_TS_EXAMPLES", n)),
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


def smooth_signals(rng: np.random.Generator, n: int, rate_hz: float) -> np.ndarray:
    """Six slow, phone-like channels (C, n): sums of low-frequency sines, acc near 1 g."""
    t = np.arange(n) / rate_hz
    out = []
    for c in range(6):
        f = rng.uniform(0.1, 1.5, size=2)
        a = rng.uniform(0.1, 0.5, size=2)
        base = 0.6 if c == 0 else 0.0
        out.append(
            base + sum(a[k] * np.sin(2 * np.pi * f[k] * t + rng.uniform(0, 6)) for k in (0, 1))
        )
    return np.asarray(out)


# ---------------------------------------------------------------------------------- readers
# changes of the file's form (the data is the same) and changes of the data itself
FORM = [
    "shuffle",
    "duplicate",
    "jitter",
    "reorder",
    "extra_label",
    "seconds_as_ms",
    "ms_as_us",
    "missing_column",
]
DATA = ["short_nan", "long_nan", "inf", "outlier", "constant"]


@st.composite
def csv_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    rate = draw(st.sampled_from([20.0, 50.0, 100.0, 200.0]))
    n = draw(st.integers(int(1.5 * rate), int(1.5 * rate) + 300))  # >= 1.5 s
    kinds = draw(st.lists(st.sampled_from(FORM), max_size=2, unique=True))
    kinds += draw(st.lists(st.sampled_from(DATA), max_size=1))  # at most one data change
    return rng, rate, n, kinds or ["none"]


def _frame(rng, rate, n, kinds):
    import pandas as pd

    clean = smooth_signals(rng, n, rate)  # (6, n)
    data = clean.copy()
    t_ms = np.arange(n) * 1000.0 / rate
    if "jitter" in kinds:
        t_ms = t_ms + rng.uniform(-0.1, 0.1, n) * 1000.0 / rate
        t_ms[0] = 0.0
    expect = "clean"
    c = int(rng.integers(0, 6))
    filled = np.zeros(n, dtype=bool)  # samples the reader fills by interpolation
    if "short_nan" in kinds:
        gap = max(1, int(0.05 * rate))
        a = int(rng.integers(1, n - gap - 1))  # inside the log (at the ends it is held)
        data[c, a : a + gap] = np.nan  # <= 0.05 s: interpolated
        filled[a : a + gap] = True
    if "long_nan" in kinds:
        a = int(rng.integers(1, n - int(0.5 * rate) - 1))
        data[c, a : a + int(0.5 * rate)] = np.nan  # 0.5 s inside the log: stays missing
        expect = "given"
    if "outlier" in kinds:
        data[c, int(rng.integers(0, n))] = 1e30
        expect = "given"
    if "constant" in kinds:
        data[c] = 0.25
        expect = "given"
    if "inf" in kinds:
        data[c, int(rng.integers(0, n))] = np.inf
    df = pd.DataFrame({"timestamp": t_ms, **dict(zip(NAMES, data))})
    if "extra_label" in kinds:
        df["activity"] = np.where(np.arange(n) < n // 2, "SEATED", "WALKING")
    if "seconds_as_ms" in kinds:
        df["timestamp"] = t_ms / 1000.0  # written in s, read as ms
    if "ms_as_us" in kinds:
        df["timestamp"] = t_ms  # read as us below
    if "duplicate" in kinds:
        rows = rng.integers(0, n, size=3)
        df = pd.concat([df, df.iloc[rows]], ignore_index=True)
    if "shuffle" in kinds:
        df = df.sample(frac=1.0, random_state=int(rng.integers(0, 1000)))
    cols = list(df.columns)
    if "reorder" in kinds:
        rng.shuffle(cols)
    if "missing_column" in kinds:
        cols.remove(NAMES[c])
    return df[cols], clean, data, expect, filled


@many(1000)
@given(case=csv_cases())
def test_csv_reader(tmp_path_factory, case):
    rng, rate, n, kinds = case
    df, clean, data, expect, filled = _frame(rng, rate, n, kinds)
    path = tmp_path_factory.mktemp("csv") / "log.csv"
    df.to_csv(path, index=False)
    unit = "us" if "ms_as_us" in kinds else "ms"
    try:
        (rec,) = read_recording(path, time_unit=unit, channels=NAMES, rate_hz=rate, log=False)
    except ValueError as exc:
        msg = str(exc)
        assert str(path) in msg  # the file is named, and what is wrong with it:
        reasons = {
            "seconds_as_ms": "time_unit",  # ... with the unit to try
            "ms_as_us": "time_unit",
            "missing_column": "not found; available columns",
            "inf": "is infinite",
        }
        expected = [reasons[k] for k in kinds if k in reasons]
        assert expected and any(r in msg for r in expected), (kinds, msg)
        return
    assert not ({"seconds_as_ms", "ms_as_us", "missing_column", "inf"} & set(kinds)), kinds
    assert rec.channel_names == NAMES and rec.rate_hz == rate
    m = min(rec.n_samples, n)
    got = rec.signals[:, :m].astype(np.float64)
    ref = (clean if expect == "clean" else data)[:, :m]
    exact = ~filled[:m]  # a filled run is the reader's interpolation of its neighbours
    if "jitter" in kinds:  # irregular times: the smooth signal resampled onto the grid
        # linear interpolation of <= 1.5 Hz sines sampled at >= 20 Hz with 10 % time jitter:
        # |error| <= |x'| * jitter + |x''| dt^2 / 8 < 0.1 sensor units
        ok = np.isfinite(ref) & np.isfinite(got) & (np.abs(ref) < 1e3) & (np.abs(got) < 1e3)
        assert np.abs(got[ok] - ref[ok]).max() < 0.1
    else:
        np.testing.assert_allclose(
            got[:, exact], ref[:, exact].astype(np.float32), rtol=1e-6, atol=1e-6
        )
        assert np.array_equal(np.isnan(got[:, exact]), np.isnan(ref[:, exact]))
        if expect == "clean":  # one run of missing samples, filled linearly from the samples
            # around it, h = (run + 1) / rate apart: |error| <= max|x''| h^2 / 8, with
            # max|x''| <= 2 x 0.5 x (2 pi 1.5 Hz)^2 for smooth_signals' two sines
            h = (filled.sum() + 1) / rate
            bound = 2 * 0.5 * (2 * np.pi * 1.5) ** 2 * h**2 / 8  # 0.11 at 20 Hz, 0.04 at 50 Hz
            assert np.abs(got[:, ~exact] - ref[:, ~exact]).max(initial=0.0) < bound


# ---------------------------------------------------------------- the model's entry points
@pytest.fixture(scope="module")
def model(tmp_path_factory):
    rng = np.random.default_rng(0)
    recs = [
        Recording(
            smooth_signals(rng, 1500, RATE).astype(np.float32), None, RATE, NAMES, 0.0, f"r{i}"
        )
        for i in range(3)
    ]
    est = TimeSeriesSwAV(
        encoder="cnn3",
        encoder_kwargs={"widths": [4, 8]},
        n_prototypes=6,
        feat_dim=4,
        hidden_mlp=8,
        epochs=1,
        batch_size=16,
        context_length=128,
        global_length=96,
        local_length=48,
        n_local=2,
        device="cpu",
        random_state=0,
    ).fit(recs)
    path = est.save(tmp_path_factory.mktemp("model") / "m.safetensors")
    return est, path


@st.composite
def recording_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    form = ["reorder", "extra", "missing", "fast", "slow"]
    kinds = draw(st.lists(st.sampled_from(form), max_size=2, unique=True))
    data = ["nan", "outlier", "absurd", "constant"]
    kinds += draw(st.lists(st.sampled_from(data), max_size=1))  # at most one data change
    return rng, kinds or ["none"]


def _reference(est, signals, rate, window_s=2.0, stride_s=1.0):
    L, S = round(window_s * rate), round(stride_s * rate)
    starts = window_starts(signals.shape[1], L, S)
    ok = ~np.isnan(signals).any(axis=0)
    keep = np.array([ok[s : s + L].all() for s in starts], dtype=bool)
    return est.transform(cut_windows(signals, starts[keep], L)), starts[keep] / rate


@many(1000)
@given(case=recording_cases())
def test_embed_recording(model, caplog, case):
    est, _ = model
    rng, kinds = case
    n = 600
    clean = smooth_signals(rng, n, RATE).astype(np.float32)
    data, names, rate = clean.copy(), list(NAMES), RATE
    c = int(rng.integers(0, 6))
    if "nan" in kinds:
        a = int(rng.integers(0, n - 30))
        data[c, a : a + 30] = np.nan
    if "outlier" in kinds:
        data[c, int(rng.integers(0, n))] = 50.0  # beyond the training range: a warning
    if "absurd" in kinds:
        data[c, int(rng.integers(0, n))] = 1e30
    if "constant" in kinds:
        data[c] = 0.2
    given_data = data.copy()  # what the model should see, in the model's order and rate
    if "fast" in kinds:  # the same signal at 100 Hz (NaN where the 50 Hz data has NaN)
        from scipy.interpolate import interp1d

        t50 = np.arange(n) / RATE
        t100 = np.arange(2 * n - 1) / (2 * RATE)
        filled = np.nan_to_num(data, nan=0.0)
        data = interp1d(t50, filled, axis=1, kind="cubic")(t100).astype(np.float32)
        missing = np.stack(
            [np.interp(t100, t50, np.isnan(row).astype(float)) > 0 for row in given_data]
        )
        data[missing] = np.nan
        rate = 2 * RATE
    if "slow" in kinds:
        data, rate = data[:, ::2].copy(), RATE / 2
    if "reorder" in kinds:
        order = rng.permutation(6)
        data, names = data[order], [names[i] for i in order]
    if "extra" in kinds:
        data = np.concatenate([data, rng.standard_normal((1, data.shape[1])).astype(np.float32)])
        names = [*names, "label_code"]
    if "missing" in kinds:
        keep = [i for i, nm in enumerate(names) if nm != NAMES[c]]
        data, names = data[keep], [names[i] for i in keep]
    rec = Recording(data, None, rate, names, 0.0, "r")
    caplog.clear()
    try:
        with caplog.at_level(logging.WARNING):
            Z, times = est.embed_recording(rec, window_s=2.0, stride_s=1.0)
    except ValueError as exc:
        msg = str(exc)
        if "missing" in kinds:
            assert re.search(r"lacks channel\(s\) \['\w+'\].*the model needs", msg), msg
        elif "slow" in kinds:
            assert "below the model's 50 Hz" in msg, msg
        else:
            assert "absurd" in kinds or ("fast" in kinds and "outlier" in kinds), (kinds, msg)
            assert "far beyond" in msg and "channel" in msg, msg
        return
    assert not ({"missing", "slow", "absurd"} & set(kinds)), kinds
    ref, ref_times = _reference(est, given_data, RATE)
    if "fast" in kinds:  # resampled: the same windows, nearly the same embeddings
        if "nan" not in kinds and "outlier" not in kinds:
            assert Z.shape == ref.shape
            rel = np.linalg.norm(Z - ref) / np.linalg.norm(ref)
            assert rel < 0.05, rel
        return
    np.testing.assert_array_equal(times, ref_times)
    np.testing.assert_allclose(Z, ref, rtol=1e-5, atol=1e-6)
    if "outlier" in kinds:
        assert "outside the training data's plausible range" in caplog.text


@st.composite
def array_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    kind = draw(
        st.sampled_from(
            [
                "none",
                "float64",
                "fortran",
                "int",
                "bool",
                "str",
                "complex",
                "nan",
                "inf",
                "absurd",
                "channels",
                "short",
                "ndim",
                "empty",
            ]
        )
    )
    return rng, kind


@many(1000)
@given(case=array_cases())
def test_transform(model, case):
    est, _ = model
    rng, kind = case
    clean = np.stack([smooth_signals(rng, 96, RATE) for _ in range(3)]).astype(np.float32)
    X = clean
    if kind == "float64":
        X = clean.astype(np.float64)
    elif kind == "fortran":
        X = np.asfortranarray(clean)
    elif kind == "int":
        X = (clean * 100).astype(np.int32)
    elif kind == "bool":
        X = clean > 0
    elif kind == "str":
        X = clean.astype(str)
    elif kind == "complex":
        X = clean + 1j
    elif kind in ("nan", "inf", "absurd"):
        X = clean.copy()
        X[1, 2, 5] = {"nan": np.nan, "inf": np.inf, "absurd": -1e30}[kind]
    elif kind == "channels":
        X = clean[:, :5]
    elif kind == "short":
        X = clean[:, :, :3]
    elif kind == "ndim":
        X = clean[0]
    elif kind == "empty":
        X = clean[:0]
    try:
        Z = est.transform(X)
    except (ValueError, TypeError) as exc:
        assert kind not in ("none", "float64", "fortran", "int"), (kind, exc)
        assert re.search(r"X |shape|dtype|NaN|infinite|channel|minimum|empty", str(exc)), exc
        return
    assert kind in ("none", "float64", "fortran", "int"), kind
    expected = est.transform(np.ascontiguousarray(X, dtype=np.float32))
    np.testing.assert_array_equal(Z, expected)
    if kind in ("float64", "fortran"):
        np.testing.assert_allclose(Z, est.transform(clean), rtol=1e-5, atol=1e-6)


@st.composite
def fit_cases(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    kinds = draw(
        st.lists(
            st.sampled_from(["none", "nan", "outlier", "constant", "inf", "order", "short"]),
            min_size=1,
            max_size=2,
            unique=True,
        )
    )
    return rng, kinds


@many(1000)
@given(case=fit_cases())
def test_pretraining_data(tmp_path_factory, case):
    """What fit trains on: contexts read back from the cache equal the given data's, and a
    context holds no missing or implausible sample."""
    rng, kinds = case
    recs, given_sig = [], []
    for i in range(3):
        sig = smooth_signals(rng, 400, RATE).astype(np.float32)
        c = int(rng.integers(0, 6))
        if "constant" in kinds:
            sig[5] = 0.0
        if "nan" in kinds and i == 0:
            sig[c, 100:140] = np.nan
        if "outlier" in kinds and i == 1:
            sig[c, 50] = 1e30
        if "inf" in kinds and i == 2:
            sig[c, 10] = -np.inf
        names = list(NAMES)
        if "order" in kinds and i == 2:
            names = names[::-1]
        if "short" in kinds and i == 1:
            sig = sig[:, :100]
        recs.append(Recording(sig, None, RATE, names, 0.0, f"r{i}"))
        given_sig.append(sig)
    folder = tmp_path_factory.mktemp("cache")
    try:
        cache = RecordingCache.write(iter(recs), folder)
    except ValueError as exc:
        msg = str(exc)
        assert "inf" in kinds or "order" in kinds, (kinds, msg)
        assert "infinite" in msg or "same channels in the same order" in msg, msg
        return
    assert not ({"inf", "order"} & set(kinds))
    ds = ContextDataset(cache, 128, 32)
    assert ds.plan.short_skipped == (["r1"] if "short" in kinds else [])
    for i in range(len(ds)):
        rid, start = ds.item_info(i)
        x = ds[i].numpy()
        k = int(rid[1:])
        np.testing.assert_array_equal(x, given_sig[k][:, start : start + 128])
        assert np.isfinite(x).all() and np.abs(x).max() < 1e3
    stats = cache.stats
    assert np.isfinite(stats.mean).all() and (stats.std > 0).all() and stats.std.max() < 10
    if "outlier" in kinds:
        assert stats.n_outliers.sum() == 1 and "1e+30" in " ".join(stats.report())
    if "constant" in kinds:
        assert stats.constant == ["gyro_z"]


@many(1000)
@given(case=csv_cases())
def test_cli_embed(model, tmp_path_factory, capsys, case):
    """``swav-ts embed`` on generated exports: exit 0 with the clean embeddings (format
    changes) or the given data's, or exit 2 with one line naming the problem."""
    _, path = model
    rng, rate, n, kinds = case
    if n / rate < 2.0:
        n = int(2.5 * rate)
    df = _frame(rng, rate, n, kinds)[0]
    folder = tmp_path_factory.mktemp("embed")
    df.to_csv(folder / "log.csv", index=False)
    unit = "us" if "ms_as_us" in kinds else "ms"
    capsys.readouterr()
    rc = main(
        [
            "embed",
            "--model",
            str(path),
            "--input",
            str(folder / "log.csv"),
            "--out",
            str(folder / "z.npy"),
            "--window-s",
            "2",
            "--time-unit",
            unit,
        ]
    )
    err = capsys.readouterr().err
    if rc == 2:
        assert err.startswith("swav-ts embed: error:") and len(err.strip().splitlines()) == 1
        assert {"seconds_as_ms", "ms_as_us", "missing_column", "inf", "outlier"} & set(kinds) or (
            rate < RATE
        ), (kinds, err)
        return
    assert rc == 0, err
    assert not ({"seconds_as_ms", "ms_as_us", "missing_column", "inf"} & set(kinds))
    assert rate >= RATE  # slower exports are refused
    Z = np.load(folder / "z.npy")
    assert np.isfinite(Z).all()
