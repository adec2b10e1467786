"""Subject-wise cross-validation: no subject contributes to both train and test."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from swav_ts.evaluation._checks import check_labels, check_pair
from swav_ts.evaluation.linear import linear_probe

__all__ = ["subject_kfold", "subject_kfold_linear_probe"]


def subject_kfold(groups: np.ndarray, n_splits: int = 5) -> list[tuple[np.ndarray, np.ndarray]]:
    """Split sample indices into ``n_splits`` folds grouped by subject (GroupKFold).

    Parameters
    ----------
    groups : ndarray (n,)
        Subject id of every sample.
    n_splits : int, default 5
        Number of folds; at least 2 and at most the number of distinct subjects.

    Returns
    -------
    list of (train_idx, test_idx)
        Integer index arrays; every subject is in exactly one test fold.
    """
    g = check_labels(groups, "groups")
    n_subjects = np.unique(g).shape[0]
    if isinstance(n_splits, bool) or not isinstance(n_splits, int | np.integer):
        raise ValueError(f"n_splits must be an integer, got {n_splits!r}")
    if not 2 <= n_splits <= n_subjects:
        raise ValueError(
            f"n_splits must be in [2, number of subjects={n_subjects}], got {n_splits}"
        )
    splitter = GroupKFold(n_splits=int(n_splits))
    dummy = np.zeros((g.shape[0], 1))
    return [(tr, te) for tr, te in splitter.split(dummy, groups=g)]


def subject_kfold_linear_probe(
    emb: np.ndarray,
    y: np.ndarray,
    groups: np.ndarray,
    n_splits: int = 5,
    **probe_kwargs,
) -> dict:
    """Run :func:`~swav_ts.evaluation.linear.linear_probe` over subject-wise folds.

    Parameters
    ----------
    emb : ndarray (n, D)
        Embeddings of all samples.
    y : ndarray (n,)
        Labels.
    groups : ndarray (n,)
        Subject ids.
    n_splits : int, default 5
        Number of folds (see :func:`subject_kfold`).
    **probe_kwargs
        Passed to ``linear_probe`` (``C``, ``max_iter``, ``seed``).

    Returns
    -------
    dict
        ``folds``: DataFrame with one row per fold (``fold``, ``test_subjects``, ``n_train``,
        ``n``, ``accuracy``, ``macro_f1``, ...); ``accuracy_mean``, ``accuracy_std``,
        ``macro_f1_mean``, ``macro_f1_std`` over folds (``ddof=1``).
    """
    e, lab = check_pair(emb, y, "emb", "y")
    g = check_labels(groups, "groups")
    if g.shape[0] != e.shape[0]:
        raise ValueError(f"emb has {e.shape[0]} rows but groups has {g.shape[0]} entries")
    rows = []
    for fold, (tr, te) in enumerate(subject_kfold(g, n_splits)):
        res = linear_probe(e[tr], lab[tr], e[te], lab[te], **probe_kwargs)
        rows.append({"fold": fold, "test_subjects": np.unique(g[te]).tolist(), **res})
    folds = pd.DataFrame(rows)
    out: dict = {"folds": folds}
    for key in ("accuracy", "macro_f1"):
        out[f"{key}_mean"] = float(folds[key].mean())
        out[f"{key}_std"] = float(folds[key].std(ddof=1))
    return out
