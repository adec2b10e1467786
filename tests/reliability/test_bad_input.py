"""Bad input, property-tested: each public entry point either works correctly or raises a
ValueError/TypeError naming the problem; never a silent NaN, never an unrelated traceback."""

import io
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from swav_ts import TimeSeriesSwAV
from swav_ts.cli import main
from swav_ts.data import Recording
from swav_ts.data.readers import read_recording
from swav_ts.data.ts_files import load_ts_file
from swav_ts.data.windows import sliding_windows
from swav_ts.timeseries.augment import AugmentConfig
from swav_ts.timeseries.augment.torch_engine import TorchAugmenter
from swav_ts.timeseries.crops import MultiCropConfig, MultiCropper
from swav_ts.timeseries.views import ViewMaker
from tests.reliability.helpers import TINY, random_walk


def fast(n: int) -> settings:
    """``n`` examples, no deadline (the machine is shared), no example database on disk."""
    return settings(
        max_examples=n,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


CLEAN = (ValueError, TypeError)

finite = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
any_float = st.one_of(finite, st.just(np.nan), st.just(np.inf), st.just(-np.inf))


# ------------------------------------------------------------------ readers
@st.composite
def sensor_frames(draw):
    n = draw(st.integers(0, 40))
    t = draw(
        st.one_of(
            # regular, then perturbed: unsorted, duplicated, with huge gaps, with NaN/inf times
            st.just(np.arange(n) * 20.0),
            st.lists(
                st.one_of(st.floats(0, 1e4), st.sampled_from([np.nan, np.inf, 1e12])),
                min_size=n,
                max_size=n,
            ).map(np.array),
            st.lists(st.sampled_from([0.0, 20.0, 40.0]), min_size=n, max_size=n).map(np.array),
        )
    )
    cols = {"timestamp": t}
    for c in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["finite", "nan_inf", "strings"]))
        if kind == "finite":
            v = draw(st.lists(finite, min_size=n, max_size=n))
        elif kind == "nan_inf":
            v = draw(st.lists(any_float, min_size=n, max_size=n))
        else:
            v = draw(st.lists(st.one_of(finite, st.text(max_size=3)), min_size=n, max_size=n))
        cols[f"ch{c}"] = pd.Series(v, dtype=object if kind == "strings" else float)
    return pd.DataFrame(cols)


@fast(80)
@given(df=sensor_frames(), gap_policy=st.sampled_from(["split", "mark"]))
def test_read_recording_dataframes(df, gap_policy):
    try:
        recs, report = read_recording(
            df, time_unit="ms", gap_policy=gap_policy, max_gap_s=0.5, return_report=True
        )
    except CLEAN as exc:
        assert str(exc)  # a message, naming the problem
        return
    assert recs and report.n_recordings == len(recs)
    n_nan = 0
    for r in recs:
        assert r.signals.dtype == np.float32 and r.signals.ndim == 2
        assert r.signals.shape[0] == df.shape[1] - 1 and r.signals.shape[1] >= 1
        assert np.isfinite(r.rate_hz) and r.rate_hz > 0
        assert not np.isinf(r.signals).any(), "infinite values passed through silently"
        n_nan += int(np.isnan(r.signals).sum())
    # every NaN left in the output is counted in the report (nothing changed silently)
    assert n_nan == report.nan_remaining + report.gap_samples_marked * recs[0].n_channels


@fast(40)
@given(
    raw=st.one_of(
        st.binary(max_size=200),
        st.binary(max_size=60).map(lambda b: b"timestamp,x\n0,1\n20," + b + b"\n40,2\n"),
        st.text(max_size=100).map(lambda s: ("timestamp,x\n" + s).encode("utf-8")),
    )
)
def test_read_recording_arbitrary_csv_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("csv") / "log.csv"
    path.write_bytes(raw)
    try:
        recs = read_recording(path)
    except CLEAN as exc:
        assert str(path) in str(exc) or "time_unit" in str(exc)
        return
    for r in recs:
        assert not np.isinf(r.signals).any()


def test_non_utf8_csv_names_the_file(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("timestamp,caf\xe9\n0,1\n20,2\n".encode("latin-1"))
    try:
        recs = read_recording(path)
    except ValueError as exc:
        assert str(path) in str(exc)
    else:  # pandas may decode it with replacement characters: the data must still be right
        assert recs[0].signals.tolist() == [[1.0, 2.0]]


def test_inf_value_names_column_and_row(tmp_path):
    path = tmp_path / "inf.csv"
    path.write_text("timestamp,x,y\n0,1,2\n20,inf,3\n40,2,4\n")
    with pytest.raises(ValueError, match=r"column 'x'.*row 1 \(file line 3\).*infinite"):
        read_recording(path)


# ------------------------------------------------------------------ .ts files
TS_GOOD = (
    "@problemName p\n@timeStamps false\n@missing false\n@univariate true\n"
    "@equalLength true\n@seriesLength 4\n@classLabel true a b\n@data\n"
    "1,2,3,4:a\n5,6,7,8:b\n"
)


@st.composite
def ts_texts(draw):
    lines = TS_GOOD.splitlines()
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(lines) - 1))
        op = draw(st.sampled_from(["drop", "dup", "garble", "swap"]))
        if op == "drop":
            lines.pop(i)
        elif op == "dup":
            lines.insert(i, lines[i])
        elif op == "garble":
            lines[i] = draw(st.text(max_size=12))
        else:
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        if not lines:
            break
    return "\n".join(lines) + "\n"


