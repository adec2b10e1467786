"""Checkpoints: atomic writes, and loads that never unpickle arbitrary objects."""

from __future__ import annotations

import json
import logging
import os
import pickle
import random
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

logger = logging.getLogger(__name__)

CHECKPOINT_FORMAT = "swav_ts.train/1"


class CheckpointError(ValueError):
    """A checkpoint file is missing, truncated, corrupted, unsafe or of another kind."""


def atomic_save(obj: Any, path: str | Path) -> Path:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``.

    A crash or a failed write (disk full, exception) leaves any previous file at ``path`` intact.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(obj, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:  # make the rename durable
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:
        pass
    return path


def _check_integrity(path: Path) -> None:
    """Refuse a damaged file; check the CRC-32 of each entry of a zip-format ``torch.save``.

    ``torch.load`` does not verify the checksums, so flipped bytes inside tensor data would
    otherwise load silently as wrong weights. Files in torch's legacy (non-zip) format are
    left to ``torch.load``; anything else is reported as truncated or corrupted (not as an
    unsafe pickle).
    """
    try:
        is_zip = zipfile.is_zipfile(path)
    except zipfile.BadZipFile as exc:  # e.g. a damaged end record claiming several disks
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupted (zip end record unreadable: {exc})"
        ) from None
    if not is_zip:
        with open(path, "rb") as f:
            head = f.read(2)
        if len(head) == 2 and head[0] == 0x80 and 2 <= head[1] <= 5:
            return  # a pickle stream: torch's legacy format, checked by torch.load
        kind = "a zip archive without its end (truncated)" if head == b"PK" else "not a zip"
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupted: {kind}, and not a legacy "
            f"torch.save file either (it starts with {head!r})"
        )
    try:
        with zipfile.ZipFile(path) as zf:
            bad = zf.testzip()
    except Exception as exc:  # zipfile raises many types for damaged headers
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupted (zip structure unreadable: "
            f"{type(exc).__name__}: {exc})"
        ) from None
    if bad is not None:
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupted: entry {bad!r} fails its CRC-32 check"
        )


def safe_load(path: str | Path, map_location: str | torch.device = "cpu") -> Any:
    """Load a file written by :func:`atomic_save` with ``torch.load(weights_only=True)``.

    Only tensors and plain containers/numbers/strings are accepted: a file that would run code
    when unpickled is refused.

    Raises
    ------
    CheckpointError
        Naming the file: missing, truncated/corrupted, or holding objects other than tensors
        and plain data.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.stat().st_size == 0:
        raise CheckpointError(f"checkpoint {path} is empty (0 bytes)")
    _check_integrity(path)
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        raise CheckpointError(
            f"refusing to load {path}: it holds objects other than tensors and plain data, "
            f"which could run code when unpickled ({str(exc).splitlines()[0]})"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError) as exc:
        raise CheckpointError(
            f"checkpoint {path} is truncated or corrupted and cannot be read: "
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        ) from None


def require_keys(ckpt: Any, keys: list[str], path: str | Path) -> dict:
    """Check that a loaded checkpoint is a mapping holding ``keys``."""
    if not isinstance(ckpt, dict):
        raise CheckpointError(f"checkpoint {path} holds a {type(ckpt).__name__}, not a mapping")
    missing = [k for k in keys if k not in ckpt]
    if missing:
        raise CheckpointError(
            f"checkpoint {path} lacks {missing}; it holds {sorted(ckpt)} "
            "(is it a checkpoint of another kind?)"
        )
    return ckpt


def rng_state(generator: torch.Generator) -> dict[str, Any]:
    """Every random stream a run draws from: torch, the view generator, numpy, Python, CUDA."""
    state = {
        "torch": torch.get_rng_state(),
        "views": generator.get_state(),
        "numpy": json.dumps(
            np.random.get_state(legacy=False),  # noqa: NPY002  (global RNG of user datasets)
            default=lambda a: a.tolist(),
        ),
        "python": json.dumps(random.getstate()),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any], generator: torch.Generator) -> None:
    """Restore what :func:`rng_state` saved."""
    torch.set_rng_state(state["torch"])
    generator.set_state(state["views"])
    np_state = json.loads(state["numpy"])
    np_state["state"]["key"] = np.asarray(np_state["state"]["key"], dtype=np.uint32)
    np.random.set_state(np_state)  # noqa: NPY002
    py = json.loads(state["python"])
    random.setstate((py[0], tuple(py[1]), py[2]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def load_training_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a training checkpoint safely (tensors and plain data only)."""
    ckpt = safe_load(path)
    require_keys(ckpt, ["format", "model", "optimizer", "epoch", "iteration", "config"], path)
    if ckpt["format"] != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} has format {ckpt['format']!r}, expected {CHECKPOINT_FORMAT!r}"
        )
    return ckpt
