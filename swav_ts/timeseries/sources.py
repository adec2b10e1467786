"""Pretraining data named by ``data.source`` in a config: HAPT, arrays, .ts files, recordings."""

from __future__ import annotations

import glob
from pathlib import Path

import numpy as np

from swav_ts.data.readers import read_recordings
from swav_ts.data.recording import Recording
from swav_ts.data.ts_files import load_ts_file
from swav_ts.timeseries.config import TSDataConfig


def load_source(data: TSDataConfig) -> list[Recording] | np.ndarray:
    """Recordings (continuous data) or an array ``(n_cases, n_channels, n_timepoints)``.

    ``source``: ``"hapt"`` (shipped HAPT recordings of ``split``), ``*.npy`` / ``*.npz``
    (key ``X``, or the only array), ``*.ts`` (UEA/UCR, equal length), or a CSV/Parquet file or
    glob read as recordings with ``time_col``, ``time_unit``, ``rate_hz``, ``channels``.
    """
    src = data.source
    if src == "hapt":
        from swav_ts.datasets import load_hapt_recordings

        return load_hapt_recordings(data.split)
    path = Path(src)
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return _check_array(np.load(path, allow_pickle=False), src)
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as z:
            keys = list(z.keys())
            if "X" in keys:
                return _check_array(z["X"], f"{src}[X]")
            if len(keys) == 1:
                return _check_array(z[keys[0]], f"{src}[{keys[0]}]")
            raise ValueError(f"{src} holds arrays {keys}; name the windows 'X'")
    if suffix == ".ts":
        X, _ = load_ts_file(path, return_type="array")
        return _check_array(X, src)
    if suffix in (".csv", ".parquet", ".pq") or any(ch in src for ch in "*?["):
        paths = sorted(glob.glob(src)) if any(ch in src for ch in "*?[") else [src]
        if not paths:
            raise ValueError(f"data.source {src!r} matches no file")
        return read_recordings(
            paths,
            time_col=data.time_col,
            time_unit=data.time_unit,
            rate_hz=data.rate_hz,
            channels=data.channels,
        )
    raise ValueError(
        f"data.source {src!r}: expected 'hapt', a .npy/.npz/.ts file, or CSV/Parquet "
        "recordings (a path or glob)"
    )


def _check_array(X: np.ndarray, where: str) -> np.ndarray:
    if X.ndim != 3:
        raise ValueError(
            f"{where} has shape {X.shape}; expected (n_cases, n_channels, n_timepoints)"
        )
    return X.astype(np.float32, copy=False)
