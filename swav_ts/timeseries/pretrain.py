"""Time-series pretraining: the one path from a data source to a trained SwAV model.

``pretrain(config, source, run_dir)`` is called by ``TimeSeriesSwAV.fit``, ``swav-ts pretrain``,
``swav-ts demo`` and every benchmark::

    source --resolve_source--> recordings (lazily, one file at a time)
           --RecordingCache.write--> run_dir/cache (on disk) + channel statistics
           --ContextDataset--> contexts (C, context_length), read back one at a time
    config --adapt_to_data--> the resolved config (logged once)
    run_dir/request.json: the requested config + data fingerprint, checked before any work
    build_model(config, channels, statistics): standardisation + encoder + SwAV heads
    core.trainer.train(model, contexts, make_views=ContextViews): crops + augmentations
        in sensor units, then the SwAV step
"""

from __future__ import annotations

import dataclasses
import json
import logging
import shutil
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import Subset

from swav_ts.core import distributed as dist_utils
from swav_ts.core.config import ConfigError, changed_keys, from_dict, read_yaml, to_dict
from swav_ts.core.distributed import get_world_size
from swav_ts.core.model import SwAVModel
from swav_ts.core.trainer import train
from swav_ts.data.cache import RecordingCache
from swav_ts.data.contract import InputContract
from swav_ts.data.hapt import HAPT_UNITS
from swav_ts.data.mixture import SOURCE_OPTIONS, MixedSource, as_parts, mixed_indices
from swav_ts.data.normalize import ChannelStats
from swav_ts.data.sources import RecordingSource, resolve_source
from swav_ts.data.torch_datasets import ContextDataset
from swav_ts.data.units import CANONICAL_UNITS, conform_units, in_canonical_units, sensor_kind
from swav_ts.timeseries.adapt import adapt_to_data, explicit_keys, log_changes
from swav_ts.timeseries.config import TimeSeriesConfig, TSDataConfig
from swav_ts.timeseries.model import build_model
from swav_ts.timeseries.views import ViewMaker

__all__ = ["ContextViews", "PretrainResult", "RunFolderError", "as_config", "pretrain"]

logger = logging.getLogger(__name__)

REQUEST_FILE = "request.json"


class RunFolderError(ConfigError):
    """The run folder holds another run (a different config or data)."""


@dataclass
class PretrainResult:
    """What :func:`pretrain` returns.

    Attributes
    ----------
    model : SwAVModel
        On CPU, in eval mode; its backbone takes windows in sensor units.
    config : TimeSeriesConfig
        The resolved configuration the model was trained with.
    channel_names : list of str
    rate_hz : float or None
        Sampling rate of the recordings (None for unnamed array data without a rate).
    contract : InputContract
        What the model's input must be (channels, rate, window length, plausible range);
        saved with the model and checked wherever data comes in.
    stats : ChannelStats
        The training data's channel statistics (also inside the model).
    history : list of dict
        One row per epoch.
    n_contexts : int
    changes : list of str
        How the config was fitted to the data.
    run_dir : Path
    """

    model: SwAVModel
    config: TimeSeriesConfig
    channel_names: list[str]
    rate_hz: float | None
    stats: ChannelStats
    history: list[dict[str, Any]]
    n_contexts: int
    contract: InputContract
    changes: list[str] = field(default_factory=list)
    run_dir: Path | None = None
    iterations: int = 0
    wall_time_s: float = 0.0
    source: str = ""


class ContextViews:
    """``make_views`` for the trainer: a batch of contexts (sensor units) -> augmented views."""

    def __init__(self, cfg: TimeSeriesConfig, channel_names: list[str], stats: ChannelStats):
        self.view_maker = ViewMaker(
            cfg.crops,
            cfg.augment,
            engine="torch",
            channel_names=channel_names,
            center=stats.mean.tolist(),
            scale=stats.std.tolist(),
        )

    def __call__(self, batch, generator: torch.Generator, device: torch.device):
        x = batch[0] if isinstance(batch, (list, tuple)) else batch
        x = x.to(device, non_blocking=True)  # (B, C, T_ctx)
        return self.view_maker(x, generator)


def as_config(config: TimeSeriesConfig | dict | str | Path | None) -> tuple[TimeSeriesConfig, set]:
    """A config and the dotted keys its user set (everything that differs from the defaults
    for a dataclass; the keys present for a mapping or YAML file)."""
    if config is None:
        return TimeSeriesConfig(), set()
    if isinstance(config, TimeSeriesConfig):
        given = _flat(to_dict(config))
        default = _flat(to_dict(TimeSeriesConfig()))
        return config, {k for k, v in given.items() if default.get(k) != v}
    if isinstance(config, (str, Path)):
        config = read_yaml(config)
    if isinstance(config, dict):
        return from_dict(TimeSeriesConfig, config), explicit_keys(config)
    raise TypeError(f"config must be a TimeSeriesConfig, dict, path or None; got {type(config)}")


