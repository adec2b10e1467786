"""The RBF-SVM probe of the TS2Vec line of work, for comparisons on its own protocol.

TS2Vec (Yue et al., AAAI 2022) scores frozen representations with an RBF-kernel SVM whose
``C`` is chosen by 5-fold grid search over ``{1e-4, ..., 1e4, inf}`` (``gamma="scale"``, no
feature scaling); with fewer than 5 training samples per class or fewer than 50 in all it
fits ``C=inf`` directly, and it subsamples training sets above 10,000 samples (its
``tasks/_eval_protocols.py::fit_svm``). This is a reimplementation of that protocol.
"""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.svm import SVC

from swav_ts.evaluation._checks import check_train_test
from swav_ts.evaluation.metrics import classification_metrics

__all__ = ["C_GRID", "svm_probe"]

C_GRID = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1e3, 1e4, np.inf)
MAX_SAMPLES = 10_000


def svm_probe(
    train_emb: np.ndarray,
    y_train: np.ndarray,
    test_emb: np.ndarray,
    y_test: np.ndarray,
    *,
    seed: int = 0,
    n_jobs: int = 1,
) -> dict[str, float | int]:
    """Fit TS2Vec's RBF-SVM on ``train_emb`` (``C`` by 5-fold grid search) and score it.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``n``, ``n_train``, ``C`` (the chosen value).
    """
    tr, ytr, te, yte = check_train_test(train_emb, y_train, test_emb, y_test)
    n_classes = np.unique(ytr).shape[0]
    svm = SVC(C=np.inf, gamma="scale")
    if tr.shape[0] // n_classes < 5 or tr.shape[0] < 50:
        model, c = svm.fit(tr, ytr), np.inf
    else:
        if tr.shape[0] > MAX_SAMPLES:
            tr, _, ytr, _ = train_test_split(
                tr, ytr, train_size=MAX_SAMPLES, random_state=seed, stratify=ytr
            )
        search = GridSearchCV(svm, {"C": list(C_GRID)}, cv=5, n_jobs=n_jobs).fit(tr, ytr)
        model, c = search.best_estimator_, search.best_params_["C"]
    out: dict[str, float | int] = dict(classification_metrics(yte, model.predict(te)))
    out.update(n_train=int(tr.shape[0]), C=float(c))
    return out
