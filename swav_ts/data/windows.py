"""The one window cutter: recordings -> fixed-length windows, with explicit rules.

Every window in swav_ts comes from here: pretraining contexts (through the recording cache),
labelled windows (:func:`sliding_windows`), ``TimeSeriesSwAV.embed_recording``, ``swav-ts embed``
and the streaming embedder. The rules, the same everywhere:

* **Positions.** Windows start at ``0, stride, 2*stride, ...`` inside each recording and never
  cross from one recording into the next; a trailing part shorter than ``length`` is not used.
* **Short recordings.** A recording with fewer than ``length`` samples gives no window.
  ``short="skip"`` skips it and counts it (one summary warning per call); ``short="raise"``
  raises ``ValueError`` naming the recording and both lengths.
* **NaN.** A window holding a NaN sample in any channel (a gap the reader marked, a sensor
  drop-out) is dropped and counted with ``nan="drop"``; kept with ``nan="keep"`` (for callers
  that impute); ``nan="raise"`` raises ``ValueError`` naming the recording and the first such
  window's start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from swav_ts.data.recording import Recording

__all__ = [
    "WindowPlan",
    "cut_windows",
    "nan_windows",
    "plan_recording",
    "plan_windows",
    "sliding_windows",
    "to_channels_first",
    "window_starts",
]

logger = logging.getLogger(__name__)

NanRule = Literal["drop", "keep", "raise"]
ShortRule = Literal["skip", "raise"]


def _check_length_stride(length: int, stride: int) -> tuple[int, int]:
    ok = all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in (length, stride))
    if not ok or length < 1 or stride < 1:
        raise ValueError(f"length and stride must be positive integers, got {length}, {stride}")
    return int(length), int(stride)


def window_starts(n_samples: int, length: int, stride: int) -> np.ndarray:
    """Start indices ``0, stride, ...`` of every window that fits in ``n_samples``.

    Returns
    -------
    ndarray (n,) int64
        Empty when ``n_samples < length``.
    """
    length, stride = _check_length_stride(length, stride)
    if n_samples < length:
        return np.zeros(0, dtype=np.int64)
    return np.arange(0, n_samples - length + 1, stride, dtype=np.int64)


def nan_windows(nan_samples: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Which windows ``[s, s + length)`` contain a NaN sample.

    Parameters
    ----------
    nan_samples : ndarray (T,) bool
        True where any channel is NaN.
    starts : ndarray (n,) int
    length : int

    Returns
    -------
    ndarray (n,) bool
    """
    counts = np.concatenate([[0], np.cumsum(nan_samples, dtype=np.int64)])  # (T + 1,)
    starts = np.asarray(starts, dtype=np.int64)
    return counts[starts + length] > counts[starts]


def cut_windows(signals: np.ndarray, starts: np.ndarray, length: int) -> np.ndarray:
    """Windows of a ``(C, T)`` signal at ``starts``: a new float32 array ``(n, C, length)``."""
    view = np.lib.stride_tricks.sliding_window_view(signals, length, axis=1)  # (C, nW, L)
    return np.ascontiguousarray(
        view[:, np.asarray(starts, dtype=np.int64)].transpose(1, 0, 2), dtype=np.float32
    )


@dataclass
class WindowPlan:
    """Where the windows of a set of recordings are, and what the rules left out.

    Attributes
    ----------
    recording : ndarray (n,) int64
        Index of each window's recording (into the sequence given to :func:`plan_windows`).
    start : ndarray (n,) int64
        First sample of each window inside its recording.
    length, stride : int
    short_skipped : list of str
        Ids of recordings shorter than one window (skipped).
    nan_dropped : int
        Windows left out because they held NaN.
    """

    recording: np.ndarray
    start: np.ndarray
    length: int
    stride: int
    short_skipped: list[str] = field(default_factory=list)
    nan_dropped: int = 0

    def __len__(self) -> int:
        return int(self.recording.shape[0])

    def summary(self) -> str:
        """One line: windows kept and what was left out."""
        parts = [f"{len(self)} windows of {self.length} samples (stride {self.stride})"]
        if self.short_skipped:
            shown = ", ".join(repr(r) for r in self.short_skipped[:3])
            more = (
                "" if len(self.short_skipped) <= 3 else f" and {len(self.short_skipped) - 3} more"
            )
            parts.append(
                f"{len(self.short_skipped)} recording(s) shorter than one window skipped "
                f"({shown}{more})"
            )
        if self.nan_dropped:
            parts.append(f"{self.nan_dropped} window(s) holding NaN dropped")
        return "; ".join(parts)


