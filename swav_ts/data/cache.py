"""An on-disk recording cache: recordings written once, windows read back without holding them.

Pretraining reads its contexts from here through the DataLoader, so the recordings of a run
never need to fit in memory at once: they are streamed from their source (CSV/Parquet files,
arrays, the bundled HAPT data) into the cache one at a time, channel statistics are
accumulated on the way (:class:`swav_ts.data.normalize.ChannelStats`), and each window is read
back with one positioned read (``os.pread``) of a contiguous block.

Layout of a cache folder::

    index.json    format, channel names, per-recording offset / length / id / subject / rate /
                  NaN runs, absent channels, channel statistics, the source fingerprint
    signals.f32   every recording's samples, time-major float32: (sum of T_i, C)

Time-major storage makes a window ``[s, s + L)`` one contiguous block of ``L * C`` floats.
Positioned reads keep nothing mapped: the operating system's page cache may hold the file, but
it is not part of the process's resident memory (a memory map that has been read through is).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from swav_ts.data.normalize import ChannelStats, StatsAccumulator
from swav_ts.data.recording import Recording

__all__ = ["CACHE_FORMAT", "CachedRecording", "RecordingCache"]

CACHE_FORMAT = "swav_ts.recording_cache/1"
_INDEX = "index.json"
_SIGNALS = "signals.f32"
_ITEM = np.dtype("<f4")


@dataclass(frozen=True)
class CachedRecording:
    """Where one recording lies in the cache, and what is known about it."""

    recording_id: str
    offset: int  # first sample's row in signals.f32
    n_samples: int
    rate_hz: float | None
    start_time: float
    subject: str | int | None
    nan_runs: tuple[tuple[int, int], ...]  # [start, end) sample ranges holding NaN
    absent: tuple[int, ...] = ()  # channels the recording does not have (all NaN, not runs)

    def nan_mask(self) -> np.ndarray | None:
        """``(T,)`` bool, True where any channel is NaN; None when there is none."""
        if not self.nan_runs:
            return None
        mask = np.zeros(self.n_samples, dtype=bool)
        for a, b in self.nan_runs:
            mask[a:b] = True
        return mask


def _nan_runs(nan_samples: np.ndarray) -> list[tuple[int, int]]:
    if not nan_samples.any():
        return []
    padded = np.concatenate([[False], nan_samples, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))  # starts at even, ends at odd positions
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


class RecordingCache:
    """A folder of recordings written by :meth:`write`, read by windows.

    Use :meth:`write` to build one and :meth:`open` to reopen it; :meth:`read` returns a window
    ``(C, L)``. Reading is safe in DataLoader worker processes (each opens its own file handle).
    """

    def __init__(self, directory: Path, index: dict[str, Any]) -> None:
        self.directory = Path(directory)
        self.channel_names: list[str] = list(index["channel_names"])
        self.n_channels = len(self.channel_names)
        self.recordings = [
            CachedRecording(
                recording_id=e["recording_id"],
                offset=int(e["offset"]),
                n_samples=int(e["n_samples"]),
                rate_hz=None if e["rate_hz"] is None else float(e["rate_hz"]),
                start_time=float(e["start_time"]),
                subject=e["subject"],
                nan_runs=tuple(tuple(r) for r in e["nan_runs"]),
                absent=tuple(int(j) for j in e.get("absent", ())),
            )
            for e in index["recordings"]
        ]
        self.stats = None if index.get("stats") is None else ChannelStats.from_dict(index["stats"])
        self.fingerprint: str | None = index.get("fingerprint")
        self._fd: int | None = None
        self._pid: int | None = None

    # ------------------------------------------------------------------ building
    @classmethod
    def write(
        cls,
        recordings: Iterable[Recording],
        directory: str | Path,
        fingerprint: str | None = None,
    ) -> RecordingCache:
        """Stream ``recordings`` into a new cache in ``directory`` (replacing one there).

        Recordings are consumed one at a time (an iterator of recordings read lazily from files
        never holds more than one in memory). The index is written last, so an interrupted
        write leaves no valid cache behind.

        Parameters
        ----------
        recordings : iterable of Recording
            Same channel names (in the same order) in all of them.
        directory : str or Path
            Created if absent.
        fingerprint : str, optional
            What the cache was built from (see :meth:`open_if_fresh`).

        Raises
        ------
        ValueError
            No recordings; channels that differ between recordings (naming both lists);
            repeated recording ids.
        """
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        index_path = directory / _INDEX
        index_path.unlink(missing_ok=True)
        entries: list[dict[str, Any]] = []
        names: list[str] | None = None
        seen: set[str] = set()
        stats = StatsAccumulator()
        offset = 0
        tmp = directory / (_SIGNALS + ".tmp")
        with open(tmp, "wb") as fh:
            for r in recordings:
                if names is None:
                    names = list(r.channel_names)
                elif list(r.channel_names) != names:
                    raise ValueError(
                        f"recording {r.recording_id!r} has channels {list(r.channel_names)}, "
                        f"but the first recording has {names}; all recordings of one run need "
                        "the same channels in the same order (select them with data.channels)"
                    )
                if r.recording_id in seen:
                    raise ValueError(f"recording id {r.recording_id!r} appears twice")
                seen.add(r.recording_id)
                signals = np.asarray(r.signals, dtype=np.float32)  # (C, T)
                n_inf = np.isinf(signals).sum(axis=1)
                if n_inf.any():
                    bad = {names[j]: int(n) for j, n in enumerate(n_inf) if n}
                    raise ValueError(
                        f"recording {r.recording_id!r} holds infinite values (per channel: "
                        f"{bad}); mark missing samples as NaN, or fix the source"
                    )
                fh.write(np.ascontiguousarray(signals.T).astype(_ITEM, copy=False).tobytes())
                stats.update(signals, r.recording_id)
                absent = [names.index(n) for n in r.absent_channels]
                # absent rows are not NaN runs (a copy only for a recording that has some)
                present = np.delete(signals, absent, axis=0) if absent else signals
                subject = r.subject
                if isinstance(subject, np.integer):
                    subject = int(subject)
                entries.append(
                    {
                        "recording_id": r.recording_id,
                        "offset": offset,
                        "n_samples": r.n_samples,
                        "rate_hz": r.rate_hz,
                        "start_time": r.start_time,
                        "subject": subject,
                        "nan_runs": _nan_runs(np.isnan(present).any(axis=0)),
                        "absent": absent,
                    }
                )
                offset += r.n_samples
            fh.flush()
            os.fsync(fh.fileno())
        if names is None:
            tmp.unlink(missing_ok=True)
            raise ValueError("no recordings to cache: the source gave none")
        tmp.replace(directory / _SIGNALS)
        index: dict[str, Any] = {
            "format": CACHE_FORMAT,
            "channel_names": names,
            "n_samples_total": offset,
            "recordings": entries,
            "stats": None,
            "fingerprint": fingerprint,
        }
        cache = cls(directory, index)
        # second pass: moments inside the fences; values outside them become missing (NaN)
        fixed: dict[int, np.ndarray] = {}
        for k, start, chunk in cache.iter_chunks():
            outside = stats.update_moments(chunk, cache.recordings[k].recording_id)
            if outside is not None:
                chunk = np.where(outside, np.float32(np.nan), chunk)
                cache.write_block(k, start, chunk)
                mask = fixed.setdefault(k, np.zeros(cache.recordings[k].n_samples, bool))
                mask[start : start + chunk.shape[1]] |= outside.any(axis=0)
        for k, mask in fixed.items():
            old = cache.recordings[k].nan_mask()
            entries[k]["nan_runs"] = _nan_runs(mask if old is None else mask | old)
        cache = cls(directory, index)
        cache.stats = stats.finish(names)
        index["stats"] = cache.stats.to_dict()
        tmp_index = directory / (_INDEX + ".tmp")
        tmp_index.write_text(json.dumps(index))
        tmp_index.replace(index_path)
        return cache

    @classmethod
    def open(cls, directory: str | Path) -> RecordingCache:
        """Reopen a cache written by :meth:`write`.

        Raises
        ------
        ValueError
            No cache there, another format, or a signals file of the wrong size.
        """
        directory = Path(directory)
        index_path = directory / _INDEX
        if not index_path.is_file():
            raise ValueError(f"{directory} holds no recording cache ({_INDEX} is missing)")
        index = json.loads(index_path.read_text())
        if index.get("format") != CACHE_FORMAT:
            raise ValueError(
                f"{index_path} has format {index.get('format')!r}, expected {CACHE_FORMAT!r}"
            )
        expected = int(index["n_samples_total"]) * len(index["channel_names"]) * _ITEM.itemsize
        size = (directory / _SIGNALS).stat().st_size if (directory / _SIGNALS).exists() else -1
        if size != expected:
            raise ValueError(
                f"{directory / _SIGNALS} holds {size} bytes, the index expects {expected}; "
                "the cache is damaged: delete the folder to rebuild it"
            )
        return cls(directory, index)

    @classmethod
    def open_if_fresh(cls, directory: str | Path, fingerprint: str) -> RecordingCache | None:
        """The cache in ``directory`` if it was built from ``fingerprint``, else None."""
        try:
            cache = cls.open(directory)
        except (ValueError, OSError, KeyError, json.JSONDecodeError):
            return None
        return cache if cache.fingerprint == fingerprint else None

    # ------------------------------------------------------------------ reading
    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_fd"], state["_pid"] = None, None  # each worker process opens its own handle
        return state

    def __del__(self) -> None:
        self.close()

    def close(self) -> None:
        """Close this process's file handle (reopened on the next read)."""
        if getattr(self, "_fd", None) is not None and self._pid == os.getpid():
            os.close(self._fd)
        self._fd, self._pid = None, None

    def _handle(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self._fd = os.open(self.directory / _SIGNALS, os.O_RDONLY)
            self._pid = os.getpid()
        return self._fd

    def read(self, recording: int, start: int, length: int) -> np.ndarray:
        """Samples ``[start, start + length)`` of recording ``recording``: ``(C, length)``.

        Raises
        ------
        IndexError
            The range does not lie inside the recording.
        """
        rec = self.recordings[recording]
        if start < 0 or length < 1 or start + length > rec.n_samples:
            raise IndexError(
                f"samples [{start}, {start + length}) are outside recording "
                f"{rec.recording_id!r} of {rec.n_samples} samples"
            )
        row_bytes = self.n_channels * _ITEM.itemsize
        nbytes = length * row_bytes
        buf = os.pread(self._handle(), nbytes, (rec.offset + start) * row_bytes)
        if len(buf) != nbytes:
            raise OSError(f"short read from {self.directory / _SIGNALS}: the cache is damaged")
        block = np.frombuffer(buf, dtype=_ITEM).reshape(length, self.n_channels)  # (L, C)
        # always a writable copy: with one channel block.T would still view the read-only
        # bytes of the read, and a tensor made from it must not write into those
        return np.array(block.T, dtype=np.float32, order="C")  # (C, L)

    def iter_chunks(self, chunk_samples: int = 1 << 16) -> Iterator[tuple[int, int, np.ndarray]]:
        """``(recording index, start, (C, n) chunk)`` over the whole cache, in order."""
        for k, rec in enumerate(self.recordings):
            for a in range(0, rec.n_samples, chunk_samples):
                yield k, a, self.read(k, a, min(chunk_samples, rec.n_samples - a))

    def write_block(self, recording: int, start: int, block: np.ndarray) -> None:
        """Overwrite samples ``[start, start + n)`` of a recording with ``block`` (C, n)."""
        rec = self.recordings[recording]
        row_bytes = self.n_channels * _ITEM.itemsize
        data = np.ascontiguousarray(block.T).astype(_ITEM, copy=False).tobytes()
        fd = os.open(self.directory / _SIGNALS, os.O_WRONLY)
        try:
            os.pwrite(fd, data, (rec.offset + start) * row_bytes)
            os.fsync(fd)
        finally:
            os.close(fd)

    @property
    def n_samples_total(self) -> int:
        return sum(r.n_samples for r in self.recordings)

    def __repr__(self) -> str:
        return (
            f"RecordingCache({str(self.directory)!r}: {len(self.recordings)} recordings, "
            f"{self.n_samples_total} samples x {self.n_channels} channels)"
        )
