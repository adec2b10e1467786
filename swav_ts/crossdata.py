"""One encoder for any channel set: SwAV pretrained across data sets, one channel at a time.

Data sets differ in channels (2 pen coordinates, a 6-channel IMU, 9 articulograph channels),
rates (10-50 Hz, or none declared), lengths (8-144 steps) and units. This module pretrains one
encoder on all of them and embeds any of them with the same weights (docs/crossdata.md):

1. **Resize**: every case is resampled to ``length`` steps by linear interpolation, so a
   pen stroke of 8 samples and a 2.56 s IMU window become series of one length.
2. **Channel-independent**: every channel of every case is one univariate series, normalised
   by its own mean and standard deviation (no units, no data set statistics, no
   cross-case leakage: a case embeds the same alone or in a batch). The two numbers are kept as
   features (mean and log standard deviation), so magnitude is not lost.
3. **Pretrain**: SwAV, exactly as ``TimeSeriesSwAV()`` with its defaults, on ``n_cases``
   univariate series drawn across the sources with a stated weighting (``"sqrt"``: a source's
   share is proportional to the square root of the series it holds; ``"proportional"``;
   ``"equal"``).
4. **Embed**: a case of ``C`` channels gives, per channel, the encoder's ``D`` features plus
   its mean and log standard deviation, ``(n_cases, C, D + 2)``, read out (``readout``) as

   * ``"concat"``: concatenated in channel order, ``(n_cases, C * (D + 2))``;
   * ``"mean-max"``: the ``D`` features averaged and maximised over the channels, then every
     channel's mean and log standard deviation, ``(n_cases, 2 * D + 2 * C)``;
   * ``"mean"``: averaged only, ``(n_cases, D + 2 * C)``;
   * ``"concat-corr"``: ``"concat"`` followed by the Pearson correlation of every pair of
     channels (:func:`channel_correlations`), ``(n_cases, C * (D + 2) + C * (C - 1) / 2)``.

   The same weights embed 2, 3, 6 or 9 channels.

With ``"concat"`` the channel order carries the channel identity for the probe trained on
top; the pooled readouts keep it only in the per-channel mean and spread. The encoder itself
never sees which sensor a series came from.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin

from swav_ts.data.mixture import draw_items, source_shares
from swav_ts.estimator import MODEL_FORMAT, TimeSeriesSwAV
from swav_ts.model_file import read_model_file, write_model_file

__all__ = [
    "READOUTS",
    "WEIGHTINGS",
    "ChannelIndependentSwAV",
    "channel_correlations",
    "check_triplets",
    "named_triplets",
    "random_rotations",
    "read_out",
    "read_source",
    "resize_cases",
    "stack_cases",
    "univariate_corpus",
    "with_magnitudes",
]

WEIGHTINGS = ("sqrt", "proportional", "equal")
READOUTS = ("concat", "mean-max", "mean", "concat-corr")
CROSSDATA_KEY = "swav_ts.channel_independent"  # metadata key of a saved model
_STD_FLOOR = 1e-8  # a constant channel: log std = log(1e-8), the series itself all zeros


def _check_cases(X: Any, name: str, lazy: bool = False) -> np.ndarray:
    """``X`` as a float32 (n_cases, n_channels, n_timepoints) array, or a clear error.

    ``lazy``: a memory-mapped array (``np.load(..., mmap_mode="r")``) is left on disk; its
    shape and dtype are checked here, its values where they are read
    (:func:`_check_finite`)."""
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if not (lazy and isinstance(X, np.memmap)):
        X = np.asarray(X)
    if X.ndim != 3:
        raise ValueError(
            f"{name}: expected an array (n_cases, n_channels, n_timepoints), got shape "
            f"{X.shape}; add a channel axis for univariate data (X[:, None, :])"
        )
    if X.shape[0] < 1 or X.shape[1] < 1 or X.shape[2] < 2:
        raise ValueError(
            f"{name}: shape {X.shape} needs at least 1 case, 1 channel and 2 time points"
        )
    if not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"{name}: expected numbers, got dtype {X.dtype}")
    if isinstance(X, np.memmap) and lazy:
        return X
    X = X.astype(np.float32, copy=False)
    _check_finite(X, name)
    return X


def _check_finite(X: np.ndarray, name: str, cases: np.ndarray | None = None) -> None:
    """A clear error at the first non-finite value of ``X`` (B, C, T); ``cases``: the case
    number of each row of ``X`` in its source, for the message."""
    if not np.isfinite(X).all():
        bad = np.argwhere(~np.isfinite(X))[0]
        case = bad[0] if cases is None else cases[bad[0]]
        raise ValueError(
            f"{name}: non-finite value at case {case}, channel {bad[1]}, time point "
            f"{bad[2]}; impute missing values first (e.g. swav_ts.data.impute)"
        )


def resize_cases(X: np.ndarray, length: int) -> np.ndarray:
    """Linear interpolation of every series of ``X`` (B, C, T) to ``length`` points: the first
    and last points are kept, the others evenly spaced in between. Returns (B, C, length)."""
    if length < 2:
        raise ValueError(f"length must be >= 2, got {length}")
    T = X.shape[-1]
    if T == length:
        return X.astype(np.float32, copy=True)
    position = np.linspace(0.0, T - 1.0, length)  # (length,) source positions
    left = np.minimum(np.floor(position).astype(np.int64), T - 2)
    weight = (position - left).astype(np.float32)
    return X[..., left] * (1.0 - weight) + X[..., left + 1] * weight


def read_source(
    source: Any,
    length: int = 128,
    window_s: float | None = None,
    spill_dir: str | Path | None = None,
    units: Mapping[str, str] | None = None,
    **read_options: Any,
) -> np.ndarray:
    """One source's cases as ``(n_cases, n_channels, n_timepoints)``, from any data source.

    Windows (``.npy``/``.npz``/``.ts``) are taken as they are (a ``.npy`` of windows is
    memory-mapped, not read: pretraining reads only the series it draws, so a source may be
    larger than memory); recordings (CSV/Parquet) are cut into windows of ``window_s``
    seconds at each file's own rate (:func:`swav_ts.data.sources.iter_recording_windows`), so
    that, resized to ``length`` points, every window of the source is at one rate, and their
    units are made g and rad/s (``units`` declares them; undeclared ones are detected). Cases
    of different lengths are resized to ``length`` here (the model resizes every case to it
    anyway).

    Parameters
    ----------
    spill_dir : str or Path, optional
        For recordings: write each recording's windows, resized to ``length``, to a file in
        this folder as it is read, and return the file memory-mapped, so that a source larger
        than memory holds one recording in memory at a time. Without it the windows are
        collected in memory. The file (``source-*.f32``) must outlive the returned array.

    Raises
    ------
    ValueError
        No case, or cases with different channel counts (the message names the source, the
        case and both counts: give each channel set its own source).
    """
    from swav_ts.data.sources import iter_recording_windows, read_windows, resolve_source

    if isinstance(source, (str, Path)) and str(source).lower().endswith(".npy"):
        X = np.load(source, mmap_mode="r", allow_pickle=False)
        if X.ndim == 3:  # windows stay on disk: only the series drawn are read
            return _check_cases(X, f"source {str(source)!r}", lazy=True)
    src = resolve_source(source, **read_options)
    if spill_dir is None or not src.named_channels:  # windows (arrays, .ts) as they are
        cases, ids, _ = read_windows(src, window_s, canonical_units=True, units=units)
        return stack_cases(cases, ids, length, str(source))
    parts = iter_recording_windows(src, window_s, canonical_units=True, units=units)
    return _spill(parts, Path(spill_dir), length, str(source))


def _spill(parts: Iterable, folder: Path, length: int, name: str) -> np.memmap:
    """Windows of recordings, each resized to ``length``, appended to one float32 file as
    they come; the file memory-mapped as (n_cases, n_channels, length)."""
    folder.mkdir(parents=True, exist_ok=True)
    n_cases, n_channels = 0, None
    spill = tempfile.NamedTemporaryFile(dir=folder, prefix="source-", suffix=".f32", delete=False)
    path = Path(spill.name)
    try:
        with spill as f:
            for part in parts:
                if len(part.windows) == 0:
                    continue
                if n_channels is None:
                    n_channels = part.windows.shape[1]
                if part.windows.shape[1] != n_channels:
                    raise ValueError(
                        f"source {name!r}: recording {part.recording_id} has "
                        f"{part.windows.shape[1]} channels, the first has {n_channels}; give "
                        "each channel set its own source"
                    )
                f.write(np.ascontiguousarray(resize_cases(part.windows, length), "<f4").tobytes())
                f.flush()  # on disk before the next recording is read
                n_cases += len(part.windows)
        if n_channels is None:
            raise ValueError(f"source {name!r} gave no case")
    except BaseException:
        path.unlink(missing_ok=True)  # no partial file left in a kept --cache-dir
        raise
    return np.memmap(path, dtype="<f4", mode="r", shape=(n_cases, n_channels, length))


def named_triplets(source: Any, **read_options: Any) -> list[tuple[int, int, int]]:
    """The 3-axis sensors of a source of named channels (CSV/Parquet, a bundled name),
    recognised from the names (``acc_x, acc_y, acc_z``, ``gyroX, gyroY, gyroZ``; as the
    rotation augmentation recognises them) in its first recording, which is read for it.

    Raises
    ------
    ValueError
        A source whose channels have no names (arrays, ``.ts`` files).
    """
    from swav_ts.data.sources import resolve_source
    from swav_ts.timeseries.augment.config import sensor_triplets

    keys = ("time_col", "time_unit", "rate_hz", "channels")
    src = resolve_source(source, **{k: v for k, v in read_options.items() if k in keys and v})
    first = next(iter(src.recordings()), None) if src.named_channels else None
    if first is None:
        raise ValueError(
            f"{source}: its channels have no names, so no 3-axis sensor can be recognised; "
            "leave out --triplets, or pass triplets= (channel indices) in Python"
        )
    return list(sensor_triplets(first.channel_names))


def stack_cases(
    cases: Sequence[np.ndarray], ids: Sequence[str], length: int, name: str
) -> np.ndarray:
    """Cases ``(n_channels, n_timepoints_i)`` of one source as one array: stacked when they
    are all as long, else each resized to ``length`` points.

    Raises
    ------
    ValueError
        No case, a case under 2 points, or cases with different channel counts (naming
        ``name``, the case and both counts).
    """
    if len(cases) == 0:
        raise ValueError(f"source {name!r} gave no case")
    n_channels = cases[0].shape[0]
    for case, case_id in zip(cases, ids, strict=True):
        if case.shape[0] != n_channels:
            raise ValueError(
                f"source {name!r}: case {case_id} has {case.shape[0]} channels, the first has "
                f"{n_channels}; give each channel set its own source"
            )
        if case.shape[1] < 2:
            raise ValueError(f"source {name!r}: case {case_id} has {case.shape[1]} time points")
    if len({case.shape[1] for case in cases}) == 1:
        return np.stack(cases).astype(np.float32, copy=False)
    return np.stack([resize_cases(np.asarray(case, np.float32)[None], length)[0] for case in cases])


def _series_stats(X: np.ndarray) -> np.ndarray:
    """(mean, log std) of every series of ``X`` (B, C, T): (B, C, 2)."""
    std = np.maximum(X.std(axis=-1), _STD_FLOOR)
    return np.stack([X.mean(axis=-1), np.log(std)], axis=-1).astype(np.float32)


def _normalise_series(X: np.ndarray) -> np.ndarray:
    """Every series of ``X`` (B, C, T) to zero mean and unit standard deviation."""
    std = np.maximum(X.std(axis=-1, keepdims=True), _STD_FLOOR)
    return ((X - X.mean(axis=-1, keepdims=True)) / std).astype(np.float32)


def channel_correlations(X: np.ndarray) -> np.ndarray:
    """The Pearson correlation of every pair of channels of every case of ``X`` (B, C, T):
    ``(B, C * (C - 1) / 2)``, pairs ``(i, j)``, ``i < j``, in row order. A constant channel
    correlates 0 with every other."""
    U = _normalise_series(np.asarray(X, dtype=np.float32))  # (B, C, T), zero mean, unit std
    R = np.einsum("bct,bdt->bcd", U, U) / U.shape[-1]  # (B, C, C)
    i, j = np.triu_indices(U.shape[1], k=1)
    return R[:, i, j].astype(np.float32)


def check_triplets(triplets: Any, n_channels: int, where: str = "X") -> list[tuple[int, int, int]]:
    """Declared 3-axis sensors as index triples: three distinct channels each, none shared."""
    out = [tuple(int(c) for c in t) for t in (triplets or [])]
    flat = [c for t in out for c in t]
    bad = [t for t in out if len(t) != 3 or len(set(t)) != 3]
    bad += [t for t in out if any(not 0 <= c < n_channels for c in t)]
    if bad or len(flat) != len(set(flat)):
        raise ValueError(
            f"{where}: triplets must be distinct (x, y, z) channel indices below {n_channels}, "
            f"none in two triplets; got {out}"
        )
    return out


def random_rotations(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` rotation matrices ``(n, 3, 3)`` drawn uniformly (Haar): the QR factor of a
    Gaussian matrix with the signs of ``R``'s diagonal taken out, and a reflection undone."""
    Q, R = np.linalg.qr(rng.standard_normal((n, 3, 3)))
    Q = Q * np.sign(np.diagonal(R, axis1=1, axis2=2))[:, None, :]
    Q[np.linalg.det(Q) < 0, :, 0] *= -1  # det +1: a rotation, not a reflection
    return Q


