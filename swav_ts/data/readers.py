"""Read CSV/Parquet sensor logs (or DataFrames) into uniform-grid :class:`Recording` objects.

The reader sorts rows by time, merges duplicate timestamps, fills short NaN runs, splits or marks
long gaps and resamples irregular timestamps onto a uniform grid. Every change is counted in a
:class:`ReadReport`, which is returned on request and logged as a warning when anything changed.

(About 540 lines: one file-reading protocol — columns, timestamps, NaN runs, gaps,
resampling, the report — whose steps share the report they fill in.)
"""

from __future__ import annotations

import glob as _glob
import itertools
import logging
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from swav_ts.data.grid import (
    PLAUSIBLE_RATE_HZ,
    check_rate_plausible,
    fill_short_nan_runs,
    resample_segment,
    sampling_period,
)
from swav_ts.data.recording import ReadReport, Recording

__all__ = ["infer_rate", "read_recording", "read_recordings"]

logger = logging.getLogger(__name__)

_TIME_SCALE_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}
_CSV_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".txt")
_PARQUET_SUFFIXES = (".parquet", ".pq")
# A segment's uniform grid may hold at most this many samples per input row plus this many
# more (upsampling, marked gaps); beyond that a timestamp or the time unit is wrong.
_MAX_GRID_PER_ROW = 100
_MAX_GRID_EXTRA = 10_000_000


def _load_frame(
    source: str | Path | pd.DataFrame, csv_sep: str | None
) -> tuple[pd.DataFrame, str, bool]:
    """Return (frame, display name, is_csv)."""
    if isinstance(source, pd.DataFrame):
        return source, "<DataFrame>", False
    if not isinstance(source, (str, Path)):
        raise TypeError(f"source must be a path or a pandas DataFrame, got {type(source).__name__}")
    path = Path(source)
    name = str(path)
    if not path.is_file():
        raise ValueError(f"{name}: no such file")
    lower = path.name.lower()
    if lower.endswith(_CSV_SUFFIXES):
        sep = csv_sep if csv_sep is not None else ("\t" if lower.endswith(".tsv") else ",")
        try:
            df = pd.read_csv(path, sep=sep)
        except pd.errors.EmptyDataError:
            raise ValueError(f"{name}: empty file (no header, no rows)") from None
        except (pd.errors.ParserError, UnicodeDecodeError) as exc:
            raise ValueError(f"{name}: cannot parse as CSV: {exc}") from None
        return df, name, True
    if lower.endswith(_PARQUET_SUFFIXES):
        if path.stat().st_size == 0:
            raise ValueError(f"{name}: empty file")
        try:
            df = pd.read_parquet(path)
        except ImportError:
            raise ImportError(
                f'{name}: reading Parquet needs pyarrow: pip install "swav-ts[parquet]"'
            ) from None
        except Exception as exc:  # pyarrow raises its own error types for corrupt files
            raise ValueError(f"{name}: cannot read as Parquet: {exc}") from None
        return df, name, False
    raise ValueError(
        f"{name}: unknown file layout (suffix {path.suffix!r}); expected one of "
        f"{_CSV_SUFFIXES + _PARQUET_SUFFIXES} or a pandas DataFrame"
    )


def _row_label(i: int, is_csv: bool) -> str:
    return f"row {i} (file line {i + 2})" if is_csv else f"row {i}"


