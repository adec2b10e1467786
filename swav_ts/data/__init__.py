"""Data layer: sources, file readers, recordings, the window cutter, the on-disk recording
cache, torch datasets and channel statistics.

Arrays at public boundaries are ``(n_cases, n_channels, n_timepoints)`` float32.
Torch datasets live in :mod:`swav_ts.data.torch_datasets` (imported lazily here).
"""

from __future__ import annotations

from swav_ts.data.cache import RecordingCache
from swav_ts.data.normalize import ChannelNormalizer, ChannelStats, channel_stats
from swav_ts.data.readers import read_recording, read_recordings
from swav_ts.data.recording import ReadReport, Recording
from swav_ts.data.sources import load_windows, resolve_source
from swav_ts.data.ts_files import load_ts_file
from swav_ts.data.windows import plan_windows, sliding_windows, to_channels_first

__all__ = [
    "ChannelNormalizer",
    "ChannelStats",
    "ContextDataset",
    "ReadReport",
    "Recording",
    "RecordingCache",
    "WindowDataset",
    "channel_stats",
    "load_ts_file",
    "load_windows",
    "plan_windows",
    "read_recording",
    "read_recordings",
    "resolve_source",
    "sliding_windows",
    "to_channels_first",
]

_TORCH_NAMES = ("ContextDataset", "WindowDataset")


def __getattr__(name: str):
    # torch is imported only when a dataset class is used.
    if name in _TORCH_NAMES:
        from swav_ts.data import torch_datasets

        return getattr(torch_datasets, name)
    raise AttributeError(f"module 'swav_ts.data' has no attribute {name!r}")
