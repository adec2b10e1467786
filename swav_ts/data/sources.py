"""One place that turns a data source into recordings or labelled windows.

Every entry point (``TimeSeriesSwAV.fit``, ``swav-ts pretrain | evaluate | embed``, the demo and
the benchmarks) resolves its data here. A source is

* a bundled dataset name: ``"hapt"`` (the UCI HAPT recordings in ``datasets/hapt``);
* an array file: ``.npy`` holding ``(n_cases, n_channels, n_timepoints)`` windows or one
  ``(n_channels, n_timepoints)`` recording; ``.npz`` holding windows under ``X`` (or its only
  array), labelled windows under ``X_<split>`` / ``y_<split>`` or ``X`` / ``y``;
* a UEA/UCR ``.ts`` file (windows, with their class labels);
* CSV / Parquet sensor logs, one path or a glob (``"logs/*.csv"``), read as recordings by
  :func:`swav_ts.data.readers.read_recording`; a glob may also match ``.npy`` recordings;
* in the Python API: a list of :class:`~swav_ts.data.recording.Recording` or an array.

Recordings are produced lazily (:func:`iter_recordings`), one file at a time, so a source larger
than memory can be streamed into the on-disk cache (:mod:`swav_ts.data.cache`).
"""

from __future__ import annotations

import glob as _glob
import hashlib
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from swav_ts.data.readers import infer_rate, read_recording
from swav_ts.data.recording import ReadReport, Recording

__all__ = [
    "BUNDLED",
    "RecordingSource",
    "RecordingWindows",
    "iter_recording_windows",
    "load_windows",
    "read_windows",
    "resolve_source",
]

logger = logging.getLogger(__name__)

#: Datasets shipped with the package.
BUNDLED = ("hapt",)
RECORDING_SUFFIXES = (".csv", ".tsv", ".txt", ".parquet", ".pq", ".gz")
Kind = Literal["bundled", "array", "ts", "files", "memory"]


def _is_glob(text: str) -> bool:
    return any(ch in text for ch in "*?[")


def _array_channel_names(n_channels: int) -> list[str]:
    return [f"ch{j}" for j in range(n_channels)]


@dataclass
class RecordingSource:
    """A resolved data source; :meth:`recordings` yields its recordings lazily.

    Build one with :func:`resolve_source`.

    Attributes
    ----------
    kind : {"bundled", "array", "ts", "files", "memory"}
    description : str
        For messages and the run's provenance.
    paths : list of Path
        Files behind the source (empty for bundled and in-memory data).
    named_channels : bool
        False for arrays and ``.ts`` files, whose channels are only numbered.
    """

    kind: Kind
    description: str
    paths: list[Path] = field(default_factory=list)
    named_channels: bool = True
    read_options: dict[str, Any] = field(default_factory=dict)
    _memory: Any = None
    report: ReadReport | None = None

    def recordings(self) -> Iterator[Recording]:
        """Yield the source's recordings one at a time (windows become one recording each)."""
        if self.kind == "memory":
            yield from _memory_recordings(self._memory)
        elif self.kind == "bundled":
            from swav_ts.data.hapt import load_hapt_recordings

            yield from load_hapt_recordings(self.read_options.get("split", "train"))
        elif self.kind == "array":
            yield from _memory_recordings(_load_array(self.paths[0]), self.read_options)
        elif self.kind == "ts":
            from swav_ts.data.ts_files import load_ts_file

            X, _ = load_ts_file(self.paths[0], return_type="list")
            yield from _memory_recordings(X, self.read_options)
        else:
            yield from self._read_files()

    def _read_files(self) -> Iterator[Recording]:
        opts = {k: v for k, v in self.read_options.items() if k != "split" and v is not None}
        tables = [p for p in self.paths if p.suffix.lower() != ".npy"]
        if "rate_hz" not in opts and len(tables) > 1:
            target = _common_rate(
                tables, opts.get("time_col", "timestamp"), opts.get("time_unit", "ms")
            )
            if target is not None:
                opts["rate_hz"] = target
        self.report = ReadReport(source=self.description)
        for path in self.paths:
            if path.suffix.lower() == ".npy":
                arr = np.load(path, allow_pickle=False)
                if arr.ndim != 2:
                    raise ValueError(
                        f"{path}: a recording .npy must hold (n_channels, n_timepoints), got "
                        f"shape {arr.shape}"
                    )
                names = opts.get("channels") or _array_channel_names(arr.shape[0])
                yield Recording(arr, None, opts.get("rate_hz") or 1.0, names, 0.0, path.stem)
                continue
            recs, rep = read_recording(
                path, recording_id=path.name.split(".")[0], return_report=True, log=False, **opts
            )
            self.report.merge(rep)
            self.report.rate_hz, self.report.rate_inferred = rep.rate_hz, rep.rate_inferred
            logger.debug("%s", rep.summary())
            yield from recs
        if self.report.changed:  # one line for the whole read; per file at -v (DEBUG)
            logger.warning("read %s (per file: -v)", self.report.summary())

    def fingerprint(self) -> str:
        """What the data is: paths with sizes and modification times, or a content hash."""
        h = hashlib.sha1()
        h.update(json.dumps([self.kind, self.description, self.read_options], default=str).encode())
        if self.kind == "memory":
            data = self._memory
            items = [data] if isinstance(data, (np.ndarray, Recording)) else list(data)
            for item in items:
                arr = item.signals if isinstance(item, Recording) else np.asarray(item)
                h.update(np.ascontiguousarray(arr).tobytes())
                if isinstance(item, Recording):
                    h.update(repr((item.recording_id, item.rate_hz, item.channel_names)).encode())
        for p in self.paths:
            st = p.stat()
            h.update(f"{p.resolve()}:{st.st_size}:{st.st_mtime_ns}".encode())
        if self.kind == "bundled":
            from swav_ts.data.hapt import hapt_path

            st = hapt_path().stat()
            h.update(f"{st.st_size}:{st.st_mtime_ns}".encode())
        return h.hexdigest()


