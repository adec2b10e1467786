"""Linear probe: logistic regression on standardised, frozen embeddings."""

from __future__ import annotations

import logging
import warnings

import numpy as np
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from swav_ts.evaluation._checks import check_train_test
from swav_ts.evaluation.metrics import classification_metrics

__all__ = ["linear_probe"]

logger = logging.getLogger(__name__)


def linear_probe(
    train_emb: np.ndarray,
    y_train: np.ndarray,
    test_emb: np.ndarray,
    y_test: np.ndarray,
    *,
    C: float = 1.0,
    max_iter: int = 1000,
    seed: int = 0,
) -> dict[str, float | int | bool]:
    """Fit a multinomial logistic regression on frozen embeddings and score it.

    The scaler (zero mean, unit variance per feature) is fitted on the training embeddings
    only and applied to both sets.

    Parameters
    ----------
    train_emb : ndarray (n_train, D)
        Training embeddings.
    y_train : ndarray (n_train,)
        Training labels (at least two classes).
    test_emb : ndarray (n_test, D)
        Test embeddings.
    y_test : ndarray (n_test,)
        Test labels. Classes absent from training are counted as errors.
    C : float, default 1.0
        Inverse L2 regularisation strength.
    max_iter : int, default 1000
        Iteration cap of the L-BFGS solver.
    seed : int, default 0
        ``random_state`` of the classifier.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``n`` (test samples), ``n_train``, ``n_classes``
        (training classes) and ``converged`` (False if the solver hit ``max_iter``; a
        warning is logged then).

    Raises
    ------
    ValueError
        On malformed inputs (shapes, NaN, mismatched lengths), fewer than two training
        classes, ``C <= 0`` or ``max_iter < 1``.
    """
    tr, ytr, te, yte = check_train_test(train_emb, y_train, test_emb, y_test)
    if not C > 0:
        raise ValueError(f"C must be > 0, got {C!r}")
    if max_iter < 1:
        raise ValueError(f"max_iter must be >= 1, got {max_iter!r}")
    classes = np.unique(ytr)
    if classes.shape[0] < 2:
        raise ValueError(f"y_train must contain at least 2 classes, got {classes.tolist()}")

    scaler = StandardScaler().fit(tr)
    clf = LogisticRegression(C=C, max_iter=max_iter, random_state=seed)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        clf.fit(scaler.transform(tr), ytr)
    converged = not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    if not converged:
        logger.warning(
            "linear_probe: logistic regression did not converge in %d iterations", max_iter
        )
    pred = clf.predict(scaler.transform(te))
    out: dict[str, float | int | bool] = dict(classification_metrics(yte, pred))
    out.update(n_train=int(tr.shape[0]), n_classes=int(classes.shape[0]), converged=converged)
    return out
