"""MiniRocket (Dempster, Schmidt, Webb, KDD 2021), the training-free reference.

``aeon``'s transform (``pip install "swav-ts[bench]"``): ``MiniRocket(random_state=seed)``
fitted on unlabelled training windows (its biases are drawn from their convolution outputs),
about 10,000 proportion-of-positive-values features per window. The benchmarks and the demo's
report score it beside SwAV with its own classifier
(:func:`swav_ts.evaluation.ridge.ridge_probe`); it is never a dependency of the library.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = ["MINIROCKET_MIN_LENGTH", "run_minirocket", "use_workqueue_threads"]

logger = logging.getLogger(__name__)


#: aeon's MiniRocket refuses series shorter than this (its kernels have length 9).
MINIROCKET_MIN_LENGTH = 9


def use_workqueue_threads() -> str:
    """Run numba's parallel loops (aeon's MiniRocket) on numba's own ``workqueue`` threads,
    unless the user chose a threading layer (``NUMBA_THREADING_LAYER``).

    With numba's default choice, the OpenMP layer, a worker thread stays busy after the
    transform and slows every later torch computation in the process (the pretrainings of
    ``swav-ts bench crossdata`` took about 3x as long after MiniRocket as before it), which
    would distort every time a benchmark reports beside MiniRocket. Must run before numba's
    first parallel call; returns the layer asked.
    """
    import numba

    if numba.config.THREADING_LAYER == "default":
        numba.config.THREADING_LAYER = "workqueue"
    return str(numba.config.THREADING_LAYER)


def run_minirocket(
    X_train: np.ndarray,
    embed: Sequence[np.ndarray] = (),
    seed: int = 0,
    n_jobs: int = 1,
) -> dict[str, Any]:
    """Fit MiniRocket on ``X_train`` (n, C, T) without labels and transform ``embed``.

    Series shorter than :data:`MINIROCKET_MIN_LENGTH` are zero-padded at the end to that
    length, as aeon's own error message asks (the padding is reported under ``padded_to``).
    The numba kernels are compiled on a tiny input before the clock starts, so ``time_s``
    is the transform's own cost, not the one-off compilation.

    Returns
    -------
    dict
        ``time_s`` (fit plus every transform), ``fit_s``, ``n_features``, ``padded_to``
        (None when no padding was needed) and ``embeddings`` (one ``(n, n_features)``
        float32 array per array in ``embed``).
    """
    try:
        from aeon.transformations.collection.convolution_based import MiniRocket
    except ImportError:
        raise ImportError(
            'the MiniRocket peer needs the aeon package: pip install "swav-ts[bench]"'
        ) from None
    use_workqueue_threads()
    length = X_train.shape[2]
    padded_to = MINIROCKET_MIN_LENGTH if length < MINIROCKET_MIN_LENGTH else None

    def prepared(X: np.ndarray) -> np.ndarray:
        X = np.ascontiguousarray(X, dtype=np.float32)  # (n, C, T)
        if padded_to is not None:
            X = np.pad(X, ((0, 0), (0, 0), (0, padded_to - X.shape[2])))  # (n, C, 9)
        return X

    train = prepared(X_train)
    warm = train[: min(len(train), 4)]
    MiniRocket(random_state=seed, n_jobs=n_jobs).fit(warm).transform(warm)  # numba compile
    t0 = time.perf_counter()
    model = MiniRocket(random_state=seed, n_jobs=n_jobs).fit(train)
    fit_s = time.perf_counter() - t0
    embeddings = [np.asarray(model.transform(prepared(X)), dtype=np.float32) for X in embed]
    time_s = time.perf_counter() - t0
    logger.info("MiniRocket: %.1f s (fit %.1f s)", time_s, fit_s)
    return {
        "time_s": time_s,
        "fit_s": fit_s,
        "n_features": int(embeddings[0].shape[1]) if embeddings else None,
        "padded_to": padded_to,
        "embeddings": embeddings,
    }