def _common_rate(paths: list[Path], time_col: str, time_unit: str) -> float | None:
    """One rate for files whose inferred rates differ (irregular phone timestamps): the median,
    said once; None when they agree (each file keeps its own, equal, rate)."""
    from swav_ts.data.contract import RATE_TOLERANCE

    rates = np.array([infer_rate(p, time_col, time_unit) for p in paths])
    lo, hi = float(rates.min()), float(rates.max())
    if hi <= lo * (1 + RATE_TOLERANCE):
        return None
    target = float(np.median(rates))
    logger.warning(
        "%d files have inferred sampling rates from %.4g to %.4g Hz; all are resampled to "
        "%.4g Hz (their median). Set data.rate_hz (or rate_hz=) to choose the rate",
        len(paths),
        lo,
        hi,
        target,
    )
    return target


def _load_array(path: Path) -> np.ndarray:
    if path.suffix.lower() == ".npy":
        return np.load(path, mmap_mode="r", allow_pickle=False)
    with np.load(path, allow_pickle=False) as z:
        keys = list(z.keys())
        if "X" in keys:
            return z["X"]
        if len(keys) == 1:
            return z[keys[0]]
        raise ValueError(
            f"{path} holds arrays {keys}; name the unlabelled windows 'X' (or keep one array)"
        )


def _memory_recordings(data: Any, options: dict | None = None) -> Iterator[Recording]:
    """Recordings from in-memory data: a list of Recording, an (n, C, T) array, a (C, T) array
    or a list of (C, T_i) arrays (each case becomes a recording ``case<i>``)."""
    options = options or {}
    if isinstance(data, Recording):
        yield data
        return
    if isinstance(data, (list, tuple)) and data and all(isinstance(r, Recording) for r in data):
        yield from data
        return
    if isinstance(data, np.ndarray) and data.ndim == 2:
        data = data[None]
    if isinstance(data, np.ndarray) and data.ndim != 3:
        raise ValueError(
            f"array data must have shape (n_cases, n_channels, n_timepoints); got {data.shape}"
        )
    cases = list(data)
    if not cases:
        raise ValueError("the data holds no cases (shape (0, ...))")
    rate = options.get("rate_hz") or 1.0
    n_channels = {np.shape(c)[0] for c in cases}
    if len(n_channels) != 1:
        raise ValueError(f"cases have different channel counts: {sorted(n_channels)}")
    names = options.get("channels") or _array_channel_names(n_channels.pop())
    for i, case in enumerate(cases):
        arr = np.asarray(case)
        if not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
            raise TypeError(f"case {i} must hold real numbers, got dtype {arr.dtype}")
        yield Recording(arr, None, rate, names, 0.0, f"case{i}")


