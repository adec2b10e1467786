"""Embeddings of a live sensor stream, window by window, in bounded memory.

:class:`StreamingEmbedder` is fed chunks of any size as they arrive (``push(chunk (C, n))``)
and returns the embedding of every window completed by the chunk, with its start time. Its
windows are those of :meth:`TimeSeriesSwAV.embed_recording` on the concatenated stream: starts
``0, stride, 2*stride, ...``, windows holding NaN skipped (the rules of
:mod:`swav_ts.data.windows`), start time = stream start + ``start / rate_hz`` (or the timestamp
of the window's first sample). A test checks that the two agree for any chunking.

Memory is bounded: a buffer of ``window + stride`` samples per channel (the samples of the next
window(s) not yet complete), plus at most ``batch_size`` windows waiting for one model call
within a ``push``; nothing grows with the length of the stream.

The stream must be sampled at the model's rate (``rate_hz``): resampling a live stream is out
of scope (resample on the device, or train a model at the device's rate). Channels are matched
to the model's by name when the stream declares ``channel_names``.

(About 470 lines: one class whose input checks, buffer and backends are one state machine;
splitting it would spread the stream's invariants over several files.)
"""

from __future__ import annotations

import itertools
import logging
import math
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.data.contract import RATE_TOLERANCE, InputContract
from swav_ts.export import ExportedModel, absurd_bounds, load_exported

__all__ = ["StreamingEmbedder"]

logger = logging.getLogger(__name__)

#: Timestamps whose median step differs from ``1 / rate_hz`` by more than this are refused.
TIMESTAMP_RATE_TOLERANCE = 0.1
#: Steps checked for the rate need at least this many samples in a chunk.
_MIN_STEPS_FOR_RATE = 8