def _refuse_first(bad: np.ndarray, s: pd.Series, where: str, is_csv: bool, problem: str) -> None:
    """Raise for the first row flagged in ``bad``: ``<where>, row i: value v <problem>``."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{where}, {_row_label(i, is_csv)}: value {s.iloc[i]!r} {problem}")


def _numeric_column(
    df: pd.DataFrame,
    col: str,
    name: str,
    is_csv: bool,
    what: str = "column",
    allow_inf: bool = False,
) -> np.ndarray:
    s = df[col]
    if pd.api.types.is_bool_dtype(s):
        return s.to_numpy(dtype=np.float64)
    num = pd.to_numeric(s, errors="coerce")
    bad = num.isna().to_numpy() & s.notna().to_numpy()
    where = f"{name}: {what} {col!r}"
    _refuse_first(bad, s, where, is_csv, f"is not numeric ({int(bad.sum())} such value(s))")
    out = num.to_numpy(dtype=np.float64)
    if not allow_inf:  # resampling would smear inf into NaN/inf over whole segments
        inf = np.isinf(out)
        fix = "replace them with NaN to have short runs interpolated"
        _refuse_first(inf, s, where, is_csv, f"is infinite ({int(inf.sum())} such value(s)); {fix}")
    return out


def _time_seconds(
    df: pd.DataFrame, time_col: str, time_unit: str, name: str, is_csv: bool
) -> np.ndarray:
    s = df[time_col]
    if pd.api.types.is_datetime64_any_dtype(s) or time_unit == "datetime":
        dt = pd.to_datetime(s, errors="coerce", utc=True)
        bad = dt.isna().to_numpy() & s.notna().to_numpy()
        _refuse_first(bad, s, f"{name}: time column {time_col!r}", is_csv, "is not a date/time")
        return ((dt - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(seconds=1)).to_numpy(
            dtype=np.float64
        )
    if time_unit not in _TIME_SCALE_S:
        raise ValueError(
            f"time_unit must be one of {[*_TIME_SCALE_S, 'datetime']}, got {time_unit!r}"
        )
    return (
        _numeric_column(df, time_col, name, is_csv, what="time column", allow_inf=True)
        * _TIME_SCALE_S[time_unit]
    )


def _labels_array(df: pd.DataFrame, label_col: str, name: str, report: ReadReport) -> np.ndarray:
    s = df[label_col]
    missing = s.isna().to_numpy()
    report.labels_missing += int(missing.sum())
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        v = s.to_numpy(dtype=np.float64)
        ok = ~missing
        if not np.all(v[ok] == np.round(v[ok])):
            i = int(np.flatnonzero(ok & (v != np.round(v)))[0])
            raise ValueError(
                f"{name}: label column {label_col!r}, row {i}: label {v[i]!r} is not an integer; "
                "labels must be integers or strings"
            )
        out = np.full(len(v), -1, dtype=np.int64)
        out[ok] = v[ok].astype(np.int64)
        return out
    return np.where(missing, "", s.astype(str).to_numpy()).astype(str)


def read_recording(
    source: str | Path | pd.DataFrame,
    time_col: str = "timestamp",
    time_unit: Literal["s", "ms", "us", "ns", "datetime"] = "ms",
    channels: Sequence[str] | None = None,
    label_col: str | None = None,
    rate_hz: float | None = None,
    max_gap_s: float = 1.0,
    gap_policy: Literal["split", "mark"] = "split",
    max_interp_gap_s: float = 0.2,
    recording_id: str | None = None,
    subject: str | int | None = None,
    min_samples: int = 2,
    csv_sep: str | None = None,
    return_report: bool = False,
    log: bool = True,
    plausible_rate_hz: tuple[float, float] = PLAUSIBLE_RATE_HZ,
) -> list[Recording] | tuple[list[Recording], ReadReport]:
    """Read one sensor log into uniform-grid recordings.

    Parameters
    ----------
    source : str, Path or DataFrame
        A ``.csv``/``.tsv``/``.txt`` (``csv_sep``, default ``,``) or ``.parquet`` file, or a
        DataFrame with one row per sample.
    time_col : str
        Column with the sample times.
    time_unit : {"s", "ms", "us", "ns", "datetime"}
        Unit of numeric times; ``"datetime"`` parses date strings (datetime columns are detected
        automatically). ``start_time`` of the result is in seconds.
    channels : sequence of str, optional
        Signal columns in output order. Default: every column except the time and label columns.
    label_col : str, optional
        Per-sample label column (integers or strings). Labels are resampled by nearest sample
        (majority vote when downsampling), never interpolated. Missing labels become -1 (integer
        labels) or ``""`` (string labels) and are counted.
    rate_hz : float, optional
        Output grid rate. Default: inferred from the time steps
        (:func:`swav_ts.data.grid.sampling_period`: robust to gaps and timestamp jitter).
    max_gap_s : float
        Time steps longer than this are gaps.
    gap_policy : {"split", "mark"}
        ``"split"``: one Recording per gap-free segment. ``"mark"``: one Recording with NaN
        signals (and missing labels) inside the gaps.
    max_interp_gap_s : float
        NaN runs lasting at most this long are filled by linear interpolation (held at the ends);
        longer runs stay NaN and are counted as ``nan_remaining``.
    recording_id, subject : optional
        Identity stored on the recordings (default id: the file stem, or ``"recording"``).
        Split segments get ``<id>_seg<k>``.
    min_samples : int
        Segments with fewer input samples are dropped (counted); if no segment is long enough
        a ValueError is raised.
    csv_sep : str, optional
        CSV field separator.
    return_report : bool
        Also return the :class:`ReadReport`.
    log : bool
        Log the report (a warning when the reader changed anything); callers that read many
        files log one summary instead.
    plausible_rate_hz : (float, float)
        The input's inferred rate must lie in this range (default 0.1 Hz to 10 kHz): outside,
        the time unit is almost certainly wrong and the error names the unit that fits.

    Returns
    -------
    recordings : list of Recording
        float32 ``(C, T)`` signals on a uniform grid, one per segment.
    report : ReadReport
        Only with ``return_report=True``.

    Raises
    ------
    ValueError
        Empty file, unknown layout, missing columns (the message lists the available ones),
        non-numeric values (row and column named), all-NaN channels, too few samples.
    """
    if gap_policy not in ("split", "mark"):
        raise ValueError(f"gap_policy must be 'split' or 'mark', got {gap_policy!r}")
    if max_gap_s <= 0 or max_interp_gap_s < 0:
        raise ValueError(
            f"max_gap_s must be > 0 and max_interp_gap_s >= 0, got {max_gap_s}, {max_interp_gap_s}"
        )
    if rate_hz is not None and not rate_hz > 0:
        raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
    min_samples = max(int(min_samples), 2)
    df, name, is_csv = _load_frame(source, csv_sep)
    if isinstance(df.columns, pd.MultiIndex):
        raise ValueError(f"{name}: unknown layout: multi-level columns are not supported")
    df = df.rename(columns=str)
    available = list(df.columns)
    if len(df) == 0:
        raise ValueError(f"{name}: empty file: no data rows (columns {available})")
    if time_col not in df.columns:
        raise ValueError(
            f"{name}: time column {time_col!r} not found; available columns: {available}"
        )
    if label_col is not None and label_col not in df.columns:
        raise ValueError(
            f"{name}: label column {label_col!r} not found; available columns: {available}"
        )
    if channels is None:
        channels = [c for c in df.columns if c not in (time_col, label_col)]
        if not channels:
            raise ValueError(
                f"{name}: unknown layout: no signal columns besides {time_col!r}"
                f"{'' if label_col is None else f' and {label_col!r}'}; columns: {available}"
            )
    else:
        channels = [str(c) for c in channels]
        missing = [c for c in channels if c not in df.columns]
        if missing:
            raise ValueError(
                f"{name}: channel column(s) {missing} not found; available columns: {available}"
            )
        if len(set(channels)) != len(channels):
            raise ValueError(f"{name}: channels lists a column twice: {channels}")
    report = ReadReport(source=name, rows_read=len(df))

    t = _time_seconds(df, time_col, time_unit, name, is_csv)
    v = np.stack([_numeric_column(df, c, name, is_csv) for c in channels], axis=1)  # (n, C)
    lab = None if label_col is None else _labels_array(df, label_col, name, report)
    for j, c in enumerate(channels):
        if np.isnan(v[:, j]).all():
            raise ValueError(f"{name}: channel column {c!r} is all NaN ({len(v)} rows)")

    keep = np.isfinite(t)
    report.rows_missing_time = int((~keep).sum())
    if report.rows_missing_time:
        t, v = t[keep], v[keep]
        lab = None if lab is None else lab[keep]
    if len(t) < min_samples:
        raise ValueError(
            f"{name}: too few samples: {len(t)} row(s) with a valid time in {time_col!r}, "
            f"need at least {min_samples}"
        )
    order = np.argsort(t, kind="stable")
    report.rows_reordered = int((order != np.arange(len(t))).sum())
    if report.rows_reordered:
        t, v = t[order], v[order]
        lab = None if lab is None else lab[order]

    uniq, first, inverse = np.unique(t, return_index=True, return_inverse=True)
    if len(uniq) < len(t):
        report.duplicates_merged = int(len(t) - len(uniq))
        ok = ~np.isnan(v)
        sums = np.zeros((len(uniq), v.shape[1]))
        ns = np.zeros((len(uniq), v.shape[1]))
        np.add.at(sums, inverse, np.where(ok, v, 0.0))
        np.add.at(ns, inverse, ok)
        with np.errstate(invalid="ignore", divide="ignore"):
            v = np.where(ns > 0, sums / np.maximum(ns, 1), np.nan)
        if lab is not None:
            first_lab = lab[first]
            report.duplicate_label_conflicts = len(np.unique(inverse[lab != first_lab[inverse]]))
            lab = first_lab
        t = uniq
    if len(t) < min_samples:
        raise ValueError(
            f"{name}: too few samples: {len(t)} distinct time(s) after merging duplicates, "
            f"need at least {min_samples}"
        )
    report.nan_values_in = int(np.isnan(v).sum())

    dts = np.diff(t)
    median_dt = float(np.median(dts))
    input_rate_hz = 1.0 / sampling_period(t)
    check_rate_plausible(input_rate_hz, time_unit, time_col, name, plausible_rate_hz)
    report.input_rate_hz = input_rate_hz
    if rate_hz is None:
        rate_hz = input_rate_hz
        report.rate_inferred = True
    report.rate_hz = float(rate_hz)
    gap_after = np.flatnonzero(dts > max_gap_s)
    report.gaps_found = len(gap_after)

    if gap_policy == "split" and len(gap_after):
        bounds = np.concatenate([[0], gap_after + 1, [len(t)]])
        report.gaps_split = len(gap_after)
    else:
        bounds = np.array([0, len(t)])
    base_id = recording_id
    if base_id is None:
        base_id = Path(name).stem if name != "<DataFrame>" else "recording"

    segments: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    for a, b in itertools.pairwise(bounds):
        if b - a < min_samples:
            report.segments_dropped += 1
            report.samples_dropped += int(b - a)
            continue
        segments.append((t[a:b], v[a:b].copy(), None if lab is None else lab[a:b]))
    if not segments:
        raise ValueError(
            f"{name}: too few samples: every segment between gaps > {max_gap_s} s has fewer "
            f"than {min_samples} samples"
        )

    for ts, _, _ in segments:  # a wrong time unit or a stray timestamp must not fill the RAM
        n_grid = (ts[-1] - ts[0]) * float(rate_hz) + 1
        if n_grid > _MAX_GRID_PER_ROW * len(ts) + _MAX_GRID_EXTRA:
            raise ValueError(
                f"{name}: {len(ts)} rows spanning {ts[-1] - ts[0]:.6g} s would become "
                f"{n_grid:.3g} samples at {float(rate_hz):.6g} Hz (mostly gap); check "
                f"time_unit={time_unit!r} and the timestamps, or use gap_policy='split'"
            )

    recordings: list[Recording] = []
    methods = set()
    for k, (ts, vs, ls) in enumerate(segments):
        filled, _ = fill_short_nan_runs(ts, vs, max_interp_gap_s, median_dt)
        report.nan_filled += filled
        sig, lab_out, grid, method = resample_segment(ts, vs, ls, float(rate_hz), input_rate_hz)
        methods.add(method)
        in_gap = np.zeros(len(grid), dtype=bool)
        if gap_policy == "mark" and len(gap_after):
            for g in gap_after:
                in_gap |= (grid > t[g] + 1e-9) & (grid < t[g + 1] - 1e-9)
            sig[:, in_gap] = np.nan
            if lab_out is not None:
                lab_out = lab_out.copy()
                lab_out[in_gap] = -1 if lab_out.dtype.kind in "iu" else ""
            report.gap_samples_marked += int(in_gap.sum())
        report.nan_remaining += int(np.isnan(sig[:, ~in_gap]).sum())
        rid = base_id if len(segments) == 1 else f"{base_id}_seg{k}"
        recordings.append(
            Recording(
                signals=sig,
                labels=lab_out,
                rate_hz=float(rate_hz),
                channel_names=list(channels),
                start_time=float(ts[0]),
                recording_id=rid,
                subject=subject,
            )
        )
        report.samples_out += sig.shape[1]
    methods.discard("none")
    report.resampling = ", ".join(sorted(methods)) if methods else "none"
    report.n_recordings = len(recordings)
    if log and report.changed:
        logger.warning("read_recording: %s", report.summary())
    else:
        logger.debug("read_recording: %s", report.summary())
    return (recordings, report) if return_report else recordings


def infer_rate(
    path: str | Path,
    time_col: str = "timestamp",
    time_unit: str = "ms",
    csv_sep: str | None = None,
) -> float:
    """The sampling rate of one file from its time steps, reading only the time column
    (what :func:`read_recording` infers, at a fraction of the cost).

    Raises
    ------
    ValueError
        As :func:`read_recording` for a missing column, fewer than two times, or an implausible
        rate for ``time_unit``.
    """
    path = Path(path)
    name, lower = str(path), path.name.lower()
    try:
        if lower.endswith(_PARQUET_SUFFIXES):
            df = pd.read_parquet(path, columns=[time_col])
        else:
            sep = csv_sep if csv_sep is not None else ("\t" if lower.endswith(".tsv") else ",")
            df = pd.read_csv(path, sep=sep, usecols=[time_col])
    except ImportError:
        raise ImportError(
            f'{name}: reading Parquet needs pyarrow: pip install "swav-ts[parquet]"'
        ) from None
    except (ValueError, KeyError) as exc:
        raise ValueError(f"{name}: time column {time_col!r} not readable ({exc})") from None
    t = _time_seconds(df, time_col, time_unit, name, not lower.endswith(_PARQUET_SUFFIXES))
    t = np.unique(t[np.isfinite(t)])
    if len(t) < 2:
        raise ValueError(f"{name}: fewer than two distinct times in {time_col!r}")
    rate = 1.0 / sampling_period(t)
    check_rate_plausible(rate, time_unit, time_col, name)
    return rate


def read_columns(path_or_glob: str | Path, csv_sep: str | None = None) -> list[str]:
    """The column names of a CSV/Parquet file (the first match of a glob), reading no rows.

    Raises
    ------
    ValueError
        No file matches the pattern.
    """
    path = _expand_paths(path_or_glob)[0]
    lower = path.name.lower()
    if lower.endswith(_PARQUET_SUFFIXES):
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ImportError(
                f'{path}: reading Parquet needs pyarrow: pip install "swav-ts[parquet]"'
            ) from None
        return list(pq.read_schema(path).names)
    sep = csv_sep if csv_sep is not None else ("\t" if lower.endswith(".tsv") else ",")
    return list(pd.read_csv(path, sep=sep, nrows=0).columns)


def _expand_paths(paths_or_glob: str | Path | Iterable[str | Path]) -> list[Path]:
    if isinstance(paths_or_glob, (str, Path)):
        s = str(paths_or_glob)
        if any(ch in s for ch in "*?["):
            paths = sorted(Path(p) for p in _glob.glob(s, recursive=True))
            if not paths:
                raise ValueError(f"no files match the pattern {s!r}")
            return paths
        return [Path(s)]
    paths = [Path(p) for p in paths_or_glob]
    if not paths:
        raise ValueError("read_recordings got an empty list of paths")
    return paths


def read_recordings(
    paths_or_glob: str | Path | Iterable[str | Path],
    *,
    id_from: Literal["stem", "name", "parent"] | Callable[[Path], str] = "stem",
    subject_from: str | Callable[[Path], str | int] | None = None,
    return_report: bool = False,
    **kwargs,
) -> list[Recording] | tuple[list[Recording], ReadReport]:
    """Read many files with :func:`read_recording`.

    Parameters
    ----------
    paths_or_glob : str, Path or iterable of paths
        A glob pattern (``"logs/*.csv"``, sorted), one path, or a list of paths.
    id_from : {"stem", "name", "parent"} or callable
        How each file's recording id is made: the file stem, the file name, the parent folder
        name, or ``f(path) -> str``. Ids must be unique.
    subject_from : str or callable, optional
        A regular expression whose first group, searched in the file stem, is the subject
        (converted to int when it is all digits), or ``f(path) -> subject``.
    return_report : bool
        Also return one :class:`ReadReport` with the counts summed over files.
    **kwargs
        Passed to :func:`read_recording` (``time_col``, ``channels``, ``rate_hz``, ...).

    Returns
    -------
    recordings : list of Recording
    report : ReadReport
        Only with ``return_report=True``.
    """
    for k in ("recording_id", "subject", "return_report"):
        if k in kwargs:
            raise TypeError(f"read_recordings sets {k!r} itself; do not pass it")
    paths = _expand_paths(paths_or_glob)
    total = ReadReport(source=f"{len(paths)} files")
    out: list[Recording] = []
    seen: dict[str, Path] = {}
    rates = set()
    for p in paths:
        if callable(id_from):
            rid = str(id_from(p))
        elif id_from == "stem":
            rid = p.name.split(".")[0] if p.name.lower().endswith(".csv.gz") else p.stem
        elif id_from == "name":
            rid = p.name
        elif id_from == "parent":
            rid = p.parent.name
        else:
            raise ValueError(
                f"id_from must be 'stem', 'name', 'parent' or a callable, got {id_from!r}"
            )
        if rid in seen:
            raise ValueError(f"recording id {rid!r} of {p} repeats the id of {seen[rid]}")
        seen[rid] = p
        subj = None
        if callable(subject_from):
            subj = subject_from(p)
        elif isinstance(subject_from, str):
            m = re.search(subject_from, p.stem)
            if m is None or not m.groups():
                raise ValueError(
                    f"{p}: subject_from pattern {subject_from!r} does not match the file stem "
                    f"{p.stem!r} (it needs one capture group)"
                )
            subj = int(m.group(1)) if m.group(1).isdigit() else m.group(1)
        elif subject_from is not None:
            raise TypeError(
                f"subject_from must be a regex string or a callable, got {subject_from!r}"
            )
        recs, rep = read_recording(p, recording_id=rid, subject=subj, return_report=True, **kwargs)
        out.extend(recs)
        total.merge(rep)
        rates.add(round(rep.rate_hz, 9))
    if len(rates) == 1:
        total.rate_hz = rates.pop()
    else:
        total.notes.append(f"files have different rates: {sorted(rates)}")
    return (out, total) if return_report else out