def resolve_source(
    source: Any,
    *,
    split: str = "train",
    time_col: str = "timestamp",
    time_unit: str = "ms",
    rate_hz: float | None = None,
    channels: Sequence[str] | None = None,
    label_col: str | None = None,
) -> RecordingSource:
    """Classify ``source`` (see the module docstring) without reading it.

    Raises
    ------
    ValueError
        A source that is neither a bundled name, an existing file, nor a glob with matches;
        the message lists what was tried.
    """
    read = {
        "split": split,
        "time_col": time_col,
        "time_unit": time_unit,
        "rate_hz": rate_hz,
        "channels": None if channels is None else list(channels),
        "label_col": label_col,
    }
    if not isinstance(source, (str, Path)):
        return RecordingSource(
            "memory",
            f"in-memory {type(source).__name__}",
            _memory=source,
            named_channels=_named(source),
            read_options=read,
        )
    text = str(source)
    if text in BUNDLED:
        return RecordingSource("bundled", f"bundled {text} ({split})", read_options=read)
    tried = [f"a bundled dataset name ({', '.join(BUNDLED)})"]
    if _is_glob(text):
        paths = sorted(Path(p) for p in _glob.glob(text, recursive=True) if Path(p).is_file())
        if paths:
            return RecordingSource(
                "files",
                f"{text} ({len(paths)} files)",
                paths,
                read_options=read,
                named_channels=_named_files(paths),
            )
        tried.append(f"a glob: {text!r} matches no file")
    else:
        path = Path(text)
        suffix = path.suffix.lower()
        if path.is_file():
            if suffix in (".npy", ".npz"):
                return RecordingSource(
                    "array", str(path), [path], named_channels=False, read_options=read
                )
            if suffix == ".ts":
                return RecordingSource(
                    "ts", str(path), [path], named_channels=False, read_options=read
                )
            return RecordingSource("files", str(path), [path], read_options=read)
        tried.append(
            f"a file: {path} does not exist"
            if not path.is_dir()
            else f"a file: {path} is a folder (give a glob such as '{path}/*.csv')"
        )
    raise ValueError(
        f"data source {text!r} could not be resolved; tried "
        + "; ".join(tried)
        + ". A source is a bundled name, a .npy/.npz/.ts file, or CSV/Parquet files (a path "
        "or a glob)"
    )


def _named(data: Any) -> bool:
    if isinstance(data, Recording):
        return True
    return isinstance(data, (list, tuple)) and bool(data) and isinstance(data[0], Recording)


def _named_files(paths: list[Path]) -> bool:
    return not all(p.suffix.lower() == ".npy" for p in paths)


