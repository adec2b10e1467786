"""Several sources as one pretraining source: one channel layout, one rate, one unit convention.

A run over several sources (``data.sources``, ``TimeSeriesSwAV.fit({name: source, ...})``)
reads each source as :func:`~swav_ts.data.sources.resolve_source` reads it alone, then

1. converts its accelerometers and gyroscopes to g and rad/s, with the units declared for that
   source or detected from its data (:func:`swav_ts.data.units.in_canonical_units`);
2. resamples every recording to one rate (``rate_hz``; default: the first source's), as a
   reader puts a file on its grid (:func:`swav_ts.data.grid.resample_recording`);
3. lays it out in the union of the sources' channels (``channels``: a chosen subset and order;
   default: the order in which they first appear). A channel a recording lacks is a row of NaN
   named in ``Recording.absent_channels``: contexts are not dropped for it, they read it as the
   channel's training mean, which is what the channel-dropout augmentation shows the model
   for a missing sensor;
4. prefixes the recording ids with the source's name (``watch/rec01``).

Recordings still stream one at a time into the on-disk cache; only the first recording of
each source is read ahead, to know its channels. :func:`mixed_indices` then draws an epoch's
contexts across the sources with a stated weighting.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from swav_ts.data.grid import resample_recording
from swav_ts.data.recording import Recording
from swav_ts.data.sources import RecordingSource
from swav_ts.data.units import in_canonical_units

__all__ = [
    "SOURCE_OPTIONS",
    "WEIGHTINGS",
    "MixedSource",
    "as_parts",
    "draw_items",
    "mixed_indices",
    "source_shares",
]

logger = logging.getLogger(__name__)

#: How a group's share of a draw follows the items it holds.
WEIGHTINGS = ("proportional", "sqrt", "equal")
SEP = "/"  # between a source's name and its recording ids


def source_shares(held: Mapping[str, int], n: int, weighting: str) -> dict[str, int]:
    """How many of ``n`` drawn items each group gives.

    Parameters
    ----------
    held : mapping of str to int
        Items each group holds.
    n : int
        Items drawn in all.
    weighting : {"proportional", "sqrt", "equal"}
        A group's share is proportional to the items it holds, to their square root, or the
        same for every group. The rounding remainder goes to the largest share, so the shares
        sum to ``n`` exactly.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    raw = {
        "sqrt": {k: float(np.sqrt(v)) for k, v in held.items()},
        "proportional": {k: float(v) for k, v in held.items()},
        "equal": {k: 1.0 for k in held},
    }[weighting]
    total = sum(raw.values())
    shares = {k: round(n * v / total) for k, v in raw.items()}
    shares[max(shares, key=shares.get)] += n - sum(shares.values())
    return shares


