"""``TimeSeriesSwAVClassifier``: a SwAV-pretrained encoder fine-tuned with a linear head.

The semi-supervised protocol of the SwAV paper as an sklearn classifier: an encoder pretrained
without labels (a fitted :class:`~swav_ts.estimator.TimeSeriesSwAV`, a saved model, or one
the classifier pretrains itself on ``X`` plus any unlabelled data) is trained end to end with
a new linear head on the labels, with the pretraining's augmentations, choosing the epoch on
a held-out slice of the labelled data. Input layout ``(n_cases, n_channels, n_timepoints)`` in
sensor units, checked against the encoder's input contract.
"""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split

from swav_ts.core.config import from_dict, to_dict
from swav_ts.data.contract import InputContract
from swav_ts.data.recording import Recording
from swav_ts.estimator import TimeSeriesSwAV, _as_array, prepare_windows
from swav_ts.evaluation.finetune import EncoderClassifier, train_classifier
from swav_ts.model_file import read_model_file, write_model_file
from swav_ts.timeseries.augment.build import build_augmenter
from swav_ts.timeseries.augment.config import resolve_triplets
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.model import build_model

__all__ = ["CLASSIFIER_FORMAT", "TimeSeriesSwAVClassifier"]

logger = logging.getLogger(__name__)

CLASSIFIER_FORMAT = "swav_ts.TimeSeriesSwAVClassifier/1"


