"""Torch datasets over windows and over memory-mapped per-recording caches."""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from swav_ts.data.recording import Recording

__all__ = ["RecordingContextDataset", "WindowDataset", "write_recording_cache"]

CACHE_INDEX = "index.json"
CACHE_VERSION = 1


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


def _safe_name(s: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", s)[:80]


def write_recording_cache(recordings: Iterable[Recording], directory: str | Path) -> Path:
    """Write recordings as one ``.npy`` per recording plus ``index.json``.

    Signals are stored float32 ``(C, T)``; labels (if any) as ``<file>_labels.npy``. The
    directory is created; an existing cache index there is overwritten.

    Parameters
    ----------
    recordings : iterable of Recording
    directory : str or Path

    Returns
    -------
    Path
        The cache directory.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    entries = []
    ids = set()
    for i, r in enumerate(recordings):
        if r.recording_id in ids:
            raise ValueError(f"recording id {r.recording_id!r} appears twice; ids must be unique")
        ids.add(r.recording_id)
        fname = f"{i:06d}_{_safe_name(r.recording_id)}.npy"
        np.save(directory / fname, np.ascontiguousarray(r.signals, dtype=np.float32))
        lab_name = None
        if r.labels is not None:
            lab_name = fname[:-4] + "_labels.npy"
            np.save(directory / lab_name, np.asarray(r.labels))
        entries.append(
            {
                "file": fname,
                "labels_file": lab_name,
                "recording_id": r.recording_id,
                "subject": r.subject
                if r.subject is None or isinstance(r.subject, str)
                else int(r.subject),
                "n_channels": r.n_channels,
                "n_samples": r.n_samples,
                "rate_hz": r.rate_hz,
                "start_time": r.start_time,
                "channel_names": r.channel_names,
            }
        )
    if not entries:
        raise ValueError("write_recording_cache got no recordings")
    index = {"version": CACHE_VERSION, "recordings": entries}
    (directory / CACHE_INDEX).write_text(json.dumps(index, indent=1))
    return directory


class RecordingContextDataset(Dataset):
    """Fixed-length contexts ``(C, context_length)`` cut from recordings.

    Contexts start at ``0, stride, 2*stride, ...`` in each recording and never cross recordings.
    From a cache directory (see :func:`write_recording_cache`) the recordings are opened with
    ``np.load(mmap_mode="r")`` on first use in each process and at most ``max_open`` maps are kept
    open (least recently used closed first), so resident memory stays bounded by about
    ``max_open`` recordings however large the cache is.

    Parameters
    ----------
    recordings_or_npy_dir : list of Recording, or str/Path
        In-memory recordings, or a cache directory (``index.json`` + ``.npy`` files; a directory
        of bare ``(C, T)`` ``.npy`` files also works).
    context_length : int
        Samples per item.
    stride : int, optional
        Step between context starts (default ``context_length``).
    max_open : int
        Most memory maps kept open at once.

    Items are float32 ``(C, context_length)`` tensors (copied out of the memmap).
    ``item_info(i)`` gives ``(recording_id, start_index)``.
    """

    def __init__(
        self,
        recordings_or_npy_dir: Iterable[Recording] | str | Path,
        context_length: int,
        stride: int | None = None,
        max_open: int = 8,
    ) -> None:
        if context_length < 1:
            raise ValueError(f"context_length must be >= 1, got {context_length}")
        stride = context_length if stride is None else int(stride)
        if stride < 1:
            raise ValueError(f"stride must be >= 1, got {stride}")
        self.context_length = int(context_length)
        self.stride = stride
        self.max_open = max(1, int(max_open))
        self._arrays: list[np.ndarray] | None = None
        self._paths: list[Path] | None = None
        if isinstance(recordings_or_npy_dir, (str, Path)):
            self._paths, self.recording_ids, lengths, n_ch = self._scan_dir(
                Path(recordings_or_npy_dir)
            )
        else:
            recs = list(recordings_or_npy_dir)
            if not recs:
                raise ValueError("RecordingContextDataset got no recordings")
            self._arrays = [r.signals for r in recs]
            self.recording_ids = [r.recording_id for r in recs]
            lengths = [r.n_samples for r in recs]
            n_ch = {r.n_channels for r in recs}
        if len(n_ch) != 1:
            raise ValueError(f"recordings have different channel counts: {sorted(n_ch)}")
        self.n_channels = n_ch.pop()
        rec_idx, starts = [], []
        for k, n in enumerate(lengths):
            s = np.arange(0, n - self.context_length + 1, stride, dtype=np.int64)
            rec_idx.append(np.full(len(s), k, dtype=np.int64))
            starts.append(s)
        self._rec = np.concatenate(rec_idx)
        self._start = np.concatenate(starts)
        self.lengths = np.asarray(lengths, dtype=np.int64)
        if len(self._rec) == 0:
            raise ValueError(
                f"no recording is at least context_length={self.context_length} samples long "
                f"(longest: {int(self.lengths.max())})"
            )
        self._open: OrderedDict[int, np.ndarray] = OrderedDict()

    @staticmethod
    def _scan_dir(directory: Path) -> tuple[list[Path], list[str], list[int], set[int]]:
        if not directory.is_dir():
            raise ValueError(f"{directory}: not a directory")
        index_path = directory / CACHE_INDEX
        if index_path.is_file():
            index = json.loads(index_path.read_text())
            if index.get("version") != CACHE_VERSION:
                raise ValueError(f"{index_path}: unsupported cache version {index.get('version')}")
            ents = index["recordings"]
            paths = [directory / e["file"] for e in ents]
            missing = [str(p) for p in paths if not p.is_file()]
            if missing:
                raise ValueError(f"{index_path}: listed files are missing: {missing[:5]}")
            return (
                paths,
                [e["recording_id"] for e in ents],
                [int(e["n_samples"]) for e in ents],
                {int(e["n_channels"]) for e in ents},
            )
        paths = sorted(p for p in directory.glob("*.npy") if not p.name.endswith("_labels.npy"))
        if not paths:
            raise ValueError(f"{directory}: no {CACHE_INDEX} and no .npy files")
        lengths, n_ch = [], set()
        for p in paths:
            a = np.load(p, mmap_mode="r")
            if a.ndim != 2:
                raise ValueError(f"{p}: expected a (C, T) array, got shape {a.shape}")
            n_ch.add(int(a.shape[0]))
            lengths.append(int(a.shape[1]))
            del a
        return paths, [p.stem for p in paths], lengths, n_ch

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_open"] = OrderedDict()  # maps are reopened in each worker process
        return state

    def _array(self, k: int) -> np.ndarray:
        if self._arrays is not None:
            return self._arrays[k]
        a = self._open.get(k)
        if a is not None:
            self._open.move_to_end(k)
            return a
        a = np.load(self._paths[k], mmap_mode="r")
        self._open[k] = a
        while len(self._open) > self.max_open:
            self._open.popitem(last=False)  # dropping the last reference unmaps the file
        return a

    def __len__(self) -> int:
        return len(self._rec)

    def item_info(self, i: int) -> tuple[str, int]:
        """``(recording_id, start_index)`` of item ``i``."""
        return self.recording_ids[int(self._rec[i])], int(self._start[i])

    def __getitem__(self, i: int) -> torch.Tensor:
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError(f"index {i} out of range for {len(self)} contexts")
        k, s = int(self._rec[i]), int(self._start[i])
        a = self._array(k)
        x = np.array(a[:, s : s + self.context_length], dtype=np.float32, copy=True)  # (C, T)
        return torch.from_numpy(x)
