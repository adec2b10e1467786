"""Image pretraining entry point: config -> data, multi-crop, ResNet -> the core trainer."""

from __future__ import annotations

import logging
from pathlib import Path

from swav_ts.core.trainer import TrainResult, train
from swav_ts.image.config import ImageConfig
from swav_ts.image.data import SafeImageFolder, build_pretrain_dataset
from swav_ts.image.models import build_image_model
from swav_ts.image.transforms import MultiCropTransform

logger = logging.getLogger(__name__)


def pretrain(
    config: ImageConfig,
    out_dir: str | Path,
    resume: bool = True,
    stop_after_iters: int | None = None,
) -> TrainResult:
    """Pretrain a ResNet with SwAV as described by ``config``.

    Parameters
    ----------
    config : ImageConfig
        Model, data, crops, SwAV, optimizer and training settings.
    out_dir : path
        Run folder (config, metrics, ``checkpoint.pt``).
    resume : bool, default True
        Continue from ``out_dir/checkpoint.pt`` when present.
    stop_after_iters : int, optional
        Stop after this many iterations of the whole run (time-boxed runs, tests).

    Returns
    -------
    TrainResult
        ``history`` (per-epoch rows), ``checkpoint_path``.
    """
    if config.modality != "image":
        raise ValueError(f"config.modality is {config.modality!r}; the image backend needs 'image'")
    transform = MultiCropTransform(config.crops)
    dataset = build_pretrain_dataset(config.data, transform)
    model = build_image_model(config)
    logger.info(
        "SwAV image pretraining: %s on %d images, %s, batch %d per process",
        config.model.arch,
        len(dataset),
        transform,
        config.train.batch_size,
    )
    result = train(
        model, dataset, config, Path(out_dir), resume=resume, stop_after_iters=stop_after_iters
    )
    base = dataset.base
    if isinstance(base, SafeImageFolder) and base.n_decode_errors:
        logger.warning(
            "%d unreadable image file(s) were substituted in the main process (workers count "
            "their own; see the warnings)",
            base.n_decode_errors,
        )
    return result
