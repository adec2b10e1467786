"""Putting samples on a uniform time grid: resampling (anti-aliased when downsampling), short
NaN runs filled by interpolation, labels carried by nearest / majority sample, and the check
that a sampling rate is plausible for its time unit."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from swav_ts.data.recording import Recording

__all__ = ["PLAUSIBLE_RATE_HZ", "check_rate_plausible", "resample_recording", "sampling_period"]

_TIME_SCALE_S = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def fill_short_nan_runs(
    t: np.ndarray, v: np.ndarray, max_interp_gap_s: float, dt_s: float
) -> tuple[int, int]:
    """Fill NaN runs of each column of ``v`` (n, C) in place; return (filled, remaining)."""
    filled = 0
    for c in range(v.shape[1]):
        col = v[:, c]
        nan = np.isnan(col)
        if not nan.any():
            continue
        valid = ~nan
        if not valid.any():
            continue
        # run boundaries
        d = np.diff(np.concatenate([[0], nan.astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1
        tv, vv = t[valid], col[valid]
        for a, b in zip(starts, ends):
            span_s = t[b] - t[a] + dt_s
            if span_s <= max_interp_gap_s + 1e-9:
                col[a : b + 1] = np.interp(t[a : b + 1], tv, vv)  # edges hold the nearest value
                filled += b - a + 1
    return filled, int(np.isnan(v).sum())


def _nearest_labels(t: np.ndarray, labels: np.ndarray, grid: np.ndarray) -> np.ndarray:
    idx = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
    left_closer = (grid - t[idx - 1]) <= (t[idx] - grid)
    return labels[np.where(left_closer, idx - 1, idx)]


def _majority_labels(
    t: np.ndarray, labels: np.ndarray, grid: np.ndarray, rate_hz: float
) -> np.ndarray:
    """Most common input label within each output sample's interval (ties: smallest code)."""
    codes_u, codes = np.unique(labels, return_inverse=True)
    k = np.rint((t - grid[0]) * rate_hz).astype(np.int64)
    inside = (k >= 0) & (k < len(grid))
    counts = np.zeros((len(grid), len(codes_u)), dtype=np.int64)
    np.add.at(counts, (k[inside], codes[inside]), 1)
    out = codes_u[counts.argmax(axis=1)]
    empty = counts.sum(axis=1) == 0
    if empty.any():
        out[empty] = _nearest_labels(t, labels, grid[empty])
    return out


def resample_segment(
    t: np.ndarray,
    v: np.ndarray,
    labels: np.ndarray | None,
    rate_hz: float,
    input_rate_hz: float,
) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, str]:
    """Put one gap-free segment (t (n,), v (n, C)) on the uniform grid; returns (C, T) signals."""
    n_out = int(np.floor((t[-1] - t[0]) * rate_hz + 1e-6)) + 1
    grid = t[0] + np.arange(n_out) / rate_hz
    if len(t) == n_out and np.max(np.abs(t - grid)) < 1e-3 / rate_hz:
        return v.T.astype(np.float32), labels, grid, "none"
    if input_rate_hz > rate_hz * 1.01:
        # Downsampling: linear onto a uniform grid at the input rate, then polyphase FIR
        # (resample_poly applies an anti-aliasing low-pass), then align to the output grid.
        n_f = int(np.floor((t[-1] - t[0]) * input_rate_hz + 1e-6)) + 1
        fine_t = t[0] + np.arange(n_f) / input_rate_hz
        fine = np.empty((v.shape[1], n_f))
        nan_out = np.zeros((v.shape[1], n_out), dtype=bool)
        for c in range(v.shape[1]):
            col = v[:, c]
            ok = ~np.isnan(col)
            fine[c] = np.interp(fine_t, t[ok], col[ok])
            if not ok.all():
                nan_frac = np.interp(grid, t, (~ok).astype(np.float64))
                nan_out[c] = nan_frac > 0
        frac = Fraction(rate_hz / input_rate_hz).limit_denominator(1000)
        up, down = frac.numerator, frac.denominator
        y = resample_poly(fine, up, down, axis=1, padtype="line")
        ty = t[0] + np.arange(y.shape[1]) * down / (up * input_rate_hz)
        out = np.stack([np.interp(grid, ty, y[c]) for c in range(y.shape[0])])
        out[nan_out] = np.nan
        lab = None if labels is None else _majority_labels(t, labels, grid, rate_hz)
        return out.astype(np.float32), lab, grid, f"anti-aliased resample_poly({up}/{down})"
    out = np.stack([np.interp(grid, t, v[:, c]) for c in range(v.shape[1])])
    lab = None if labels is None else _nearest_labels(t, labels, grid)
    return out.astype(np.float32), lab, grid, "linear interpolation"