def plan_windows(
    n_samples: Sequence[int],
    length: int,
    stride: int,
    *,
    nan_samples: Sequence[np.ndarray | None] | None = None,
    recording_ids: Sequence[str] | None = None,
    nan: NanRule = "drop",
    short: ShortRule = "skip",
    log: bool = True,
) -> WindowPlan:
    """Apply the module's rules to recordings of the given lengths.

    Parameters
    ----------
    n_samples : sequence of int
        Length of each recording.
    length, stride : int
        Window length and step in samples.
    nan_samples : sequence of (T_i,) bool arrays or None, optional
        NaN masks (any channel) per recording; None: no NaN.
    recording_ids : sequence of str, optional
        Names for messages (default ``"recording <i>"``).
    nan : {"drop", "keep", "raise"}
    short : {"skip", "raise"}
    log : bool
        Log one warning summarising skipped recordings and dropped windows.

    Returns
    -------
    WindowPlan

    Raises
    ------
    ValueError
        Bad arguments; a short recording with ``short="raise"``; a NaN window with
        ``nan="raise"``.
    """
    length, stride = _check_length_stride(length, stride)
    if nan not in ("drop", "keep", "raise"):
        raise ValueError(f"nan must be 'drop', 'keep' or 'raise', got {nan!r}")
    if short not in ("skip", "raise"):
        raise ValueError(f"short must be 'skip' or 'raise', got {short!r}")
    ids = (
        [f"recording {i}" for i in range(len(n_samples))]
        if recording_ids is None
        else [str(r) for r in recording_ids]
    )
    recs, starts, skipped, dropped = [], [], [], 0
    for k, n in enumerate(n_samples):
        s = window_starts(int(n), length, stride)
        if len(s) == 0:
            if short == "raise":
                raise ValueError(
                    f"recording {ids[k]!r} has {int(n)} samples, shorter than the window "
                    f"length {length}"
                )
            skipped.append(ids[k])
            continue
        mask = None if nan_samples is None else nan_samples[k]
        if mask is not None and nan != "keep":
            bad = nan_windows(np.asarray(mask, dtype=bool), s, length)
            if bad.any():
                if nan == "raise":
                    raise ValueError(
                        f"recording {ids[k]!r}: the window starting at sample "
                        f"{int(s[bad][0])} holds NaN ({int(bad.sum())} such windows); fill or "
                        "cut the gap, or let windows with NaN be dropped"
                    )
                dropped += int(bad.sum())
                s = s[~bad]
        recs.append(np.full(len(s), k, dtype=np.int64))
        starts.append(s)
    plan = WindowPlan(
        recording=np.concatenate(recs) if recs else np.zeros(0, dtype=np.int64),
        start=np.concatenate(starts) if starts else np.zeros(0, dtype=np.int64),
        length=length,
        stride=stride,
        short_skipped=skipped,
        nan_dropped=dropped,
    )
    if log and (skipped or dropped):
        logger.warning("%s", plan.summary())
    return plan


def plan_recording(recording: Recording, window_s: float, stride_s: float) -> WindowPlan:
    """The windows of one recording of ``window_s`` seconds every ``stride_s`` seconds, at the
    recording's own rate (windows holding NaN dropped and logged).

    Raises
    ------
    ValueError
        A window or stride under one sample, or a recording shorter than one window (the
        message names the recording and both lengths).
    """
    length = round(window_s * recording.rate_hz)
    stride = round(stride_s * recording.rate_hz)
    if length < 1 or stride < 1:
        raise ValueError(
            f"window_s={window_s} and stride_s={stride_s} at {recording.rate_hz} Hz give "
            f"{length} and {stride} samples; both must be >= 1"
        )
    if length > recording.n_samples:
        raise ValueError(
            f"window of {length} samples ({window_s} s) is longer than recording "
            f"{recording.recording_id!r} ({recording.n_samples} samples)"
        )
    return plan_windows(
        [recording.n_samples],
        length,
        stride,
        nan_samples=[np.isnan(recording.signals).any(axis=0)],
        recording_ids=[recording.recording_id],
    )


