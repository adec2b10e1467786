"""Several sources as one (swav_ts.data.mixture): shares, layout, rate, units, errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from swav_ts.data import Recording
from swav_ts.data.cache import RecordingCache
from swav_ts.data.mixture import MixedSource, as_parts, mixed_indices, source_shares
from swav_ts.data.sources import resolve_source
from swav_ts.data.torch_datasets import ContextDataset

IMU = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
G = 9.80665


def motion(names, rate_hz, seconds, rid, acc_unit=1.0, seed=0):
    """A wrist-like recording: gravity on acc_z, a 1.5 Hz swing on every channel."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate_hz)) / rate_hz
    rows = []
    for c in names:
        row = 0.3 * np.sin(2 * np.pi * 1.5 * t + rng.uniform(0, 6)) + 0.05 * rng.standard_normal(
            t.size
        )
        if c == "acc_z":
            row = row + 1.0
        rows.append(row * (acc_unit if c.startswith("acc") else 1.0))
    return Recording(np.array(rows, np.float32), None, rate_hz, names, 0.0, rid)


def mix(sources, **kw):
    parts = as_parts(sources, resolve_source, {"split": "train"})
    return MixedSource(parts, **kw)


def test_shares_follow_the_weighting_and_sum_exactly():
    held = {"big": 900, "small": 100}
    assert source_shares(held, 1000, "proportional") == {"big": 900, "small": 100}
    assert source_shares(held, 1000, "sqrt") == {"big": 750, "small": 250}  # 30 : 10
    assert source_shares(held, 1000, "equal") == {"big": 500, "small": 500}
    odd = source_shares({"a": 1, "b": 1, "c": 1}, 10, "equal")
    assert sum(odd.values()) == 10 and sorted(odd.values()) == [3, 3, 4]
    with pytest.raises(ValueError, match="weighting must be one of"):
        source_shares(held, 10, "uniform")


def test_mixed_indices_draw_within_each_source():
    groups = ["big"] * 90 + ["small"] * 10
    same, counts = mixed_indices(groups, "proportional")
    assert sorted(same.tolist()) == list(range(100))
    assert counts == {"big": {"held": 90, "drawn": 90}, "small": {"held": 10, "drawn": 10}}
    idx, counts = mixed_indices(groups, "equal", seed=3)
    assert len(idx) == 100 and counts["small"] == {"held": 10, "drawn": 50}
    small = idx[idx >= 90]
    assert len(small) == 50 and np.bincount(small - 90).tolist() == [5] * 10  # whole repeats
    big = idx[idx < 90]
    assert len(big) == 50 and len(set(big.tolist())) == 50  # without replacement
    again, _ = mixed_indices(groups, "equal", seed=3)
    assert np.array_equal(idx, again)


def test_recordings_share_one_layout_rate_and_units(caplog):
    phone = [motion(IMU, 50.0, 20, f"p{i}", acc_unit=G, seed=i) for i in range(2)]
    watch = [motion(IMU[:3], 100.0, 20, "w0", seed=9)]
    src = mix({"phone": {"source": phone, "units": {"acc": "m/s^2"}}, "watch": watch})
    with caplog.at_level(logging.INFO):
        recs = list(src.recordings())
    assert [r.recording_id for r in recs] == ["phone/p0", "phone/p1", "watch/w0"]
    assert all(r.channel_names == IMU and r.rate_hz == 50.0 for r in recs)
    # the phone's m/s^2 became g; the watch was resampled from 100 Hz and lacks the gyroscope
    np.testing.assert_allclose(recs[0].signals[:3], phone[0].signals[:3] / G, rtol=1e-5)
    np.testing.assert_array_equal(recs[0].signals[3:], phone[0].signals[3:])
    assert recs[2].n_samples == 1000 and recs[2].absent_channels == ("gyro_x", "gyro_y", "gyro_z")
    assert np.isnan(recs[2].signals[3:]).all() and np.isfinite(recs[2].signals[:3]).all()
    assert abs(np.median(np.linalg.norm(recs[2].signals[:3], axis=0)) - 1.0) < 0.1
    log = caplog.text
    assert "phone/p0: acc_x, acc_y, acc_z: m/s^2" in log and "converted to g" in log
    assert "source 'watch': resampled from 100 Hz to the run's 50 Hz" in log
    assert src.source_of(recs[2].recording_id) == "watch"


