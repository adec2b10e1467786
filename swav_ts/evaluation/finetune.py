"""End-to-end fine-tuning of an encoder with a linear head, and the supervised baseline."""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from swav_ts.evaluation._checks import check_labels
from swav_ts.evaluation.embed import as_windows
from swav_ts.evaluation.metrics import classification_metrics
from swav_ts.timeseries.encoders import create_encoder

__all__ = [
    "EncoderClassifier",
    "TrainedClassifier",
    "finetune",
    "train_classifier",
    "train_supervised",
]

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
        lone = batches.pop()
        batches[-1] = torch.cat([batches[-1], lone])
    return batches


def _predict(model: nn.Module, x: torch.Tensor, batch_size: int, dev: torch.device) -> np.ndarray:
    model.eval()
    out = []
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            logits = model(x[start : start + batch_size].to(dev))  # (B, K)
            out.append(logits.argmax(dim=1).cpu())
    return torch.cat(out).numpy()


@dataclass
class TrainedClassifier:
    """What :func:`train_classifier` returns.

    Attributes
    ----------
    model : EncoderClassifier
        The trained network (in eval mode), with the weights of ``best_epoch`` when a
        validation set was given.
    history : list of dict
        One entry per epoch: ``train_loss`` and, with validation data, ``val_loss`` and
        ``val_accuracy``.
    best_epoch : int
        How many epochs of training the kept weights had: 0 is the model as it was given
        (kept when validation scores it best), ``len(history)`` the last epoch.
    stopped_early : bool
        True when ``patience`` ended training before ``epochs``.
    """

    model: EncoderClassifier
    history: list[dict[str, float]] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False


def _check_training_args(epochs: int, batch_size: int, lr: float, patience: int | None) -> None:
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not lr > 0:
        raise ValueError(f"lr must be > 0, got {lr!r}")
    if patience is not None and (isinstance(patience, bool) or patience < 1):
        raise ValueError(f"patience must be a positive integer or None, got {patience!r}")


def _validation_loss(
    model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch_size: int, dev: torch.device
) -> tuple[float, float]:
    """Mean cross entropy and accuracy of ``model`` on ``(x, y)`` (eval mode, no gradients)."""
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for start in range(0, x.shape[0], batch_size):
            logits = model(x[start : start + batch_size].to(dev))  # (B, K)
            yb = y[start : start + batch_size].to(dev)  # (B,)
            total += float(nn.functional.cross_entropy(logits, yb, reduction="sum"))
            correct += int((logits.argmax(dim=1) == yb).sum())
    return total / x.shape[0], correct / x.shape[0]