def _window_labels(
    labels: np.ndarray, starts: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Majority label, purity and a (n, length) view of labels for windows at ``starts``."""
    uniq, codes = np.unique(labels, return_inverse=True)
    view = np.lib.stride_tricks.sliding_window_view(codes, length)[starts]  # (n, length)
    k = len(uniq)
    flat = (np.arange(len(starts))[:, None] * k + view).ravel()
    counts = np.bincount(flat, minlength=len(starts) * k).reshape(len(starts), k)
    best = counts.argmax(axis=1)
    purity = counts[np.arange(len(starts)), best] / float(length)
    lab_view = np.lib.stride_tricks.sliding_window_view(labels, length)[starts]
    return uniq[best], purity, lab_view


def sliding_windows(
    recordings: Recording | Iterable[Recording],
    length: int,
    stride: int,
    label_mode: Literal["majority", "pure"] = "majority",
    min_purity: float = 0.0,
    valid_labels: Sequence | None = None,
    nan: NanRule = "drop",
    short: ShortRule = "raise",
    return_meta: bool = True,
) -> tuple:
    """Cut labelled (or unlabelled) fixed-length windows from recordings.

    Positions, short recordings and NaN follow the module's rules (:func:`plan_windows`).

    Parameters
    ----------
    recordings : Recording or iterable of Recording
        All labelled or all unlabelled, with the same channel count.
    length, stride : int
        Window length and step in samples.
    label_mode : {"majority", "pure"}
        ``"majority"``: the window label is its most common sample label (ties: smallest label).
        ``"pure"``: keep only windows whose samples all have one label.
    min_purity : float
        Drop windows whose majority label covers less than this fraction of samples.
    valid_labels : sequence, optional
        Keep only windows whose every sample label is in this set (e.g. the activity classes,
        excluding transitions and unlabelled samples).
    nan : {"drop", "keep", "raise"}, default "drop"
        Windows holding NaN (counted and logged when dropped).
    short : {"skip", "raise"}, default "raise"
        Recordings shorter than one window.
    return_meta : bool
        Also return a DataFrame with one row per window.

    Returns
    -------
    X : ndarray
        float32 ``(n, C, length)``.
    y : ndarray or None
        Window labels (dtype of the recordings' labels), or None when unlabelled.
    meta : DataFrame
        Only with ``return_meta=True``: ``recording_id``, ``subject``, ``start_index``,
        ``start_time_s``, ``purity`` (NaN when unlabelled).

    Raises
    ------
    ValueError
        A short recording with ``short="raise"`` (naming it and both lengths), mixed labelled
        and unlabelled recordings, different channel counts, bad arguments.
    """
    if isinstance(recordings, Recording):
        recordings = [recordings]
    recordings = list(recordings)
    if not recordings:
        raise ValueError("sliding_windows got no recordings")
    length, stride = _check_length_stride(length, stride)
    if label_mode not in ("majority", "pure"):
        raise ValueError(f"label_mode must be 'majority' or 'pure', got {label_mode!r}")
    if not 0.0 <= min_purity <= 1.0:
        raise ValueError(f"min_purity must be in [0, 1], got {min_purity}")
    labelled = {r.labels is not None for r in recordings}
    if len(labelled) > 1:
        raise ValueError("sliding_windows: some recordings have labels and some do not")
    has_labels = labelled.pop()
    if (label_mode == "pure" or min_purity > 0 or valid_labels is not None) and not has_labels:
        raise ValueError("label_mode='pure', min_purity and valid_labels need labelled recordings")
    n_ch = {r.n_channels for r in recordings}
    if len(n_ch) > 1:
        raise ValueError(f"recordings have different channel counts: {sorted(n_ch)}")
    valid = None if valid_labels is None else np.asarray(list(valid_labels))

    plan = plan_windows(
        [r.n_samples for r in recordings],
        length,
        stride,
        nan_samples=[np.isnan(r.signals).any(axis=0) for r in recordings],
        recording_ids=[r.recording_id for r in recordings],
        nan=nan,
        short=short,
        log=False,
    )
    xs, ys, metas = [], [], []
    dropped = {"impure": 0, "invalid_label": 0}
    for k, r in enumerate(recordings):
        starts = plan.start[plan.recording == k]
        keep = np.ones(len(starts), dtype=bool)
        if has_labels and len(starts):
            y_r, purity, lab_view = _window_labels(np.asarray(r.labels), starts, length)
            bad = purity < 1.0 if label_mode == "pure" else purity < min_purity
            dropped["impure"] += int(bad.sum())
            keep &= ~bad
            if valid is not None:
                bad = ~np.isin(lab_view, valid).all(axis=1)
                dropped["invalid_label"] += int((bad & keep).sum())
                keep &= ~bad
        else:
            y_r, purity = None, np.full(len(starts), np.nan)
        sel = starts[keep]
        xs.append(cut_windows(r.signals, sel, length))  # (n, C, L)
        if has_labels:
            ys.append(y_r[keep] if y_r is not None else np.asarray(r.labels)[:0])
        metas.append(
            pd.DataFrame(
                {
                    "recording_id": r.recording_id,
                    "subject": [r.subject] * len(sel),
                    "start_index": sel.astype(np.int64),
                    "start_time_s": r.start_time + sel / r.rate_hz,
                    "purity": purity[keep],
                }
            )
        )
    X = np.concatenate(xs, axis=0).astype(np.float32, copy=False)
    y = np.concatenate(ys) if has_labels else None
    if plan.short_skipped or plan.nan_dropped or any(dropped.values()):
        logger.info("sliding_windows: %s; by label: %s (kept %d)", plan.summary(), dropped, len(X))
    if not return_meta:
        return X, y
    meta = pd.concat(metas, ignore_index=True)
    return X, y, meta


def to_channels_first(X: np.ndarray, layout: Literal["nct", "ntc"] = "nct") -> np.ndarray:
    """Return a ``(n, C, T)`` float32 array.

    Parameters
    ----------
    X : array-like
        3-D array.
    layout : {"nct", "ntc"}
        The layout of ``X``. Only an explicit ``"ntc"`` transposes ``(n, T, C)`` to
        ``(n, C, T)``; the layout is never guessed from the shape.

    Raises
    ------
    ValueError
        Unknown layout, or ``X`` not 3-D.
    """
    if layout not in ("nct", "ntc"):
        raise ValueError(f"layout must be 'nct' or 'ntc', got {layout!r}")
    X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(f"expected a 3-D array ({layout}), got shape {X.shape}")
    if layout == "ntc":
        X = X.transpose(0, 2, 1)
    return np.ascontiguousarray(X, dtype=np.float32)