def _check_labels(y: Any, n_cases: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1:
        raise ValueError(f"y must be 1-D (n_cases,), got shape {y.shape}")
    if y.shape[0] != n_cases:
        raise ValueError(
            f"X has {n_cases} cases but y has {y.shape[0]} labels; give one label per case"
        )
    if y.dtype.kind == "f" and np.isnan(y).any():
        raise ValueError(f"y holds {int(np.isnan(y).sum())} NaN labels; drop those cases")
    if y.dtype == object:
        y = y.astype(str)
    return y


class TimeSeriesSwAVClassifier(ClassifierMixin, BaseEstimator):
    """Fine-tune a SwAV-pretrained encoder with a linear head: an sklearn classifier.

    Parameters
    ----------
    pretrained : TimeSeriesSwAV, str or Path, optional
        Where the encoder comes from. A *fitted* :class:`TimeSeriesSwAV`: its weights (copied;
        the estimator is not modified). An *unfitted* one: fitted by ``fit`` on ``X`` (plus
        ``X_unlabelled``) with its own settings — which is also what a fitted one becomes
        under :func:`sklearn.base.clone`, so cross-validation never reuses weights pretrained
        on a test fold. A path: a model written by :meth:`TimeSeriesSwAV.save`; the name of a
        shipped model (``"motion-50hz"``, :meth:`TimeSeriesSwAV.pretrained`). None: a
        ``TimeSeriesSwAV`` with default settings pretrained by ``fit``.
    max_epochs : int, default 20
        Fine-tuning length in passes over the labelled cases — or more passes on small
        labelled sets, so that at least ``min_steps`` optimisation steps are made. The held-out
        slice is scored ``max_epochs`` times, evenly spread, and the best weights are kept.
    min_steps : int, default 400
        The fewest optimisation steps of a fine-tuning run.
    min_per_class : int, default 50
        With fewer labelled cases in the smallest class, the encoder stays frozen: with
        ``head_init="probe"`` the classifier is the linear probe itself, with ``"random"`` only
        the head is trained. (On HAPT's validation folds, fine-tuning with 12 labelled windows
        per class lost 1.2 points to the probe; with 120 per class it was level, with all
        labels ahead: ``docs/results.md``.)
    lr : float, default 1e-3
        Peak learning rate of the head (AdamW, cosine decay over all steps).
    encoder_lr_scale : float, default 0.1
        The encoder's learning rate is ``lr * encoder_lr_scale``; 0 freezes the encoder (a
        linear probe trained by gradient descent).
    batch_size : int, default 64
    weight_decay : float, default 1e-2
    label_smoothing : float, default 0.0
        Cross-entropy label smoothing.
    head_init : {"probe", "random"}, default "probe"
        ``"probe"``: the head starts as a logistic regression fitted on the frozen encoder's
        standardised features (linear probing, then fine-tuning: Kumar et al., ICLR 2022), and
        that starting point is itself a candidate for the held-out slice, so fine-tuning is
        kept only where it helps. ``"random"``: a freshly initialised head.
    augment : bool, default True
        Augment every training batch with the pretraining's augmentation pipeline (in sensor
        units, rotation of the named sensor triplets included).
    validation_fraction : float, default 0.1
        Share of the labelled cases held out to choose the epoch with the lowest loss: whole
        groups when ``fit`` is given ``groups`` (e.g. subjects: the slice then measures what
        new subjects will see), else a class-stratified share. When a class has fewer than 2
        cases, or the slice would hold fewer cases than there are classes (or fewer than 2
        groups are given), no slice is held out and the last epoch is kept (logged).
    patience : int or None, default 10
        Stop after this many scorings of the held-out slice without a lower loss.
    device : str, optional
        ``"cpu"``, ``"cuda"`` or ``"auto"`` (default: the pretrained model's setting).
    random_state : int, optional
        Seed of the head's initialisation, the held-out slice, the batches and the
        augmentations (and of pretraining when the classifier pretrains); the same int gives
        the same classifier on CPU.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
        The labels seen in ``fit``, sorted.
    config_ : TimeSeriesConfig
        The pretrained encoder's configuration.
    contract_ : InputContract
        The input contract (channels, rate, minimum length, value ranges) every input is
        checked against; the pretrained encoder's.
    model_ : EncoderClassifier
        The fine-tuned network: sensor-unit windows ``(B, C, T)`` -> logits ``(B, n_classes)``.
    history_ : list of dict
        Per epoch: ``train_loss`` (and ``val_loss``, ``val_accuracy`` with a held-out slice).
    best_epoch_ : int
        The epoch whose weights were kept.
    """

    def __init__(
        self,
        pretrained: TimeSeriesSwAV | str | Path | None = None,
        *,
        max_epochs: int = 20,
        min_steps: int = 400,
        lr: float = 1e-3,
        encoder_lr_scale: float = 0.1,
        min_per_class: int = 50,
        batch_size: int = 64,
        weight_decay: float = 1e-2,
        label_smoothing: float = 0.0,
        head_init: str = "probe",
        augment: bool = True,
        validation_fraction: float = 0.1,
        patience: int | None = 10,
        device: str | None = None,
        random_state: int | None = None,
    ):
        self.pretrained = pretrained
        self.max_epochs = max_epochs
        self.min_steps = min_steps
        self.lr = lr
        self.encoder_lr_scale = encoder_lr_scale
        self.min_per_class = min_per_class
        self.batch_size = batch_size
        self.weight_decay = weight_decay
        self.label_smoothing = label_smoothing
        self.head_init = head_init
        self.augment = augment
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.device = device
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        for name in ("max_epochs", "batch_size", "min_steps", "min_per_class"):
            value = getattr(self, name)
            low = 0 if name in ("min_steps", "min_per_class") else 1
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
        if self.head_init not in ("probe", "random"):
            raise ValueError(f"head_init must be 'probe' or 'random', got {self.head_init!r}")
        if not 0 <= self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in [0, 1), got {self.validation_fraction!r}"
            )

    def _embedder(self, X: np.ndarray, X_unlabelled: Any) -> TimeSeriesSwAV:
        """The fitted pretrained estimator (loaded, copied, or pretrained here)."""
        source = self.pretrained
        if isinstance(source, (str, Path)):
            if X_unlabelled is not None:
                raise ValueError(
                    "X_unlabelled is used for pretraining, but pretrained names a saved model; "
                    "give one or the other"
                )
            from swav_ts.pretrained import model_file

            return TimeSeriesSwAV.load(model_file(source))  # a path or a shipped model's name
        if source is not None and not isinstance(source, TimeSeriesSwAV):
            raise TypeError(
                "pretrained must be a TimeSeriesSwAV, the path of a saved model or None; got "
                f"{type(source).__name__}"
            )
        if source is not None and "model_" in source.__dict__:
            if X_unlabelled is not None:
                raise ValueError(
                    "X_unlabelled is used for pretraining, but pretrained is already fitted; "
                    "pass an unfitted TimeSeriesSwAV (or None) to pretrain on it"
                )
            return source
        est = clone(source) if source is not None else TimeSeriesSwAV()
        if est.random_state is None and self.random_state is not None:
            est.set_params(random_state=self.random_state)
        return est.fit(self._pretraining_data(X, X_unlabelled))

    @staticmethod
    def _pretraining_data(X: np.ndarray, X_unlabelled: Any) -> Any:
        if X_unlabelled is None:
            return X
        if isinstance(X_unlabelled, (str, Path, Recording)) or (
            isinstance(X_unlabelled, (list, tuple))
            and X_unlabelled
            and isinstance(X_unlabelled[0], Recording)
        ):
            return X_unlabelled  # recordings or a data source: pretrain on them
        U = _as_array(X_unlabelled, "X_unlabelled")
        if U.shape[1:] != X.shape[1:]:
            raise ValueError(
                f"X_unlabelled has shape {U.shape}, X {X.shape}: windows must have the same "
                "channels and length to be pretrained on together (pass continuous recordings "
                "as a list of swav_ts.data.Recording instead)"
            )
        return np.concatenate([X, U])

    def _augmenter(self, embedder: TimeSeriesSwAV):
        if not self.augment:
            return None
        aug = embedder.config_.augment
        triplets = resolve_triplets(aug.rotation, embedder.channel_names_)
        aug = from_dict(
            type(aug), {"rotation": {"triplets": [list(t) for t in triplets]}}, base=aug
        )
        std = embedder.model_.backbone.standardize
        return build_augmenter(aug, "torch", std.mean.tolist(), std.std.tolist())

    def _holdout(
        self, y_idx: np.ndarray, groups: np.ndarray | None, seed: int
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Indices to train on and the held-out slice (None when there can be none)."""
        n, counts = y_idx.shape[0], np.bincount(y_idx)
        n_val = round(self.validation_fraction * n)
        everything = np.arange(n)
        if self.validation_fraction <= 0:
            return everything, None
        if groups is not None:
            return _group_holdout(groups, self.validation_fraction, seed)
        if counts.min() < 2 or n_val < counts.shape[0] or n - n_val < counts.shape[0]:
            logger.info(
                "no held-out slice for early stopping (%d labelled cases, smallest class %d): "
                "training on every labelled case and keeping the last weights",
                n,
                int(counts.min()),
            )
            return everything, None
        train, val = train_test_split(
            everything, test_size=n_val, random_state=seed, stratify=y_idx
        )
        return np.sort(train), np.sort(val)

    def fit(
        self, X: Any, y: Any, X_unlabelled: Any = None, groups: Any = None
    ) -> TimeSeriesSwAVClassifier:
        """Fine-tune on labelled windows ``X`` (n_cases, n_channels, n_timepoints), ``y``.

        ``X_unlabelled``: more windows of the same shape, recordings or a data source, used
        only when the classifier pretrains its encoder itself. ``groups`` (n_cases,): who or
        what each case comes from (a subject, a device, a session); the held-out slice that
        chooses the epoch is then made of whole groups.
        """
        self._check_params()
        X = _as_array(X)
        y = _check_labels(y, X.shape[0])
        classes, y_idx = np.unique(y, return_inverse=True)
        if classes.shape[0] < 2:
            raise ValueError(f"y must hold at least 2 classes, got {classes.tolist()}")
        seed = 0 if self.random_state is None else int(self.random_state)
        embedder = self._embedder(X, X_unlabelled)
        x = torch.from_numpy(embedder._prepare(X))  # (n, C, T), checked against the contract
        targets = torch.from_numpy(y_idx.astype(np.int64))  # (n,)
        if groups is not None:
            groups = np.asarray(groups)
            if groups.shape != (X.shape[0],):
                raise ValueError(
                    f"groups must have one entry per case, shape ({X.shape[0]},); got "
                    f"{groups.shape}"
                )
        frozen = int(np.bincount(y_idx).min()) < self.min_per_class
        if frozen and self.head_init == "probe":
            logger.info(
                "fewer than min_per_class=%d labelled cases in a class: the linear probe on the "
                "frozen encoder is the classifier",
                self.min_per_class,
            )
            return self._set_fitted(embedder, classes, x, y_idx)
        train_idx, val_idx = self._holdout(y_idx, groups, seed)
        n_batches = max(1, train_idx.shape[0] // self.batch_size)
        n_epochs = max(self.max_epochs, math.ceil(self.min_steps / n_batches))
        eval_every = math.ceil(n_epochs / self.max_epochs)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            model = EncoderClassifier(_copy_module(embedder.model_.backbone), int(classes.shape[0]))
            if self.head_init == "probe":
                _probe_head(model, x[train_idx], y_idx[train_idx], seed)
            trained = train_classifier(
                model,
                x[train_idx],
                targets[train_idx],
                epochs=n_epochs,
                eval_every=eval_every,
                lr=self.lr,
                batch_size=self.batch_size,
                weight_decay=self.weight_decay,
                encoder_lr_scale=0.0 if frozen else self.encoder_lr_scale,
                label_smoothing=self.label_smoothing,
                augment=self._augmenter(embedder),
                x_val=None if val_idx is None else x[val_idx],
                y_val=None if val_idx is None else targets[val_idx],
                patience=self.patience,
                score_start=self.head_init == "probe",
                seed=seed,
                device=self._device(embedder),
            )
        return self._set_fitted(embedder, classes, trained=trained)

    def _set_fitted(self, embedder, classes, x=None, y_idx=None, trained=None):
        """Store the fitted state: the fine-tuned network, or (``trained`` None) the linear
        probe of the frozen encoder fitted on ``x``, ``y_idx``."""
        if trained is None:
            seed = 0 if self.random_state is None else int(self.random_state)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = EncoderClassifier(_copy_module(embedder.model_.backbone), len(classes))
            _probe_head(model, x, y_idx, seed)
            history, best = [], 0
        else:
            model, history, best = trained.model, trained.history, trained.best_epoch
        self.model_ = model.cpu().eval()
        self.classes_ = classes
        self.config_ = embedder.config_
        self.contract_ = embedder.contract_
        self.history_ = history
        self.best_epoch_ = best
        self.n_features_in_ = embedder.n_channels_
        return self

    # ------------------------------------------------------------------ prediction
    def _check_fitted(self) -> None:
        if "model_" not in self.__dict__:
            raise NotFittedError(
                "This TimeSeriesSwAVClassifier instance is not fitted yet; call fit(X, y) first."
            )

    def _device(self, embedder: TimeSeriesSwAV | None = None) -> torch.device:
        from swav_ts.core.trainer import resolve_device

        default = self.config_.train.device if embedder is None else embedder.config_.train.device
        return resolve_device(self.device or default)

    def _prepare(self, X: Any) -> np.ndarray:
        """``X`` checked against the input contract (sensor units, no NaN)."""
        self._check_fitted()
        mean = self.model_.encoder.standardize.mean.numpy()
        return prepare_windows(X, self.contract_, mean)

    def decision_function(self, X: Any) -> np.ndarray:
        """Logits ``(n_cases, n_classes)`` float32, columns in the order of ``classes_``."""
        self._check_fitted()
        x = torch.from_numpy(self._prepare(X))  # (n, C, T)
        dev = self._device()
        model = self.model_.to(dev).eval()
        with torch.no_grad():
            out = [model(xb.to(dev)).float().cpu() for xb in x.split(512)]  # (B, K) each
        self.model_.cpu()
        return torch.cat(out).numpy()

    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities ``(n_cases, n_classes)`` (softmax of the logits)."""
        logits = torch.from_numpy(self.decision_function(X))
        return torch.softmax(logits, dim=1).numpy()

    def predict(self, X: Any) -> np.ndarray:
        """The most probable class of each case: ``(n_cases,)``, values from ``classes_``."""
        best = self.decision_function(X).argmax(axis=1)  # (n,), after the fitted check
        return self.classes_[best]

    def score(self, X: Any, y: Any, sample_weight: Any = None) -> float:
        """Accuracy on ``(X, y)``; labels never seen in ``fit`` are refused (they could only
        count as errors, which usually means the label encodings differ)."""
        self._check_fitted()
        y = _check_labels(y, np.asarray(X).shape[0] if np.ndim(X) == 3 else len(X))
        unseen = np.setdiff1d(np.unique(y), self.classes_)
        if unseen.size:
            raise ValueError(
                f"y holds labels never seen in fit: {unseen.tolist()[:10]}; the classifier "
                f"knows {self.classes_.tolist()}"
            )
        return super().score(X, y, sample_weight=sample_weight)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the fine-tuned network (with the input standardisation), its classes, the
        encoder's config and input contract as one safetensors file (no pickle)."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params(deep=False).items() if k != "pretrained"}
        meta = {
            "format": CLASSIFIER_FORMAT,
            "config": json.dumps(to_dict(self.config_)),
            "contract": json.dumps(self.contract_.to_dict()),
            "classes": json.dumps(
                {"values": self.classes_.tolist(), "dtype": self.classes_.dtype.str}
            ),
            "params": json.dumps(params),
            "history": json.dumps(self.history_),
            "best_epoch": str(self.best_epoch_),
        }
        return write_model_file(path, self.model_, meta)

    @classmethod
    def load(cls, path: str | Path) -> TimeSeriesSwAVClassifier:
        """Load a classifier written by :meth:`save` (no unpickling)."""
        meta, state, path = read_model_file(path, CLASSIFIER_FORMAT, cls.__name__)
        cfg = from_dict(TimeSeriesConfig, json.loads(meta["config"]))
        contract = InputContract.from_dict(json.loads(meta["contract"]))
        classes_meta = json.loads(meta["classes"])
        classes = np.asarray(classes_meta["values"], dtype=np.dtype(classes_meta["dtype"]))
        backbone = build_model(cfg, contract.n_channels).backbone
        model = EncoderClassifier(backbone, int(classes.shape[0]))
        try:
            model.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(
                f"{path} does not match the architecture in its config: {exc}"
            ) from None
        est = cls(**json.loads(meta["params"]))
        est.model_ = model.eval()
        est.classes_ = classes
        est.config_, est.contract_ = cfg, contract
        est.history_ = json.loads(meta.get("history", "[]"))
        est.best_epoch_ = int(meta.get("best_epoch", "0"))
        est.n_features_in_ = contract.n_channels
        return est

    # ------------------------------------------------------------------ deployment
    def export_spec(self, dynamic_length: bool = True):
        """What :func:`swav_ts.export.export_model` writes for this classifier: sensor-unit
        windows in, ``logits`` and ``probabilities`` ``(batch, n_classes)`` out (columns in the
        order of ``classes_``, listed in the file's metadata as ``swav_ts.classes``), the
        input contract inside. The classifier is not changed."""
        from swav_ts.export import ExportSpec

        self._check_fitted()
        std = self.model_.encoder.standardize
        k = int(self.classes_.shape[0])
        return ExportSpec(
            module=_ClassifierGraph(self.model_, dynamic_length),
            contract=self.contract_,
            outputs={"logits": k, "probabilities": k},
            channel_mean=std.mean.double().numpy(),
            channel_std=std.std.double().numpy(),
            dynamic_length=dynamic_length,
            metadata={
                "swav_ts.model": type(self).__name__,
                "swav_ts.encoder": self.config_.encoder.name,
                "swav_ts.classes": json.dumps([str(c) for c in self.classes_]),
            },
        )

    def export(
        self, path: str | Path, format: str = "onnx", *, dynamic_length: bool = True, **kwargs
    ) -> Path:
        """Write the classifier as an ONNX or TorchScript file (:meth:`export_spec`); the
        other options (``int8``, ``calibration``, ``verify``) are those of
        :func:`swav_ts.export.export_model`. ONNX needs ``pip install "swav-ts[export]"``."""
        from swav_ts.export import export_model

        return export_model(self.export_spec(dynamic_length), path, format=format, **kwargs)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        return tags


def _group_holdout(
    groups: np.ndarray, fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray | None]:
    """Hold out whole groups, drawn at random until they hold ``fraction`` of the cases (at
    least one group, never all)."""
    names, sizes = np.unique(groups, return_counts=True)
    if names.shape[0] < 2:
        logger.info("no held-out slice for early stopping: fewer than 2 groups")
        return np.arange(groups.shape[0]), None
    order = np.random.default_rng(seed).permutation(names.shape[0])
    held, total = [], 0
    for i in order[:-1]:  # at least one group stays for training
        held.append(names[i])
        total += sizes[i]
        if total >= fraction * groups.shape[0]:
            break
    val = np.isin(groups, held)
    return np.flatnonzero(~val), np.flatnonzero(val)


def _probe_head(model: EncoderClassifier, x: torch.Tensor, y_idx: np.ndarray, seed: int) -> None:
    """Set the head to a logistic regression on the frozen encoder's standardised features
    (the linear probe of :func:`swav_ts.evaluation.linear_probe`), scaler folded in."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    from swav_ts.evaluation.embed import embed

    Z = embed(model.encoder, x, batch_size=512)  # (n, D)
    scaler = StandardScaler().fit(Z)
    probe = LogisticRegression(max_iter=1000, random_state=seed).fit(scaler.transform(Z), y_idx)
    weight = probe.coef_ / scaler.scale_  # (K, D), or (1, D) for two classes
    bias = probe.intercept_ - weight @ scaler.mean_  # (K,)
    if weight.shape[0] == 1:  # binary: softmax over (0, w z + b) is the probe's sigmoid
        weight = np.vstack([np.zeros_like(weight), weight])
        bias = np.concatenate([[0.0], bias])
    with torch.no_grad():
        model.head.weight.copy_(torch.as_tensor(weight, dtype=torch.float32))
        model.head.bias.copy_(torch.as_tensor(bias, dtype=torch.float32))


class _ClassifierGraph(torch.nn.Module):
    """The exported classifier: the encoder as an :class:`~swav_ts.export.ExportGraph` (its
    standardisation first), then the head; returns ``(logits, probabilities)``."""

    def __init__(self, model: EncoderClassifier, dynamic_length: bool) -> None:
        from types import SimpleNamespace

        from swav_ts.export import ExportGraph

        super().__init__()
        # ExportGraph copies the backbone of a SwAV model; the classifier's encoder is one
        # (not named "graph": torch.export's GraphModule has an attribute of that name)
        self.features = ExportGraph(SimpleNamespace(backbone=model.encoder), False, dynamic_length)
        self.head = _copy_module(model.head).float().eval().requires_grad_(False)

    def forward(self, windows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        logits = self.head(self.features(windows))  # (B, K)
        return logits, torch.softmax(logits, dim=1)  # (B, K), (B, K)


def _copy_module(module: torch.nn.Module) -> torch.nn.Module:
    import copy

    return copy.deepcopy(module).cpu()