def sampling_period(t_s: np.ndarray) -> float:
    """The sampling period of sorted, distinct times ``t_s`` (seconds).

    The median time step finds the period; each step up to 10 periods long (a few dropped
    samples) is then counted as the whole number of periods nearest to it, and the period is
    their total time over their total count. Timestamp jitter thus cancels along every regular
    stretch (the median of jittered steps wanders by about ``jitter / sqrt(n)``: over 1 % on a
    2.5 s log at 50 Hz with 10 % jitter), and longer gaps are left out. Regular times give the
    median exactly.

    Parameters
    ----------
    t_s : ndarray (n,)
        Increasing times, n >= 2.

    Returns
    -------
    float
        Seconds per sample.
    """
    steps = np.diff(np.asarray(t_s, dtype=np.float64))  # (n - 1,)
    median = float(np.median(steps))
    periods = np.rint(steps / median)  # (n - 1,) whole periods per step
    counted = (periods >= 1) & (periods <= 10)
    period = float(steps[counted].sum() / periods[counted].sum())
    return median if abs(period - median) <= 1e-9 * median else period


#: Sampling rates a sensor log can plausibly have; outside, the time unit is most likely wrong.
PLAUSIBLE_RATE_HZ = (0.1, 10_000.0)


def check_rate_plausible(
    rate_hz: float,
    time_unit: str,
    time_col: str,
    name: str,
    plausible: tuple[float, float] = PLAUSIBLE_RATE_HZ,
) -> None:
    """Refuse a sampling rate outside ``plausible`` (default :data:`PLAUSIBLE_RATE_HZ`), which
    for a wearable or IoT log almost always means a wrong time unit (seconds read as
    milliseconds turn 50 Hz into 50 kHz), suggesting the unit that gives 0.5 Hz to 5 kHz.

    Raises
    ------
    ValueError
        Naming the file, the column, the rate and the unit to try.
    """
    lo, hi = plausible
    if lo <= rate_hz <= hi:
        return
    hint = ""
    if time_unit in _TIME_SCALE_S:
        for unit, seconds in _TIME_SCALE_S.items():
            rate = rate_hz * _TIME_SCALE_S[time_unit] / seconds
            if unit != time_unit and 0.5 <= rate <= 5000:
                hint = f"; with time_unit={unit!r} it would be {rate:.6g} Hz: is that the unit?"
                break
    raise ValueError(
        f"{name}: the times in {time_col!r} read with time_unit={time_unit!r} give "
        f"{rate_hz:.6g} samples per second, outside the plausible {lo:g}-{hi:g} Hz{hint} "
        "(for other sensors pass plausible_rate_hz=(low, high))"
    )


def resample_recording(recording: Recording, rate_hz: float) -> Recording:
    """The recording on a uniform grid at ``rate_hz`` (anti-aliased when downsampling), the
    same way the reader puts a file on its grid; the recording itself if the rate matches."""
    if abs(recording.rate_hz - rate_hz) <= 1e-9 * rate_hz:
        return recording
    empty = [n for n, row in zip(recording.channel_names, recording.signals) if np.isnan(row).all()]
    if empty:
        raise ValueError(
            f"recording {recording.recording_id!r}: channel(s) {empty} hold no value (all NaN); "
            "nothing to resample"
        )
    t = recording.times_s()
    sig, lab, grid, _ = resample_segment(
        t, recording.signals.T.astype(np.float64), recording.labels, rate_hz, recording.rate_hz
    )
    return Recording(
        signals=sig,
        labels=lab,
        rate_hz=float(rate_hz),
        channel_names=list(recording.channel_names),
        start_time=float(grid[0]),
        recording_id=recording.recording_id,
        subject=recording.subject,
    )
