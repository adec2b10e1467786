"""Factory choosing an augmentation engine."""

from __future__ import annotations

from collections.abc import Sequence

from swav_ts.timeseries.augment.base import Augmenter
from swav_ts.timeseries.augment.config import AugmentConfig

ENGINES = ("torch", "tsaug")


def build_augmenter(
    config: AugmentConfig | None = None,
    engine: str = "torch",
    center: Sequence[float] | None = None,
    scale: Sequence[float] | None = None,
) -> Augmenter:
    """Build an augmenter for ``config``.

    Parameters
    ----------
    config : AugmentConfig, optional
        Augmentation settings (default: ``AugmentConfig()``).
    engine : {"torch", "tsaug"}
        ``"torch"``: :class:`TorchAugmenter` on ``torch.Tensor`` + ``torch.Generator``
        (batched, CPU or CUDA). ``"tsaug"``: :class:`TsaugAugmenter` on ``numpy.ndarray`` +
        ``numpy.random.Generator``.
    center, scale : sequence of float, optional
        Channel statistics for input in sensor units (see :class:`TorchAugmenter`).

    Returns
    -------
    Augmenter
    """
    if config is None:
        config = AugmentConfig()
    if not isinstance(config, AugmentConfig):
        raise TypeError(f"config must be an AugmentConfig, got {type(config).__name__}")
    if engine == "torch":
        from swav_ts.timeseries.augment.torch_engine import TorchAugmenter

        return TorchAugmenter(config, center, scale)
    if engine == "tsaug":
        from swav_ts.timeseries.augment.tsaug_engine import TsaugAugmenter

        return TsaugAugmenter(config, center, scale)
    raise ValueError(f"engine must be one of {ENGINES}, got {engine!r}")
