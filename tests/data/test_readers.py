"""CSV/Parquet/DataFrame reader on real HAPT signals written out with realistic defects.

Tolerance: after jittering timestamps by up to +-2 ms (10 % of the 20 ms period), shuffling,
duplicating rows, cutting a 2 s gap and blanking a 3-sample NaN run, the signals read back onto
the 50 Hz grid match the originals (linearly interpolated at the same grid times) with an RMS
error under 5 % of each channel's standard deviation and a maximum error under 0.25 (g or rad/s).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from swav_ts.data import ReadReport, read_recording, read_recordings

N = 3000
RATE_HZ = 50.0


@pytest.fixture(scope="module")
def original(hapt_recordings):
    rec = hapt_recordings[0]
    # a stretch with several activities and transitions
    return rec.signals[:, :N].copy(), rec.labels[:N].astype(np.int64), rec.channel_names


def defective_frame(original, seed=0):
    sig, lab, names = original
    rng = np.random.default_rng(seed)
    t_ms = np.arange(N) * 1000.0 / RATE_HZ + rng.uniform(-2.0, 2.0, N)
    df = pd.DataFrame({"timestamp": t_ms, **{c: sig[i] for i, c in enumerate(names)}})
    df["label"] = lab
    df = df.drop(index=range(1500, 1600))  # 2 s of missing timestamps -> a gap
    df.loc[700:702, "acc_x"] = np.nan  # short NaN run -> filled
    dup = df.sample(50, random_state=1)
    df = pd.concat([df, dup]).sample(frac=1.0, random_state=2)  # duplicates + shuffled rows
    return df


def check_against_original(recs, original):
    sig, lab, _ = original
    assert len(recs) == 2  # split at the gap
    for r in recs:
        pos = r.times_s() * RATE_HZ  # positions in original samples
        ref = np.stack([np.interp(pos, np.arange(N), sig[c]) for c in range(sig.shape[0])])
        err = np.abs(r.signals - ref)
        assert np.isfinite(r.signals).all()
        assert (np.sqrt((err**2).mean(axis=1)) < 0.05 * sig.std(axis=1)).all()
        assert err.max() < 0.25
        # labels resampled by nearest sample, never interpolated
        np.testing.assert_array_equal(r.labels, lab[np.rint(pos).astype(int)])
        assert r.labels.dtype == np.int64
    assert recs[0].start_time < 0.01 and 31.9 < recs[1].start_time < 32.1


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_file_roundtrip_with_defects(tmp_path, original, fmt, caplog):
    df = defective_frame(original)
    path = tmp_path / f"s01.{fmt}"
    if fmt == "csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)
    with caplog.at_level(logging.WARNING, logger="swav_ts.data.readers"):
        recs, rep = read_recording(path, rate_hz=RATE_HZ, label_col="label", return_report=True)
    assert isinstance(rep, ReadReport)
    assert rep.rows_read == N - 100 + 50
    assert rep.duplicates_merged == 50
    assert rep.rows_reordered > 0
    assert rep.nan_filled == 3 and rep.nan_remaining == 0
    assert rep.gaps_found == 1 and rep.gaps_split == 1
    assert rep.resampling == "linear interpolation"
    assert rep.n_recordings == 2 and rep.samples_out == sum(r.n_samples for r in recs)
    assert "duplicates_merged=50" in caplog.text
    assert [r.recording_id for r in recs] == ["s01_seg0", "s01_seg1"]
    check_against_original(recs, original)


def test_rate_inferred_and_regular_input_untouched(original):
    sig, _lab, names = original
    df = pd.DataFrame(
        {"t": np.arange(500) / RATE_HZ, **{c: sig[i, :500] for i, c in enumerate(names)}}
    )
    (rec,), rep = read_recording(df, time_col="t", time_unit="s", return_report=True)
    assert rep.rate_inferred and rec.rate_hz == pytest.approx(RATE_HZ)
    assert rep.resampling == "none" and not rep.changed
    np.testing.assert_array_equal(rec.signals, sig[:, :500])
    assert rec.labels is None and rec.channel_names == list(names)


def test_downsampling_is_anti_aliased_and_labels_majority():
    t = np.arange(2000) / 100.0  # 100 Hz
    slow, fast = np.sin(2 * np.pi * 2.0 * t), np.sin(2 * np.pi * 40.0 * t)
    labels = np.where(np.arange(2000) < 1001, "walk", "sit")
    df = pd.DataFrame({"timestamp": t * 1000, "slow": slow, "fast": fast, "act": labels})
    (rec,), rep = read_recording(df, rate_hz=25.0, label_col="act", return_report=True)
    assert rep.resampling.startswith("anti-aliased")
    assert rec.n_samples == 500
    core = slice(20, -20)
    expected = np.sin(2 * np.pi * 2.0 * rec.times_s())
    assert np.abs(rec.signals[0, core] - expected[core]).max() < 0.03  # 2 Hz passes
    assert np.abs(rec.signals[1, core]).max() < 0.05  # 40 Hz (above 12.5 Hz Nyquist) removed
    assert rec.labels.dtype.kind == "U"
    assert (rec.labels[:250] == "walk").all() and (rec.labels[251:] == "sit").all()


def test_gap_mark_policy():
    t = np.concatenate([np.arange(100), np.arange(200, 300)]) * 20.0  # 2 s hole
    df = pd.DataFrame({"timestamp": t, "a": np.arange(200.0), "lab": np.ones(200, int)})
    (rec,), rep = read_recording(df, gap_policy="mark", label_col="lab", return_report=True)
    assert rec.n_samples == 300
    assert np.isnan(rec.signals[0, 100:200]).all() and np.isfinite(rec.signals[0, :100]).all()
    assert rep.gap_samples_marked == 100 and rep.gaps_found == 1 and rep.gaps_split == 0
    assert (rec.labels[100:200] == -1).all() and (rec.labels[:100] == 1).all()


def test_long_nan_run_is_kept_and_counted():
    a = np.arange(100.0)
    a[10:40] = np.nan  # 0.6 s > max_interp_gap_s
    a[60:62] = np.nan  # 0.04 s, filled
    df = pd.DataFrame({"timestamp": np.arange(100) * 20.0, "a": a})
    (rec,), rep = read_recording(df, max_interp_gap_s=0.2, return_report=True)
    assert rep.nan_filled == 2 and rep.nan_remaining == 30
    np.testing.assert_allclose(rec.signals[0, 60:62], [60.0, 61.0])


def test_datetime_time_column():
    ts = pd.date_range("2024-01-01", periods=50, freq="20ms")
    df = pd.DataFrame({"when": ts.astype(str), "a": np.arange(50.0)})
    (rec,) = read_recording(df, time_col="when", time_unit="datetime")
    assert rec.rate_hz == pytest.approx(50.0)
    assert rec.start_time == pytest.approx(ts[0].timestamp())


def test_read_recordings_glob_ids_subjects(tmp_path, original):
    sig, _, names = original
    for subj in (3, 7):
        df = pd.DataFrame(
            {"timestamp": np.arange(300) * 20.0, **{c: sig[i, :300] for i, c in enumerate(names)}}
        )
        df.to_csv(tmp_path / f"subj{subj}_walk.csv", index=False)
    recs, rep = read_recordings(
        str(tmp_path / "*.csv"), subject_from=r"subj(\d+)", return_report=True
    )
    assert [r.recording_id for r in recs] == ["subj3_walk", "subj7_walk"]
    assert [r.subject for r in recs] == [3, 7]
    assert rep.rows_read == 600 and rep.n_recordings == 2 and rep.rate_hz == pytest.approx(50.0)
    with pytest.raises(ValueError, match="no files match"):
        read_recordings(str(tmp_path / "*.parquet"))


# ---------------------------------------------------------------------------- bad input
def _csv(tmp_path, text, name="bad.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_missing_columns_listed(tmp_path):
    p = _csv(tmp_path, "time,ax,ay\n0,1,2\n20,1,2\n")
    with pytest.raises(
        ValueError,
        match=r"bad\.csv: time column 'timestamp' not found; "
        r"available columns: \['time', 'ax', 'ay'\]",
    ):
        read_recording(p)
    with pytest.raises(
        ValueError, match=r"bad\.csv: channel column\(s\) \['az'\] not found; available"
    ):
        read_recording(p, time_col="time", channels=["ax", "az"])
    with pytest.raises(ValueError, match=r"label column 'y' not found"):
        read_recording(p, time_col="time", label_col="y")


def test_non_numeric_value_names_row_and_column(tmp_path):
    p = _csv(tmp_path, "timestamp,ax,ay\n0,1,2\n20,1,oops\n40,1,2\n")
    with pytest.raises(
        ValueError,
        match=r"bad\.csv: column 'ay', row 1 \(file line 3\): value 'oops' is not numeric",
    ):
        read_recording(p)
    p2 = _csv(tmp_path, "timestamp,ax\n0,1\nnoon,1\n", "t.csv")
    with pytest.raises(ValueError, match=r"t\.csv: time column 'timestamp', row 1"):
        read_recording(p2)


def test_empty_file_and_header_only(tmp_path):
    with pytest.raises(ValueError, match=r"empty\.csv: empty file"):
        read_recording(_csv(tmp_path, "", "empty.csv"))
    with pytest.raises(ValueError, match=r"head\.csv: empty file: no data rows"):
        read_recording(_csv(tmp_path, "timestamp,ax\n", "head.csv"))
    empty_pq = tmp_path / "e.parquet"
    empty_pq.write_bytes(b"")
    with pytest.raises(ValueError, match=r"e\.parquet: empty file"):
        read_recording(empty_pq)
    junk = tmp_path / "j.parquet"
    junk.write_bytes(b"not parquet at all")
    with pytest.raises(ValueError, match=r"j\.parquet: cannot read as Parquet"):
        read_recording(junk)


def test_all_nan_channel(tmp_path):
    p = _csv(tmp_path, "timestamp,ax,ay\n0,1,\n20,2,\n40,3,\n")
    with pytest.raises(ValueError, match=r"bad\.csv: channel column 'ay' is all NaN"):
        read_recording(p)


def test_unknown_layout(tmp_path):
    p = tmp_path / "log.xlsx"
    p.write_bytes(b"PK")
    with pytest.raises(ValueError, match=r"log\.xlsx: unknown file layout \(suffix '\.xlsx'\)"):
        read_recording(p)
    with pytest.raises(ValueError, match="unknown layout: no signal columns"):
        read_recording(pd.DataFrame({"timestamp": [0, 20], "lab": [1, 1]}), label_col="lab")
    with pytest.raises(TypeError, match="path or a pandas DataFrame"):
        read_recording(42)
    with pytest.raises(ValueError, match="time_unit"):
        read_recording(pd.DataFrame({"timestamp": [0, 20], "a": [1, 1]}), time_unit="hours")


def test_too_few_samples(tmp_path):
    with pytest.raises(ValueError, match=r"one\.csv: too few samples: 1 row"):
        read_recording(_csv(tmp_path, "timestamp,ax\n0,1\n", "one.csv"))
    with pytest.raises(ValueError, match=r"too few samples: 1 distinct time"):
        read_recording(pd.DataFrame({"timestamp": [5, 5, 5], "a": [1.0, 2.0, 3.0]}))
    # every segment between gaps is a single sample
    with pytest.raises(ValueError, match=r"too few samples: every segment"):
        read_recording(pd.DataFrame({"timestamp": [0, 5000, 10000], "a": [1.0, 2.0, 3.0]}))


def test_missing_timestamps_dropped_and_counted():
    df = pd.DataFrame({"timestamp": [0, 20, None, 60, 80], "a": [0.0, 1, 2, 3, 4]})
    (rec,), rep = read_recording(df, return_report=True)
    assert rep.rows_missing_time == 1
    np.testing.assert_allclose(rec.signals[0], [0, 1, 2, 3, 4])  # the hole is interpolated


def test_sampling_period_averages_out_timestamp_jitter_and_skips_gaps():
    """Short logs with jittered timestamps (±10 % of the period, as phones write them): the
    median step misses 50 Hz by over the contract's 1 % tolerance on some logs; the estimate
    stays within 0.3 % on every one, across dropped samples; regular times give it exactly."""
    from swav_ts.data.grid import sampling_period

    worst_median, worst = 0.0, 0.0
    for seed in range(200):
        rng = np.random.default_rng(seed)
        t = np.arange(125) / 50.0 + rng.uniform(-0.1, 0.1, 125) / 50.0
        t = np.delete(t, [40, 41, 90])  # dropped samples: gaps of 2 and 3 periods
        worst_median = max(worst_median, abs(1 / np.median(np.diff(t)) / 50.0 - 1))
        worst = max(worst, abs(1 / sampling_period(t) / 50.0 - 1))
    assert worst_median > 0.01 and worst < 0.003, (worst_median, worst)
    assert sampling_period(np.arange(100) * 0.25) == 0.25  # exact in binary: no rounding
