"""The bundled UCI HAPT smartphone recordings (``datasets/hapt``, packaged with the wheel).

The data (CC BY 4.0; Reyes-Ortiz, Oneto, Samà, Parra, Anguita, UCI Machine Learning Repository
dataset 341) is stored as float16 signals, so values carry up to ~0.05 % relative error
(at most 0.0037 in absolute terms on this data).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Literal

import numpy as np

from swav_ts.data.recording import Recording
from swav_ts.data.windows import sliding_windows

__all__ = [
    "HAPT_FILE",
    "HAPT_LABEL_NAMES",
    "HAPT_TEST_SUBJECTS",
    "HAPT_UNITS",
    "class_names",
    "hapt_path",
    "load_hapt",
    "load_hapt_recordings",
]

HAPT_FILE = "hapt_recordings.npz"
DATA_ENV = "SWAV_TS_DATA"
#: The six activity classes of ``load_hapt`` (labels 1..6 -> 0..5).
class_names: tuple[str, ...] = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
)
#: All twelve per-sample labels (1..12): the activities, then the postural transitions.
HAPT_LABEL_NAMES: tuple[str, ...] = (
    *class_names,
    "STAND_TO_SIT",
    "SIT_TO_STAND",
    "SIT_TO_LIE",
    "LIE_TO_SIT",
    "STAND_TO_LIE",
    "LIE_TO_STAND",
)
#: Units of the six channels.
HAPT_UNITS: dict[str, str] = {
    **{f"acc_{a}": "g" for a in "xyz"},
    **{f"gyro_{a}": "rad/s" for a in "xyz"},
}
#: The official UCI-HAR test subjects.
HAPT_TEST_SUBJECTS: tuple[int, ...] = (2, 4, 9, 10, 12, 13, 18, 20, 24)


def hapt_path(data_dir: str | Path | None = None) -> Path:
    """Locate ``hapt_recordings.npz``.

    Search order: ``data_dir`` (the folder holding the file, or a datasets root with a ``hapt/``
    folder), then the ``SWAV_TS_DATA`` environment variable (same meaning), then the copy
    packaged with ``swav_ts`` (``swav_ts/data/bundled``; in a source checkout a link to
    ``datasets/hapt``).

    Raises
    ------
    FileNotFoundError
        When the file is not found; the message lists the places searched.
    """
    if data_dir is not None:
        roots = [Path(data_dir)]
    elif os.environ.get(DATA_ENV):
        roots = [Path(os.environ[DATA_ENV])]
    else:
        roots = [Path(__file__).resolve().parent / "bundled"]
    tried = []
    for root in roots:
        for cand in (root / HAPT_FILE, root / "hapt" / HAPT_FILE):
            tried.append(str(cand))
            if cand.is_file():
                return cand
    raise FileNotFoundError(
        f"HAPT data file {HAPT_FILE} not found; tried {tried}. Pass data_dir=, set "
        f"{DATA_ENV}, or rebuild it with datasets/hapt/prepare.py"
    )


@functools.lru_cache(maxsize=2)
def _load_npz(path: str, mtime_ns: int) -> dict:
    with np.load(path, allow_pickle=False) as d:
        return {k: d[k] for k in d.files}


def _check_split(split: str, allowed: tuple[str, ...]) -> None:
    if split not in allowed:
        raise ValueError(f"split must be one of {allowed}, got {split!r}")


def load_hapt_recordings(
    split: Literal["train", "test", "all"] = "all", data_dir: str | Path | None = None
) -> list[Recording]:
    """The 61 continuous HAPT recordings (6 channels at 50 Hz, per-sample labels).

    Parameters
    ----------
    split : {"train", "test", "all"}
        ``"test"``: the official UCI-HAR test subjects; ``"train"``: the other 21.
    data_dir : str or Path, optional
        See :func:`hapt_path`.

    Returns
    -------
    list of Recording
        Signals float32 ``(6, T)`` (acc_x/y/z in g, gyro_x/y/z in rad/s), labels int8 per
        sample: -1 unlabelled, 1..12 as in ``HAPT_LABEL_NAMES``; ``subject`` is an int.
    """
    _check_split(split, ("train", "test", "all"))
    path = hapt_path(data_dir)
    d = _load_npz(str(path), path.stat().st_mtime_ns)
    test = set(int(s) for s in d["test_subjects"])
    ends = np.cumsum(d["lengths"])
    starts = ends - d["lengths"]
    rate = float(d["sampling_rate_hz"])
    names = [str(c) for c in d["channel_names"]]
    out = []
    for rid, subj, a, b in zip(d["recording_ids"], d["recording_subjects"], starts, ends):
        subj = int(subj)
        if (split == "test" and subj not in test) or (split == "train" and subj in test):
            continue
        out.append(
            Recording(
                signals=d["signals"][:, a:b].astype(np.float32),
                labels=d["labels"][a:b],
                rate_hz=rate,
                channel_names=names,
                start_time=0.0,
                recording_id=str(rid),
                subject=subj,
            )
        )
    return out


def load_hapt(
    split: Literal["train", "test"] = "train",
    window: int = 128,
    stride: int = 64,
    data_dir: str | Path | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """UCI-HAR-style activity windows from the HAPT recordings.

    Windows start every ``stride`` samples in each recording; only windows whose every sample
    is one of the six activities (labels 1..6) are kept. The defaults (128 samples = 2.56 s,
    stride 64) reproduce the UCI-HAR windowing: 7143 train and 2874 test windows.

    Parameters
    ----------
    split : {"train", "test"}
        Subject-wise split (test = ``HAPT_TEST_SUBJECTS``).
    window, stride : int
        Window length and step in samples (50 Hz).
    data_dir : str or Path, optional
        See :func:`hapt_path`.

    Returns
    -------
    X : ndarray
        float32 ``(n, 6, window)``.
    y : ndarray
        int64 ``(n,)`` in 0..5 (index into ``class_names``; majority label of the window).
    subjects : ndarray
        int64 ``(n,)``.
    """
    _check_split(split, ("train", "test"))
    recs = load_hapt_recordings(split, data_dir)
    X, y, meta = sliding_windows(
        recs, window, stride, label_mode="majority", valid_labels=range(1, 7), nan="keep"
    )
    return X, y.astype(np.int64) - 1, meta["subject"].to_numpy(dtype=np.int64)
