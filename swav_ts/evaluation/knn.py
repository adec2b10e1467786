"""Weighted k-nearest-neighbour classifier on embeddings (cosine similarity).

The vote follows the kNN monitor used with SwAV/DINO-style training (Wu et al., 2018):
each of the ``k`` most similar training samples votes for its class with weight
``exp(similarity / temperature)``, and the class with the largest total wins.
"""

from __future__ import annotations

import numpy as np

from swav_ts.evaluation._checks import check_embeddings, check_train_test
from swav_ts.evaluation.metrics import classification_metrics

__all__ = ["knn_eval", "knn_predict", "knn_votes", "l2_normalize"]


def l2_normalize(x: np.ndarray, name: str = "x") -> np.ndarray:
    """Rows of ``x`` (n, D) scaled to unit L2 norm; all-zero rows are an error."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)  # (n, 1)
    n_zero = int(np.count_nonzero(norms == 0))
    if n_zero:
        raise ValueError(f"{name} has {n_zero} all-zero rows: cosine similarity is undefined")
    return x / norms


def knn_votes(
    train_emb: np.ndarray,
    y_idx: np.ndarray,
    query_emb: np.ndarray,
    k: int,
    temperature: float,
    n_classes: int,
    batch_size: int = 1024,
) -> np.ndarray:
    """Class votes ``(n_query, n_classes)`` of the weighted cosine kNN.

    ``y_idx`` holds class indices in ``0..n_classes-1``. Each query's ``k`` most similar
    training rows vote for their class with weight ``exp((sim - max sim) / temperature)`` (the
    shift by the query's largest similarity scales a row's votes by one constant: the ranking
    is that of ``exp(sim / temperature)``, without overflow). Used by the time-series probe
    and the image kNN evaluation alike.
    """
    tr_n = l2_normalize(np.asarray(train_emb, dtype=np.float64), "train_emb")  # (n_train, D)
    q_n = l2_normalize(np.asarray(query_emb, dtype=np.float64), "query_emb")  # (n_query, D)
    y_idx = np.asarray(y_idx, dtype=np.intp)
    out = np.zeros((q_n.shape[0], n_classes))
    for start in range(0, q_n.shape[0], batch_size):
        sim = q_n[start : start + batch_size] @ tr_n.T  # (b, n_train)
        nn_idx = np.argpartition(-sim, k - 1, axis=1)[:, :k]  # (b, k)
        nn_sim = np.take_along_axis(sim, nn_idx, axis=1)  # (b, k)
        weights = np.exp((nn_sim - nn_sim.max(axis=1, keepdims=True)) / temperature)  # (b, k)
        rows = np.repeat(np.arange(sim.shape[0]), k) + start
        np.add.at(out, (rows, y_idx[nn_idx].ravel()), weights.ravel())
    return out


def knn_predict(
    train_emb: np.ndarray,
    y_train: np.ndarray,
    query_emb: np.ndarray,
    *,
    k: int = 20,
    temperature: float = 0.07,
    batch_size: int = 1024,
) -> np.ndarray:
    """Predict labels of ``query_emb`` by temperature-weighted cosine kNN votes.

    Parameters
    ----------
    train_emb : ndarray (n_train, D)
        Reference embeddings.
    y_train : ndarray (n_train,)
        Their labels.
    query_emb : ndarray (n_query, D)
        Embeddings to classify.
    k : int, default 20
        Number of neighbours; must not exceed ``n_train``.
    temperature : float, default 0.07
        Vote weight is ``exp(cosine / temperature)``.
    batch_size : int, default 1024
        Queries processed per block (bounds memory to ``batch_size * n_train``).

    Returns
    -------
    ndarray (n_query,)
        Predicted labels (same dtype as ``y_train``). Ties go to the smallest label.
    """
    tr = check_embeddings(train_emb, "train_emb")
    q = check_embeddings(query_emb, "query_emb")
    ytr = np.asarray(y_train)
    if ytr.ndim != 1 or ytr.shape[0] != tr.shape[0]:
        raise ValueError(f"y_train must have shape ({tr.shape[0]},), got {ytr.shape}")
    if tr.shape[1] != q.shape[1]:
        raise ValueError(f"train_emb has D={tr.shape[1]} but query_emb has D={q.shape[1]}")
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or not 1 <= k <= tr.shape[0]:
        raise ValueError(f"k must be an integer in [1, n_train={tr.shape[0]}], got {k!r}")
    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")

    classes, y_idx = np.unique(ytr, return_inverse=True)
    votes = knn_votes(tr, y_idx, q, k, temperature, classes.shape[0], batch_size)
    return classes[votes.argmax(axis=1)]


def knn_eval(
    train_emb: np.ndarray,
    y_train: np.ndarray,
    test_emb: np.ndarray,
    y_test: np.ndarray,
    *,
    k: int = 20,
    temperature: float = 0.07,
    batch_size: int = 1024,
) -> dict[str, float | int]:
    """Score the weighted kNN classifier of :func:`knn_predict` on a test set.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``n`` (test samples), ``n_train`` and ``k``.
    """
    tr, ytr, te, yte = check_train_test(train_emb, y_train, test_emb, y_test)
    pred = knn_predict(tr, ytr, te, k=k, temperature=temperature, batch_size=batch_size)
    out: dict[str, float | int] = dict(classification_metrics(yte, pred))
    out.update(n_train=int(tr.shape[0]), k=int(k))
    return out