@fast(80)
@given(text=ts_texts(), binary_noise=st.binary(max_size=8))
def test_load_ts_file_mutated_headers(tmp_path_factory, text, binary_noise):
    path = tmp_path_factory.mktemp("ts") / "x.ts"
    path.write_bytes(text.encode("utf-8") + binary_noise)
    try:
        X, y = load_ts_file(path, return_type="array")
    except CLEAN as exc:
        assert str(path) in str(exc), exc
        return
    assert X.dtype == np.float32 and X.ndim == 3 and len(X) == len(y)


# ------------------------------------------------------------------ windows
@fast(80)
@given(
    lengths=st.lists(st.integers(1, 30), min_size=1, max_size=3),
    n_channels=st.integers(1, 3),
    length=st.integers(-2, 35),
    stride=st.integers(-1, 12),
    nan_at=st.one_of(st.none(), st.integers(0, 29)),
)
def test_sliding_windows_shapes_and_content(lengths, n_channels, length, stride, nan_at):
    recs = []
    for k, n in enumerate(lengths):
        sig = np.arange(n_channels * n, dtype=np.float32).reshape(n_channels, n) + 100 * k
        if nan_at is not None and nan_at < n:
            sig[0, nan_at] = np.nan
        names = [f"c{i}" for i in range(n_channels)]
        recs.append(
            Recording(
                signals=sig, labels=None, rate_hz=50.0, channel_names=names, recording_id=f"r{k}"
            )
        )
    try:
        X, y, meta = sliding_windows(recs, length, stride)
    except CLEAN as exc:
        assert str(exc)
        return
    assert y is None and X.dtype == np.float32 and X.shape[1:] == (n_channels, length)
    assert not np.isnan(X).any()  # NaN windows are dropped (and counted in the log)
    for row, (rid, start) in zip(X, zip(meta["recording_id"], meta["start_index"])):
        rec = recs[int(rid[1:])]
        np.testing.assert_array_equal(row, rec.signals[:, start : start + length])


# ------------------------------------------------------------------ augmentations and views
DTYPES = [torch.float32, torch.float64, torch.float16, torch.bfloat16, torch.int64, torch.bool]


@fast(60)
@given(
    shape=st.lists(st.integers(0, 9), min_size=1, max_size=4),
    dtype=st.sampled_from(DTYPES),
    seed=st.integers(0, 2**31),
)
def test_torch_augmenter_any_shape_dtype(shape, dtype, seed):
    aug = TorchAugmenter(AugmentConfig())
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(*shape, generator=g) * 3).to(dtype)
    try:
        out = aug(x, g)
    except CLEAN as exc:
        assert str(exc)
        return
    assert out.shape == x.shape and out.dtype == x.dtype
    assert torch.isfinite(out.float()).all(), "finite input gave non-finite augmentations"


@fast(60)
@given(
    t_ctx=st.integers(1, 40),
    global_length=st.integers(1, 40),
    local_length=st.integers(1, 40),
    resample=st.booleans(),
    batch=st.integers(0, 4),
)
def test_multicropper_and_viewmaker(t_ctx, global_length, local_length, resample, batch):
    try:
        cfg = MultiCropConfig(
            n_global=2,
            global_length=global_length,
            n_local=1,
            local_length=local_length,
            resample=resample,
        )
    except CLEAN as exc:
        assert str(exc)
        return
    x = torch.randn(batch, 3, t_ctx)
    g = torch.Generator().manual_seed(0)
    try:
        views = MultiCropper(cfg)(x, g)
        made = ViewMaker(cfg, AugmentConfig())(x, g)
    except CLEAN as exc:
        assert str(exc)
        return
    assert [v.shape for v in views] == [v.shape for v in made]
    assert [v.shape[2] for v in views] == [global_length, global_length, local_length]
    for v in [*views, *made]:
        assert v.shape[:2] == (batch, 3) and torch.isfinite(v).all()


# ------------------------------------------------------------------ estimator
@st.composite
def estimator_inputs(draw):
    kind = draw(st.sampled_from(["ok", "nan", "inf", "int", "bool", "complex", "str", "ndim"]))
    if draw(st.booleans()):  # shapes that can train (n >= K, T >= global_length)
        n, c, t = draw(st.integers(4, 12)), draw(st.integers(1, 3)), draw(st.integers(24, 40))
    else:
        n, c, t = draw(st.integers(0, 12)), draw(st.integers(0, 3)), draw(st.integers(0, 40))
    if kind == "ndim":
        return np.zeros(draw(st.lists(st.integers(1, 4), max_size=4)), np.float32)
    X = random_walk(n, c, t, seed=draw(st.integers(0, 100)))
    if kind in ("nan", "inf") and X.size:
        X.flat[draw(st.integers(0, X.size - 1))] = np.nan if kind == "nan" else np.inf
    if kind == "int":
        X = (X * 10).astype(np.int32)
    elif kind == "bool":
        X = X > 0
    elif kind == "complex":
        X = X + 1j
    elif kind == "str":
        X = X.astype(str)
    return X