class StreamingEmbedder:
    """Embed a live multichannel stream window by window.

    Parameters
    ----------
    model : TimeSeriesSwAV, ExportedModel or path
        A fitted estimator, a loaded export, a saved model (``.safetensors``) or an exported
        file (``.onnx``, TorchScript).
    window_s : float, optional
        Window length in seconds (default: the model's window length,
        ``contract.window_length`` samples).
    stride_s : float, optional
        Step between window starts in seconds (default: ``window_s``, no overlap).
    backend : {"torch", "onnx"}, optional
        For an estimator: run the torch model (default) or an ONNX export of it made in
        memory (needs ``pip install "swav-ts[export]"``). For an exported file: its own
        runtime (``"onnx"`` or ``"torchscript"``); another value is an error.
    channel_names : sequence of str, optional
        The stream's channels (the rows of each chunk), in its order. They are matched to the
        model's channels by name (reordered; extra channels left out). Default: the chunks hold
        the model's channels in its order.
    rate_hz : float, optional
        The stream's sampling rate (default: the model's). It must equal the model's rate
        (within 1 %); a model without a rate (trained on arrays) needs it.
    start_time : float, default 0.0
        Time (s) of the first sample when the chunks come without timestamps.
    max_gap_s : float, optional
        With timestamps: a step longer than this is a gap; no window spans it, and the windows
        after it start at the first sample after the gap (as the readers' ``gap_policy=
        "split"`` cuts a recording there). Default: 1 s (the readers' default), at least 2.5
        sample periods.
    batch_size : int, default 256
        At most this many windows per model call.
    threads : int, optional
        ONNX Runtime threads (ONNX backend).

    Notes
    -----
    Chunks are ``(C, n)`` arrays in sensor units, the layout of :class:`swav_ts.data.Recording`
    signals (``n`` may be 0 or 1). A chunk that cannot be used (wrong shape, timestamps that do
    not increase or do not match the rate, infinite or absurd values) raises ``ValueError``
    naming the chunk's index (counting every ``push`` call from 0) and the expectation, and
    leaves the stream as it was: the next valid chunk continues as if the bad one never came.
    """

    def __init__(
        self,
        model: Any,
        window_s: float | None = None,
        stride_s: float | None = None,
        *,
        backend: str | None = None,
        channel_names: Sequence[str] | None = None,
        rate_hz: float | None = None,
        start_time: float = 0.0,
        max_gap_s: float | None = None,
        batch_size: int = 256,
        threads: int | None = None,
    ) -> None:
        self._setup_backend(model, backend, threads)
        contract = self.contract
        self.rate_hz = self._check_rate(rate_hz, contract)
        self.window_length = self._samples(window_s, "window_s", contract.window_length)
        self.stride = self._samples(stride_s, "stride_s", self.window_length)
        if self.window_length < contract.min_length:
            raise ValueError(
                f"a window of {self.window_length} samples is shorter than the encoder's "
                f"minimum of {contract.min_length}"
            )
        if not self._dynamic_length and self.window_length != contract.window_length:
            raise ValueError(
                f"this export takes windows of exactly {contract.window_length} samples "
                f"({contract.window_length / self.rate_hz:g} s); window_s={window_s} gives "
                f"{self.window_length} (export with dynamic_length=True for other lengths)"
            )
        self._select, self.stream_channels = self._match_channels(channel_names, contract)
        if not (isinstance(batch_size, int) and batch_size >= 1):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if max_gap_s is None:
            max_gap_s = max(1.0, 2.5 / self.rate_hz)
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be > 0, got {max_gap_s}")
        self.batch_size = batch_size
        self.max_gap_s = float(max_gap_s)
        self.start_time = float(start_time)
        self._bounds = absurd_bounds(contract)
        self._low = None if contract.low is None else np.asarray(contract.low)
        self._high = None if contract.high is None else np.asarray(contract.high)
        c, cap = contract.n_channels, self.window_length + self.stride
        self._buf = np.zeros((c, cap), dtype=np.float32)  # (C, window + stride)
        self._tbuf = np.zeros(cap, dtype=np.float64)  # time of each buffered sample
        self.reset()

    # ------------------------------------------------------------------ set-up
    def _setup_backend(self, model: Any, backend: str | None, threads: int | None) -> None:
        if isinstance(model, (str, Path)):
            path = Path(model)
            if path.suffix == ".safetensors":
                from swav_ts.estimator import TimeSeriesSwAV

                model = TimeSeriesSwAV.load(path)
            else:
                model = load_exported(path, threads=threads)
        if not isinstance(model, ExportedModel):  # an estimator (imported only then)
            from swav_ts.estimator import TimeSeriesSwAV

            if not isinstance(model, TimeSeriesSwAV):
                raise TypeError(
                    "model must be a fitted TimeSeriesSwAV, an ExportedModel or a path to a "
                    f"saved or exported model; got {type(model).__name__}"
                )
            model._check_fitted()
            backend = backend or "torch"
            if backend == "torch":
                self.backend = "torch"
                self.contract: InputContract = model.contract_
                self._backbone = model.model_.backbone.cpu().eval()
                self._exported: ExportedModel | None = None
                self._dynamic_length = True
                return
            if backend != "onnx":
                raise ValueError(f"backend must be 'torch' or 'onnx', got {backend!r}")
            with tempfile.TemporaryDirectory(prefix="swav_ts_stream_") as tmp:
                path = model.export(Path(tmp) / "model.onnx", "onnx", verify=False)
                model = load_exported(path, threads=threads)  # ORT keeps the graph in memory
        if backend is not None and backend != model.backend:
            raise ValueError(
                f"{model.path} is a {model.backend} export; backend={backend!r} cannot run it"
            )
        self.backend = model.backend
        self.contract = model.contract
        self._exported = model
        self._backbone = None
        self._dynamic_length = model.dynamic_length

    @staticmethod
    def _check_rate(rate_hz: float | None, contract: InputContract) -> float:
        model_rate = contract.rate_hz
        if rate_hz is None:
            if model_rate is None:
                raise ValueError(
                    "the model has no sampling rate (it was trained on arrays): pass the "
                    "stream's rate_hz"
                )
            return float(model_rate)
        rate_hz = float(rate_hz)
        if not (rate_hz > 0 and math.isfinite(rate_hz)):
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        if model_rate is not None and abs(rate_hz / model_rate - 1) > RATE_TOLERANCE:
            raise ValueError(
                f"the stream is sampled at {rate_hz:g} Hz but the model at {model_rate:g} Hz: "
                "a live stream is not resampled (resample it on the device, or train a model at "
                f"{rate_hz:g} Hz)"
            )
        return rate_hz

    def _samples(self, seconds: float | None, what: str, default: int) -> int:
        if seconds is None:
            return int(default)
        n = round(float(seconds) * self.rate_hz)
        if n < 1:
            raise ValueError(
                f"{what}={seconds} at {self.rate_hz:g} Hz gives {n} samples; need >= 1"
            )
        return int(n)

    @staticmethod
    def _match_channels(
        names: Sequence[str] | None, contract: InputContract
    ) -> tuple[np.ndarray | None, list[str]]:
        if names is None:
            return None, list(contract.channel_names)
        names = [str(n) for n in names]
        if len(set(names)) != len(names):
            raise ValueError(f"the stream's channel names repeat: {names}")
        if not contract.named:
            if len(names) != contract.n_channels:
                raise ValueError(
                    f"the stream has {len(names)} channels {names}; the model was trained on "
                    f"{contract.n_channels} unnamed channels"
                )
            return None, names
        missing = [c for c in contract.channel_names if c not in names]
        if missing:
            raise ValueError(
                f"the stream's channels {names} lack {missing}: the model needs "
                f"{contract.channel_names}"
            )
        idx = np.asarray([names.index(c) for c in contract.channel_names], dtype=np.int64)
        if len(names) == contract.n_channels and (idx == np.arange(len(idx))).all():
            return None, names
        return idx, names

    # ------------------------------------------------------------------ state
    def reset(self, start_time: float | None = None) -> None:
        """Forget the stream: the next chunk starts a new one (at ``start_time``)."""
        if start_time is not None:
            self.start_time = float(start_time)
        self._n = 0  # valid samples in the buffer
        self._base = 0  # stream index of buffer column 0
        self._total = 0  # samples seen (stream index of the next sample)
        self._next = 0  # stream index of the next window start
        self._anchor = (self.start_time, 0)  # (time, index): times of untimestamped samples
        self._last_t: float | None = None  # time of the last sample
        self.n_chunks = 0
        self.n_windows = 0
        self.n_skipped_nan = 0
        self.n_gaps = 0
        self._warned_range = False

    @property
    def n_samples(self) -> int:
        """Samples received so far."""
        return self._total

    @property
    def buffer_nbytes(self) -> int:
        """Bytes held by the sample buffer (constant for the life of the embedder)."""
        return int(self._buf.nbytes + self._tbuf.nbytes)

    # ------------------------------------------------------------------ input
    def _check_chunk(
        self, chunk: Any, timestamps: Any, k: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """The chunk as model channels ``(C, n)`` float32 and its times, or ValueError."""
        where = f"chunk {k}"
        n_in = len(self.stream_channels)
        if isinstance(chunk, torch.Tensor):
            chunk = chunk.detach().cpu().numpy()
        x = np.asarray(chunk)
        if x.dtype == object or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
            raise ValueError(f"{where}: expected real numbers, got dtype {x.dtype}")
        if x.ndim != 2 or x.shape[0] != n_in:
            raise ValueError(
                f"{where} has shape {x.shape}; expected (channels, samples) = ({n_in}, n) with "
                f"the channels {self.stream_channels}"
            )
        if self._select is not None:
            x = x[self._select]
        x = np.ascontiguousarray(x, dtype=np.float32)
        if np.isinf(x).any():
            ch, i = (int(v[0]) for v in np.nonzero(np.isinf(x)))
            raise ValueError(
                f"{where}: infinite value at sample {i} of channel "
                f"{self.contract.channel_names[ch]!r}; mark missing samples NaN"
            )
        if self._bounds is not None and x.size:
            lo, hi = self._bounds
            with np.errstate(invalid="ignore"):
                bad = (x < lo[:, None]) | (x > hi[:, None])
            if bad.any():
                ch, i = (int(v[0]) for v in np.nonzero(bad))
                raise ValueError(
                    f"{where}: value {float(x[ch, i]):.6g} at sample {i} of channel "
                    f"{self.contract.channel_names[ch]!r} is far beyond anything of the training "
                    f"data (plausible range [{self._low[ch]:.4g}, {self._high[ch]:.4g}]): a "
                    "logging glitch or a unit error? Mark such samples NaN (their windows are "
                    "skipped)"
                )
        if timestamps is None:
            return x, None
        t = np.asarray(timestamps, dtype=np.float64)
        if t.shape != (x.shape[1],):
            raise ValueError(
                f"{where}: timestamps have shape {t.shape}; expected one per sample: "
                f"({x.shape[1]},)"
            )
        if not np.isfinite(t).all():
            raise ValueError(f"{where}: timestamps must be finite seconds")
        prev = self._last_t
        steps = np.diff(t) if prev is None else np.diff(t, prepend=prev)
        if (steps <= 0).any():
            i = int(np.flatnonzero(steps <= 0)[0]) + (1 if prev is None else 0)
            before = t[i - 1] if i > 0 else prev
            raise ValueError(
                f"{where}: timestamps must increase; sample {i} is at {t[i]!r} s, not after "
                f"{before!r} s (the sample before it)"
            )
        inside = steps[steps <= self.max_gap_s]
        if len(inside) >= _MIN_STEPS_FOR_RATE:
            step = float(np.median(inside))
            if abs(step * self.rate_hz - 1) > TIMESTAMP_RATE_TOLERANCE:
                raise ValueError(
                    f"{where}: timestamps step by {step:.6g} s ({1 / step:.4g} Hz); the stream "
                    f"is declared at {self.rate_hz:g} Hz (a live stream is not resampled)"
                )
        return x, t

    # ------------------------------------------------------------------ streaming
    def push(
        self, chunk: np.ndarray, timestamps: np.ndarray | None = None
    ) -> list[tuple[float, np.ndarray]]:
        """Add the next samples; return the windows they complete.

        Parameters
        ----------
        chunk : ndarray (C, n)
            The next ``n`` samples of every stream channel, in sensor units (NaN: missing).
        timestamps : ndarray (n,), optional
            Time of each sample in seconds (increasing). Default: continuing the stream at
            ``rate_hz`` from ``start_time`` (or from the last timestamp given).

        Returns
        -------
        list of (start_time_s, embedding (D,) float32)
            One per window completed by this chunk and free of NaN, in time order.

        Raises
        ------
        ValueError
            The chunk cannot be used (naming its index and the expectation); the stream is
            unchanged.
        """
        k = self.n_chunks
        self.n_chunks += 1
        x, t = self._check_chunk(chunk, timestamps, k)  # raises before any state changes
        n = x.shape[1]
        if n == 0:
            return []
        self._warn_range(x, k)
        gaps: set[int] = set()
        if t is None:
            t0, i0 = self._anchor
            t = t0 + (self._total + np.arange(n) - i0) / self.rate_hz
        else:
            prev = self._last_t
            steps = np.diff(t) if prev is None else np.diff(t, prepend=prev)
            gaps = set((np.flatnonzero(steps > self.max_gap_s) + (prev is None)).tolist())
            self._anchor = (float(t[-1]), self._total + n - 1)
        self._last_t = float(t[-1])
        out: list[tuple[float, np.ndarray]] = []
        pending: list[tuple[float, np.ndarray]] = []
        cuts = sorted({0, n} | gaps)
        for a, b in itertools.pairwise(cuts):
            if a in gaps:  # a gap before sample a: no window spans it, they start again at a
                self.n_gaps += 1
                self._n, self._base, self._next = 0, self._total, self._total
            self._feed(x[:, a:b], t[a:b], pending, out)
        self._flush(pending, out)
        return out

    def _warn_range(self, x: np.ndarray, k: int) -> None:
        if self._warned_range or self._low is None:
            return
        with np.errstate(invalid="ignore"):
            outside = (x < self._low[:, None]) | (x > self._high[:, None])
        if outside.any():
            self._warned_range = True
            logger.warning(
                "chunk %d: values outside the training data's plausible range (other units or "
                "another sensor?); the embeddings may be off (warned once per stream)",
                k,
            )

    def _feed(
        self,
        x: np.ndarray,
        t: np.ndarray,
        pending: list[tuple[float, np.ndarray]],
        out: list[tuple[float, np.ndarray]],
    ) -> None:
        """Consume samples ``x`` ``(C, m)`` of one gap-free segment."""
        buf, tbuf = self._buf, self._tbuf
        cap, length, m, pos = buf.shape[1], self.window_length, x.shape[1], 0
        while pos < m:
            if self._n == 0 and self._next > self._total:  # between windows (stride > window)
                skip = min(m - pos, self._next - self._total)
                pos += skip
                self._total += skip
                self._base = self._total
                continue
            take = min(m - pos, cap - self._n)
            buf[:, self._n : self._n + take] = x[:, pos : pos + take]
            tbuf[self._n : self._n + take] = t[pos : pos + take]
            self._n += take
            self._total += take
            pos += take
            while self._next + length <= self._base + self._n:  # a window is complete
                off = self._next - self._base
                window = buf[:, off : off + length]  # (C, L)
                if np.isnan(window).any():
                    self.n_skipped_nan += 1
                else:
                    pending.append((float(tbuf[off]), window.copy()))
                    if len(pending) >= self.batch_size:
                        self._flush(pending, out)
                self._next += self.stride
            drop = min(self._next - self._base, self._n)  # samples no window needs any more
            if drop:
                keep = self._n - drop
                buf[:, :keep] = buf[:, drop : self._n]
                tbuf[:keep] = tbuf[drop : self._n]
                self._n = keep
                self._base += drop

    def _flush(
        self, pending: list[tuple[float, np.ndarray]], out: list[tuple[float, np.ndarray]]
    ) -> None:
        if not pending:
            return
        X = np.stack([w for _, w in pending])  # (B, C, L)
        Z = self._embed(X)  # (B, D)
        out.extend((ts, Z[i]) for i, (ts, _) in enumerate(pending))
        self.n_windows += len(pending)
        pending.clear()

    def _embed(self, X: np.ndarray) -> np.ndarray:
        """Embeddings ``(B, D)`` float32 of complete windows ``(B, C, L)``."""
        if self._exported is not None:
            return np.asarray(self._exported.embed_unchecked(X), dtype=np.float32)
        with torch.inference_mode():
            return self._backbone(torch.from_numpy(X)).numpy().astype(np.float32, copy=False)

    def __repr__(self) -> str:
        return (
            f"StreamingEmbedder(backend={self.backend!r}, window={self.window_length}, "
            f"stride={self.stride} samples at {self.rate_hz:g} Hz, "
            f"channels={self.contract.channel_names})"
        )
