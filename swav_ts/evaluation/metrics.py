"""Classification and clustering metrics on label arrays (numpy in, Python numbers out)."""

from __future__ import annotations

import numpy as np
from sklearn import metrics as skm

from swav_ts.evaluation._checks import check_labels

__all__ = [
    "accuracy",
    "classification_metrics",
    "clustering_metrics",
    "confusion",
    "macro_f1",
]


def _check_same_length(y_true: object, y_pred: object, a: str, b: str):
    t = check_labels(y_true, a)
    p = check_labels(y_pred, b)
    if t.shape[0] != p.shape[0]:
        raise ValueError(f"{a} has {t.shape[0]} entries but {b} has {p.shape[0]}")
    return t, p


def accuracy(y_true: object, y_pred: object) -> float:
    """Fraction of predictions equal to the true label."""
    t, p = _check_same_length(y_true, y_pred, "y_true", "y_pred")
    return float(np.mean(t == p))


def macro_f1(y_true: object, y_pred: object) -> float:
    """F1 averaged over the classes present in ``y_true`` or ``y_pred`` (unweighted)."""
    t, p = _check_same_length(y_true, y_pred, "y_true", "y_pred")
    return float(skm.f1_score(t, p, average="macro", zero_division=0))


def confusion(y_true: object, y_pred: object, labels: object | None = None) -> np.ndarray:
    """Confusion matrix ``(n_classes, n_classes)``: rows true class, columns predicted class.

    Parameters
    ----------
    y_true, y_pred : array-like (n,)
        True and predicted labels.
    labels : array-like, optional
        Class order of the rows/columns; default: sorted union of both label arrays.
    """
    t, p = _check_same_length(y_true, y_pred, "y_true", "y_pred")
    if labels is not None:
        labels = check_labels(labels, "labels")
    return skm.confusion_matrix(t, p, labels=labels)


def classification_metrics(y_true: object, y_pred: object) -> dict[str, float | int]:
    """Accuracy, macro-F1 and the number of evaluated samples ``n``."""
    t, p = _check_same_length(y_true, y_pred, "y_true", "y_pred")
    return {"accuracy": accuracy(t, p), "macro_f1": macro_f1(t, p), "n": int(t.shape[0])}


def clustering_metrics(labels: object, assignments: object) -> dict[str, float]:
    """Agreement of cluster (e.g. prototype) assignments with class labels.

    Returns
    -------
    dict
        ``nmi`` (normalised mutual information, arithmetic normalisation) and ``ari``
        (adjusted Rand index); both are invariant to renaming the clusters.
    """
    t, a = _check_same_length(labels, assignments, "labels", "assignments")
    return {
        "nmi": float(skm.normalized_mutual_info_score(t, a)),
        "ari": float(skm.adjusted_rand_score(t, a)),
    }