def draw_items(n_held: int, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` of ``n_held`` item indices: without replacement when ``n <= n_held``, otherwise
    whole permutations repeated (each item at most ``ceil(n / n_held)`` times)."""
    if n <= n_held:
        return rng.choice(n_held, size=n, replace=False)
    return np.concatenate([rng.permutation(n_held) for _ in range(-(-n // n_held))])[:n]


def mixed_indices(
    groups: Sequence[str], weighting: str, seed: int = 0
) -> tuple[np.ndarray, dict[str, dict[str, int]]]:
    """An epoch's items drawn across groups with a weighting, as many as there are items.

    Parameters
    ----------
    groups : sequence of str, length N
        The group (source) of every item.
    weighting : {"proportional", "sqrt", "equal"}
        See :func:`source_shares`; ``"proportional"`` takes every item once.
    seed : int

    Returns
    -------
    indices : ndarray (N,) int64
        Items of the epoch (sorted by group, the sampler shuffles them).
    counts : dict
        Per group: ``{"held": items held, "drawn": items drawn}``.
    """
    groups = np.asarray(groups)
    names = list(dict.fromkeys(groups.tolist()))
    members = {g: np.flatnonzero(groups == g) for g in names}
    held = {g: len(m) for g, m in members.items()}
    if weighting == "proportional":
        shares, picks = held, {g: np.arange(held[g]) for g in names}
    else:
        rng = np.random.default_rng(seed)
        shares = source_shares(held, len(groups), weighting)
        picks = {g: draw_items(held[g], shares[g], rng) for g in names}
    indices = np.concatenate([members[g][picks[g]] for g in names]).astype(np.int64)
    counts = {g: {"held": held[g], "drawn": int(shares[g])} for g in names}
    return indices, counts


def _unnamed(src: RecordingSource) -> bool:
    return not src.named_channels and not src.read_options.get("channels")


def _windows(src: RecordingSource) -> bool:
    return src.kind in ("array", "ts") or (src.kind == "memory" and not src.named_channels)


def _relabelled(stream: Iterator[Recording], names: list[str], rate_hz: float):
    for rec in stream:
        yield Recording(rec.signals, rec.labels, rate_hz, names, 0.0, rec.recording_id)


class MixedSource:
    """Several resolved sources read as one (see the module docstring); built by
    ``swav_ts.timeseries.pretrain`` from ``data.sources``.

    Parameters
    ----------
    parts : list of (name, RecordingSource, declared units or None)
        The sources in order; names are unique and hold no ``"/"``.
    rate_hz : float, optional
        The one rate of the run (default: the first source's first recording's).
    channels : list of str, optional
        The run's channels, in order (default: every source's, in order of appearance).

    Attributes
    ----------
    kind : "mixture"
    named_channels : True
    report : None
        Each source's reader reports for itself.
    """

    kind = "mixture"
    named_channels = True
    report = None

    def __init__(
        self,
        parts: Sequence[tuple[str, RecordingSource, Mapping[str, str] | None]],
        rate_hz: float | None = None,
        channels: Sequence[str] | None = None,
    ) -> None:
        if len(parts) < 1:
            raise ValueError("no sources: data.sources lists none")
        names = [name for name, _, _ in parts]
        for name in names:
            if not name or SEP in name:
                raise ValueError(f"source name {name!r}: give a non-empty name without {SEP!r}")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"source names must be unique; {repeated} appear more than once")
        for name, src, _ in parts:
            if _unnamed(src):
                raise ValueError(
                    f"source {name!r} ({src.description}) has unnamed channels; sources are "
                    "matched by channel name: name them (channels: [acc_x, ...] for that "
                    "source), or pretrain a channel-independent model on windows of any "
                    "channels (swav-ts pretrain-crossdata, swav_ts.crossdata)"
                )
            if _windows(src) and not src.read_options.get("rate_hz"):
                raise ValueError(
                    f"source {name!r} ({src.description}) holds windows without a rate: give "
                    "its rate_hz, so that it can be resampled to the run's rate"
                )
        self.parts = list(parts)
        self._chosen = {name: src.read_options.get("channels") for name, src, _ in parts}
        self.rate_hz = None if rate_hz is None else float(rate_hz)
        self.channels = None if channels is None else [str(c) for c in channels]
        self.description = f"{len(parts)} sources: " + ", ".join(
            f"{name} ({src.description})" for name, src, _ in parts
        )
        self.paths: list[Path] = [p for _, src, _ in parts for p in src.paths]

    @staticmethod
    def source_of(recording_id: str) -> str:
        """The name of the source a (mixed) recording id comes from."""
        return recording_id.split(SEP, 1)[0]

    def fingerprint(self) -> str:
        """The sources' fingerprints, names, declared units, the rate and the channels."""
        h = hashlib.sha1()
        for name, src, declared in self.parts:
            h.update(json.dumps([name, src.fingerprint(), declared], sort_keys=True).encode())
        h.update(json.dumps([self.rate_hz, self.channels]).encode())
        return h.hexdigest()

    def recordings(self) -> Iterator[Recording]:
        """Every source's recordings in canonical units, at one rate, in one channel layout."""
        heads = []
        for name, src, declared in self.parts:
            stream = src.recordings()
            if _windows(src):  # cases: the source's names and rate (in-memory ones lack them)
                stream = _relabelled(stream, self._chosen[name], src.read_options["rate_hz"])
            stream = in_canonical_units(stream, declared, where=name + SEP)
            first = next(stream, None)
            if first is None:
                raise ValueError(f"source {name!r} ({src.description}) holds no recording")
            heads.append((name, first, stream))
        layout = self._layout(
            {name: self._chosen[name] or first.channel_names for name, first, _ in heads}
        )
        rate = self.rate_hz or heads[0][1].rate_hz
        for name, first, stream in heads:
            said = False
            for rec in itertools.chain([first], stream):
                if not said and abs(rec.rate_hz - rate) > 1e-9 * rate:
                    logger.warning(
                        "source %r: resampled from %g Hz to the run's %g Hz",
                        name,
                        rec.rate_hz,
                        rate,
                    )
                    said = True
                yield self._conform(name, rec, layout, rate)

    def _layout(self, first_channels: Mapping[str, list[str]]) -> list[str]:
        """The run's channels: ``channels``, each held by some source, or the union."""
        union = list(dict.fromkeys(c for names in first_channels.values() for c in names))
        if self.channels is None:
            return union
        missing = [c for c in self.channels if c not in union]
        if missing:
            raise ValueError(
                f"data.channels {missing} are in no source; the sources have {union} "
                "(their first recordings)"
            )
        for name, names in first_channels.items():
            left = [c for c in names if c not in self.channels]
            if left:
                logger.info("source %r: channels %s left out (not in data.channels)", name, left)
        return list(self.channels)

    def _conform(self, name: str, rec: Recording, layout: list[str], rate: float) -> Recording:
        """One recording at ``rate`` in ``layout`` (absent channels all NaN), id prefixed."""
        extra = [c for c in (self._chosen.get(name) or rec.channel_names) if c not in layout]
        if extra and self.channels is None:
            raise ValueError(
                f"recording {rec.recording_id!r} of source {name!r} has channels {extra} that "
                f"the sources' first recordings do not ({layout}); choose the run's channels "
                "with data.channels"
            )
        chosen = self._chosen.get(name)
        if chosen:  # the source's own selection (readers of files apply it already)
            lacking = [c for c in chosen if c not in rec.channel_names]
            if lacking:
                raise ValueError(
                    f"recording {rec.recording_id!r} of source {name!r} lacks the channels "
                    f"{lacking} chosen for it (it has {rec.channel_names})"
                )
        keep = [c for c in (chosen or rec.channel_names) if c in layout]
        if not keep:
            raise ValueError(
                f"recording {rec.recording_id!r} of source {name!r} has none of the run's "
                f"channels {layout} (it has {rec.channel_names})"
            )
        rows = [rec.channel_names.index(c) for c in keep]
        rec = resample_recording(
            Recording(
                rec.signals[rows],
                rec.labels,
                rec.rate_hz,
                keep,
                rec.start_time,
                rec.recording_id,
                rec.subject,
            ),
            rate,
        )
        signals = np.full((len(layout), rec.n_samples), np.nan, dtype=np.float32)  # (C, T)
        signals[[layout.index(c) for c in keep]] = rec.signals
        return Recording(
            signals,
            rec.labels,
            rate,
            layout,
            rec.start_time,
            f"{name}{SEP}{rec.recording_id}",
            rec.subject,
            absent_channels=tuple(c for c in layout if c not in keep),
        )


#: Options a source of a run over several may give (the others come from the run's data).
SOURCE_OPTIONS = ("split", "time_col", "time_unit", "rate_hz", "channels", "units")


def as_parts(
    sources: Mapping[str, Any] | Sequence[tuple[str, Any]],
    resolve: Any,
    defaults: Mapping[str, Any],
) -> list[tuple[str, RecordingSource, Mapping[str, str] | None]]:
    """Resolve ``{name: source or {"source": ..., option: value}}`` (or such pairs).

    Parameters
    ----------
    sources : mapping or sequence of (name, spec) pairs
        Per name, a source (anything ``resolve`` takes) or a mapping of it under ``"source"``
        and :data:`SOURCE_OPTIONS`.
    resolve : callable
        :func:`~swav_ts.data.sources.resolve_source`.
    defaults : mapping
        Options for those a source does not give (None values count as not given).

    Returns
    -------
    list of (name, RecordingSource, declared units or None)
        The bundled HAPT data declares its own units.
    """
    from swav_ts.data.hapt import HAPT_UNITS

    parts = []
    for name, spec in sources.items() if isinstance(sources, Mapping) else sources:
        options = dict(spec) if isinstance(spec, Mapping) else {"source": spec}
        if "source" not in options:
            raise ValueError(f"source {name!r}: give its data as {{'source': ..., options}}")
        data = options.pop("source")
        unknown = sorted(set(options) - set(SOURCE_OPTIONS))
        if unknown:
            raise ValueError(
                f"source {name!r}: unknown option(s) {unknown} (valid: {', '.join(SOURCE_OPTIONS)})"
            )
        given = {k: v for k, v in options.items() if v is not None}
        merged = {**{k: v for k, v in defaults.items() if v is not None}, **given}
        declared = merged.pop("units", None)
        src = resolve(data, **merged)
        if declared is None and src.kind == "bundled":
            declared = HAPT_UNITS
        parts.append((str(name), src, declared))
    return parts
