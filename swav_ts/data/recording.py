"""The ``Recording`` container and the ``ReadReport`` of what a reader changed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

__all__ = ["ReadReport", "Recording"]


@dataclass
class Recording:
    """One continuous multichannel recording on a uniform time grid.

    Attributes
    ----------
    signals : ndarray
        float32 ``(C, T)``; sample ``t`` is at ``start_time + t / rate_hz`` seconds.
    labels : ndarray or None
        Per-sample labels ``(T,)`` (integer or str), or None when unlabelled.
    rate_hz : float
        Sampling rate of the grid.
    channel_names : list of str
        ``C`` names.
    start_time : float
        Time of the first sample in seconds.
    recording_id : str
        Identifier, unique within a dataset.
    subject : str, int or None
        Who or what was recorded (used for subject-wise splits).
    absent_channels : tuple of str
        Channels this recording does not have (their rows are all NaN): a recording of a
        run over several sources (``data.sources``) laid out in the union of their channels.
        Contexts are not dropped for them; they are read as the channel's training mean.
    """

    signals: np.ndarray
    labels: np.ndarray | None
    rate_hz: float
    channel_names: list[str]
    start_time: float = 0.0
    recording_id: str = "recording"
    subject: str | int | None = None
    absent_channels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        sig = np.asarray(self.signals)
        if sig.ndim != 2:
            raise ValueError(
                f"Recording {self.recording_id!r}: signals must be (C, T), got shape {sig.shape}"
            )
        self.signals = np.ascontiguousarray(sig, dtype=np.float32)
        c, t = self.signals.shape
        if self.labels is not None:
            lab = np.asarray(self.labels)
            if lab.shape != (t,):
                raise ValueError(
                    f"Recording {self.recording_id!r}: labels shape {lab.shape} != ({t},) "
                    "(one label per sample)"
                )
            self.labels = lab
        self.channel_names = [str(n) for n in self.channel_names]
        if len(self.channel_names) != c:
            raise ValueError(
                f"Recording {self.recording_id!r}: {len(self.channel_names)} channel names "
                f"for {c} channels"
            )
        if not (float(self.rate_hz) > 0 and np.isfinite(self.rate_hz)):
            raise ValueError(
                f"Recording {self.recording_id!r}: rate_hz must be > 0, got {self.rate_hz}"
            )
        self.rate_hz = float(self.rate_hz)
        self.start_time = float(self.start_time)
        self.absent_channels = tuple(str(n) for n in self.absent_channels)
        for name in self.absent_channels:
            if name not in self.channel_names:
                raise ValueError(
                    f"Recording {self.recording_id!r}: absent channel {name!r} is not one of "
                    f"its channels {self.channel_names}"
                )
            if not np.isnan(self.signals[self.channel_names.index(name)]).all():
                raise ValueError(
                    f"Recording {self.recording_id!r}: channel {name!r} is declared absent but "
                    "holds values (an absent channel is all NaN)"
                )

    @property
    def n_channels(self) -> int:
        """Number of channels ``C``."""
        return int(self.signals.shape[0])

    @property
    def n_samples(self) -> int:
        """Number of samples ``T``."""
        return int(self.signals.shape[1])

    @property
    def duration_s(self) -> float:
        """Duration covered by the samples, ``T / rate_hz``."""
        return self.n_samples / self.rate_hz

    def times_s(self) -> np.ndarray:
        """Sample times in seconds, ``(T,)`` float64."""
        return self.start_time + np.arange(self.n_samples) / self.rate_hz


@dataclass
class ReadReport:
    """What :func:`swav_ts.data.read_recording` read and changed.

    Every count is a number of rows (input) or samples (output grid); nothing is changed without
    being counted here.
    """

    source: str = ""
    rows_read: int = 0
    rows_missing_time: int = 0
    rows_reordered: int = 0
    duplicates_merged: int = 0
    duplicate_label_conflicts: int = 0
    nan_values_in: int = 0
    nan_filled: int = 0
    nan_remaining: int = 0
    labels_missing: int = 0
    rate_hz: float = 0.0
    rate_inferred: bool = False
    input_rate_hz: float = 0.0
    resampling: str = "none"
    samples_out: int = 0
    gaps_found: int = 0
    gaps_split: int = 0
    gap_samples_marked: int = 0
    segments_dropped: int = 0
    samples_dropped: int = 0
    n_recordings: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        """True when the reader altered, merged, dropped or filled anything."""
        return bool(
            self.rows_missing_time
            or self.rows_reordered
            or self.duplicates_merged
            or self.nan_filled
            or self.nan_remaining
            or self.labels_missing
            or self.resampling != "none"
            or self.gaps_found
            or self.segments_dropped
            or self.samples_dropped
        )

    def merge(self, other: ReadReport) -> None:
        """Add the counts of ``other`` into this report (for multi-file reads)."""
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, bool) or f.name in ("rate_hz", "input_rate_hz"):
                continue
            if isinstance(a, int):
                setattr(self, f.name, a + b)
        self.notes.extend(other.notes)

    def summary(self) -> str:
        """One-line human-readable summary of the counts that are non-zero."""
        parts = [
            f"{self.source}: {self.rows_read} rows -> {self.n_recordings} recording(s), "
            f"{self.samples_out} samples at {self.rate_hz:g} Hz"
            f"{' (inferred)' if self.rate_inferred else ''}"
        ]
        for name in (
            "rows_missing_time",
            "rows_reordered",
            "duplicates_merged",
            "duplicate_label_conflicts",
            "nan_filled",
            "nan_remaining",
            "labels_missing",
            "gaps_found",
            "gaps_split",
            "gap_samples_marked",
            "segments_dropped",
            "samples_dropped",
        ):
            v = getattr(self, name)
            if v:
                parts.append(f"{name}={v}")
        if self.resampling != "none":
            parts.append(f"resampling={self.resampling} (input ~{self.input_rate_hz:.4g} Hz)")
        return "; ".join(parts)
