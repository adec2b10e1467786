"""Input validation shared by the evaluation modules (numpy in, clear errors out)."""

from __future__ import annotations

import numpy as np


def check_labels(y: object, name: str) -> np.ndarray:
    """Return ``y`` as a 1-D numpy array, or raise ``ValueError`` naming the problem."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D (n,), got shape {arr.shape}")
    if arr.shape[0] == 0:
        raise ValueError(f"{name} is empty")
    return arr


def check_embeddings(emb: object, name: str) -> np.ndarray:
    """Return ``emb`` as a finite float64 ``(n, D)`` array, or raise ``ValueError``."""
    arr = np.asarray(emb)
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D (n, D), got shape {arr.shape}")
    if arr.shape[0] == 0 or arr.shape[1] == 0:
        raise ValueError(f"{name} must be non-empty, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    arr = arr.astype(np.float64, copy=False)
    n_bad = int(np.count_nonzero(~np.isfinite(arr)))
    if n_bad:
        raise ValueError(f"{name} has {n_bad} non-finite values (NaN/inf) of {arr.size}")
    return arr


def check_pair(emb: object, y: object, emb_name: str, y_name: str) -> tuple[np.ndarray, np.ndarray]:
    """Validate an embedding matrix and its labels together (same ``n``)."""
    e = check_embeddings(emb, emb_name)
    lab = check_labels(y, y_name)
    if e.shape[0] != lab.shape[0]:
        raise ValueError(f"{emb_name} has {e.shape[0]} rows but {y_name} has {lab.shape[0]} labels")
    return e, lab


def check_train_test(
    train_emb: object, y_train: object, test_emb: object, y_test: object
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Validate a train/test pair of embeddings with labels and matching widths ``D``."""
    tr, ytr = check_pair(train_emb, y_train, "train_emb", "y_train")
    te, yte = check_pair(test_emb, y_test, "test_emb", "y_test")
    if tr.shape[1] != te.shape[1]:
        raise ValueError(
            f"train_emb has D={tr.shape[1]} features but test_emb has D={te.shape[1]} "
            f"(shapes {tr.shape} and {te.shape})"
        )
    return tr, ytr, te, yte
