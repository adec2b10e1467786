"""What SwAV is measured against in the same process: the supervised yardstick and TS2Vec.

* :func:`run_yardstick` — a supervised 3-block CNN (6 -> 64 -> 128 -> 128 channels, kernel 8,
  batch norm, ReLU, max-pool 2, global average pool, linear; Adam 1e-3, batch 128, 30 epochs,
  all training windows). Its wall time is the unit every other time is reported in: machines of
  the same kind differ by 2x and more, ratios measured in one run do not.
* :func:`run_ts2vec` — TS2Vec (Yue et al., AAAI 2022) from PyPI (``pip install
  "swav-ts[bench]"``: ``ts2vec==0.1``, a packaging of the authors' code), trained on the same
  windows with the authors' defaults (batch 8, 320-d, lr 1e-3), with snapshots of its encoder
  (the authors' weight-averaged one) at the asked times, so one run gives its accuracy at every
  budget; embeddings are the authors' ``encode(..., encoding_window="full_series")``.
* :func:`~swav_ts.evaluation.minirocket.run_minirocket` — MiniRocket from ``aeon``, the
  training-free transform practitioners try first (it lives in :mod:`swav_ts.evaluation`, as
  the demo's report shows it too). Scored with its own classifier by
  :func:`swav_ts.evaluation.ridge.ridge_probe`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from swav_ts.data.normalize import ChannelNormalizer
from swav_ts.evaluation.metrics import classification_metrics
from swav_ts.evaluation.minirocket import run_minirocket
from swav_ts.timeseries.encoders import create_encoder

__all__ = [
    "run_minirocket",
    "run_ts2vec",
    "run_ts2vec_default",
    "run_yardstick",
]

logger = logging.getLogger(__name__)


def run_yardstick(
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    epochs: int = 30,
    seed: int = 0,
) -> dict[str, Any]:
    """Train the yardstick CNN on every training window; its time and test accuracy.

    Returns
    -------
    dict
        ``time_s`` (training only, the unit of every budget), ``accuracy``, ``macro_f1``,
        ``epochs``.
    """
    norm = ChannelNormalizer().fit(X_train)
    xtr = torch.from_numpy(norm.transform(X_train))
    xte = torch.from_numpy(norm.transform(X_test))
    classes, ytr_idx = np.unique(y_train, return_inverse=True)
    ytr = torch.from_numpy(ytr_idx.astype(np.int64))
    torch.manual_seed(seed)
    encoder = create_encoder("cnn3", X_train.shape[1], widths=(64, 128, 128), dropout=0.0)
    model = nn.Sequential(encoder, nn.Linear(encoder.num_features, len(classes)))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    t0 = time.perf_counter()
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(xtr), generator=gen)
        for batch in order.split(128):
            if len(batch) < 2:  # batch norm needs two samples
                continue
            loss = nn.functional.cross_entropy(model(xtr[batch]), ytr[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    time_s = time.perf_counter() - t0
    model.eval()
    with torch.no_grad():
        pred = torch.cat([model(xb).argmax(1) for xb in xte.split(512)]).numpy()
    return {"time_s": time_s, "epochs": epochs, **classification_metrics(y_test, classes[pred])}


def run_ts2vec(
    X_train: np.ndarray,
    snapshot_s: Sequence[float],
    seed: int = 0,
    embed: Sequence[np.ndarray] = (),
    max_epochs: int | None = None,
) -> list[dict[str, Any]]:
    """Train TS2Vec on ``X_train`` (n, C, T) and embed ``embed`` at each snapshot time.

    Training stops after the last snapshot (or ``max_epochs``). Inputs are standardised per
    channel with the training statistics, as the authors' UEA loader does.

    Returns
    -------
    list of dict
        One per snapshot: ``time_s`` (training time when taken), ``iterations``, ``epochs``
        (fractional) and ``embeddings`` (a list, one ``(n, 320)`` array per array in
        ``embed``).
    """
    TS2Vec = _import_ts2vec()
    norm = ChannelNormalizer().fit(X_train)

    def as_ntc(X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(norm.transform(X).transpose(0, 2, 1), dtype=np.float32)

    train = as_ntc(X_train)
    inputs = [as_ntc(X) for X in embed]
    torch.manual_seed(seed)
    np.random.seed(seed)  # noqa: NPY002  (the authors' code draws crops from the global RNG)
    targets = sorted(float(s) for s in snapshot_s)
    snapshots: list[dict[str, Any]] = []
    state = {"train_s": 0.0, "t": time.perf_counter(), "epoch_iters": len(train) // 8}

    def after_iter(model, loss) -> None:
        now = time.perf_counter()
        state["train_s"] += now - state["t"]
        if len(snapshots) < len(targets) and state["train_s"] >= targets[len(snapshots)]:
            embeddings = [model.encode(x, encoding_window="full_series") for x in inputs]
            snapshots.append(
                {
                    "time_s": state["train_s"],
                    "iterations": model.n_iters,
                    "epochs": model.n_iters / max(state["epoch_iters"], 1),
                    "embeddings": embeddings,
                }
            )
            logger.info(
                "TS2Vec snapshot at %.0f s (%d iterations)", state["train_s"], model.n_iters
            )
        state["t"] = time.perf_counter()  # time spent embedding is not training time
        if len(snapshots) == len(targets):
            raise _Done

    model = TS2Vec(
        input_dims=train.shape[2],
        device="cpu",
        batch_size=8,
        output_dims=320,
        after_iter_callback=after_iter,
    )
    try:
        model.fit(train, n_epochs=max_epochs or 10_000)
    except _Done:
        pass
    return snapshots


def run_ts2vec_default(
    X_train: np.ndarray, embed: Sequence[np.ndarray] = (), seed: int = 0
) -> dict[str, Any]:
    """TS2Vec trained for its authors' default length, then ``embed`` encoded.

    The authors' ``fit`` without ``n_epochs``/``n_iters`` trains 200 iterations, or 600 when
    the training array holds more than 100,000 values (batch 8, 320-d, lr 1e-3); inputs are
    standardised per channel with the training statistics, as their UEA loader does.

    Returns
    -------
    dict
        ``time_s`` (training plus encoding), ``fit_s``, ``iterations`` and ``embeddings``.
    """
    TS2Vec = _import_ts2vec()
    norm = ChannelNormalizer().fit(X_train)

    def as_ntc(X: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(norm.transform(X).transpose(0, 2, 1), dtype=np.float32)

    train = as_ntc(X_train)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        state = np.random.get_state()  # noqa: NPY002  (the authors draw crops from it)
        np.random.seed(seed)  # noqa: NPY002
        try:
            t0 = time.perf_counter()
            model = TS2Vec(input_dims=train.shape[2], device="cpu", batch_size=8, output_dims=320)
            model.fit(train)
            fit_s = time.perf_counter() - t0
            embeddings = [model.encode(as_ntc(X), encoding_window="full_series") for X in embed]
        finally:
            np.random.set_state(state)  # noqa: NPY002
    return {
        "time_s": time.perf_counter() - t0,
        "fit_s": fit_s,
        "iterations": int(model.n_iters),
        "embeddings": embeddings,
    }


def _import_ts2vec():
    try:
        from ts2vec import TS2Vec
    except ImportError:
        raise ImportError(
            'the TS2Vec peer needs the ts2vec package: pip install "swav-ts[bench]"'
        ) from None
    return TS2Vec


class _Done(Exception):
    """Stops TS2Vec's training loop once the last snapshot is taken."""
