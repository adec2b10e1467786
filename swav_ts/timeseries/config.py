"""Configuration of a time-series SwAV run: the core sections plus data, encoder, crops and
augmentations. ``configs/timeseries/*.yaml`` mirror these dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from swav_ts.core.config import ConfigError, OptimConfig, RunConfig, SwAVConfig, TrainConfig
from swav_ts.timeseries.augment.config import AugmentConfig
from swav_ts.timeseries.crops import MultiCropConfig


@dataclass
class SourceSpec:
    """One source of a run over several (``data.sources``; :mod:`swav_ts.data.mixture`).

    ``source`` (required) is what ``data.source`` takes; ``name`` prefixes its recording ids
    (default ``source<i>``, counted from 1). The other keys are the source's own reading
    options and units; each one left out takes ``data``'s value (``rate_hz``: the rate its
    files are put on, or the rate of its windows; the run's rate is ``data.rate_hz``).
    """

    source: str = ""
    name: str | None = None
    split: Literal["train", "test", "all"] | None = None
    time_col: str | None = None
    time_unit: str | None = None
    rate_hz: float | None = None
    channels: list[str] | None = None
    units: dict[str, str] | None = None


@dataclass
class TSDataConfig:
    """Where pretraining data comes from and how it is cut into contexts.

    ``source`` is ``"hapt"`` (the shipped HAPT recordings), a ``.npy``/``.npz`` array
    ``(n_cases, n_channels, n_timepoints)``, a UEA/UCR ``.ts`` file, or a CSV/Parquet file or
    glob of recordings (see :mod:`swav_ts.data.sources`). ``channels`` selects and orders the
    signal columns (leave out time and label columns). ``normalize``: the model's first layer
    standardises each channel with the training statistics (false: the model takes the
    signals as they are; the augmentations still use the statistics for their scales).
    ``units``: the units of named accelerometer / gyroscope channels, by sensor kind
    (``{"acc": "m/s^2", "gyro": "deg/s"}``) or by channel; undeclared ones are detected where
    the data allows, and both are converted to g and rad/s (:mod:`swav_ts.data.units`).

    ``sources``: several sources instead of ``source`` (:class:`SourceSpec` each; different
    channel sets, rates and units). The run's channels are the union of theirs (or
    ``channels``), its rate ``rate_hz`` (default: the first source's); ``units`` is the
    default of every source. ``weighting`` is each source's share of an epoch's contexts:
    ``"proportional"`` to the contexts it holds (every context once), to their square root
    (``"sqrt"``: small sources are drawn more often, large ones less) or ``"equal"``.
    """

    source: str = "hapt"
    split: Literal["train", "test", "all"] = "train"
    context_length: int = 256
    stride: int = 64
    normalize: bool = True
    time_col: str = "timestamp"
    time_unit: str = "ms"
    rate_hz: float | None = None
    channels: list[str] | None = None
    units: dict[str, str] | None = None
    sources: list[SourceSpec] | None = None
    weighting: Literal["proportional", "sqrt", "equal"] = "proportional"

    def __post_init__(self) -> None:
        for i, spec in enumerate(self.sources or []):
            if not spec.source:
                raise ConfigError(f"sources[{i}].source: required (a bundled name, path or glob)")
        if self.sources is not None and not self.sources:
            raise ConfigError("sources: an empty list (leave it out for one data.source)")
        if self.context_length < 2:
            raise ConfigError(f"context_length: must be >= 2, got {self.context_length}")
        if self.stride < 1:
            raise ConfigError(f"stride: must be >= 1, got {self.stride}")


@dataclass
class EncoderConfig:
    """An encoder from the registry (:func:`swav_ts.timeseries.encoders.list_encoders`)."""

    name: str = "fast_tcn"  # chosen on the development panel (docs/results.md)
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class SmallDataConfig:
    """The rules that fit *default* settings to small data sets
    (:func:`swav_ts.timeseries.adapt.adapt_to_data`; a setting the user chose is kept).

    ``batch_fraction``: the batch becomes this fraction of the contexts (at least ``min_batch``,
    at most the default); ``min_steps``: the epochs are raised to give at least this many
    optimisation steps; ``min_positions``: an encoder's input stride leaves at least this many
    positions in the shortest view. For window data (each case one context) the crops are
    cut to the cases: global views to at most ``global_fraction`` of the case length, local
    views to at most ``local_fraction`` of it (at least 2 steps); these two apply to chosen
    crop lengths too, since a view cannot be longer than the case. Chosen on the development
    panel (docs/results.md).
    """

    min_steps: int = 250  # C2 of the development panel (docs/results.md); 500 before
    batch_fraction: float = 0.25
    min_batch: int = 16
    min_positions: int = 8
    global_fraction: float = 0.8  # C4 of the development panel (docs/results.md); 1.0 before
    local_fraction: float = 0.375  # C5 of the development panel (docs/results.md); 0.5 before

    def __post_init__(self) -> None:
        for name in ("min_steps", "min_batch", "min_positions"):
            if getattr(self, name) < 1:
                raise ConfigError(f"small_data.{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("batch_fraction", "global_fraction", "local_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(
                    f"small_data.{name}: must be in (0, 1], got {getattr(self, name)}"
                )


def _ts_swav() -> SwAVConfig:
    return SwAVConfig(
        n_prototypes=60,
        feat_dim=128,
        hidden_mlp=512,
        freeze_prototypes_iters=100,
        dense_prototypes=30,
    )


def _ts_optim() -> OptimConfig:
    return OptimConfig(
        name="adamw",
        base_lr=1e-3,
        final_lr=1e-5,
        warmup_epochs=1.0,
        start_warmup_lr=1e-5,
        weight_decay=1e-4,
    )


def _ts_train() -> TrainConfig:
    return TrainConfig(epochs=6, batch_size=64, checkpoint_every_iters=0, progress=False)


def _ts_crops() -> MultiCropConfig:
    return MultiCropConfig(n_global=2, global_length=128, n_local=6, local_length=48)


@dataclass
class TimeSeriesConfig(RunConfig):
    """Everything a time-series pretraining run needs; defaults suit 50 Hz wearables."""

    modality: Literal["timeseries"] = "timeseries"
    swav: SwAVConfig = field(default_factory=_ts_swav)
    optim: OptimConfig = field(default_factory=_ts_optim)
    train: TrainConfig = field(default_factory=_ts_train)
    data: TSDataConfig = field(default_factory=TSDataConfig)
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    crops: MultiCropConfig = field(default_factory=_ts_crops)
    augment: AugmentConfig = field(default_factory=AugmentConfig)
    small_data: SmallDataConfig = field(default_factory=SmallDataConfig)

    def __post_init__(self) -> None:
        ctx = self.data.context_length
        for name in ("global_length", "local_length"):
            length = getattr(self.crops, name)
            if length > ctx:
                raise ConfigError(f"crops.{name}={length} is longer than data.context_length={ctx}")
        n_views = self.crops.n_global + self.crops.n_local
        if n_views < 2:
            raise ConfigError(f"crops: SwAV needs at least 2 views, got {n_views}")
        bad = [c for c in self.swav.crops_for_assign if c >= n_views]
        if bad:
            raise ConfigError(
                f"swav.crops_for_assign={self.swav.crops_for_assign} names crop {bad[0]} but "
                f"crops make only {n_views} views"
            )


def hapt_recipe() -> TimeSeriesConfig:
    """The recipe of ``swav-ts demo`` on the bundled HAPT recordings (50 Hz, acc + gyro).

    ``configs/timeseries/hapt.yaml`` lists the same values (a test keeps them equal); how each
    was chosen is in ``docs/results.md``.
    """
    from swav_ts.core.config import from_dict

    return from_dict(
        TimeSeriesConfig,
        {
            "swav": {"dense_prototypes": 30},
            "train": {"epochs": 6, "batch_size": 64, "progress": True},
            "data": {"source": "hapt", "split": "train", "context_length": 256, "stride": 64},
            "encoder": {
                "name": "tcn",
                "kwargs": {"hidden": 96, "depth": 5, "output_dim": 128, "stride": 4},
            },
            "augment": {
                "rotation": {
                    "max_angle_deg": 45.0,
                    "triplets": [["acc_x", "acc_y", "acc_z"], ["gyro_x", "gyro_y", "gyro_z"]],
                }
            },
        },
    )
