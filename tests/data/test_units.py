"""Units of motion sensors: recognised, detected, checked against declarations, converted."""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np
import pytest

from swav_ts.data.hapt import load_hapt_recordings
from swav_ts.data.units import conform_units, detect_unit, sensor_kind, to_model_units
from tests.fixtures import FAST_SWAV

G = 9.80665
NAMES = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


@pytest.fixture(scope="module")
def rec():
    """A real HAPT recording: accelerometer in g, gyroscope in rad/s."""
    r = load_hapt_recordings("train")[0]
    labels = None if r.labels is None else r.labels[:5000]
    return dataclasses.replace(r, signals=r.signals[:, :5000].copy(), labels=labels)


def in_other_units(signals, acc=1.0, gyro=1.0):
    factors = np.array([acc] * 3 + [gyro] * 3, dtype=np.float32)[:, None]
    return (signals * factors).astype(np.float32)


@pytest.mark.parametrize(
    "name, kind",
    [
        ("acc_x", "acc"),
        ("Accel.Y", "acc"),
        ("accelerometer z", "acc"),
        ("acc_wrist_x", "acc"),
        ("gyroZ", "gyro"),
        ("gyr_x", "gyro"),
        ("gyroscope-y", "gyro"),
        ("mag_x", None),
        ("heart_rate", None),
        ("accuracy", None),
    ],
)
def test_sensor_kind_from_the_channel_name(name, kind):
    assert sensor_kind(name) == kind


def test_detection_on_real_recordings(rec):
    acc, gyro = rec.signals[:3], rec.signals[3:]
    assert detect_unit("acc", acc)[0] == "g"
    assert detect_unit("acc", acc * G)[0] == "m/s^2"
    assert detect_unit("acc", acc * 1000)[0] == "mg"
    assert detect_unit("acc", acc * 4)[0] is None  # between the fences: undecided
    assert detect_unit("acc", acc[:1])[0] is None  # one axis: no gravity magnitude
    assert detect_unit("gyro", gyro)[0] == "rad/s"
    assert detect_unit("gyro", gyro * 180 / math.pi)[0] == "deg/s"
    assert detect_unit("acc", acc[:, :50])[0] is None  # too few samples


def test_conversion_to_g_and_rad_per_s(rec):
    other = in_other_units(rec.signals, G, 180 / math.pi)
    out, units, messages = conform_units(other, NAMES, where="watch.csv")
    np.testing.assert_allclose(out, rec.signals, rtol=1e-5, atol=1e-6)
    assert units == {**dict.fromkeys(NAMES[:3], "g"), **dict.fromkeys(NAMES[3:], "rad/s")}
    acc_line, gyro_line = messages
    assert acc_line.startswith("watch.csv: acc_x, acc_y, acc_z: m/s^2 (detected: median")
    assert acc_line.endswith("converted to g")
    assert gyro_line.startswith("watch.csv: gyro_x, gyro_y, gyro_z: deg/s (detected: 99th")
    assert gyro_line.endswith("converted to rad/s")
    # declared and confirmed: converted; in canonical units already: untouched, no message
    out2, _, _ = conform_units(other, NAMES, {"acc": "m/s^2", "gyro_x": "deg/s"})
    np.testing.assert_allclose(out2, rec.signals, rtol=1e-5, atol=1e-6)
    same, _, quiet = conform_units(rec.signals, NAMES)
    np.testing.assert_array_equal(same, rec.signals)
    assert quiet == []


def test_a_declared_unit_the_data_contradicts_is_one_clear_error(rec):
    other = in_other_units(rec.signals, G)  # m/s^2 ...
    with pytest.raises(ValueError) as err:
        conform_units(other, NAMES, {"acc": "g"}, where="watch.csv")  # ... declared as g
    text = str(err.value)
    assert "\n" not in text
    assert text.startswith("watch.csv: acc_x, acc_y, acc_z are declared in g but the data says")
    assert "m/s^2 (median magnitude 10" in text and "declare units={'acc': 'm/s^2'}" in text
    with pytest.raises(ValueError, match="'furlong' declared .* is not an acc unit"):
        conform_units(other, NAMES, {"acc": "furlong"})
    with pytest.raises(ValueError, match=r"declared for \['acc_q'\], which the data does not"):
        conform_units(other, NAMES, {"acc_q": "g"})


def test_only_channels_with_a_model_unit_are_converted(rec):
    other = in_other_units(rec.signals, G, 180 / math.pi)
    out, changed = to_model_units(other, NAMES, {c: "g" for c in NAMES[:3]})
    np.testing.assert_allclose(out[:3], rec.signals[:3], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out[3:], other[3:])  # the model knows no gyro unit
    assert len(changed) == 1 and "converted to g" in changed[0]
    assert to_model_units(other, NAMES, None)[0] is other


FAST = {**FAST_SWAV, "random_state": 0}


def test_the_estimator_trains_and_embeds_in_g_whatever_the_input_units(rec, caplog):
    from swav_ts import TimeSeriesSwAV

    recs = load_hapt_recordings("train")[:2]
    in_ms2 = [dataclasses.replace(r, signals=in_other_units(r.signals, G)) for r in recs]
    with caplog.at_level(logging.WARNING):
        est = TimeSeriesSwAV(**FAST).fit(in_ms2)
    assert sum("m/s^2 (detected" in m for m in caplog.messages) == 1  # one line, not one a file
    assert est.contract_.units["acc_x"] == "g" and est.contract_.units["gyro_z"] == "rad/s"
    # the same data declared as g is refused, naming the fix
    with pytest.raises(ValueError, match=r"declared in g but the data says m/s\^2"):
        TimeSeriesSwAV(units={"acc": "g"}, **FAST).fit(in_ms2)
    # windows in m/s^2 are embedded as the same windows in g, with a warning
    X = np.stack([rec.signals[:, i : i + 128] for i in range(0, 2560, 64)])  # (40, 6, 128)
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        Z = est.transform(in_other_units(X, G))
    assert any("converted to g (the model's units)" in m for m in caplog.messages)
    np.testing.assert_allclose(Z, est.transform(X), rtol=1e-4, atol=1e-5)
