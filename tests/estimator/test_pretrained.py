"""The shipped model ``motion-50hz``: loads without training or download and embeds
recordings with fewer or more of its sensors (that it travels inside the wheel:
tests/test_wheel.py)."""

import dataclasses

import numpy as np
import pytest

from swav_ts import TimeSeriesSwAV
from swav_ts.cli import main
from swav_ts.data.hapt import load_hapt_recordings
from swav_ts.pretrained import model_path

HAPT_CHANNELS = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
WINDOW = dict(window_s=2.56, stride_s=1.28)


@pytest.fixture(scope="module")
def shipped():
    return TimeSeriesSwAV.pretrained("motion-50hz")


@pytest.fixture(scope="module")
def recording():
    rec = load_hapt_recordings("test")[0]  # scored, never trained on: any test subject will do
    return dataclasses.replace(rec, signals=rec.signals[:, :3000], labels=None)


def _channels(rec, names, extra=None):
    """``rec`` with only ``names`` (in that order), plus ``extra`` channels {name: signal}."""
    idx = [list(rec.channel_names).index(n) for n in names]
    signals, out = [rec.signals[idx]], list(names)
    for name, sig in (extra or {}).items():
        signals.append(sig[None])
        out.append(name)
    return dataclasses.replace(rec, signals=np.concatenate(signals), channel_names=out)


def test_the_shipped_model_and_its_contract(shipped):
    assert model_path("motion-50hz").stat().st_size <= 5_000_000  # the budget
    c = shipped.contract_
    assert c.named and c.channel_names == HAPT_CHANNELS and c.rate_hz == 50.0
    assert c.units == {
        **dict.fromkeys(HAPT_CHANNELS[:3], "g"),
        **dict.fromkeys(HAPT_CHANNELS[3:], "rad/s"),
    }
    assert shipped.get_params()["run_dir"] is None  # no path of the machine that built it
    mean = shipped.model_.backbone.standardize.mean.double().numpy()
    np.testing.assert_allclose(c.fill_values, mean)
    with pytest.raises(ValueError, match="no shipped model 'nope'.*motion-50hz"):
        TimeSeriesSwAV.pretrained("nope")


def test_embeds_1_3_6_and_9_channels(shipped, recording, caplog):
    Z6, t6 = shipped.embed_recording(_channels(recording, HAPT_CHANNELS), **WINDOW)
    assert Z6.shape == (len(t6), shipped.n_features_out_) and np.isfinite(Z6).all()
    # 9 channels: a magnetometer the model never saw is left out, the embedding unchanged
    mag = {
        f"mag_{a}": np.sin(np.arange(recording.n_samples) / 7.0 + i) for i, a in enumerate("xyz")
    }
    Z9, _ = shipped.embed_recording(_channels(recording, HAPT_CHANNELS, mag), **WINDOW)
    np.testing.assert_array_equal(Z9, Z6)
    # 3 channels (an accelerometer alone): the gyroscope is filled with its training mean,
    # said once, exactly as if the gyroscope had recorded its mean
    caplog.clear()
    with caplog.at_level("WARNING", logger="swav_ts.data.contract"):
        Z3, t3 = shipped.embed_recording(_channels(recording, HAPT_CHANNELS[:3]), **WINDOW)
    lines = [r.getMessage() for r in caplog.records if "lacks channel(s)" in r.getMessage()]
    assert len(lines) == 1 and "['gyro_x', 'gyro_y', 'gyro_z']" in lines[0]
    held = _channels(recording, HAPT_CHANNELS)
    held.signals[3:] = np.asarray(shipped.contract_.fill_values[3:], np.float32)[:, None]
    np.testing.assert_allclose(Z3, shipped.embed_recording(held, **WINDOW)[0], rtol=1e-5, atol=1e-6)
    assert np.array_equal(t3, t6) and not np.allclose(Z3, Z6)
    # 1 channel
    Z1, _ = shipped.embed_recording(_channels(recording, ["acc_x"]), **WINDOW)
    assert Z1.shape == Z6.shape and np.isfinite(Z1).all()


def test_filling_is_opt_in_and_saved(shipped, recording, tmp_path):
    strict = TimeSeriesSwAV.load(model_path("motion-50hz")).fill_missing_channels(False)
    with pytest.raises(ValueError, match=r"lacks channel\(s\) \['gyro_x', 'gyro_y', 'gyro_z'\]"):
        strict.embed_recording(_channels(recording, HAPT_CHANNELS[:3]), **WINDOW)
    reloaded = TimeSeriesSwAV.load(strict.save(tmp_path / "strict.safetensors"))
    assert reloaded.contract_.fill_values is None
    with pytest.raises(ValueError, match="6 channels"):  # arrays have no names to fill by
        shipped.transform(np.zeros((2, 3, 128), np.float32))


def test_cli_embeds_with_the_shipped_model_by_name(recording, tmp_path, capsys):
    import pandas as pd

    acc = _channels(recording, HAPT_CHANNELS[:3])
    df = pd.DataFrame(acc.signals.T, columns=HAPT_CHANNELS[:3])
    df.insert(0, "timestamp", np.arange(acc.n_samples) * 20.0)  # ms at 50 Hz
    df.to_csv(tmp_path / "watch.csv", index=False)
    rc = main(["embed", "--model", "motion-50hz", "--input", str(tmp_path / "watch.csv"),
               "--out", str(tmp_path / "z.npy"), "--window-s", "2.56"])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    assert np.load(tmp_path / "z.npy").shape[1] == 128
