"""Configuration: dataclasses hold every default once; YAML files mirror them.

``from_dict`` builds a (nested) dataclass from plain data, rejecting unknown keys (with the
closest valid name), wrong types and out-of-range values, naming the dotted key. Command-line
overrides (``optim.base_lr=0.3``) are applied to the plain data before it is checked.
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar, Union

import yaml

T = TypeVar("T")


class ConfigError(ValueError):
    """A configuration value or key is invalid; the message names the dotted key."""


# ---------------------------------------------------------------------------------------------
# Core sections (modality sections live with their modality and compose these)
# ---------------------------------------------------------------------------------------------
def _require(cond: bool, key: str, msg: str) -> None:
    if not cond:
        raise ConfigError(f"{key}: {msg}")


@dataclass
class SwAVConfig:
    """SwAV method settings (defaults: the original's ImageNet recipe).

    ``dense_prototypes`` > 0 adds the dense swapped prediction (an extension, off in the
    original): positions of the first two crops that show the same moment (time series) are
    assigned codes by Sinkhorn over all positions of the batch and predict each other's codes,
    weighted by ``dense_weight`` beside the crop-level loss (see ``docs/fidelity.md``).
    """

    n_prototypes: int | list[int] = 3000
    feat_dim: int = 128
    hidden_mlp: int = 2048
    temperature: float = 0.1
    epsilon: float = 0.05
    sinkhorn_iters: int = 3
    crops_for_assign: list[int] = field(default_factory=lambda: [0, 1])
    freeze_prototypes_iters: int = 313
    queue_length: int = 0
    queue_start_epoch: int = 15
    dense_prototypes: int = 0
    dense_weight: float = 1.0

    def __post_init__(self) -> None:
        sizes = [self.n_prototypes] if isinstance(self.n_prototypes, int) else self.n_prototypes
        _require(len(sizes) > 0 and all(k >= 1 for k in sizes), "n_prototypes", "must be >= 1")
        _require(self.feat_dim >= 1, "feat_dim", f"must be >= 1, got {self.feat_dim}")
        _require(self.hidden_mlp >= 0, "hidden_mlp", f"must be >= 0, got {self.hidden_mlp}")
        _require(self.temperature > 0, "temperature", f"must be > 0, got {self.temperature}")
        _require(self.epsilon > 0, "epsilon", f"must be > 0, got {self.epsilon}")
        _require(
            self.sinkhorn_iters >= 1, "sinkhorn_iters", f"must be >= 1, got {self.sinkhorn_iters}"
        )
        _require(len(self.crops_for_assign) >= 1, "crops_for_assign", "must name at least one crop")
        _require(
            len(set(self.crops_for_assign)) == len(self.crops_for_assign)
            and min(self.crops_for_assign) >= 0,
            "crops_for_assign",
            f"must be distinct non-negative crop indices, got {self.crops_for_assign}",
        )
        _require(self.freeze_prototypes_iters >= 0, "freeze_prototypes_iters", "must be >= 0")
        _require(self.queue_length >= 0, "queue_length", f"must be >= 0, got {self.queue_length}")
        _require(self.queue_start_epoch >= 0, "queue_start_epoch", "must be >= 0")
        _require(self.dense_prototypes >= 0, "dense_prototypes", "must be >= 0 (0: off)")
        _require(self.dense_weight >= 0, "dense_weight", f"must be >= 0, got {self.dense_weight}")


@dataclass
class OptimConfig:
    """Optimizer and per-iteration learning-rate schedule (warmup, then cosine)."""

    name: Literal["lars", "sgd", "adamw"] = "lars"
    base_lr: float = 4.8
    final_lr: float = 0.0048
    warmup_epochs: float = 10.0
    start_warmup_lr: float = 0.3
    weight_decay: float = 1e-6
    momentum: float = 0.9
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    lars_trust_coefficient: float = 0.001
    lars_exclude_bias_bn: bool = False

    def __post_init__(self) -> None:
        _require(self.base_lr > 0, "base_lr", f"must be > 0, got {self.base_lr}")
        _require(self.final_lr >= 0, "final_lr", f"must be >= 0, got {self.final_lr}")
        _require(self.warmup_epochs >= 0, "warmup_epochs", "must be >= 0")
        _require(self.start_warmup_lr >= 0, "start_warmup_lr", "must be >= 0")
        _require(self.weight_decay >= 0, "weight_decay", "must be >= 0")
        _require(0 <= self.momentum < 1, "momentum", f"must be in [0, 1), got {self.momentum}")
        _require(
            len(self.betas) == 2 and all(0 <= b < 1 for b in self.betas),
            "betas",
            f"must be two values in [0, 1), got {self.betas}",
        )
        _require(self.lars_trust_coefficient > 0, "lars_trust_coefficient", "must be > 0")


@dataclass
class TrainConfig:
    """Training-loop settings shared by every modality."""

    epochs: int = 100
    batch_size: int = 64
    seed: int = 31
    device: str = "auto"
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    num_workers: int = 0
    sync_bn: bool = False
    checkpoint_every_iters: int = 0
    log_every_iters: int = 20
    collapse_patience_iters: int = 200
    collapse_loss_tolerance: float = 0.02
    collapse_max_share: float = 0.9
    progress: bool = True
    metrics_format: Literal["jsonl", "csv"] = "jsonl"
    dist_timeout_s: float = 300.0
    compile: bool = False

    def __post_init__(self) -> None:
        _require(self.epochs >= 1, "epochs", f"must be >= 1, got {self.epochs}")
        _require(self.batch_size >= 2, "batch_size", f"must be >= 2, got {self.batch_size}")
        _require(self.num_workers >= 0, "num_workers", "must be >= 0")
        _require(self.checkpoint_every_iters >= 0, "checkpoint_every_iters", "must be >= 0")
        _require(self.log_every_iters >= 1, "log_every_iters", "must be >= 1")
        _require(self.collapse_patience_iters >= 1, "collapse_patience_iters", "must be >= 1")
        _require(0 < self.collapse_max_share <= 1, "collapse_max_share", "must be in (0, 1]")
        _require(self.dist_timeout_s > 0, "dist_timeout_s", "must be > 0")
        _require(
            self.device == "auto" or self.device.split(":")[0] in ("cpu", "cuda", "mps"),
            "device",
            f"must be auto, cpu, cuda[:N] or mps, got {self.device!r}",
        )


# ---------------------------------------------------------------------------------------------
# Generic machinery
# ---------------------------------------------------------------------------------------------
def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _convert(value: Any, tp: Any, key: str) -> Any:
    """Check ``value`` against the annotation ``tp`` and convert (list -> tuple, int -> float)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if tp is Any:
        return value
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping for section {tp.__name__}, got {value!r}")
        return from_dict(tp, value, prefix=key)
    if origin in (Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _convert(value, arg, key)
            except ConfigError as exc:
                errors.append(str(exc))
        raise ConfigError(f"{key}: {value!r} matches none of {_type_name(tp)}")
    if origin is Literal:
        if value not in args:
            close = difflib.get_close_matches(str(value), [str(a) for a in args], n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{key}: {value!r} is not one of {list(args)}{hint}")
        return value
    if origin in (list, tuple, Sequence) or tp in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        if origin is tuple and args and args[-1] is not Ellipsis:
            if len(args) != len(value):
                raise ConfigError(f"{key}: expected {len(args)} values, got {len(value)}")
            return tuple(_convert(v, a, f"{key}[{i}]") for i, (v, a) in enumerate(zip(value, args)))
        item_tp = args[0] if args else Any
        items = [_convert(v, item_tp, f"{key}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return dict(value)
    if tp in _SCALARS:
        accepts, what = _SCALARS[tp]
        if not accepts(value):
            raise ConfigError(f"{key}: expected {what}, got {value!r}")
        return float(value) if tp is float else value
    raise ConfigError(f"{key}: unsupported annotation {_type_name(tp)}")


# annotation -> (does a YAML value fit it, how to name it in an error)
_SCALARS: dict[type, tuple[Any, str]] = {
    bool: (lambda v: isinstance(v, bool), "true/false"),
    int: (lambda v: isinstance(v, int) and not isinstance(v, bool), "an integer"),
    float: (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool), "a number"),
    str: (lambda v: isinstance(v, str), "a string"),
}


def from_dict(cls: type[T], data: dict[str, Any], prefix: str = "", base: Any = None) -> T:
    """Build dataclass ``cls`` from plain data, strictly.

    Keys absent from ``data`` keep the value of ``base`` (default ``cls()``), and a nested
    section given as a mapping is merged over that section of ``base``: a partial YAML file
    or a ``--set`` override changes only the keys it names, never the defaults that a
    modality config gives its sections.

    Raises
    ------
    ConfigError
        For an unknown key (naming the closest valid one), a wrong type or an out-of-range
        value; the message starts with the dotted key.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or '<root>'}: expected a mapping, got {type(data).__name__}")
    if base is None:
        base = cls()
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    kwargs = {name: copy.deepcopy(getattr(base, name)) for name in names}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else str(key)
        if key not in names:
            close = (
                difflib.get_close_matches(str(key), names, n=1, cutoff=0.5)
                or [n for n in names if str(key) in n][:1]
            )
            hint = (
                f"; did you mean {(prefix + '.' if prefix else '') + close[0]!r}?" if close else ""
            )
            raise ConfigError(f"unknown config key {dotted!r}{hint} (valid: {', '.join(names)})")
        section = getattr(base, key)
        if dataclasses.is_dataclass(hints[key]) and dataclasses.is_dataclass(section):
            if not isinstance(value, dict):
                raise ConfigError(
                    f"{dotted}: expected a mapping for section {hints[key].__name__}, got {value!r}"
                )
            kwargs[key] = from_dict(hints[key], value, prefix=dotted, base=section)
        else:
            kwargs[key] = _convert(value, hints[key], dotted)
    try:
        return cls(**kwargs)
    except ConfigError as exc:
        if prefix and not str(exc).startswith(prefix):
            raise ConfigError(f"{prefix}.{exc}") from None
        raise
    except (ValueError, TypeError) as exc:  # validation of sections defined elsewhere
        raise ConfigError(f"{prefix or cls.__name__}: {exc}") from None


def to_dict(cfg: Any) -> dict[str, Any]:
    """Plain, JSON/YAML-serialisable data of a (nested) config dataclass."""

    def plain(v: Any) -> Any:
        if dataclasses.is_dataclass(v):
            return {f.name: plain(getattr(v, f.name)) for f in dataclasses.fields(v)}
        if isinstance(v, (list, tuple)):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {k: plain(x) for k, x in v.items()}
        return v

    return plain(cfg)


def parse_override(text: str) -> tuple[list[str], Any]:
    """``"optim.base_lr=0.3"`` -> (["optim", "base_lr"], 0.3); values parsed as YAML scalars."""
    if "=" not in text:
        raise ConfigError(f"override {text!r} must look like section.key=value")
    key, raw = text.split("=", 1)
    parts = [p for p in key.strip().split(".") if p]
    if not parts:
        raise ConfigError(f"override {text!r} names no key")
    if not raw.strip():
        return parts, ""
    try:
        return parts, yaml.safe_load(raw)
    except yaml.YAMLError as exc:
        msg = str(exc).splitlines()[0]
        raise ConfigError(f"override {text!r}: value is not valid YAML ({msg})") from None


def apply_overrides(data: dict[str, Any], overrides: Sequence[str]) -> dict[str, Any]:
    """Return a copy of ``data`` with ``key.sub=value`` overrides applied (keys checked later)."""
    out = json.loads(json.dumps(data))
    for text in overrides:
        parts, value = parse_override(text)
        node = out
        for p in parts[:-1]:
            nxt = node.setdefault(p, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"override {text!r}: {p!r} is a value, not a section")
            node = nxt
        node[parts[-1]] = value
    return out


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML mapping with ``yaml.safe_load`` (no object construction)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file {path} is not UTF-8 text: {exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping at top level")
    return data


def load_config(cls: type[T], path: str | Path | None = None, overrides: Sequence[str] = ()) -> T:
    """Load ``cls`` from a YAML file (or defaults) plus overrides, validating everything."""
    data = read_yaml(path) if path is not None else {}
    data = apply_overrides(data, overrides)
    try:
        return from_dict(cls, data)
    except ConfigError as exc:
        where = f" in {path}" if path is not None else ""
        raise ConfigError(f"{exc}{where}") from None


def changed_keys(old: dict, new: dict, prefix: str = "") -> list[str]:
    """Dotted keys whose values differ between two nested config mappings."""
    out = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        dotted = f"{prefix}{key}"
        if isinstance(a, dict) and isinstance(b, dict) and key != "kwargs":
            out += changed_keys(a, b, dotted + ".")
        elif a != b:
            out.append(f"{dotted}: {a!r} -> {b!r}")
    return out


def save_config(cfg: Any, path: str | Path) -> None:
    """Write the resolved config as YAML."""
    Path(path).write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")


@dataclass
class RunConfig:
    """The sections every SwAV run has; modality configs add their own sections beside these."""

    swav: SwAVConfig = field(default_factory=SwAVConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
