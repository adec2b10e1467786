"""Shared fixtures of the export tests: one fitted debug model and its exports (made once)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from swav_ts import TimeSeriesSwAV
from swav_ts.data import Recording
from swav_ts.data.hapt import load_hapt_recordings

DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"


@pytest.fixture(scope="session")
def est() -> TimeSeriesSwAV:
    """The debug model (cnn3 8/16/16, windows of 96 samples at 50 Hz, HAPT channels)."""
    return TimeSeriesSwAV.from_config(DEBUG).fit("hapt")


@pytest.fixture(scope="session")
def exports(est, tmp_path_factory, hapt_tiny) -> dict[str, Path]:
    """ONNX (dynamic length, with scores), ONNX fixed length, int8 ONNX, TorchScript."""
    d = tmp_path_factory.mktemp("exports")
    return {
        "onnx": est.export(d / "model.onnx", scores=True),
        "onnx_fixed": est.export(d / "fixed.onnx", dynamic_length=False),
        "int8": est.export(d / "int8.onnx", int8=True, calibration=hapt_tiny["X_train"]),
        "torchscript": est.export(d / "model.pt", format="torchscript", scores=True),
    }


@pytest.fixture(scope="session")
def recording() -> Recording:
    """30 s of a HAPT test recording, 6 samples NaN, starting at 12.5 s."""
    rec = load_hapt_recordings("test")[0]
    sig = rec.signals[:, 1000:2500].copy()  # (6, 1500)
    sig[2, 400:403] = np.nan
    sig[0, 901] = np.nan
    return Recording(sig, None, rec.rate_hz, rec.channel_names, start_time=12.5)