def train_classifier(
    model: EncoderClassifier,
    x_train: torch.Tensor,
    y_train: torch.Tensor,
    *,
    epochs: int = 20,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 1e-2,
    encoder_lr_scale: float = 1.0,
    label_smoothing: float = 0.0,
    augment: Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None = None,
    x_val: torch.Tensor | None = None,
    y_val: torch.Tensor | None = None,
    patience: int | None = None,
    eval_every: int = 1,
    score_start: bool = False,
    seed: int = 0,
    device: str | torch.device = "cpu",
) -> TrainedClassifier:
    """Train ``model`` in place with cross entropy; the loop every fine-tuning path shares.

    Optimiser AdamW (the encoder's learning rate is ``lr * encoder_lr_scale``, the head's
    ``lr``); both follow a cosine decay to 0 over all steps, updated every step. Batches are
    shuffled by a generator seeded with ``seed``, which also draws the augmentations, so a
    run is deterministic on CPU (the caller forks the global RNG if it must stay untouched).

    With validation data, the model is evaluated every ``eval_every`` epochs (and after the
    last); the weights with the lowest validation loss are kept (and restored at the end), and
    ``patience`` stops training after that many evaluations without a lower validation loss.
    With ``score_start`` the model as given is scored first and kept if nothing beats it (for
    a head initialised by a linear probe: fine-tuning is kept only where it helps).

    Parameters
    ----------
    model : EncoderClassifier
        Encoder and linear head, on any device (moved to ``device``).
    x_train : Tensor (n, C, T)
        Training windows as the encoder takes them.
    y_train : Tensor (n,) int64
        Class indices ``0 .. n_classes - 1``.
    augment : callable, optional
        ``augment(x, generator) -> x`` applied to every training batch ``(B, C, T)`` (e.g. a
        :class:`~swav_ts.timeseries.augment.torch_engine.TorchAugmenter`).
    x_val, y_val : Tensor, optional
        Held-out windows and class indices for model selection.
    epochs, lr, batch_size, weight_decay, encoder_lr_scale, label_smoothing, patience,
    eval_every, score_start, seed, device
        As described above.

    Returns
    -------
    TrainedClassifier
    """
    _check_training_args(epochs, batch_size, lr, patience)
    if isinstance(eval_every, bool) or not isinstance(eval_every, int) or eval_every < 1:
        raise ValueError(f"eval_every must be a positive integer, got {eval_every!r}")
    if not 0 <= encoder_lr_scale:
        raise ValueError(f"encoder_lr_scale must be >= 0, got {encoder_lr_scale!r}")
    if (x_val is None) != (y_val is None):
        raise ValueError("give both x_val and y_val, or neither")
    dev = torch.device(device)
    model.to(dev)
    gen = torch.Generator().manual_seed(seed)
    n = x_train.shape[0]
    n_batches = math.ceil(n / batch_size)
    if n_batches > 1 and n % batch_size == 1:
        n_batches -= 1  # see _batches: a lone tail sample joins the previous batch
    n_steps = epochs * n_batches
    groups = [{"params": list(model.head.parameters()), "lr": lr}]
    if encoder_lr_scale > 0:
        groups.append({"params": list(model.encoder.parameters()), "lr": lr * encoder_lr_scale})
    else:
        model.encoder.requires_grad_(False)
    opt = torch.optim.AdamW(groups, weight_decay=weight_decay)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda step: 0.5 * (1.0 + math.cos(math.pi * min(step, n_steps) / n_steps))
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    out = TrainedClassifier(model)
    best_loss, best_state, waited = math.inf, None, 0
    if x_val is not None and score_start:  # the model as given is a candidate too
        best_loss, _ = _validation_loss(model, x_val, y_val, max(batch_size, 256), dev)
        best_state = copy.deepcopy(model.state_dict())
    for epoch in range(epochs):
        model.train()
        total, count = 0.0, 0
        for idx in _batches(n, batch_size, gen):
            xb = x_train[idx].to(dev)  # (B, C, T)
            if augment is not None:
                xb = augment(xb, gen)
            yb = y_train[idx].to(dev)  # (B,)
            loss = loss_fn(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * idx.numel()
            count += idx.numel()
        record = {"train_loss": total / count}
        if not math.isfinite(record["train_loss"]):
            raise FloatingPointError(
                f"fine-tuning diverged: mean training loss {record['train_loss']} in epoch {epoch}"
            )
        if x_val is not None and ((epoch + 1) % eval_every == 0 or epoch == epochs - 1):
            val_loss, val_acc = _validation_loss(model, x_val, y_val, max(batch_size, 256), dev)
            record.update(val_loss=val_loss, val_accuracy=val_acc)
            if val_loss < best_loss:
                best_loss, waited, out.best_epoch = val_loss, 0, epoch + 1
                best_state = copy.deepcopy(model.state_dict())
            else:
                waited += 1
        elif x_val is None:
            out.best_epoch = epoch + 1
        out.history.append(record)
        logger.debug("fine-tuning epoch %d: %s", epoch, record)
        if patience is not None and x_val is not None and waited >= patience:
            out.stopped_early = epoch < epochs - 1
            break
    if best_state is not None:
        model.load_state_dict(best_state)
    model.encoder.requires_grad_(True)
    model.eval()
    return out


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
    """Fine-tune a copy of ``encoder`` plus a new linear head with cross entropy, and score it.

    The training is :func:`train_classifier` (no augmentation, no validation split, one
    learning rate). Shuffling, head initialisation and dropout draw from a private RNG seeded
    with ``seed`` (the global torch RNG state is restored afterwards), so a run is
    deterministic on CPU. The caller's ``encoder`` is not modified.

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
    _check_training_args(epochs, batch_size, lr, None)
    classes, ytr_idx = np.unique(ytr, return_inverse=True)
    if classes.shape[0] < 2:
        raise ValueError(f"y_train must contain at least 2 classes, got {classes.tolist()}")
    targets = torch.from_numpy(ytr_idx.astype(np.int64))  # (n_train,)

    dev = torch.device(device)
    fork_devices = [dev.index or 0] if dev.type == "cuda" else []
    with torch.random.fork_rng(devices=fork_devices):
        torch.manual_seed(seed)
        model = EncoderClassifier(copy.deepcopy(encoder), int(classes.shape[0]))
        trained = train_classifier(
            model,
            xtr,
            targets,
            epochs=epochs,
            lr=lr,
            batch_size=batch_size,
            weight_decay=weight_decay,
            seed=seed,
            device=dev,
        )
        pred = classes[_predict(model, xte, max(batch_size, 256), dev)]

    out: dict[str, Any] = dict(classification_metrics(yte, pred))
    history = [h["train_loss"] for h in trained.history]
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
