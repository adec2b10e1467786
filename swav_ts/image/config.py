"""The image backend's configuration: core sections plus model, data and crops."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from swav_ts.core.config import (
    ConfigError,
    OptimConfig,
    SwAVConfig,
    TrainConfig,
    load_config,
)
from swav_ts.image.data import DataConfig
from swav_ts.image.models import ModelConfig
from swav_ts.image.transforms import CropsConfig

CONFIG_DIR = Path(__file__).resolve().parents[2] / "configs" / "image"


@dataclass
class ImageConfig:
    """Everything an image pretraining run needs (defaults: ResNet-50, bs 4096 recipe).

    ``train.batch_size`` is per process, as in the original (64 x 64 GPUs = 4096).
    """

    modality: Literal["image"] = "image"
    swav: SwAVConfig = field(default_factory=SwAVConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    crops: CropsConfig = field(default_factory=CropsConfig)

    def __post_init__(self) -> None:
        n_views = sum(self.crops.n_crops)
        bad = [c for c in self.swav.crops_for_assign if c >= n_views]
        if bad:
            raise ConfigError(
                f"swav.crops_for_assign: crops {bad} do not exist; crops.n_crops "
                f"{self.crops.n_crops} gives {n_views} views"
            )


def load_image_config(path: str | Path | None = None, overrides: Sequence[str] = ()) -> ImageConfig:
    """Load an :class:`ImageConfig` from YAML (a path, or a recipe name in ``configs/image``)."""
    if path is not None:
        p = Path(path)
        if not p.exists() and (CONFIG_DIR / f"{path}.yaml").exists():
            p = CONFIG_DIR / f"{path}.yaml"
        path = p
    return load_config(ImageConfig, path, overrides)