def _flat(d: dict, prefix: str = "") -> dict:
    out = {}
    for k, v in d.items():
        key = f"{prefix}.{k}" if prefix else k
        if isinstance(v, dict) and k != "kwargs":
            out.update(_flat(v, key))
        else:
            out[key] = v
    return out


def _check_run_folder(run_dir: Path, request: dict, allow_config_change: bool) -> bool:
    """Refuse a run folder that holds another run; True when it holds this one."""
    path = run_dir / REQUEST_FILE
    if not path.is_file():
        if (run_dir / "checkpoint.pt").exists():
            raise RunFolderError(
                f"{run_dir} holds a checkpoint but no {REQUEST_FILE} (a run of another swav_ts "
                "version?); use a new run folder"
            )
        return False
    saved = json.loads(path.read_text())
    diff = changed_keys(saved["config"], request["config"])
    data_changed = saved.get("data") != request["data"]
    if (diff or data_changed) and not allow_config_change:
        parts = diff[:8]
        if len(diff) > 8:
            parts.append(f"and {len(diff) - 8} more")
        if data_changed:
            parts.append(f"data: {saved.get('source')!r} -> {request['source']!r} (or its files)")
        raise RunFolderError(
            f"run folder {run_dir} holds a run with other settings ({'; '.join(parts)}); its "
            "results would not be the ones asked for. Use a new run folder, or allow the change "
            "explicitly (--allow-config-change / allow_config_change=True) to continue it"
        )
    return True


def pretrain(
    config: TimeSeriesConfig | dict | str | Path | None,
    source: Any = None,
    run_dir: str | Path | None = None,
    *,
    resume: bool = True,
    allow_config_change: bool = False,
    explicit: Collection[str] | None = None,
    stop_after_iters: int | None = None,
    phase_hook: Callable[[str], None] | None = None,
) -> PretrainResult:
    """Pretrain a time-series SwAV model.

    Parameters
    ----------
    config : TimeSeriesConfig, dict, YAML path or None
        The requested configuration (None: the defaults).
    source : optional
        Anything :func:`swav_ts.data.sources.resolve_source` accepts (a bundled name, a path
        or glob, a list of Recording, an ``(n, C, T)`` array); default ``config.data.source``.
    run_dir : path, optional
        Run folder (config, metrics, checkpoint, the data cache); default: a temporary folder,
        removed afterwards.
    resume : bool, default True
        Continue from the run folder's checkpoint. Without it, an existing checkpoint is
        replaced.
    allow_config_change : bool, default False
        Continue a run folder whose requested config or data differs (otherwise an error names
        the differing keys before anything is read or written).
    explicit : collection of str, optional
        Dotted keys the user chose (default: derived from ``config``); the small-data rules of
        :func:`~swav_ts.timeseries.adapt.adapt_to_data` leave them alone.
    stop_after_iters : int, optional
        Stop after this many iterations of the whole run (time-boxed runs, tests).
    phase_hook : callable, optional
        Called by the training step as each phase ends (benchmarks time the real step).

    Returns
    -------
    PretrainResult
    """
    requested, given = as_config(config)
    if explicit is None:
        explicit = given
    src = _resolve(requested.data, source, explicit)
    if run_dir is None:
        with tempfile.TemporaryDirectory(prefix="swav_ts_") as tmp:
            return _pretrain(
                requested, explicit, src, Path(tmp), False, True, stop_after_iters, phase_hook
            )
    return _pretrain(
        requested,
        explicit,
        src,
        Path(run_dir),
        resume,
        allow_config_change,
        stop_after_iters,
        phase_hook,
    )


