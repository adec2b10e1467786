"""``TimeSeriesSwAV``: an sklearn transformer that pretrains SwAV and returns embeddings.

Data layout: ``(n_cases, n_channels, n_timepoints)`` float arrays, or a list of
:class:`swav_ts.data.Recording` for continuous recordings.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.exceptions import NotFittedError

import swav_ts
from swav_ts.core.config import ConfigError, from_dict, read_yaml, to_dict
from swav_ts.core.trainer import resolve_device
from swav_ts.data.normalize import ChannelNormalizer
from swav_ts.data.recording import Recording
from swav_ts.evaluation.embed import embed
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.pretrain import build_model, contexts_from_recordings, pretrain_contexts

logger = logging.getLogger(__name__)

MODEL_FORMAT = "swav_ts.TimeSeriesSwAV/1"
# With built-in defaults, small data sets still get this many optimisation steps.
MIN_DEFAULT_STEPS = 500

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
}


def _set_dotted(data: dict, key: str, value: Any) -> None:
    node = data
    parts = key.split(".")
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value


def _as_array(X: Any, name: str = "X") -> np.ndarray:
    if isinstance(X, torch.Tensor):
        X = X.detach().cpu().numpy()
    if isinstance(X, (list, tuple)) and X and isinstance(X[0], Recording):
        raise TypeError(f"{name}: a list of Recording is accepted by fit only")
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


class TimeSeriesSwAV(TransformerMixin, BaseEstimator):
    """SwAV self-supervised pretraining for multichannel time series, as an sklearn transformer.

    ``fit`` pretrains an encoder without labels; ``transform`` returns its pooled features
    ``(n_cases, D)`` for downstream classifiers; ``predict`` returns the nearest prototype
    (an unsupervised cluster index).

    Parameters left at ``None`` take the value of ``config`` (by default
    :class:`swav_ts.timeseries.config.TimeSeriesConfig`, whose defaults suit 50 Hz wearables).

    Parameters
    ----------
    encoder : str, optional
        Registered encoder name (``swav_ts.timeseries.encoders.list_encoders()``).
    encoder_kwargs : dict, optional
        Keyword arguments of the encoder.
    n_prototypes, feat_dim, hidden_mlp : int, optional
        Prototypes K, embedding width, projection-head hidden width. When K comes from the
        built-in defaults (no ``config``), it is at most the batch size plus the queue length,
        so small data sets work; a K set explicitly is never changed.
    temperature, epsilon : float, optional
        Prediction temperature and Sinkhorn regularisation.
    queue_length : int, optional
        Embedding queue length (0: no queue).
    epochs, batch_size : int, optional
        Pretraining length and batch size. With the built-in defaults (no ``config``), small
        data sets get a batch of a quarter of the data (at least 16, at most the default) and
        enough epochs for at least 500 optimisation steps; values set explicitly are kept
        (a batch never exceeds the number of cases).
    lr : float, optional
        Peak learning rate.
    optimizer : {"adamw", "sgd", "lars"}, optional
    context_length : int, optional
        Context length for continuous recordings (array input uses each case as a context).
    global_length, local_length, n_local : int, optional
        View lengths and number of local views (clipped to the series length for arrays).
    augment : dict, optional
        Augmentation settings (see ``docs/augmentations.md``), merged over the defaults.
    normalize : bool, default True
        Per-channel standardisation fitted on the training data and stored with the model.
    impute : bool, default False
        Replace NaN by the channel mean (after normalisation: 0) instead of raising.
    device : str, default "auto"
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``.
    random_state : int, RandomState or None
        Seed; the same int gives the same embeddings on CPU.
    config : TimeSeriesConfig, dict or path, optional
        Base configuration (a YAML path or a mapping in the YAML layout).
    run_dir : str, optional
        Keep the run folder (config, metrics, checkpoint) here; default: a temporary folder.
    resume : bool, default False
        Continue an interrupted run from ``run_dir/checkpoint.pt`` instead of starting over.
    verbose : bool, default False
        Show progress bars.
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
        normalize: bool = True,
        impute: bool = False,
        device: str = "auto",
        random_state: int | np.random.RandomState | None = None,
        config: TimeSeriesConfig | dict | str | None = None,
        run_dir: str | None = None,
        resume: bool = False,
        verbose: bool = False,
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
        self.impute = impute
        self.device = device
        self.random_state = random_state
        self.config = config
        self.run_dir = run_dir
        self.resume = resume
        self.verbose = verbose

    # ------------------------------------------------------------------ configuration
    def _base_config_data(self) -> dict:
        cfg = self.config
        if cfg is None:
            return to_dict(TimeSeriesConfig())
        if isinstance(cfg, TimeSeriesConfig):
            return to_dict(cfg)
        if isinstance(cfg, dict):
            return _deep_merge(to_dict(TimeSeriesConfig()), cfg)
        if isinstance(cfg, (str, Path)):
            return _deep_merge(to_dict(TimeSeriesConfig()), read_yaml(cfg))
        raise TypeError(f"config must be a TimeSeriesConfig, dict, path or None; got {type(cfg)}")

    def _resolve_config(self, n_timepoints: int | None, n_samples: int) -> TimeSeriesConfig:
        data = self._base_config_data()
        for param, key in _PARAM_KEYS.items():
            value = getattr(self, param)
            if value is None:
                continue
            if param == "augment":
                value = _deep_merge(data["augment"], value)
            _set_dotted(data, key, value)
        seed = _seed_from(self.random_state)
        data["train"].update(seed=seed, device=self.device, progress=bool(self.verbose))
        train = data["train"]
        builtin = self.config is None  # defaults from TimeSeriesConfig, not from the user
        if builtin and self.batch_size is None:
            # small data: several batches per epoch (a quarter of the data, at least 16)
            train["batch_size"] = min(train["batch_size"], max(16, n_samples // 4))
        train["batch_size"] = max(2, min(int(train["batch_size"]), n_samples))
        if builtin and self.epochs is None and n_samples < 10**9:
            # small data: at least MIN_DEFAULT_STEPS optimisation steps
            steps_per_epoch = max(1, n_samples // train["batch_size"])
            train["epochs"] = max(train["epochs"], math.ceil(MIN_DEFAULT_STEPS / steps_per_epoch))
        if builtin and self.n_prototypes is None:
            # small data: no more default prototypes than samples per assignment
            pool = train["batch_size"] + int(data["swav"]["queue_length"])
            data["swav"]["n_prototypes"] = min(data["swav"]["n_prototypes"], pool)
        if n_timepoints is not None:  # array input: each case is one context
            crops = data["crops"]
            data["data"]["context_length"] = n_timepoints
            if self.global_length is None:
                crops["global_length"] = min(crops["global_length"], n_timepoints)
            if self.local_length is None:
                crops["local_length"] = min(crops["local_length"], max(2, n_timepoints // 2))
        try:
            return from_dict(TimeSeriesConfig, data)
        except ConfigError as exc:
            raise ValueError(f"invalid TimeSeriesSwAV settings: {exc}") from None

    # ------------------------------------------------------------------ input checks
    def _prepare(self, X: Any, fitting: bool) -> np.ndarray:
        X = _as_array(X)
        if not fitting:
            if X.shape[1] != self.n_channels_:
                raise ValueError(
                    f"X has {X.shape[1]} channels but the model was fitted on "
                    f"{self.n_channels_} channels (shape {X.shape})"
                )
        min_len = self.min_length_ if not fitting else None
        if min_len is not None and X.shape[2] < min_len:
            raise ValueError(
                f"series of {X.shape[2]} time points are shorter than the encoder's minimum "
                f"of {min_len} (shape {X.shape})"
            )
        n_nan = int(np.isnan(X).sum())
        n_inf = int(np.isinf(X).sum())
        if n_inf:
            raise ValueError(f"X holds {n_inf} infinite values (shape {X.shape})")
        if n_nan and not self.impute:
            raise ValueError(
                f"X holds {n_nan} NaN values (shape {X.shape}); impute them or pass impute=True"
            )
        return X

    def _normalise(self, X: np.ndarray) -> np.ndarray:
        if self.normalizer_ is not None:
            X = self.normalizer_.transform(X).astype(np.float32, copy=False)
        if self.impute:
            if self.normalizer_ is None:
                means = np.nanmean(X, axis=(0, 2), keepdims=True)
                X = np.where(np.isnan(X), means, X)
            else:
                X = np.nan_to_num(X, nan=0.0)
        return np.ascontiguousarray(X, dtype=np.float32)

    # ------------------------------------------------------------------ sklearn API
    def fit(self, X: Any, y: Any = None) -> TimeSeriesSwAV:
        """Pretrain on ``X`` (array ``(n, C, T)`` or list of Recording); ``y`` is ignored."""
        if isinstance(X, Recording):
            X = [X]
        if isinstance(X, (list, tuple)) and X and all(isinstance(r, Recording) for r in X):
            chans = {r.n_channels for r in X}
            if len(chans) != 1:
                raise ValueError(f"recordings have different channel counts: {sorted(chans)}")
            cfg0 = self._resolve_config(None, 10**9)
            contexts = contexts_from_recordings(
                [r.signals for r in X], cfg0.data.context_length, cfg0.data.stride
            )
            contexts = self._prepare(contexts, fitting=True)
        else:
            contexts = self._prepare(X, fitting=True)
            cfg0 = None
        n, n_channels, n_time = contexts.shape
        if n < 2:
            raise ValueError(f"fit needs at least 2 cases, got shape {contexts.shape}")
        cfg = self._resolve_config(None if cfg0 is not None else n_time, n)
        torch.manual_seed(cfg.train.seed)  # the initial weights follow random_state
        model = build_model(cfg, n_channels)
        min_len = int(getattr(model.backbone, "min_length", 1))
        if n_time < min_len or cfg.crops.local_length < min_len:
            raise ValueError(
                f"series of {n_time} time points (local views of {cfg.crops.local_length}) are "
                f"shorter than encoder {cfg.encoder.name!r}'s minimum of {min_len}"
            )
        self.normalizer_ = ChannelNormalizer().fit(contexts) if self.normalize else None
        contexts = self._normalise(contexts)
        if self.run_dir is not None:
            _, result = pretrain_contexts(
                cfg, contexts, self.run_dir, model=model, resume=self.resume
            )
        else:
            with tempfile.TemporaryDirectory(prefix="swav_ts_") as tmp:
                _, result = pretrain_contexts(cfg, contexts, tmp, model=model, resume=False)
        self.model_ = model.cpu().eval()
        self.config_ = cfg
        self.n_channels_ = n_channels
        self.min_length_ = min_len
        self.history_ = result.history
        self.n_features_out_ = int(model.num_features)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError(
                "This TimeSeriesSwAV instance is not fitted yet; call fit(X) first."
            )

    def _device(self) -> torch.device:
        return resolve_device(self.device)

    def transform(self, X: Any) -> np.ndarray:
        """Encoder features of each case: ``(n_cases, D)`` float32."""
        self._check_fitted()
        X = self._normalise(self._prepare(X, fitting=False))
        return embed(self.model_.backbone, X, batch_size=512, device=self._device())

    def prototype_scores(self, X: Any) -> np.ndarray:
        """Cosine similarity of each case to each prototype (first head): ``(n_cases, K)``.

        The projection head's L2-normalised output times the normalised prototypes, i.e. the
        scores SwAV's loss is computed from. With very few labels a linear probe on these
        scores can beat one on :meth:`transform`'s encoder features (HAPT, 1 % of the labels:
        docs/results.md); :meth:`transform` stays the general-purpose embedding.
        """
        self._check_fitted()
        X = self._normalise(self._prepare(X, fitting=False))
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

        Returns
        -------
        embeddings : ndarray (n_windows, D) float32
        start_times_s : ndarray (n_windows,) float64
            Window start times (recording ``start_time`` + offset).
        """
        self._check_fitted()
        if not isinstance(recording, Recording):
            raise TypeError(f"recording must be a swav_ts.data.Recording, got {type(recording)}")
        length = round(window_s * recording.rate_hz)
        stride = round(stride_s * recording.rate_hz)
        if length < 1 or stride < 1:
            raise ValueError(
                f"window_s={window_s} and stride_s={stride_s} at {recording.rate_hz} Hz give "
                f"{length} and {stride} samples; both must be >= 1"
            )
        if length > recording.n_samples:
            raise ValueError(
                f"window of {length} samples ({window_s} s) is longer than recording "
                f"{recording.recording_id!r} ({recording.n_samples} samples)"
            )
        starts = np.arange(0, recording.n_samples - length + 1, stride)
        chunks = []
        for i in range(0, len(starts), batch_size):
            idx = starts[i : i + batch_size, None] + np.arange(length)[None, :]  # (B, T)
            windows = np.transpose(recording.signals[:, idx], (1, 0, 2))  # (B, C, T)
            chunks.append(self.transform(windows))
        times = recording.start_time + starts / recording.rate_hz
        return np.concatenate(chunks), times.astype(np.float64)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write weights (safetensors, no pickle) with config, normaliser and version as JSON
        metadata in the same file."""
        from safetensors.torch import save_file

        self._check_fitted()
        path = Path(path)
        if path.suffix != ".safetensors":
            path = path.with_suffix(".safetensors")
        path.parent.mkdir(parents=True, exist_ok=True)
        meta = {
            "format": MODEL_FORMAT,
            "swav_ts_version": swav_ts.__version__,
            "config": json.dumps(to_dict(self.config_)),
            "params": json.dumps(_jsonable_params(self.get_params(deep=False))),
            "normalizer": json.dumps(
                None if self.normalizer_ is None else self.normalizer_.state_dict()
            ),
            "n_channels": str(self.n_channels_),
            "min_length": str(self.min_length_),
            "history": json.dumps(self.history_),
        }
        state = {k: v.detach().cpu().contiguous() for k, v in self.model_.state_dict().items()}
        tmp = path.with_name(f".{path.name}.tmp")
        save_file(state, str(tmp), metadata=meta)
        tmp.replace(path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> TimeSeriesSwAV:
        """Load a model written by :meth:`save` (no unpickling)."""
        from safetensors import SafetensorError, safe_open

        path = Path(path)
        if not path.exists() and path.with_suffix(".safetensors").exists():
            path = path.with_suffix(".safetensors")
        if not path.is_file():
            raise FileNotFoundError(f"no saved TimeSeriesSwAV model at {path}")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata() or {}
                state = {k: f.get_tensor(k) for k in f.keys()}
        except (SafetensorError, OSError, ValueError) as exc:
            raise ValueError(
                f"{path} is not a TimeSeriesSwAV model file (safetensors could not read it: {exc})"
            ) from None
        if meta.get("format") != MODEL_FORMAT:
            raise ValueError(
                f"{path} holds format {meta.get('format')!r}, expected {MODEL_FORMAT!r}"
            )
        saved_version = meta.get("swav_ts_version", "?")
        if saved_version.split(".")[:2] != swav_ts.__version__.split(".")[:2]:
            raise ValueError(
                f"{path} was written by swav_ts {saved_version}; this is "
                f"{swav_ts.__version__}, whose model format may differ"
            )
        params = json.loads(meta["params"])
        est = cls(**params)
        cfg = from_dict(TimeSeriesConfig, json.loads(meta["config"]))
        n_channels = int(meta["n_channels"])
        model = build_model(cfg, n_channels)
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
        est.n_channels_ = n_channels
        est.min_length_ = int(meta["min_length"])
        norm = json.loads(meta["normalizer"])
        est.normalizer_ = None if norm is None else ChannelNormalizer.from_state_dict(norm)
        est.history_ = json.loads(meta.get("history", "[]"))
        est.n_features_out_ = int(model.num_features)
        return est

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.input_tags.two_d_array = False
        tags.non_deterministic = self.random_state is None
        return tags


def _deep_merge(base: dict, update: dict) -> dict:
    out = dict(base)
    for k, v in update.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = v
    return out


def _seed_from(random_state: Any) -> int:
    if random_state is None:
        return int(np.random.SeedSequence().entropy % (2**31))
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    if isinstance(random_state, np.random.RandomState):
        return int(random_state.randint(0, 2**31 - 1))
    raise ValueError(f"random_state must be None, an int or a RandomState; got {random_state!r}")


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
