"""Cut recordings into fixed-length windows, and convert array layouts to channels-first."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Literal

import numpy as np
import pandas as pd

from swav_ts.data.recording import Recording

__all__ = ["sliding_windows", "to_channels_first"]

logger = logging.getLogger(__name__)


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
    drop_nan: bool = True,
    return_meta: bool = True,
) -> tuple:
    """Cut fixed-length windows from each recording; windows never cross recordings.

    Window starts are ``0, stride, 2*stride, ...`` within each recording; a trailing part
    shorter than ``length`` is not used.

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
    drop_nan : bool
        Drop windows that contain NaN (e.g. marked gaps); the count is logged.
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
        A window longer than a recording (naming it and both lengths), mixed labelled and
        unlabelled recordings, different channel counts, bad arguments.
    """
    if isinstance(recordings, Recording):
        recordings = [recordings]
    recordings = list(recordings)
    if not recordings:
        raise ValueError("sliding_windows got no recordings")
    if int(length) != length or length < 1 or int(stride) != stride or stride < 1:
        raise ValueError(f"length and stride must be positive integers, got {length}, {stride}")
    length, stride = int(length), int(stride)
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

    xs, ys, metas = [], [], []
    dropped = {"impure": 0, "invalid_label": 0, "nan": 0}
    for r in recordings:
        if r.n_samples < length:
            raise ValueError(
                f"recording {r.recording_id!r} has {r.n_samples} samples, shorter than the "
                f"window length {length}"
            )
        starts = np.arange(0, r.n_samples - length + 1, stride)
        keep = np.ones(len(starts), dtype=bool)
        if has_labels:
            y_r, purity, lab_view = _window_labels(np.asarray(r.labels), starts, length)
            if label_mode == "pure":
                bad = purity < 1.0
            else:
                bad = purity < min_purity
            dropped["impure"] += int((bad & keep).sum())
            keep &= ~bad
            if valid is not None:
                bad = ~np.isin(lab_view, valid).all(axis=1)
                dropped["invalid_label"] += int((bad & keep).sum())
                keep &= ~bad
        else:
            y_r, purity = None, np.full(len(starts), np.nan)
        view = np.lib.stride_tricks.sliding_window_view(r.signals, length, axis=1)  # (C, nW, L)
        if drop_nan:
            nan_win = np.isnan(view[:, starts]).any(axis=(0, 2))
            dropped["nan"] += int((nan_win & keep).sum())
            keep &= ~nan_win
        sel = starts[keep]
        xs.append(np.ascontiguousarray(view[:, sel].transpose(1, 0, 2)))  # (n, C, L)
        if has_labels:
            ys.append(y_r[keep])
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
    if any(dropped.values()):
        logger.info("sliding_windows dropped windows: %s (kept %d)", dropped, len(X))
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