def _resolve(
    data_cfg: TSDataConfig, source: Any, explicit: Collection[str]
) -> RecordingSource | MixedSource:
    """The run's source: ``source`` (a mapping of several: a mixture), else ``data.sources``
    (a mixture), else ``data.source``."""
    if source is None and data_cfg.sources:
        if "data.source" in explicit:
            raise ConfigError("data.source and data.sources are both given: keep one")
        pairs = [  # as pairs, so that MixedSource names a repeated name
            (
                spec.name or f"source{i + 1}",
                {k: getattr(spec, k) for k in ("source", *SOURCE_OPTIONS)},
            )
            for i, spec in enumerate(data_cfg.sources)
        ]
        return _mixture(data_cfg, pairs)
    if isinstance(source, Mapping):
        return _mixture(data_cfg, list(source.items()))
    if data_cfg.weighting != "proportional":
        raise ConfigError(
            f"data.weighting: {data_cfg.weighting!r} weighs several sources; this run has one "
            "(give data.sources, or a mapping of sources to fit)"
        )
    return resolve_source(
        data_cfg.source if source is None else source,
        split=data_cfg.split,
        time_col=data_cfg.time_col,
        time_unit=data_cfg.time_unit,
        rate_hz=data_cfg.rate_hz,
        channels=data_cfg.channels,
    )


def _mixture(data_cfg: TSDataConfig, pairs: list[tuple[str, Any]]) -> MixedSource:
    """Several sources ``(name, source or {"source": ..., options})``, the run's ``data``
    giving the options a source leaves out."""
    defaults = {
        "split": data_cfg.split,
        "time_col": data_cfg.time_col,
        "time_unit": data_cfg.time_unit,
        "units": data_cfg.units,
    }
    parts = as_parts(pairs, resolve_source, defaults)
    return MixedSource(parts, rate_hz=data_cfg.rate_hz, channels=data_cfg.channels)


def _pretrain(
    requested: TimeSeriesConfig,
    explicit: Collection[str],
    src: RecordingSource | MixedSource,
    run_dir: Path,
    resume: bool,
    allow_config_change: bool,
    stop_after_iters: int | None,
    phase_hook: Callable[[str], None] | None,
) -> PretrainResult:
    declared = requested.data.units or (HAPT_UNITS if src.kind == "bundled" else None)
    if src.kind == "mixture":  # every source's declared units (the cache holds them converted)
        declared = {k: v for _, _, units in src.parts for k, v in (units or {}).items()} or None
    fingerprint = src.fingerprint()
    if requested.data.units:  # declared otherwise: converted otherwise, another cache
        fingerprint += ":units=" + json.dumps(requested.data.units, sort_keys=True)
    request = {"config": to_dict(requested), "data": fingerprint, "source": src.description}
    replace = allow_config_change or not resume
    same_run = _check_run_folder(run_dir, request, replace)
    if not resume and (run_dir / "checkpoint.pt").exists():
        logger.warning("starting over in %s (resume is off)", run_dir)

    # ---------------- data: source -> on-disk cache -> contexts
    cache_dir = run_dir / "cache"
    # under torchrun the ranks share the run folder: rank 0 writes the cache, the others wait
    # and open it (or write their own where the folder is not shared, e.g. temporary ones)
    dist_utils.init_from_env(timeout_s=requested.train.dist_timeout_s)
    cache = None
    if dist_utils.is_main_process():
        cache = _cached_recordings(src, declared, cache_dir, fingerprint)
    dist_utils.barrier()
    if cache is None:
        cache = _cached_recordings(src, declared, cache_dir, fingerprint)
    if src.report is not None:
        logger.info("read %s", src.report.summary())
    for line in cache.stats.report():
        logger.warning("%s", line)
    windows = src.kind in ("array", "ts") or (src.kind == "memory" and not src.named_channels)
    context_length = min(r.n_samples for r in cache.recordings) if windows else None
    n_est = _count_contexts(
        cache,
        context_length or requested.data.context_length,
        context_length or requested.data.stride,
    )
    cfg, changes = adapt_to_data(requested, n_est, context_length, explicit, get_world_size())
    log_changes(changes)
    dataset = ContextDataset(cache, cfg.data.context_length, cfg.data.stride)
    logger.info("pretraining data: %s from %s", dataset.plan.summary(), src.description)
    if dataset.plan.short_skipped or dataset.plan.nan_dropped:
        logger.warning("%s", dataset.plan.summary())
    if src.kind == "mixture":
        dataset = _mixed_contexts(dataset, src, cfg.data.weighting, cfg.train.seed)

    # ---------------- model and training
    rates = sorted({r.rate_hz for r in cache.recordings})
    if len(rates) > 1 and not windows:
        raise ValueError(
            f"the recordings have different sampling rates {rates[:6]} Hz; one model needs one "
            "rate: set data.rate_hz for files, or resample in-memory recordings "
            "(swav_ts.data.grid.resample_recording)"
        )
    rate_hz = requested.data.rate_hz if windows else rates[0]  # windows: the rate if given
    torch.manual_seed(cfg.train.seed)  # the initial weights follow the seed
    if cfg.data.normalize:
        model = build_model(cfg, cache.n_channels, cache.stats.mean, cache.stats.std)
    else:  # the model takes the signals as they are (e.g. data standardised upstream)
        model = build_model(cfg, cache.n_channels)
    run_dir.mkdir(parents=True, exist_ok=True)
    if (not same_run or replace) and dist_utils.is_main_process():
        (run_dir / REQUEST_FILE).write_text(json.dumps(request, indent=1))
    result = train(
        model,
        dataset,
        cfg,
        run_dir,
        make_views=ContextViews(cfg, cache.channel_names, cache.stats),
        resume=resume,
        stop_after_iters=stop_after_iters,
        phase_hook=phase_hook,
    )
    contract = InputContract(
        channel_names=list(cache.channel_names),
        named=src.named_channels,
        rate_hz=rate_hz,
        window_length=cfg.crops.global_length,
        min_length=int(model.backbone.min_length),
        low=None if cache.stats.low is None else cache.stats.low.tolist(),
        high=None if cache.stats.high is None else cache.stats.high.tolist(),
        units=_known_units(cache, declared) if src.named_channels else None,
    )
    if any(r.absent for r in cache.recordings):  # trained with absent sensors: embeds them
        contract = dataclasses.replace(contract, fill_values=cache.stats.mean.tolist())
    return PretrainResult(
        model=model.cpu().eval(),
        contract=contract,
        config=cfg,
        channel_names=list(cache.channel_names),
        rate_hz=rate_hz,
        stats=cache.stats,
        history=result.history,
        n_contexts=len(dataset),
        changes=changes,
        run_dir=run_dir,
        iterations=result.iterations,
        wall_time_s=result.wall_time_s,
        source=src.description,
    )


