"""Label-efficiency runs: evaluate embeddings with a fraction of the training labels."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from swav_ts.evaluation._checks import check_labels, check_train_test
from swav_ts.evaluation.linear import linear_probe

__all__ = ["label_fraction_runs", "label_fraction_table", "stratified_fraction"]


def stratified_fraction(y: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Sample a class-stratified subset holding ``fraction`` of each class.

    Each class keeps ``max(1, round(fraction * n_class))`` samples (Python's round, half to
    even), drawn without replacement, so every class is present even at tiny fractions.

    Parameters
    ----------
    y : ndarray (n,)
        Labels.
    fraction : float
        In ``(0, 1]``; ``1.0`` returns every index.
    seed : int
        Seed of the sampler (``numpy.random.default_rng``).

    Returns
    -------
    ndarray (m,)
        Sorted integer indices into ``y``.
    """
    lab = check_labels(y, "y")
    if not (isinstance(fraction, int | float) and 0 < fraction <= 1):
        raise ValueError(f"fraction must be in (0, 1], got {fraction!r}")
    rng = np.random.default_rng(seed)
    chosen = []
    for cls in np.unique(lab):
        idx = np.flatnonzero(lab == cls)
        n_keep = max(1, round(float(fraction) * idx.shape[0]))
        chosen.append(rng.choice(idx, size=n_keep, replace=False))
    return np.sort(np.concatenate(chosen))


def _accepts_seed(fn: Callable) -> bool:
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "seed" in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def label_fraction_runs(
    train_emb: np.ndarray,
    y_train: np.ndarray,
    test_emb: np.ndarray,
    y_test: np.ndarray,
    fractions: Sequence[float] = (0.01, 0.05, 0.1, 1.0),
    seeds: Sequence[int] = (0, 1, 2),
    evaluator: Callable[..., dict] = linear_probe,
) -> pd.DataFrame:
    """Evaluate on stratified label subsets, several seeds per fraction.

    For every fraction and seed, :func:`stratified_fraction` picks the labelled training
    subset and ``evaluator(train_sub, y_sub, test_emb, y_test[, seed=seed])`` scores it
    (``seed`` is passed only if the evaluator accepts it). An evaluator without a ``seed`` is
    deterministic, so a subset it has scored (at fraction 1.0 every seed draws all labels) is
    not fitted again: its result is reused for that seed.

    Parameters
    ----------
    train_emb, y_train, test_emb, y_test
        Embeddings ``(n, D)`` and labels ``(n,)``.
    fractions : sequence of float
        Label fractions in ``(0, 1]``.
    seeds : sequence of int
        One run per seed and fraction.
    evaluator : callable, default :func:`linear_probe`
        Returns a dict of metrics; its float entries are aggregated.

    Returns
    -------
    pandas.DataFrame
        One row per fraction: ``fraction``, ``n_runs``, ``n_labelled`` (mean subset size)
        and ``<metric>_mean`` / ``<metric>_std`` for every float-valued metric (sample standard
        deviation, ``ddof=1``; 0 for a single run). The per-run records are in
        ``df.attrs["runs"]`` (list of dicts).
    """
    tr, ytr, te, yte = check_train_test(train_emb, y_train, test_emb, y_test)
    fractions = list(fractions)
    seeds = list(seeds)
    if not fractions or not seeds:
        raise ValueError(f"fractions and seeds must be non-empty, got {fractions} and {seeds}")
    pass_seed = _accepts_seed(evaluator)
    runs: list[dict] = []
    rows: list[dict] = []
    scored: dict[bytes, dict] = {}  # subset -> result, for evaluators without a seed
    for fraction in fractions:
        frac_runs = []
        for seed in seeds:
            idx = stratified_fraction(ytr, fraction, seed)
            key = np.sort(idx).tobytes()
            if not pass_seed and key in scored:
                result = scored[key]
            else:
                kwargs = {"seed": seed} if pass_seed else {}
                result = evaluator(tr[idx], ytr[idx], te, yte, **kwargs)
                if not isinstance(result, dict):
                    raise TypeError(f"evaluator must return a dict, got {type(result)!r}")
                if not pass_seed:
                    scored[key] = result
            record = {"fraction": fraction, "seed": seed, "n_labelled": int(idx.shape[0])}
            record.update(result)
            frac_runs.append(record)
        runs.extend(frac_runs)
        row: dict = {
            "fraction": fraction,
            "n_runs": len(frac_runs),
            "n_labelled": float(np.mean([r["n_labelled"] for r in frac_runs])),
        }
        for key, value in frac_runs[0].items():
            # Scores are floats; integer entries are counts (n, n_train, k...) and are skipped.
            if key in ("fraction", "seed") or not isinstance(value, float | np.floating):
                continue
            vals = np.array([float(r[key]) for r in frac_runs])
            row[f"{key}_mean"] = float(vals.mean())
            row[f"{key}_std"] = float(vals.std(ddof=1)) if vals.shape[0] > 1 else 0.0
        rows.append(row)
    table = pd.DataFrame(rows)
    table.attrs["runs"] = runs
    return table


def label_fraction_table(
    train_emb: np.ndarray,
    y_train: np.ndarray,
    test_emb: np.ndarray,
    y_test: np.ndarray,
    fractions: Sequence[float] = (0.01, 0.1, 1.0),
    seeds: Sequence[int] = (0, 1, 2),
    evaluator: Callable[..., dict] = linear_probe,
) -> list[dict]:
    """:func:`label_fraction_runs` as JSON-ready rows (one per fraction); by default with the
    linear probe (``evaluator``: another probe, e.g. :func:`swav_ts.evaluation.ridge.ridge_probe`).

    The table the demo, the benchmarks and ``swav-ts evaluate --mode all`` report.
    """
    df = label_fraction_runs(
        train_emb, y_train, test_emb, y_test, fractions=fractions, seeds=seeds, evaluator=evaluator
    )
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in df.to_dict(orient="records")
    ]
