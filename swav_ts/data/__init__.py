"""Data layer: file readers, recordings, windows, datasets and normalisation.

Arrays at public boundaries are ``(n_cases, n_channels, n_timepoints)`` float32.
Torch datasets live in :mod:`swav_ts.data.datasets` (imported lazily here).
"""

from __future__ import annotations

from swav_ts.data.normalize import ChannelNormalizer
from swav_ts.data.readers import read_recording, read_recordings
from swav_ts.data.recording import ReadReport, Recording
from swav_ts.data.ts_files import load_ts_file
from swav_ts.data.windows import sliding_windows, to_channels_first

__all__ = [
    "ChannelNormalizer",
    "ReadReport",
    "Recording",
    "RecordingContextDataset",
    "WindowDataset",
    "load_ts_file",
    "read_recording",
    "read_recordings",
    "sliding_windows",
    "to_channels_first",
    "write_recording_cache",
]

_TORCH_NAMES = ("RecordingContextDataset", "WindowDataset", "write_recording_cache")


def __getattr__(name: str):
    # torch is imported only when a dataset class is used.
    if name in _TORCH_NAMES:
        from swav_ts.data import datasets

        return getattr(datasets, name)
    raise AttributeError(f"module 'swav_ts.data' has no attribute {name!r}")