def _mixed_contexts(dataset: ContextDataset, src: MixedSource, weighting: str, seed: int) -> Subset:
    """An epoch of ``dataset``'s contexts drawn across the sources by ``weighting``, each
    source's count said in one line; a source that gives no context is an error."""
    of_recording = np.array([src.source_of(r.recording_id) for r in dataset.cache.recordings])
    groups = of_recording[dataset.plan.recording]  # (N,) the source of every context
    given = set(groups.tolist())
    empty = [name for name, _, _ in src.parts if name not in given]
    if empty:
        raise ValueError(
            f"source(s) {empty} give no context of {dataset.context_length} samples "
            f"({dataset.plan.summary()}); lower data.context_length or leave them out"
        )
    indices, counts = mixed_indices(groups, weighting, seed)
    logger.info(
        "sources (%s weighting), contexts held -> per epoch: %s",
        weighting,
        ", ".join(f"{g} {c['held']} -> {c['drawn']}" for g, c in counts.items()),
    )
    return Subset(dataset, indices.tolist())


def _cached_recordings(
    src: RecordingSource, declared: dict | None, cache_dir: Path, fingerprint: str
) -> RecordingCache:
    """The source's recordings in the run folder's cache: reused when it holds this data
    (same fingerprint), written otherwise (named sensors in g and rad/s, ``data.units``)."""
    cache = RecordingCache.open_if_fresh(cache_dir, fingerprint)
    if cache is not None:
        return cache
    shutil.rmtree(cache_dir, ignore_errors=True)
    recordings = src.recordings()
    if src.named_channels and src.kind != "mixture":  # a mixture converts per source
        recordings = in_canonical_units(recordings, declared)
    return RecordingCache.write(recordings, cache_dir, fingerprint=fingerprint)


def _known_units(cache: RecordingCache, declared: dict | None) -> dict[str, str] | None:
    """Units of the cached (converted) channels: canonical for every recognised sensor that was
    declared or whose unit the data shows."""
    names = list(cache.channel_names)
    sample = np.concatenate(  # (C, T): the first samples of the first recordings
        [cache.read(k, 0, min(r.n_samples, 20_000)) for k, r in enumerate(cache.recordings[:8])],
        axis=1,
    )
    known = {}
    for name in names:
        kind = sensor_kind(name)
        if kind is None:
            continue
        if declared and (name in declared or kind in declared):
            known[name] = CANONICAL_UNITS[kind]
    _, detected, _ = conform_units(sample, names)  # on converted data: canonical where known
    return {**detected, **known} or None


def _count_contexts(cache: RecordingCache, length: int, stride: int) -> int:
    from swav_ts.data.windows import plan_windows

    plan = plan_windows(
        [r.n_samples for r in cache.recordings],
        length,
        stride,
        nan_samples=[r.nan_mask() for r in cache.recordings],
        log=False,
    )
    return len(plan)