def test_run_channels_and_rate_can_be_chosen():
    phone = [motion(IMU, 50.0, 10, "p")]
    watch = [motion(IMU[:3], 100.0, 10, "w")]
    src = mix({"phone": phone, "watch": watch}, rate_hz=25.0, channels=["acc_z", "gyro_x"])
    recs = list(src.recordings())
    assert [r.channel_names for r in recs] == [["acc_z", "gyro_x"]] * 2
    assert [r.n_samples for r in recs] == [250, 250]
    assert recs[1].absent_channels == ("gyro_x",) and recs[0].absent_channels == ()
    with pytest.raises(ValueError, match=r"data.channels \['mag_x'\] are in no source"):
        list(mix({"phone": phone}, channels=["acc_x", "mag_x"]).recordings())


def test_absent_channels_are_read_as_the_training_mean(tmp_path):
    """A channel a source lacks drops no context; a real NaN run in a present channel still
    does."""
    phone = motion(IMU, 50.0, 20, "p")
    watch = motion(IMU[:3], 50.0, 20, "w", seed=4)
    watch.signals[0, 100:110] = np.nan  # a real gap in the watch's acc_x
    cache = RecordingCache.write(mix({"phone": [phone], "watch": [watch]}).recordings(), tmp_path)
    assert cache.recordings[1].absent == (3, 4, 5)
    assert cache.recordings[1].nan_runs == ((100, 110),)
    ds = ContextDataset(cache, 200, 100)
    assert ds.plan.nan_dropped == 2  # the two watch contexts over the gap, nothing else
    watch_items = [i for i in range(len(ds)) if ds.plan.recording[i] == 1]
    x = ds[watch_items[-1]].numpy()
    np.testing.assert_allclose(x[3:], np.repeat(cache.stats.mean[3:, None], 200, axis=1), rtol=1e-6)
    np.testing.assert_allclose(cache.stats.mean[3:], phone.signals[3:].mean(axis=1), atol=1e-6)
    reopened = RecordingCache.open(tmp_path)
    assert reopened.recordings[1].absent == (3, 4, 5)


def test_windows_join_with_names_and_a_rate():
    X = np.stack([motion(IMU[:3], 20.0, 6.4, f"c{i}").signals for i in range(4)])  # (4, 3, 128)
    ok = mix(
        {
            "imu": [motion(IMU, 50.0, 10, "p")],
            "win": {"source": X, "rate_hz": 20.0, "channels": IMU[:3]},
        }
    )
    recs = list(ok.recordings())
    assert [r.recording_id for r in recs[1:3]] == ["win/case0", "win/case1"]
    assert recs[1].n_samples == 318  # the 6.35 s its 128 samples span, on the 50 Hz grid
    with pytest.raises(ValueError, match="'win' .* has unnamed channels.*pretrain-crossdata"):
        mix({"imu": [motion(IMU, 50.0, 10, "p")], "win": {"source": X, "rate_hz": 20.0}})
    with pytest.raises(ValueError, match="'win' .* holds windows without a rate: give its rate_hz"):
        mix({"win": {"source": X, "channels": IMU[:3]}})


@pytest.mark.parametrize(
    "sources,message",
    [
        ({"a/b": "PH"}, "give a non-empty name without '/'"),
        ({"a": {"rate": 50, "source": "PH"}}, r"unknown option\(s\) \['rate'\]"),
        ({"a": {"units": {"acc": "g"}}}, "give its data as"),
    ],
)
def test_bad_source_specs_are_named(sources, message):
    phone = [motion(IMU, 50.0, 10, "p")]
    sources = {k: (phone if v == "PH" else v) for k, v in sources.items()}
    for spec in sources.values():
        if isinstance(spec, dict) and spec.get("source") == "PH":
            spec["source"] = phone
    with pytest.raises(ValueError, match=message):
        mix(sources)


def test_a_repeated_source_name_is_named():
    phone = [motion(IMU, 50.0, 10, "p")]
    with pytest.raises(ValueError, match=r"source names must be unique; \['a'\] appear"):
        mix([("a", phone), ("b", phone), ("a", {"source": phone})])


def test_a_recording_with_other_channels_is_an_error():
    src = mix({"a": [motion(IMU[:3], 50.0, 10, "p"), motion(IMU, 50.0, 10, "q")]})
    with pytest.raises(
        ValueError, match=r"'q' of source 'a' has channels \['gyro_x'.*data.channels"
    ):
        list(src.recordings())
    picked = mix({"a": {"source": [motion(IMU[:3], 50.0, 10, "p")], "channels": ["acc_x", "mag"]}})
    with pytest.raises(ValueError, match=r"lacks the channels \['mag'\] chosen for it"):
        list(picked.recordings())