def with_magnitudes(
    X: np.ndarray, triplets: Sequence[tuple[int, int, int]], rng: np.random.Generator | None = None
) -> np.ndarray:
    """The cases with one more channel per declared 3-axis sensor: its magnitude
    ``|v(t)|``, the same however the sensor is worn; ``rng``: every triplet of every case
    first turned by its own random rotation (the physical augmentation of a worn sensor).

    Parameters
    ----------
    X : ndarray (B, C, T)
    triplets : sequence of (x, y, z) channel indices
    rng : numpy Generator, optional

    Returns
    -------
    ndarray (B, C + len(triplets), T) float32
    """
    if not triplets:
        return X
    X = np.array(X, dtype=np.float32)
    mags = []
    for t in triplets:
        V = X[:, list(t)]  # (B, 3, T)
        if rng is not None:
            V = np.einsum("bij,bjt->bit", random_rotations(len(X), rng), V).astype(np.float32)
            X[:, list(t)] = V
        mags.append(np.linalg.norm(V, axis=1))  # (B, T)
    return np.concatenate([X, np.stack(mags, axis=1)], axis=1)


def read_out(F: np.ndarray, readout: str, X: np.ndarray | None = None) -> np.ndarray:
    """A case's embedding from its per-channel features.

    Parameters
    ----------
    F : ndarray (B, C, D + 2)
        Per channel the encoder's ``D`` features, then the series' mean and log std.
    readout : {"concat", "mean-max", "mean", "concat-corr"}
    X : ndarray (B, C, T), optional
        The cases themselves; ``"concat-corr"`` needs them.

    Returns
    -------
    ndarray (B, C * (D + 2)), (B, 2 * D + 2 * C), (B, D + 2 * C) or
    (B, C * (D + 2) + C * (C - 1) / 2)
    """
    if readout not in READOUTS:
        raise ValueError(f"readout must be one of {READOUTS}, got {readout!r}")
    B = F.shape[0]
    if readout == "concat":
        return F.reshape(B, -1)
    if readout == "concat-corr":
        if X is None or X.shape[:2] != F.shape[:2]:
            got = None if X is None else X.shape
            raise ValueError(f"readout 'concat-corr' needs the {F.shape[:2]} cases, got {got}")
        return np.concatenate([F.reshape(B, -1), channel_correlations(X)], axis=1)
    Z, stats = F[..., :-2], F[..., -2:]  # (B, C, D), (B, C, 2)
    pooled = [Z.mean(axis=1)] if readout == "mean" else [Z.mean(axis=1), Z.max(axis=1)]
    return np.concatenate([*pooled, stats.reshape(B, -1)], axis=1)


