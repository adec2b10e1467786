"""Ridge probe: the classifier of MiniRocket (Dempster, Schmidt, Webb, KDD 2021).

Features are scaled to unit variance without centring (``StandardScaler(with_mean=False)``,
which keeps sparse or proportion features as they are) and a one-vs-all ridge classifier
chooses its regularisation ``alpha`` among ten values from 1e-3 to 1e3 by efficient
leave-one-out cross-validation (``RidgeClassifierCV``). This is exactly what
``aeon.classification.convolution_based.MiniRocketClassifier`` fits on top of its transform,
so MiniRocket is scored here with its own classifier, and any other embedding can be scored
with the same one.
"""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import RidgeClassifierCV
from sklearn.preprocessing import StandardScaler

from swav_ts.evaluation._checks import check_train_test
from swav_ts.evaluation.metrics import classification_metrics

__all__ = ["RIDGE_ALPHAS", "ridge_probe"]

#: The regularisation grid of aeon's MiniRocketClassifier: ``np.logspace(-3, 3, 10)``.
RIDGE_ALPHAS = tuple(float(a) for a in np.logspace(-3, 3, 10))


def ridge_probe(
    train_emb: np.ndarray,
    y_train: np.ndarray,
    test_emb: np.ndarray,
    y_test: np.ndarray,
) -> dict[str, float | int]:
    """Fit MiniRocket's ridge classifier on ``train_emb`` and score it on ``test_emb``.

    Parameters
    ----------
    train_emb : ndarray (n_train, D)
    y_train : ndarray (n_train,)
        At least two classes.
    test_emb : ndarray (n_test, D)
    y_test : ndarray (n_test,)
        Classes absent from training count as errors.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``n`` (test samples), ``n_train`` and ``alpha`` (the
        regularisation chosen by leave-one-out cross-validation).

    Raises
    ------
    ValueError
        On malformed inputs or fewer than two training classes.
    """
    tr, ytr, te, yte = check_train_test(train_emb, y_train, test_emb, y_test)
    classes = np.unique(ytr)
    if classes.shape[0] < 2:
        raise ValueError(f"y_train must contain at least 2 classes, got {classes.tolist()}")
    scaler = StandardScaler(with_mean=False).fit(tr)
    clf = RidgeClassifierCV(alphas=RIDGE_ALPHAS).fit(scaler.transform(tr), ytr)
    pred = clf.predict(scaler.transform(te))
    out: dict[str, float | int] = dict(classification_metrics(yte, pred))
    out.update(n_train=int(tr.shape[0]), alpha=float(clf.alpha_))
    return out
