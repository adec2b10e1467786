"""Pretraining on several sources with different channel sets, rates and units: the estimator
(``fit({name: source})``) and the YAML ``data.sources`` of ``swav-ts pretrain``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from swav_ts import TimeSeriesSwAV
from swav_ts.cli import main
from tests.data.test_mixture import IMU, G, motion
from tests.fixtures import FAST_SWAV

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def phone_and_watch():
    phone = [motion(IMU, 50.0, 60, f"p{i}", acc_unit=G, seed=i) for i in range(3)]
    watch = [motion(IMU[:3], 100.0, 60, f"w{i}", seed=10 + i) for i in range(2)]
    return phone, watch


def test_fit_on_two_sources_embeds_either(phone_and_watch, caplog):
    phone, watch = phone_and_watch
    with caplog.at_level(logging.INFO):
        est = TimeSeriesSwAV(random_state=0, weighting="sqrt", **FAST_SWAV).fit(
            {"phone": {"source": phone, "units": {"acc": "m/s^2"}}, "watch": watch}
        )
    assert est.channel_names_ == IMU and est.rate_hz_ == 50.0
    assert "sources (sqrt weighting), contexts held -> per epoch: phone" in caplog.text
    assert "source 'watch': resampled from 100 Hz to the run's 50 Hz" in caplog.text
    # the gyroscope was absent from the watch: the model fills it for recordings that lack it
    assert est.contract_.fill_values is not None
    np.testing.assert_allclose(
        est.contract_.fill_values[3:], est.model_.backbone.standardize.mean[3:]
    )
    Z_watch = est.embed_recording(watch[0], window_s=2.56, stride_s=2.56)
    assert Z_watch[0].shape[0] > 0 and np.isfinite(Z_watch[0]).all()
    X = np.stack([r.signals[:, :128] for r in phone]) / np.array([G] * 3 + [1] * 3)[:, None]
    assert est.transform(X).shape == (3, est.n_features_out_)


def test_weighting_needs_several_sources_and_every_source_must_count(phone_and_watch):
    phone = phone_and_watch[0]
    with pytest.raises(ValueError, match="'sqrt' weighs several sources; this run has one"):
        TimeSeriesSwAV(weighting="sqrt", **FAST_SWAV).fit(phone)
    short = [motion(IMU[:3], 50.0, 2, "s")]  # 100 samples: shorter than a context
    with pytest.raises(ValueError, match=r"source\(s\) \['short'\] give no context of 256"):
        TimeSeriesSwAV(**FAST_SWAV).fit({"phone": phone, "short": short})


def _export(path, names, rate_hz, seconds, acc_unit, seed):
    """A CSV export: ms timestamps, the signals, a string label column."""
    rec = motion(names, rate_hz, seconds, "x", acc_unit=acc_unit, seed=seed)
    df = pd.DataFrame(rec.signals.T, columns=names)
    df.insert(0, "timestamp", np.arange(rec.n_samples) * 1000.0 / rate_hz)
    df["activity"] = "WALKING"
    df.to_csv(path, index=False)


def test_yaml_sources_pretrain_one_model(tmp_path, capsys):
    """configs/timeseries/multi_source.yaml as the docs show it: a phone (m/s^2, 100 Hz) and a
    watch (accelerometer only, g, 50 Hz)."""
    for sub in ("phone", "watch"):
        (tmp_path / sub).mkdir()
    for i in range(2):
        _export(tmp_path / "phone" / f"p{i}.csv", IMU, 100.0, 40, G, i)
        _export(tmp_path / "watch" / f"w{i}.csv", IMU[:3], 50.0, 40, 1.0, 5 + i)
    config = yaml.safe_load((ROOT / "configs" / "timeseries" / "multi_source.yaml").read_text())
    for spec in config["data"]["sources"]:
        spec["source"] = str(tmp_path / spec["source"])
    config["train"] = {"epochs": 1, "progress": False, "device": "cpu", "batch_size": 16}
    config["encoder"] = {"name": "cnn3", "kwargs": {"widths": [4, 8]}}
    config["swav"] = {"hidden_mlp": 8, "feat_dim": 4, "n_prototypes": 6}
    path = tmp_path / "mixed.yaml"
    path.write_text(yaml.safe_dump(config))
    out = tmp_path / "run"
    assert main(["pretrain", "--config", str(path), "--out", str(out)]) == 0
    est = TimeSeriesSwAV.load(out / "model.safetensors")
    assert est.channel_names_ == IMU and est.rate_hz_ == 50.0
    assert est.contract_.units == {c: "g" for c in IMU[:3]} | {c: "rad/s" for c in IMU[3:]}
    assert est.contract_.fill_values is not None  # kept by save

    config["data"]["source"] = "hapt"  # both: one is ignored, so it is an error
    path.write_text(yaml.safe_dump(config))
    assert main(["pretrain", "--config", str(path), "--out", str(tmp_path / "r2")]) == 2
    assert "data.source and data.sources are both given: keep one" in capsys.readouterr().err