def _as_sources(sources: Any) -> dict[str, np.ndarray]:
    if isinstance(sources, Mapping):
        items = list(sources.items())
    elif isinstance(sources, (list, tuple)):
        items = [(f"source {i}", X) for i, X in enumerate(sources)]
    else:
        items = [("X", sources)]
    if not items:
        raise ValueError("no sources: give {name: (n_cases, n_channels, n_timepoints) array}")
    return {str(name): _check_cases(X, f"source {name!r}", lazy=True) for name, X in items}


def univariate_corpus(
    sources: Mapping[str, np.ndarray],
    length: int = 128,
    n_cases: int = 12000,
    weighting: str = "sqrt",
    seed: int = 0,
    triplets: Mapping[str, Sequence[tuple[int, int, int]]] | None = None,
) -> tuple[np.ndarray, dict[str, dict[str, int]]]:
    """The pretraining corpus: ``n_cases`` normalised univariate series drawn across sources.

    Parameters
    ----------
    sources : mapping of str to array (n_cases, n_channels, n_timepoints)
    length : int
        Every series is resized to this many points.
    n_cases : int
        Series in the corpus.
    weighting : {"sqrt", "proportional", "equal"}
        A source's share of ``n_cases``: proportional to the square root of the univariate
        series it holds (cases x channels), to that number, or the same for every source.
        A source asked for more series than it holds repeats them (each at most
        ``ceil(share / held)`` times); otherwise they are drawn without replacement.
    seed : int
    triplets : mapping of str to list of (x, y, z) channel indices, optional
        The 3-axis sensors of a source: each adds its magnitude as one more series per case,
        and every drawn case's triplets are turned by a random rotation first
        (:func:`with_magnitudes`).

    Returns
    -------
    corpus : ndarray (n_cases, 1, length), float32
    counts : dict
        Per source: ``{"held": series held, "drawn": series drawn}``.
    """
    if weighting not in WEIGHTINGS:
        raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")
    if n_cases < 2:
        raise ValueError(f"n_cases must be >= 2, got {n_cases}")
    rng = np.random.default_rng(seed)
    triplets = triplets or {}
    unknown = sorted(set(triplets) - set(sources))
    if unknown:
        raise ValueError(f"triplets name no source: {unknown} (sources: {sorted(sources)})")
    trip = {
        name: check_triplets(triplets.get(name), X.shape[1], f"triplets of {name!r}")
        for name, X in sources.items()
    }
    per_case = {name: X.shape[1] + len(trip[name]) for name, X in sources.items()}
    held = {name: X.shape[0] * per_case[name] for name, X in sources.items()}
    shares = source_shares(held, n_cases, weighting)
    parts, counts = [], {}
    for name, X in sources.items():
        B, S = X.shape[0], per_case[name]
        n = shares[name]
        pick = draw_items(B * S, n, rng)
        # series k is channel k % S of case k // S (the magnitudes after the channels); read
        # case by case, in file order, so a memory-mapped source is only read where drawn
        cases, inverse = np.unique(pick // S, return_inverse=True)
        drawn = np.asarray(X[cases], dtype=np.float32)  # (U, C, T)
        _check_finite(drawn, f"source {name!r}", cases)
        if trip[name]:
            drawn = with_magnitudes(drawn, trip[name], rng)  # (U, S, T)
        series = drawn[inverse, pick % S][:, None, :]  # (n, 1, T)
        parts.append(_normalise_series(resize_cases(series, length)))
        counts[name] = {"held": held[name], "drawn": n}
    corpus = np.concatenate(parts)
    return corpus[rng.permutation(len(corpus))], counts


class ChannelIndependentSwAV(TransformerMixin, BaseEstimator):
    """SwAV pretrained across data sets on single channels; embeds any channel set.

    Parameters
    ----------
    length : int
        Points every series is resized to.
    n_cases : int
        Univariate series in the pretraining corpus (drawn across sources).
    weighting : {"sqrt", "proportional", "equal"}
        The sources' shares of the corpus (:func:`univariate_corpus`).
    random_state : int
        Seed of the corpus draw and of pretraining.
    readout : {"concat", "mean-max", "mean"}
        How the per-channel features become one embedding (:func:`read_out`).
    swav_params : dict, optional
        Keyword arguments of :class:`~swav_ts.estimator.TimeSeriesSwAV` (``config``,
        ``epochs``, ...); its defaults otherwise.

    Attributes
    ----------
    encoder_ : TimeSeriesSwAV
        The univariate model (one channel of ``length`` points).
    corpus_counts_ : dict
        Per source, series held and drawn.
    triplets_ : dict
        Per source, the 3-axis sensors declared at ``fit`` (their magnitudes were in the
        corpus).
    """

    def __init__(
        self,
        length: int = 128,
        n_cases: int = 12000,
        weighting: str = "sqrt",
        random_state: int = 0,
        readout: str = "concat",
        swav_params: dict | None = None,
    ):
        self.length = length
        self.n_cases = n_cases
        self.weighting = weighting
        self.random_state = random_state
        self.readout = readout
        self.swav_params = swav_params

    def fit(
        self, X: Any, y: Any = None, triplets: Mapping[str, Sequence] | None = None
    ) -> ChannelIndependentSwAV:
        """Pretrain on the sources in ``X`` without labels.

        ``X``: ``{name: (n_cases, n_channels, n_timepoints) array}``, a list of such arrays or
        one array; channel counts and lengths may differ between sources. ``triplets``: per
        source name, its 3-axis sensors as ``(x, y, z)`` channel indices; each adds its
        magnitude series to the corpus, under a random rotation of the sensor
        (:func:`univariate_corpus`).
        """
        self.check_params()
        sources = _as_sources(X)
        corpus, self.corpus_counts_ = univariate_corpus(
            sources, self.length, self.n_cases, self.weighting, self.random_state, triplets
        )
        self.triplets_ = {k: [list(t) for t in v] for k, v in (triplets or {}).items() if v}
        params = {"random_state": self.random_state, **(self.swav_params or {})}
        self.encoder_ = TimeSeriesSwAV(**params)
        self.encoder_.fit(corpus)
        return self

    def check_params(self) -> None:
        """A clear error for a ``weighting`` or ``readout`` that is not one of the choices
        (``fit`` calls it; a caller may before reading its sources)."""
        for name, value, valid in (
            ("weighting", self.weighting, WEIGHTINGS),
            ("readout", self.readout, READOUTS),
        ):
            if value not in valid:
                raise ValueError(f"{name} must be one of {valid}, got {value!r}")

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoder_"):
            from sklearn.exceptions import NotFittedError

            raise NotFittedError("ChannelIndependentSwAV is not fitted: call fit or load")

    @classmethod
    def from_encoder(cls, encoder: TimeSeriesSwAV) -> ChannelIndependentSwAV:
        """Wrap a fitted univariate :class:`TimeSeriesSwAV`; ``length`` is the case length it
        was pretrained on (its ``data.context_length``)."""
        if encoder.n_channels_ != 1:
            raise ValueError(
                f"a channel-independent encoder has 1 input channel; this one has "
                f"{encoder.n_channels_}"
            )
        est = cls(length=int(encoder.config_.data.context_length))
        est.encoder_ = encoder
        est.corpus_counts_, est.triplets_ = {}, {}
        return est

    def channel_features(self, X: Any, triplets: Sequence | None = None) -> np.ndarray:
        """Per channel of every case, the encoder's ``D`` features, then the series' mean and
        log standard deviation: ``(n_cases, n_channels, D + 2)``; with ``triplets`` (the
        3-axis sensors as ``(x, y, z)`` channel indices) one more row per sensor, its
        magnitude series', after the channels."""
        self._check_fitted()
        X = _check_cases(X, "X")
        return self._features(with_magnitudes(X, check_triplets(triplets, X.shape[1])))

    def _features(self, X: np.ndarray) -> np.ndarray:
        """:meth:`channel_features` of checked cases."""
        B, C, _ = X.shape
        series = _normalise_series(resize_cases(X, self.length))
        stats = _series_stats(X)  # (B, C, 2), of the series as given
        Z = self.encoder_.transform(series.reshape(B * C, 1, self.length))  # (B*C, D)
        return np.concatenate([Z.reshape(B, C, -1), stats], axis=-1)  # (B, C, D+2)

    def transform(self, X: Any, triplets: Sequence | None = None) -> np.ndarray:
        """Embed cases of any channel count, read out as ``readout`` says (:func:`read_out`;
        ``"concat"``: ``(n_cases, n_channels * (D + 2))``); ``triplets``: as in
        :meth:`channel_features` (one more channel per sensor)."""
        self._check_fitted()
        X = _check_cases(X, "X")
        X = with_magnitudes(X, check_triplets(triplets, X.shape[1]))
        return read_out(self._features(X), self.readout, X)

    def save(self, path: str | Path) -> Path:
        """Write the univariate encoder (safetensors, as :meth:`TimeSeriesSwAV.save`) with this
        model's settings and corpus counts in the metadata."""
        self._check_fitted()
        own = {
            "length": self.length,
            "n_cases": self.n_cases,
            "weighting": self.weighting,
            "random_state": self.random_state,
            "readout": self.readout,
            "corpus_counts": self.corpus_counts_,
            "triplets": self.triplets_,
        }
        meta = {**self.encoder_._metadata(), CROSSDATA_KEY: json.dumps(own)}
        return write_model_file(path, self.encoder_.model_, meta)

    @classmethod
    def load(cls, path: str | Path) -> ChannelIndependentSwAV:
        """Load a model written by :meth:`save` (or a univariate :class:`TimeSeriesSwAV`'s
        file, read out by ``"concat"``)."""
        meta, _, _ = read_model_file(path, MODEL_FORMAT, cls.__name__)
        est = cls.from_encoder(TimeSeriesSwAV.load(path))
        if CROSSDATA_KEY in meta:
            own = json.loads(meta[CROSSDATA_KEY])
            est.corpus_counts_ = own.pop("corpus_counts")
            est.triplets_ = own.pop("triplets", {})
            est.set_params(**own)
        return est
