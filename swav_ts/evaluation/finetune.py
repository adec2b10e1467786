"""End-to-end fine-tuning of an encoder with a linear head, and the supervised baseline."""

from __future__ import annotations

import copy
import logging
import math
from typing import Any

import numpy as np
import torch
from torch import nn

from swav_ts.evaluation._checks import check_labels
from swav_ts.evaluation.embed import as_windows
from swav_ts.evaluation.metrics import classification_metrics
from swav_ts.timeseries.encoders import create_encoder

__all__ = ["EncoderClassifier", "finetune", "train_supervised"]

logger = logging.getLogger(__name__)


class EncoderClassifier(nn.Module):
    """An encoder ``(B, C, T) -> (B, D)`` followed by a linear head ``(B, D) -> (B, K)``."""

    def __init__(self, encoder: nn.Module, n_classes: int) -> None:
        super().__init__()
        num_features = getattr(encoder, "num_features", None)
        if not isinstance(num_features, int) or num_features < 1:
            raise TypeError(
                f"encoder {type(encoder).__name__} must define a positive int attribute "
                f"num_features, got {num_features!r}"
            )
        self.encoder = encoder
        self.head = nn.Linear(num_features, n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))  # (B, K)


def _batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Shuffled index batches; a trailing batch of one sample is merged into the previous
    one (batch norm cannot train on a single sample)."""
    perm = torch.randperm(n, generator=generator)
    batches = list(perm.split(batch_size))
    if len(batches) > 1 and batches[-1].numel() == 1:
        batches[-2] = torch.cat([batches[-2], batches.pop()])
    return batches


def _predict(model: nn.Module, x: torch.Tensor, batch_size: int, dev: torch.device) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            logits = model(x[start : start + batch_size].to(dev))  # (B, K)
            out.append(logits.argmax(dim=1).cpu())
    return torch.cat(out).numpy()


def finetune(
    encoder: nn.Module,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 1e-2,
    seed: int = 0,
    device: str | torch.device = "cpu",
    return_model: bool = False,
) -> dict[str, Any]:
    """Fine-tune a copy of ``encoder`` plus a new linear head with cross entropy.

    Optimiser AdamW; the learning rate follows a cosine decay from ``lr`` to 0 over all
    steps (updated every step). Shuffling, head initialisation and dropout draw from a
    private RNG seeded with ``seed`` (the global torch RNG state is restored afterwards),
    so a run is deterministic on CPU. The caller's ``encoder`` is not modified.

    Parameters
    ----------
    encoder : nn.Module
        Encoder obeying the :mod:`swav_ts.timeseries.encoders` contract (``num_features``).
    X_train : ndarray (n_train, C, T)
        Training windows.
    y_train : ndarray (n_train,)
        Training labels (at least two classes).
    X_test : ndarray (n_test, C, T)
        Test windows.
    y_test : ndarray (n_test,)
        Test labels; classes never seen in training count as errors.
    epochs : int, default 20
    lr : float, default 1e-3
        Peak learning rate.
    batch_size : int, default 64
    weight_decay : float, default 1e-2
    seed : int, default 0
    device : str or torch.device, default "cpu"
    return_model : bool, default False
        Also return the trained :class:`EncoderClassifier` under ``"model"``.

    Returns
    -------
    dict
        ``accuracy``, ``macro_f1``, ``n`` (test), ``n_train``, ``epochs``,
        ``train_loss`` (list, mean loss per epoch) and optionally ``model``.
    """
    xtr = as_windows(X_train, "X_train")  # (n_train, C, T)
    xte = as_windows(X_test, "X_test")  # (n_test, C, T)
    ytr = check_labels(y_train, "y_train")
    yte = check_labels(y_test, "y_test")
    if ytr.shape[0] != xtr.shape[0]:
        raise ValueError(f"X_train has {xtr.shape[0]} windows but y_train has {ytr.shape[0]}")
    if yte.shape[0] != xte.shape[0]:
        raise ValueError(f"X_test has {xte.shape[0]} windows but y_test has {yte.shape[0]}")
    if xtr.shape[0] < 2:
        raise ValueError(f"need at least 2 training windows, got {xtr.shape[0]}")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    classes, ytr_idx = np.unique(ytr, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(f"y_train must contain at least 2 classes, got {classes.tolist()}")
    targets = torch.from_numpy(ytr_idx.astype(np.int64))  # (n_train,)

    dev = torch.device(device)
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        model = EncoderClassifier(copy.deepcopy(encoder), int(classes.shape[0])).to(dev)
        gen = torch.Generator().manual_seed(seed)
        n_batches = math.ceil(xtr.shape[0] / batch_size)
        if n_batches > 1 and xtr.shape[0] % batch_size == 1:
            n_batches -= 1  # see _batches: a lone tail sample joins the previous batch
        n_steps = epochs * n_batches
        opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, n_steps) / n_steps))
        )
        loss_fn = nn.CrossEntropyLoss()
        history = []
        for _epoch in range(epochs):
            model.train()
            total, count = 0.0, 0
            for idx in _batches(xtr.shape[0], batch_size, gen):
                xb = xtr[idx].to(dev)  # (B, C, T)
                yb = targets[idx].to(dev)  # (B,)
                loss = loss_fn(model(xb), yb)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                total += float(loss.detach()) * idx.numel()
                count += idx.numel()
            history.append(total / count)
            if not math.isfinite(history[-1]):
                raise FloatingPointError(
                    f"fine-tuning diverged: mean training loss {history[-1]} in epoch {_epoch}"
                )
            logger.debug("finetune epoch %d: loss %.4f", _epoch, history[-1])
        pred = classes[_predict(model, xte, max(batch_size, 256), dev)]

    out: dict[str, Any] = dict(classification_metrics(yte, pred))
    out.update(n_train=int(xtr.shape[0]), epochs=epochs, train_loss=history)
    if return_model:
        out["model"] = model
    return out


def train_supervised(
    encoder_name: str,
    in_channels: int,
    X_train: np.ndarray,
    y_train: np.ndarray,
    X_test: np.ndarray,
    y_test: np.ndarray,
    *,
    encoder_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    **train_kwargs: Any,
) -> dict[str, Any]:
    """Supervised-from-scratch baseline: a randomly initialised encoder through :func:`finetune`.

    The encoder ``create_encoder(encoder_name, in_channels, **encoder_kwargs)`` is
    initialised under ``seed`` (global RNG state restored afterwards) and then trained
    exactly like a pre-trained one, so the two are directly comparable; ``train_kwargs``
    (``epochs``, ``lr``, ``batch_size``, ``weight_decay``, ``device``, ``return_model``) go to
    :func:`finetune`.

    Returns
    -------
    dict
        As :func:`finetune`.
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        encoder = create_encoder(encoder_name, in_channels, **(encoder_kwargs or {}))
    return finetune(encoder, X_train, y_train, X_test, y_test, seed=seed, **train_kwargs)
