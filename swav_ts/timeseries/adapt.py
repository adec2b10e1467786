"""Fit a time-series config to the data it will train on: one pure function, one set of rules.

The same rules run for the Python API and the command line (``swav-ts pretrain``), once per
run, and every change is logged in one line naming the key, the old and the new value:

1. **Window data** (arrays, ``.ts`` files: each case is one context): ``data.context_length``
   and ``data.stride`` become the case length; crops are cut to the cases (global views to
   at most ``small_data.global_fraction`` of the case length, 0.8, local views to at most
   ``small_data.local_fraction``, 0.375; at least 2 steps).
2. **Cannot work as given**: ``train.batch_size`` above the number of contexts is lowered to
   it; ``swav.n_prototypes`` above the samples Sinkhorn assigns at once (batch x processes +
   queue) is lowered to that pool; an encoder's input ``stride`` (``encoder.kwargs.stride``,
   the strided TCN) above half the shortest view is lowered to it; local views shorter than
   the encoder's shortest input (cnn3: 8 steps) are lengthened to it (global views that short
   are an error naming an encoder that fits).
3. **Small data, defaults only** (thresholds in ``config.small_data``,
   :class:`~swav_ts.timeseries.config.SmallDataConfig`): when the user did not choose them
   (``explicit``), the batch becomes ``batch_fraction`` of the contexts (at least
   ``min_batch``, at most the default), the epochs give at least ``min_steps`` optimisation
   steps, the prototypes fit the pool, and an encoder ``stride`` leaves at least
   ``min_positions`` positions in the shortest view (short series are not summarised away).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from collections.abc import Collection

from swav_ts.core.config import from_dict, to_dict
from swav_ts.timeseries.config import TimeSeriesConfig

__all__ = ["adapt_to_data", "explicit_keys"]

logger = logging.getLogger(__name__)


def explicit_keys(data: dict, prefix: str = "") -> set[str]:
    """Dotted keys present in a (nested) config mapping, e.g. from a YAML file."""
    keys = set()
    for k, v in data.items():
        dotted = f"{prefix}.{k}" if prefix else str(k)
        if isinstance(v, dict) and k != "kwargs":
            keys |= explicit_keys(v, dotted)
        else:
            keys.add(dotted)
    return keys


def _get(d: dict, key: str):
    for part in key.split("."):
        d = d[part]
    return d


def _set(d: dict, key: str, value) -> None:
    parts = key.split(".")
    for part in parts[:-1]:
        d = d[part]
    d[parts[-1]] = value


def adapt_to_data(
    config: TimeSeriesConfig,
    n_contexts: int,
    context_length: int | None = None,
    explicit: Collection[str] = (),
    world_size: int = 1,
) -> tuple[TimeSeriesConfig, list[str]]:
    """Return ``config`` fitted to the data, and one message per change.

    Parameters
    ----------
    config : TimeSeriesConfig
        The requested configuration (not modified).
    n_contexts : int
        Training contexts (windows) the data gives.
    context_length : int, optional
        Length of window data (each case one context); None for continuous recordings.
    explicit : collection of str
        Dotted keys the user set (YAML keys, ``--set`` overrides, estimator parameters): rule 3
        never touches them.
    world_size : int
        Processes sharing a step (the assignment pool grows with it).

    Returns
    -------
    config : TimeSeriesConfig
    changes : list of str
        ``"key: old -> new (why)"``.

    Raises
    ------
    ValueError
        Fewer than 2 contexts.
    """
    if n_contexts < 2:
        raise ValueError(
            f"pretraining needs at least 2 cases (contexts), the data gives {n_contexts}"
        )
    data = to_dict(config)
    rules = config.small_data  # the thresholds of the small-data rules (3.)
    changes: list[str] = []
    explicit = set(explicit)

    def change(key: str, value, why: str) -> None:
        old = _get(data, key)
        if old != value:
            _set(data, key, value)
            changes.append(f"{key}: {old} -> {value} ({why})")

    # ---------------- 1. window data: each case is one context
    if context_length is not None:
        change("data.context_length", int(context_length), "window data: one context per case")
        change("data.stride", int(context_length), "window data: one context per case")
        global_max = max(2, int(rules.global_fraction * context_length))
        if data["crops"]["global_length"] > global_max:
            why = f"at most {rules.global_fraction:g} of the {context_length}-step cases"
            change("crops.global_length", global_max, why)
        local_max = max(2, int(rules.local_fraction * context_length))
        if data["crops"]["local_length"] > local_max:
            why = f"at most {rules.local_fraction:g} of the {context_length}-step cases"
            change("crops.local_length", local_max, why)
    # ---------------- 2 and 3: a strided input convolution must fit the shortest view
    crops = data["crops"]
    shortest = crops["local_length"] if crops["n_local"] > 0 else crops["global_length"]
    stride = _input_stride(data["encoder"])  # given or the encoder's default
    if stride > 1:
        cap, why = max(1, shortest // 2), f"the {shortest}-step views need 2 x stride steps"
        if "encoder.kwargs" not in explicit:
            cap = max(1, min(cap, shortest // rules.min_positions))
            why = f"at least {rules.min_positions} positions in the {shortest}-step views"
        if stride > cap:
            change("encoder.kwargs", {**data["encoder"]["kwargs"], "stride": cap}, why)
    # ---------------- 2. every view at least as long as the encoder's shortest input
    min_length = int(_built_encoder(data["encoder"]).min_length)
    context = int(data["data"]["context_length"])  # the case length for window data
    if context < min_length:
        raise ValueError(
            f"the encoder {data['encoder']['name']!r} needs at least {min_length} time points; "
            f"the contexts are {context} long (the series or data.context_length is too "
            "short): choose an encoder for short series, e.g. encoder.name=tcn"
        )
    if crops["global_length"] < min_length:  # a fraction of a short case (rule 1)
        change("crops.global_length", min_length, f"the encoder needs {min_length} time points")
    if crops["n_local"] > 0 and crops["local_length"] < min_length:
        change("crops.local_length", min_length, f"the encoder needs {min_length} time points")
    # ---------------- 3. small data, defaults only (before 2, which caps what it sets)
    train = data["train"]
    if "train.batch_size" not in explicit:
        small = min(
            train["batch_size"], max(rules.min_batch, int(n_contexts * rules.batch_fraction))
        )
        if small < train["batch_size"]:
            change("train.batch_size", small, f"default batch on {n_contexts} contexts")
    # ---------------- 2. what cannot work as given
    if train["batch_size"] * world_size > n_contexts:
        change(
            "train.batch_size",
            max(2, n_contexts // world_size),
            f"only {n_contexts} contexts for {world_size} process(es)",
        )
    if "train.epochs" not in explicit:
        steps = max(1, n_contexts // (train["batch_size"] * world_size))
        epochs = max(train["epochs"], math.ceil(rules.min_steps / steps))
        if epochs != train["epochs"]:
            change("train.epochs", epochs, f"at least {rules.min_steps} steps on small data")
    pool = train["batch_size"] * world_size + int(data["swav"]["queue_length"])
    k = data["swav"]["n_prototypes"]
    if isinstance(k, int) and k > pool:
        change("swav.n_prototypes", pool, f"at most the {pool} samples assigned at once")
    elif isinstance(k, list) and max(k) > pool:
        change("swav.n_prototypes", [min(v, pool) for v in k], f"at most the pool of {pool}")
    adapted = from_dict(TimeSeriesConfig, data)
    return adapted, changes


def _input_stride(encoder: dict) -> int:
    """The stride of the encoder's input convolution; 1 for encoders without a ``stride``
    argument (their pooling is fixed by their architecture and covered by ``min_length``)."""
    from swav_ts.timeseries.encoders import encoder_arguments

    if "stride" not in encoder_arguments(encoder["name"]):
        return 1
    return int(_built_encoder(encoder).time_stride)


def _built_encoder(encoder: dict):
    """The configured encoder, built on one channel to ask its input stride and minimum."""
    from swav_ts.timeseries.encoders import create_encoder

    return create_encoder(encoder["name"], 1, **encoder["kwargs"])


def log_changes(changes: list[str]) -> None:
    """One log line for all changes of :func:`adapt_to_data`."""
    if changes:
        logger.warning("settings fitted to the data: %s", "; ".join(changes))


def replace_section(config: TimeSeriesConfig, section: str, **values) -> TimeSeriesConfig:
    """A copy of ``config`` with keys of one section replaced (validated)."""
    sub = dataclasses.replace(getattr(config, section), **values)
    return dataclasses.replace(config, **{section: sub})
