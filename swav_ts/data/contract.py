"""The input contract of a trained model: what its input must be, checked wherever data comes in.

A model is trained on particular channels in a particular order, at one sampling rate, on
windows of a length, with values in a plausible range. The contract records this, travels in
the model file (and in exports), and :func:`conform_recording` / :func:`check_windows` hold
new data to it: channels are selected **by name** (extra columns, e.g. labels, are left out),
recordings at another rate are resampled to the model's rate, and anything that cannot be made
to match is an error naming both sides. Nothing is embedded silently in the wrong frame.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from swav_ts.data.grid import resample_recording
from swav_ts.data.recording import Recording
from swav_ts.data.units import to_model_units

__all__ = ["RATE_TOLERANCE", "InputContract", "check_windows", "conform_recording"]

logger = logging.getLogger(__name__)

#: Rates within this relative difference count as equal (no resampling).
RATE_TOLERANCE = 0.01
#: Values beyond the training fences by more than this many fence widths are refused.
ABSURD_FACTOR = 100.0


@dataclass
class InputContract:
    """What a model's input must be.

    Attributes
    ----------
    channel_names : list of str
        In the model's order.
    named : bool
        False when the training data had no channel names (arrays, ``.ts`` files): then only
        the channel count can be checked.
    rate_hz : float or None
        Sampling rate of the training recordings (None when unknown, e.g. arrays).
    window_length : int
        The length (samples) of the windows the model was trained to embed (its global views).
    min_length : int
        The shortest window the encoder accepts.
    low, high : list of float or None
        Per-channel plausible range (the training data's fences, in sensor units).
    units : dict or None
        Channel units where known (``{"acc_x": "g", ...}``).
    fill_values : list of float or None
        Per channel, the value that stands in for it when a named recording lacks it (the
        training mean, which the model's channel dropout taught it to read as "no signal");
        None (default): a missing channel is an error. Set by
        :meth:`swav_ts.TimeSeriesSwAV.fill_missing_channels`.
    """

    channel_names: list[str]
    named: bool
    rate_hz: float | None
    window_length: int
    min_length: int
    low: list[float] | None = None
    high: list[float] | None = None
    units: dict[str, str] | None = field(default=None)
    fill_values: list[float] | None = field(default=None)

    @property
    def n_channels(self) -> int:
        return len(self.channel_names)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> InputContract:
        return cls(**d)

    def describe(self) -> str:
        rate = "unknown rate" if self.rate_hz is None else f"{self.rate_hz:g} Hz"
        names = self.channel_names if self.named else f"{self.n_channels} unnamed channels"
        return f"{names} at {rate}, windows of {self.window_length} samples"


def conform_recording(recording: Recording, contract: InputContract, where: str = "") -> Recording:
    """``recording`` with the model's channels, in the model's order, at the model's rate, and
    in the model's units (accelerometers the data shows in m/s² converted to g, and so on).

    Raises
    ------
    ValueError
        A channel the model needs is missing (naming both lists); unnamed training data and a
        different channel count; a rate below the model's (upsampling would invent the
        missing detail), naming both rates.
    """
    where = where or f"recording {recording.recording_id!r}"
    names = list(recording.channel_names)
    if contract.named:
        missing = [c for c in contract.channel_names if c not in names]
        if missing and contract.fill_values is not None:
            recording = _with_channels_filled(recording, contract, missing, where)
            names = list(recording.channel_names)
        elif missing:
            raise ValueError(
                f"{where} lacks channel(s) {missing} the model was trained on; it has {names}, "
                f"the model needs {contract.channel_names} (select or rename the columns, e.g. "
                "with --channels / data.channels)"
            )
        idx = [names.index(c) for c in contract.channel_names]
        if idx != list(range(len(names))):
            left_out = [c for c in names if c not in contract.channel_names]
            if left_out:
                logger.debug("%s: columns %s are not model channels: left out", where, left_out)
            recording = Recording(
                signals=recording.signals[idx],
                labels=recording.labels,
                rate_hz=recording.rate_hz,
                channel_names=list(contract.channel_names),
                start_time=recording.start_time,
                recording_id=recording.recording_id,
                subject=recording.subject,
            )
    elif recording.n_channels != contract.n_channels:
        raise ValueError(
            f"{where} has {recording.n_channels} channels {names}; the model was trained on "
            f"{contract.n_channels} unnamed channels"
        )
    if contract.rate_hz is not None:
        ratio = recording.rate_hz / contract.rate_hz
        if ratio < 1 - RATE_TOLERANCE:
            raise ValueError(
                f"{where} is sampled at {recording.rate_hz:g} Hz, below the model's "
                f"{contract.rate_hz:g} Hz: upsampling cannot restore what was not recorded; "
                f"record at >= {contract.rate_hz:g} Hz or train a model at this rate"
            )
        if ratio > 1 + RATE_TOLERANCE:
            logger.info(
                "%s: resampled from %g Hz to the model's %g Hz",
                where,
                recording.rate_hz,
                contract.rate_hz,
            )
            recording = resample_recording(recording, contract.rate_hz)
    if contract.named and contract.units:
        signals, changed = to_model_units(
            recording.signals, recording.channel_names, contract.units, where
        )
        for line in changed:
            logger.warning("%s (the model's units)", line)
        if changed:
            recording = dataclasses.replace(recording, signals=signals)
    return recording


def _with_channels_filled(
    recording: Recording, contract: InputContract, missing: list[str], where: str
) -> Recording:
    """``recording`` with each missing model channel added at its fill value, said once."""
    fill = dict(zip(contract.channel_names, contract.fill_values))
    logger.warning(
        "%s lacks channel(s) %s: each is filled with its training mean, as the model's channel "
        "dropout showed it absent sensors; the embedding carries only the channels given",
        where,
        missing,
    )
    values = np.asarray([fill[c] for c in missing], dtype=np.float32)  # (M,)
    extra = np.repeat(values[:, None], recording.n_samples, axis=1)  # (M, T)
    nan = np.isnan(recording.signals).any(axis=0)  # (T,) a gap stays a gap in every channel
    extra[:, nan] = np.nan
    return dataclasses.replace(
        recording,
        signals=np.concatenate([np.asarray(recording.signals, np.float32), extra]),
        channel_names=list(recording.channel_names) + missing,
    )


def check_windows(
    X: np.ndarray, contract: InputContract, name: str = "X", values: bool = True
) -> None:
    """Check ``(n, C, T)`` windows against the contract (channel count, length, plausible
    values).

    Values outside the training data's fences are logged as a warning (other units or
    another sensor?); values beyond them by more than ``ABSURD_FACTOR`` fence widths (1e30
    from a logging glitch) are an error: they would give embeddings far outside anything the
    model saw.

    Raises
    ------
    ValueError
        Naming the expected and the given channel count; a length below the encoder's minimum;
        absurd values (channel, value and case named).
    """
    if X.shape[1] != contract.n_channels:
        raise ValueError(
            f"{name} has {X.shape[1]} channels but the model was fitted on "
            f"{contract.n_channels} channels {contract.channel_names} (shape {X.shape})"
        )
    if X.shape[2] < contract.min_length:
        raise ValueError(
            f"series of {X.shape[2]} time points are shorter than the encoder's minimum "
            f"of {contract.min_length} (shape {X.shape})"
        )
    if not values or contract.low is None or contract.high is None:
        return
    low = np.asarray(contract.low, dtype=np.float64)[None, :, None]
    high = np.asarray(contract.high, dtype=np.float64)[None, :, None]
    width = high - low
    with np.errstate(invalid="ignore"):  # NaN compares False: handled by the caller
        absurd = (X < low - ABSURD_FACTOR * width) | (X > high + ABSURD_FACTOR * width)
        outside = (X < low) | (X > high)
    for mask, severity in ((absurd, "error"), (outside, "warning")):
        if not mask.any():
            continue
        case, ch, t = (int(v[0]) for v in np.nonzero(mask))
        message = (
            f"{name} holds {int(mask.sum())} value(s) outside the training data's plausible "
            f"range, e.g. {float(X[case, ch, t]):.6g} in channel "
            f"{contract.channel_names[ch]!r} (case {case}, time {t}; range "
            f"[{contract.low[ch]:.4g}, {contract.high[ch]:.4g}])"
        )
        if severity == "error":
            raise ValueError(
                f"{message}: far beyond anything a sensor of the training data gives (a "
                "logging glitch or a unit error?). Fix them or mark them NaN (impute=True "
                "fills NaN with the channel mean)"
            )
        logger.warning("%s: other units or another sensor? The embeddings may be off", message)
        return
