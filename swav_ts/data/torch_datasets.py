"""Torch datasets: windows of an in-memory array, and contexts read from the recording cache."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from swav_ts.data.cache import RecordingCache
from swav_ts.data.windows import NanRule, ShortRule, WindowPlan, plan_windows

__all__ = ["ContextDataset", "WindowDataset"]


class WindowDataset(Dataset):
    """Windows ``(n, C, T)`` from an in-memory array, a memmap, or a ``.npy`` path.

    Parameters
    ----------
    X : ndarray or str or Path
        ``(n, C, T)`` array; a ``.npy`` path is opened with ``mmap_mode="r"``.
    y : array-like, optional
        Per-window targets; items become ``(x, y)`` when given.

    Items are float32 ``(C, T)`` tensors copied out of the array.
    """

    def __init__(self, X: np.ndarray | str | Path, y: np.ndarray | None = None) -> None:
        if isinstance(X, (str, Path)):
            X = np.load(X, mmap_mode="r")
        if not isinstance(X, np.ndarray) or X.ndim != 3:
            raise ValueError(
                f"WindowDataset expects an (n, C, T) array, got {getattr(X, 'shape', type(X))}"
            )
        if y is not None:
            y = np.asarray(y)
            if len(y) != len(X):
                raise ValueError(f"y has {len(y)} entries for {len(X)} windows")
        self.X = X
        self.y = y

    def __len__(self) -> int:
        return int(self.X.shape[0])

    def __getitem__(self, i: int):
        x = torch.from_numpy(np.array(self.X[i], dtype=np.float32, copy=True))  # (C, T)
        if self.y is None:
            return x
        return x, torch.as_tensor(self.y[i])


class ContextDataset(Dataset):
    """Fixed-length contexts ``(C, context_length)`` read from a :class:`RecordingCache`.

    Context positions follow the window rules of :mod:`swav_ts.data.windows` (starts every
    ``stride`` samples inside each recording; short recordings skipped; contexts holding NaN
    dropped by default; a channel a recording does not have, ``absent``, is read as the
    channel's training mean). Each item is one positioned read from the cache file, so memory stays
    flat however large the cache is, and worker processes each open their own file handle.

    Parameters
    ----------
    cache : RecordingCache
    context_length, stride : int
        In samples.
    nan : {"drop", "keep", "raise"}, default "drop"
    short : {"skip", "raise"}, default "skip"

    Attributes
    ----------
    plan : WindowPlan
        Recording index and start of every context, and what the rules left out.
    """

    def __init__(
        self,
        cache: RecordingCache,
        context_length: int,
        stride: int,
        nan: NanRule = "drop",
        short: ShortRule = "skip",
    ) -> None:
        self.cache = cache
        self.context_length = int(context_length)
        self.plan: WindowPlan = plan_windows(
            [r.n_samples for r in cache.recordings],
            context_length,
            stride,
            nan_samples=[r.nan_mask() for r in cache.recordings],
            recording_ids=[r.recording_id for r in cache.recordings],
            nan=nan,
            short=short,
            log=False,
        )
        if len(self.plan) == 0:
            longest = max(r.n_samples for r in cache.recordings)
            raise ValueError(
                f"no context of {context_length} samples can be cut from the data: "
                f"{self.plan.summary()}; the longest recording has {longest} samples (lower "
                "data.context_length, or check the NaN gaps)"
            )

    def __len__(self) -> int:
        return len(self.plan)

    def item_info(self, i: int) -> tuple[str, int]:
        """``(recording_id, start_index)`` of item ``i``."""
        k = int(self.plan.recording[i])
        return self.cache.recordings[k].recording_id, int(self.plan.start[i])

    def __getitem__(self, i: int) -> torch.Tensor:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} contexts")
        k, s = int(self.plan.recording[i]), int(self.plan.start[i])
        x = self.cache.read(k, s, self.context_length)  # (C, L)
        absent = list(self.cache.recordings[k].absent)
        if absent:  # a channel the recording lacks reads as its training mean
            x[absent] = self.cache.stats.mean[absent, None]
        return torch.from_numpy(x)