def load_windows(source: str | Path, split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """Labelled windows ``(X (n, C, T) float32, y (n,))`` for evaluation.

    ``"hapt"``: the UCI-HAR-style windows of ``split``'s subjects; a ``.ts`` file: its cases
    and class labels; an ``.npz``: ``X_<split>`` / ``y_<split>``, else ``X`` / ``y``.

    Raises
    ------
    ValueError
        Unknown source (listing the accepted kinds), missing arrays (listing the keys found),
        or unlabelled data.
    """
    text = str(source)
    if text == "hapt":
        from swav_ts.data.hapt import load_hapt

        X, y, _ = load_hapt(split)
        return X, y
    path = Path(text)
    if not path.is_file():
        raise ValueError(
            f"labelled data {text!r}: not a bundled name ({', '.join(BUNDLED)}) and not a file"
        )
    if path.suffix.lower() == ".ts":
        from swav_ts.data.ts_files import load_ts_file

        X, y = load_ts_file(path, return_type="array")
        if y is None:
            raise ValueError(f"{path} has no class labels (@classLabel false)")
        return X, y
    if path.suffix.lower() == ".npz":
        with np.load(path, allow_pickle=False) as z:
            for kx, ky in ((f"X_{split}", f"y_{split}"), ("X", "y")):
                if kx in z and ky in z:
                    return np.asarray(z[kx], dtype=np.float32), z[ky]
            raise ValueError(
                f"{path} holds {sorted(z.keys())}; expected X_{split} and y_{split} (or X and y)"
            )
    raise ValueError(
        f"labelled data {text!r}: use a bundled name ({', '.join(BUNDLED)}), a .ts file or an "
        ".npz file with X/y arrays"
    )


def read_windows(
    source: Any,
    window_s: float | None = None,
    stride_s: float | None = None,
    canonical_units: bool = False,
    units: Mapping[str, str] | None = None,
    **read_options: Any,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray | None]:
    """Unlabelled windows of any source, each at its own rate and channel count.

    Window sources (``.npy``/``.npz``/``.ts``, an array) give their cases as they are;
    recordings (CSV/Parquet, a bundled name, :class:`Recording` objects) are cut into windows
    of ``window_s`` seconds every ``stride_s`` (default ``window_s``) at each recording's own
    rate, by :func:`swav_ts.data.windows.plan_recording`.

    Parameters
    ----------
    source : str, Path, array, list of Recording, or RecordingSource
        As :func:`resolve_source` takes it, or what it returned.
    window_s, stride_s : float, optional
        Needed for recordings; ignored for window sources.
    canonical_units : bool
        Convert the recognised motion sensors of named recordings to g and rad/s
        (:func:`swav_ts.data.units.in_canonical_units`), each conversion logged in one line
        (a warning the first time, INFO for the other recordings); a declared unit the data
        contradicts is an error. Unnamed windows are left as they
        are.
    units : mapping, optional
        Declared units by sensor kind or channel name (``{"acc": "m/s^2"}``); undeclared
        sensors are detected from the data.
    **read_options
        :func:`resolve_source`'s keywords (``time_col``, ``time_unit``, ``rate_hz``,
        ``channels``, ...).

    Returns
    -------
    windows : list of ndarray (n_channels, n_timepoints), float32
    ids : ndarray (n,) of str
        The case number, or the window's recording id.
    start_times_s : ndarray (n,) float64, or None for window sources

    Raises
    ------
    ValueError
        A recording source without ``window_s`` (the message names the source), or one
        shorter than a window.
    """
    if isinstance(source, RecordingSource):
        src = source
    else:
        src = resolve_source(source, **read_options)
    if src.kind in ("array", "ts") or (src.kind == "memory" and not src.named_channels):
        cases = [np.asarray(r.signals, dtype=np.float32) for r in src.recordings()]
        return cases, np.arange(len(cases)).astype(str), None
    windows, ids, starts = [], [], []
    for part in iter_recording_windows(src, window_s, stride_s, canonical_units, units):
        windows.extend(part.windows)
        ids.extend([part.recording_id] * len(part.windows))
        starts.append(part.start_times_s)
    return windows, np.asarray(ids, dtype=str), np.concatenate(starts).astype(np.float64)


@dataclass(frozen=True)
class RecordingWindows:
    """The windows cut from one recording (:func:`iter_recording_windows`)."""

    recording_id: str
    windows: np.ndarray  # (n, n_channels, n_timepoints) float32
    start_times_s: np.ndarray  # (n,) float64


def iter_recording_windows(
    src: RecordingSource,
    window_s: float | None,
    stride_s: float | None = None,
    canonical_units: bool = False,
    units: Mapping[str, str] | None = None,
) -> Iterator[RecordingWindows]:
    """The windows of a source of recordings, one recording at a time, so that a source
    larger than memory can be read through (:func:`read_windows` collects them).

    Raises
    ------
    ValueError
        No ``window_s`` (the message names the source), or a recording shorter than a window.
    """
    from swav_ts.data.windows import cut_windows, plan_recording

    if window_s is None:
        raise ValueError(
            f"{src.description} holds recordings: give window_s (--window-s) to cut them "
            "into windows"
        )
    recordings = src.recordings()
    if canonical_units:
        from swav_ts.data.units import in_canonical_units

        recordings = in_canonical_units(recordings, units)
    for r in recordings:
        plan = plan_recording(r, window_s, stride_s or window_s)
        windows = np.asarray(cut_windows(r.signals, plan.start, plan.length), np.float32)
        starts = (r.start_time + plan.start / r.rate_hz).astype(np.float64)
        yield RecordingWindows(r.recording_id, windows, starts)
