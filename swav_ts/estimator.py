"""``TimeSeriesSwAV``: an sklearn transformer that pretrains SwAV and returns embeddings.

Data layout: ``(n_cases, n_channels, n_timepoints)`` float arrays in sensor units, a list of
:class:`swav_ts.data.Recording` for continuous recordings, or a data source (a path, glob or
bundled name, see :mod:`swav_ts.data.sources`). ``fit`` is a thin layer over
:func:`swav_ts.timeseries.pretrain`, the path every entry point shares.

(About 550 lines: the public estimator; most of it is numpy-style docstrings of the
sklearn API and the input checks of each public method.)
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

from swav_ts.core.config import ConfigError, from_dict, to_dict
from swav_ts.core.trainer import resolve_device
from swav_ts.data.contract import (
    ABSURD_FACTOR,
    InputContract,
    check_windows,
    conform_recording,
)
from swav_ts.data.recording import Recording
from swav_ts.data.units import to_model_units
from swav_ts.data.windows import cut_windows, plan_recording
from swav_ts.evaluation.embed import embed
from swav_ts.model_file import read_model_file, write_model_file
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.model import build_model
from swav_ts.timeseries.pretrain import PretrainResult, as_config, pretrain

if TYPE_CHECKING:  # pragma: no cover
    from swav_ts.export.spec import ExportSpec

logger = logging.getLogger(__name__)

MODEL_FORMAT = "swav_ts.TimeSeriesSwAV/2"

# estimator parameter -> dotted config key (None parameters keep the config's value)
_PARAM_KEYS = {
    "encoder": "encoder.name",
    "encoder_kwargs": "encoder.kwargs",
    "n_prototypes": "swav.n_prototypes",
    "feat_dim": "swav.feat_dim",
    "hidden_mlp": "swav.hidden_mlp",
    "temperature": "swav.temperature",
    "epsilon": "swav.epsilon",
    "queue_length": "swav.queue_length",
    "epochs": "train.epochs",
    "batch_size": "train.batch_size",
    "lr": "optim.base_lr",
    "optimizer": "optim.name",
    "context_length": "data.context_length",
    "global_length": "crops.global_length",
    "local_length": "crops.local_length",
    "n_local": "crops.n_local",
    "augment": "augment",
    "normalize": "data.normalize",
    "units": "data.units",
    "weighting": "data.weighting",
    "device": "train.device",
    "random_state": "train.seed",
    "verbose": "train.progress",
}


def _set_dotted(data: dict, key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def _deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _seed_from(random_state: Any) -> int:
    if isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a RandomState; got {random_state!r}")


def _as_array(X: Any, name: str = "X") -> np.ndarray:
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], Recording):
        raise TypeError(f"{name}: a list of Recording is accepted by fit; use embed_recording")
    X = np.asarray(X)
    if X.dtype == object or not np.issubdtype(X.dtype, np.number) or np.iscomplexobj(X):
        raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
    if X.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_cases, n_channels, n_timepoints); got shape {X.shape}"
        )
    if X.shape[0] == 0 or X.shape[1] == 0 or X.shape[2] == 0:
        raise ValueError(f"{name} is empty: shape {X.shape}")
    return X.astype(np.float32, copy=False)


def prepare_windows(
    X: Any, contract: InputContract, mean: np.ndarray, impute: bool = False
) -> np.ndarray:
    """Windows for a fitted model: checked against its input contract, in sensor units.

    Parameters
    ----------
    X : array-like (n_cases, n_channels, n_timepoints)
    contract : InputContract
        The model's channels, minimum length and plausible value ranges.
    mean : ndarray (n_channels,)
        The channels' training means (what NaN become with ``impute``).
    impute : bool
        Replace NaN, and values far outside the training range, by the channel's mean instead
        of raising.

    Returns
    -------
    ndarray (n_cases, n_channels, n_timepoints) float32, C-contiguous
    """
    X = _as_array(X)
    n_inf = int(np.isinf(X).sum())
    if n_inf:
        raise ValueError(f"X holds {n_inf} infinite values (shape {X.shape})")
    X = _in_model_units(X, contract)
    check_windows(X, contract, values=not impute)
    if impute and contract.low is not None:  # absurd values count as missing
        low, high = np.asarray(contract.low), np.asarray(contract.high)
        pad = ABSURD_FACTOR * (high - low)
        lo, hi = (low - pad)[None, :, None], (high + pad)[None, :, None]
        with np.errstate(invalid="ignore"):
            X = np.where((X < lo) | (X > hi), np.nan, X).astype(np.float32)
    nan = np.isnan(X)
    if nan.any():
        if not impute:
            raise ValueError(
                f"X holds {int(nan.sum())} NaN values (shape {X.shape}); impute them or "
                "pass impute=True (NaN -> the channel's training mean)"
            )
        X = np.where(nan, np.asarray(mean)[None, :, None], X).astype(np.float32)
    return np.ascontiguousarray(X, dtype=np.float32)


def _in_model_units(X: np.ndarray, contract: InputContract) -> np.ndarray:
    """Windows whose accelerometers / gyroscopes the data shows to be in other units than the
    model's (m/s² for g, deg/s for rad/s) converted to the model's, with a warning."""
    if not (contract.units and contract.named) or X.shape[1] != contract.n_channels:
        return X  # (a wrong channel count is check_windows' error)
    n, c, t = X.shape
    flat = X.transpose(1, 0, 2).reshape(c, n * t)  # (C, n * T)
    converted, changed = to_model_units(flat, contract.channel_names, contract.units, "X")
    if not changed:
        return X
    for line in changed:
        logger.warning("%s (the model's units)", line)
    return np.ascontiguousarray(converted.reshape(c, n, t).transpose(1, 0, 2))


class TimeSeriesSwAV(TransformerMixin, BaseEstimator):
    """SwAV self-supervised pretraining for multichannel time series, as an sklearn transformer.

    ``fit`` pretrains an encoder without labels; ``transform`` returns its pooled features
    ``(n_cases, D)`` for downstream classifiers; ``prototype_scores`` the cosine of each case to
    each prototype; ``predict`` the nearest prototype (an unsupervised cluster index). Inputs
    are in sensor units: the model standardises them itself with the training statistics.

    Every parameter left at ``None`` takes its value from ``config`` (by default
    :class:`swav_ts.timeseries.config.TimeSeriesConfig`, whose defaults suit 50 Hz wearables).
    The configuration is fitted to the data once, by the rules of
    :func:`swav_ts.timeseries.adapt.adapt_to_data` (the same for the command line): values
    that cannot work (a batch larger than the data, more prototypes than samples assigned at
    once) are lowered with a warning; on small data the *default* batch, epochs and prototypes
    adapt, values chosen by the user are kept.

    Parameters
    ----------
    encoder : str, optional
        Registered encoder name (``swav_ts.timeseries.encoders.list_encoders()``).
    encoder_kwargs : dict, optional
        Keyword arguments of the encoder.
    n_prototypes, feat_dim, hidden_mlp : int, optional
        Prototypes K, embedding width, projection-head hidden width.
    temperature, epsilon : float, optional
        Prediction temperature and Sinkhorn regularisation.
    queue_length : int, optional
        Embedding queue length (0: no queue).
    epochs, batch_size : int, optional
        Pretraining length and batch size.
    lr : float, optional
        Peak learning rate.
    optimizer : {"adamw", "sgd", "lars"}, optional
    context_length : int, optional
        Context length for continuous recordings (array input uses each case as a context).
    global_length, local_length, n_local : int, optional
        View lengths and number of local views (shortened to the series length for arrays).
    augment : dict, optional
        Augmentation settings (see ``docs/augmentations.md``), merged over the config's.
    normalize : bool, optional
        Standardise each channel with the training statistics inside the model (config key
        ``data.normalize``, default true).
    units : dict, optional
        Units of named accelerometer / gyroscope channels, by kind (``{"acc": "m/s^2"}``) or
        by channel (config key ``data.units``). Undeclared ones are detected where the data
        allows; both are converted to g and rad/s, and a declared unit the data contradicts
        is an error. ``transform`` detects and converts the units of its input the same way.
    weighting : {"proportional", "sqrt", "equal"}, optional
        With several sources (``fit({name: source, ...})``), each source's share of an
        epoch's contexts (config key ``data.weighting``, default ``"proportional"``: every
        context once).
    impute : bool, default False
        ``transform``: replace NaN by the channel's training mean instead of raising.
        (Pretraining leaves out contexts holding NaN, see :mod:`swav_ts.data.windows`.)
    device : str, optional
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"`` (config ``train.device``).
    random_state : int or RandomState, optional
        Seed (config ``train.seed``); the same int gives the same embeddings on CPU.
    config : TimeSeriesConfig, dict or path, optional
        Base configuration (a YAML path or a mapping in the YAML layout).
    run_dir : str, optional
        Keep the run folder (config, metrics, checkpoint, data cache) here; default: a
        temporary folder.
    resume : bool, default False
        Continue an interrupted run in ``run_dir`` instead of starting over.
    verbose : bool, optional
        Show progress bars (config ``train.progress``).
    """

    def __init__(
        self,
        encoder: str | None = None,
        encoder_kwargs: dict | None = None,
        n_prototypes: int | None = None,
        feat_dim: int | None = None,
        hidden_mlp: int | None = None,
        temperature: float | None = None,
        epsilon: float | None = None,
        queue_length: int | None = None,
        epochs: int | None = None,
        batch_size: int | None = None,
        lr: float | None = None,
        optimizer: str | None = None,
        context_length: int | None = None,
        global_length: int | None = None,
        local_length: int | None = None,
        n_local: int | None = None,
        augment: dict | None = None,
        normalize: bool | None = None,
        units: dict[str, str] | None = None,
        weighting: str | None = None,
        impute: bool = False,
        device: str | None = None,
        random_state: int | np.random.RandomState | None = None,
        config: TimeSeriesConfig | dict | str | None = None,
        run_dir: str | None = None,
        resume: bool = False,
        verbose: bool | None = None,
    ):
        self.encoder = encoder
        self.encoder_kwargs = encoder_kwargs
        self.n_prototypes = n_prototypes
        self.feat_dim = feat_dim
        self.hidden_mlp = hidden_mlp
        self.temperature = temperature
        self.epsilon = epsilon
        self.queue_length = queue_length
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.optimizer = optimizer
        self.context_length = context_length
        self.global_length = global_length
        self.local_length = local_length
        self.n_local = n_local
        self.augment = augment
        self.normalize = normalize
        self.units = units
        self.weighting = weighting
        self.impute = impute
        self.device = device
        self.random_state = random_state
        self.config = config
        self.run_dir = run_dir
        self.resume = resume
        self.verbose = verbose

    @classmethod
    def from_config(cls, config: TimeSeriesConfig | dict | str | Path, **params) -> TimeSeriesSwAV:
        """An estimator that takes every setting from ``config`` (``params``: the others,
        e.g. ``run_dir``, ``resume``, ``impute``, or overrides)."""
        return cls(config=config, **params)

    @classmethod
    def from_result(cls, result: PretrainResult, **params) -> TimeSeriesSwAV:
        """A fitted estimator around a :func:`~swav_ts.timeseries.pretrain` result."""
        est = cls(**params)
        est._set_fitted(result)
        return est

    # ------------------------------------------------------------------ configuration
    def requested_config(self) -> tuple[TimeSeriesConfig, set[str]]:
        """The config ``fit`` asks for (before fitting it to the data) and the keys the user
        chose (config keys and parameters that are not None)."""
        base, explicit = as_config(self.config)
        data = to_dict(base)
        for param, key in _PARAM_KEYS.items():
            value = getattr(self, param)
            if value is None:
                continue
            if param == "augment":
                value = _deep_merge(data["augment"], value)
                explicit |= {f"augment.{k}" for k in value}
            elif param == "random_state":
                value = _seed_from(value)
            elif param == "verbose":
                value = bool(value)
            _set_dotted(data, key, value)
            explicit.add(key)
        try:
            return from_dict(TimeSeriesConfig, data), explicit
        except ConfigError as exc:
            raise ValueError(f"invalid TimeSeriesSwAV settings: {exc}") from None

    # ------------------------------------------------------------------ sklearn API
    def fit(self, X: Any, y: Any = None) -> TimeSeriesSwAV:
        """Pretrain on ``X`` without labels (``y`` is ignored).

        ``X``: an array ``(n_cases, n_channels, n_timepoints)`` (each case one context), a
        Recording or list of Recording (cut into contexts), a data source name/path/glob, or
        several sources as ``{name: source}`` (a source, or ``{"source": ..., "rate_hz": ...,
        "units": ..., "channels": ...}``): their channel sets, rates and units may differ
        (:mod:`swav_ts.data.mixture`; the model takes the union of their channels at one
        rate, ``config`` key ``data.rate_hz`` or the first source's, and embeds recordings
        that lack some of them).
        """
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        if isinstance(X, (list, tuple)) and not X:
            raise ValueError(
                "fit got an empty list: pass Recordings (swav_ts.data.Recording), an "
                "(n_cases, n_channels, n_timepoints) array, or a data source (path, glob, 'hapt')"
            )
        if isinstance(X, np.ndarray) or (
            isinstance(X, (list, tuple)) and X and not isinstance(X[0], Recording)
        ):
            X = _as_array(X)
        cfg, explicit = self.requested_config()
        result = pretrain(
            cfg,
            X,
            self.run_dir,
            resume=self.resume,
            explicit=explicit,
        )
        self._set_fitted(result)
        return self

    def _set_fitted(self, result: PretrainResult) -> None:
        self.model_ = result.model
        self.config_ = result.config
        self.contract_ = result.contract
        self.history_ = result.history
        self.n_features_out_ = int(result.model.num_features)
        self.fit_changes_ = list(result.changes)

    # the input contract's fields, as sklearn-style fitted attributes
    @property
    def channel_names_(self) -> list[str]:
        return list(self.contract_.channel_names)

    @property
    def n_channels_(self) -> int:
        return self.contract_.n_channels

    @property
    def rate_hz_(self) -> float | None:
        return self.contract_.rate_hz

    @property
    def min_length_(self) -> int:
        return self.contract_.min_length

    def reinitialized(self, seed: int) -> TimeSeriesSwAV:
        """A fitted copy with the same architecture, channel statistics and input contract, but
        fresh random weights drawn with ``seed`` (the random-weights baseline)."""
        self._check_fitted()
        other = dataclasses.replace(self.config_)
        torch.manual_seed(seed)
        std = self.model_.backbone.standardize
        model = build_model(other, self.n_channels_, std.mean.tolist(), std.std.tolist()).eval()
        est = type(self)(**self.get_params(deep=False))
        est.model_ = model
        est.config_, est.contract_ = self.config_, self.contract_
        est.history_ = []
        est.n_features_out_ = int(model.num_features)
        est.fit_changes_ = []
        return est

    def _check_fitted(self) -> None:
        if "model_" not in self.__dict__:
            raise NotFittedError(
                "This TimeSeriesSwAV instance is not fitted yet; call fit(X) first."
            )

    def _device(self) -> torch.device:
        return resolve_device(self.device or self.config_.train.device)

    def _prepare(self, X: Any) -> np.ndarray:
        """Windows checked against the input contract, in sensor units; NaN (and, with
        ``impute``, implausible values) filled with the channel's training mean."""
        self._check_fitted()
        mean = self.model_.backbone.standardize.mean.numpy()
        return prepare_windows(X, self.contract_, mean, self.impute)

    def transform(self, X: Any) -> np.ndarray:
        """Encoder features of each case: ``(n_cases, D)`` float32."""
        X = self._prepare(X)
        return embed(self.model_.backbone, X, batch_size=512, device=self._device())

    def prototype_scores(self, X: Any) -> np.ndarray:
        """Cosine similarity of each case to each prototype (first head): ``(n_cases, K)``.

        The projection head's L2-normalised output times the normalised prototypes, i.e. the
        scores SwAV's loss is computed from.
        """
        X = self._prepare(X)
        device = self._device()
        model = self.model_.to(device).eval()
        out = []
        with torch.no_grad():
            # the last optimiser step leaves the prototypes slightly off unit norm
            protos = torch.nn.functional.normalize(model.prototypes.weights()[0], dim=1)  # (K, D)
            for start in range(0, len(X), 512):
                xb = torch.from_numpy(X[start : start + 512]).to(device)
                z, _ = model(xb)  # (B, D), unit rows
                out.append((z.float() @ protos.float().T).cpu().numpy())  # (B, K)
        model.cpu()
        return np.concatenate(out).astype(np.float32)

    def predict(self, X: Any) -> np.ndarray:
        """Index of the best-matching prototype (first head) of each case: ``(n_cases,)``."""
        return self.prototype_scores(X).argmax(axis=1).astype(np.int64)

    def embed_recording(
        self, recording: Recording, window_s: float, stride_s: float, batch_size: int = 512
    ) -> tuple[np.ndarray, np.ndarray]:
        """Embeddings of every window of a long recording.

        Windows follow the rules of :mod:`swav_ts.data.windows`: starts every ``stride_s``,
        windows holding NaN left out (and logged); a recording shorter than one window is an
        error.

        Returns
        -------
        embeddings : ndarray (n_windows, D) float32
        start_times_s : ndarray (n_windows,) float64
            Window start times (recording ``start_time`` + offset).
        """
        self._check_fitted()
        if not isinstance(recording, Recording):
            raise TypeError(f"recording must be a swav_ts.data.Recording, got {type(recording)}")
        recording = conform_recording(recording, self.contract_)
        plan = plan_recording(recording, window_s, stride_s)
        length = plan.length
        chunks = [np.zeros((0, self.n_features_out_), np.float32)]
        for i in range(0, len(plan), batch_size):
            windows = cut_windows(recording.signals, plan.start[i : i + batch_size], length)
            chunks.append(self.transform(windows))
        times = recording.start_time + plan.start / recording.rate_hz
        return np.concatenate(chunks), times.astype(np.float64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write weights (with the input standardisation) as safetensors, no pickle; config,
        channel names, rate and version as JSON metadata in the same file."""
        self._check_fitted()
        return write_model_file(path, self.model_, self._metadata())

    def _metadata(self) -> dict[str, str]:
        """What :meth:`load` reads back, as JSON strings (safetensors metadata)."""
        return {
            "format": MODEL_FORMAT,
            "config": json.dumps(to_dict(self.config_)),
            "params": json.dumps(_jsonable_params(self.get_params(deep=False))),
            "contract": json.dumps(self.contract_.to_dict()),
            "history": json.dumps(self.history_),
        }

    @classmethod
    def load(cls, path: str | Path) -> TimeSeriesSwAV:
        """Load a model written by :meth:`save` (no unpickling)."""
        meta, state, path = read_model_file(path, MODEL_FORMAT, cls.__name__)
        params = json.loads(meta["params"])
        est = cls(**params)
        cfg = from_dict(TimeSeriesConfig, json.loads(meta["config"]))
        contract = InputContract.from_dict(json.loads(meta["contract"]))
        model = build_model(cfg, contract.n_channels)
        expected = model.state_dict()
        missing = sorted(set(expected) - set(state))
        unexpected = sorted(set(state) - set(expected))
        wrong = sorted(
            k
            for k in set(expected) & set(state)
            if tuple(expected[k].shape) != tuple(state[k].shape)
        )
        if missing or unexpected or wrong:
            raise ValueError(
                f"{path} does not match the architecture in its config "
                f"(encoder {cfg.encoder.name!r}): missing {missing[:5]}, unexpected "
                f"{unexpected[:5]}, wrong shapes {wrong[:5]}"
            )
        model.load_state_dict(state)
        est.model_ = model.eval()
        est.config_ = cfg
        est.contract_ = contract
        est.history_ = json.loads(meta.get("history", "[]"))
        est.n_features_out_ = int(model.num_features)
        est.fit_changes_ = []
        return est

    @classmethod
    def pretrained(cls, name: str = "motion-50hz") -> TimeSeriesSwAV:
        """A model shipped inside the package (no download), ready to embed without training.

        Parameters
        ----------
        name : str, default "motion-50hz"
            A name from :func:`swav_ts.pretrained.list_models`; its model card is in
            ``docs/pretrained.md``.

        Returns
        -------
        TimeSeriesSwAV
            Fitted; recordings with fewer of its sensors are accepted (the missing channels
            filled, :meth:`fill_missing_channels`), others are left out.
        """
        from swav_ts.pretrained import model_path

        return cls.load(model_path(name))

    def fill_missing_channels(self, enable: bool = True) -> TimeSeriesSwAV:
        """Let named recordings that lack some of the model's channels be embedded: each missing
        channel is filled with its training mean — what the channel-dropout augmentation shows
        the model for an absent channel — with one warning per recording. Arrays keep needing
        every channel (they have no names to match). Kept by :meth:`save`.

        Returns
        -------
        TimeSeriesSwAV
            ``self``.
        """
        self._check_fitted()
        if not self.contract_.named:
            raise ValueError(
                "this model was trained on unnamed channels: a missing channel cannot be "
                "recognised, so it cannot be filled"
            )
        mean = self.model_.backbone.standardize.mean.double().tolist() if enable else None
        self.contract_ = dataclasses.replace(self.contract_, fill_values=mean)
        return self

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        return tags

    def export_spec(self, scores: bool = False, dynamic_length: bool = True) -> ExportSpec:
        """What :func:`swav_ts.export.export_model` writes for this model.

        Parameters
        ----------
        scores : bool, default False
            Also output the prototype scores ``(batch, K)`` (second output
            ``prototype_scores``) after the embedding ``(batch, D)``.
        dynamic_length : bool, default True
            Accept any window length >= the encoder's minimum; False fixes it at the model's
            window length (``contract_.window_length``).

        Returns
        -------
        ExportSpec
            A frozen copy of the encoder (with the standardisation) as an
            :class:`~swav_ts.export.ExportGraph`, the input contract, the outputs
            ``{"embedding": D}`` (+ ``"prototype_scores": K``), the training statistics and
            the metadata keys ``swav_ts.model``, ``swav_ts.embedding_dim``,
            ``swav_ts.encoder``. The estimator is not changed.
        """
        from swav_ts.export import EMBEDDING, SCORES, ExportGraph, ExportSpec

        self._check_fitted()
        graph = ExportGraph(self.model_, scores=scores, dynamic_length=dynamic_length)
        outputs = {EMBEDDING: int(self.n_features_out_)}
        if scores:
            outputs[SCORES] = int(graph.prototypes.shape[0])  # K of the first head
        std = self.model_.backbone.standardize
        return ExportSpec(
            module=graph,
            contract=self.contract_,
            outputs=outputs,
            channel_mean=std.mean.double().cpu().numpy(),
            channel_std=std.std.double().cpu().numpy(),
            dynamic_length=dynamic_length,
            metadata={
                "swav_ts.model": type(self).__name__,
                "swav_ts.embedding_dim": str(int(self.n_features_out_)),
                "swav_ts.encoder": self.config_.encoder.name,
            },
        )

    def export(
        self,
        path: str | Path,
        format: str = "onnx",
        *,
        scores: bool = False,
        dynamic_length: bool = True,
        **kwargs: Any,
    ) -> Path:
        """Write the model as an ONNX or TorchScript file for deployment (sensor-unit windows
        in, embeddings out, the input contract in its metadata): ``export_model(
        self.export_spec(scores, dynamic_length), path, format, **kwargs)``. See
        :meth:`export_spec` for ``scores`` and ``dynamic_length`` and
        :func:`swav_ts.export.export_model` for the other options (``int8``,
        ``calibration``, ``verify``). ONNX needs ``pip install "swav-ts[export]"``."""
        from swav_ts.export import export_model

        spec = self.export_spec(scores=scores, dynamic_length=dynamic_length)
        return export_model(spec, path, format=format, **kwargs)


def _jsonable_params(params: dict) -> dict:
    out = {}
    for k, v in params.items():
        if k == "config":
            if dataclasses.is_dataclass(v):
                v = to_dict(v)
            elif isinstance(v, Path):
                v = str(v)
        if k == "random_state" and isinstance(v, np.random.RandomState):
            v = None
        out[k] = v
    json.dumps(out)  # raises early for parameters that cannot be stored
    return out