@fast(20)
@given(X=estimator_inputs())
@example(X=random_walk(10, 2, 30))
@example(X=random_walk(3, 2, 30))  # fewer cases than prototypes
def test_estimator_fit_transform(X):
    est = TimeSeriesSwAV(random_state=0, **TINY)
    try:
        Z = est.fit(X).transform(X)
    except CLEAN as exc:
        assert re.search(
            r"X|shape|series|cases|dtype|NaN|infinite|prototypes|empty|length|channels", str(exc)
        )
        return
    assert Z.shape == (X.shape[0], est.n_features_out_) and Z.dtype == np.float32
    assert np.isfinite(Z).all(), "silent NaN/inf in the embeddings"


# ------------------------------------------------------------------ CLI
DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"

BAD_OVERRIDES = {
    "swav.epsilon": st.sampled_from(["0", "-1", "'a'", "[1]", "null"]),
    "swav.temperature": st.sampled_from(["0", "-0.5", "true"]),
    "train.batch_size": st.sampled_from(["1", "2.5", "'big'", "-3"]),
    "train.epochs": st.sampled_from(["0", "1.5", "{a: 1}"]),
    "crops.global_length": st.sampled_from(["4096", "0", "x"]),
    "data.context_length": st.sampled_from(["1", "-5", "'long'"]),
    "optim.name": st.sampled_from(["adam", "1", "LARS"]),
    "swav.n_prototypes": st.sampled_from(["0", "[]", "'k'"]),
    "data.source": st.sampled_from(["/nonexistent/x.npy", "/nonexistent/*.csv", "x.mat"]),
    "train.epochz": st.sampled_from(["1"]),
}


@fast(25)
@given(key=st.sampled_from(sorted(BAD_OVERRIDES)), data=st.data())
def test_cli_bad_settings_exit_2_naming_the_key(tmp_path_factory, capsys, key, data):
    value = data.draw(BAD_OVERRIDES[key])
    out = tmp_path_factory.mktemp("cli")
    capsys.readouterr()
    rc = main(["pretrain", "--config", str(DEBUG), "--out", str(out), "--set", f"{key}={value}"])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert err.startswith("swav-ts pretrain: error:")
    named = key.split(".")[-1] if key != "data.source" else "x"
    assert named in err, err


@fast(10)
@given(
    content=st.one_of(
        st.binary(min_size=1, max_size=50),
        st.just(b"\xff\xfe\x00bad"),
        st.just(b"- a\n- b\n"),
        st.just(b"swav: [unclosed\n"),
        st.just(b"modality: audio\n"),
        st.just(b"swav:\n  epsilom: 0.1\n"),
    )
)
def test_cli_bad_config_files(tmp_path_factory, capsys, content):
    import yaml

    try:  # a file that happens to be a valid mapping would start a real (minutes-long) run
        assume(not isinstance(yaml.safe_load(content), dict))
    except yaml.YAMLError:
        pass
    except UnicodeDecodeError:
        pass
    d = tmp_path_factory.mktemp("cfg")
    (d / "c.yaml").write_bytes(content)
    capsys.readouterr()
    rc = main(["pretrain", "--config", str(d / "c.yaml"), "--out", str(d / "run")])
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "c.yaml" in err or "unknown config key 'swav.epsilom'" in err, err


def test_cli_embed_bad_input_files(tmp_path, capsys):
    cases = {
        "bad.npy": b"\x93NUMPY garbage",
        "obj.npy": None,
    }
    buf = io.BytesIO()
    np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    cases["obj.npy"] = buf.getvalue()
    model = tmp_path / "m.safetensors"
    model.write_bytes(b"not a model")
    for name, data in cases.items():
        (tmp_path / name).write_bytes(data)
        rc = main(
            ["embed", "--model", str(model), "--input", str(tmp_path / name), "--out", "x.npy"]
        )
        assert rc == 2
        assert "not a TimeSeriesSwAV model file" in capsys.readouterr().err


@pytest.mark.parametrize("gap_policy", ["mark", "split"])
def test_huge_gap_never_allocates_a_huge_grid(gap_policy):
    df = pd.DataFrame({"timestamp": [0.0, 20.0, 40.0, 60.0, 1e12], "x": [1.0, 2, 3, 4, 5]})
    if gap_policy == "mark":  # 1e9 s at 50 Hz would be 5e10 samples (200 GB)
        with pytest.raises(ValueError, match=r"5e\+10 samples.*gap_policy='split'"):
            read_recording(df, gap_policy=gap_policy)
    else:
        recs, report = read_recording(df, gap_policy=gap_policy, return_report=True)
        assert [r.n_samples for r in recs] == [4] and report.segments_dropped == 1
