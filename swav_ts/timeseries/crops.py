"""Multi-window crops: the time-series analog of SwAV multi-crop.

From a context window ``(B, C, T_ctx)`` draw ``n_global`` long and ``n_local`` short views,
each at an independent random position per sample and per view.

- ``resample=False`` (default): native sampling rate; a view is the contiguous sub-window
  ``x[..., s:s+L]`` with ``s ~ U{0, ..., T_ctx - L}``. The scale ranges are unused.
- ``resample=True`` (like ``RandomResizedCrop``): the view covers a span of
  ``S = scale * T_ctx`` samples, ``scale ~ U(lo, hi)``, starting at ``a ~ U(0, T_ctx - S)``
  (continuous); its ``L`` points are at ``a + j (S - 1) / (L - 1)``, ``j = 0..L-1``, read by
  linear interpolation (so the first point is ``a`` and the last ``a + S - 1``).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from swav_ts.timeseries.augment.torch_engine import linear_gather


def _check_scale(name: str, value: tuple[float, float]) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"MultiCropConfig.{name} must be a (lo, hi) pair, got {value!r}")
    lo, hi = (float(v) for v in value)
    if not 0.0 < lo <= hi <= 1.0:
        raise ValueError(f"MultiCropConfig.{name} must satisfy 0 < lo <= hi <= 1, got {value!r}")
    return lo, hi


@dataclass
class MultiCropConfig:
    """Numbers, lengths (samples) and scale ranges of the global and local views.

    Defaults suit 128-sample (2.56 s at 50 Hz) context windows: two 128-sample global
    views and six 64-sample local views.
    """

    n_global: int = 2
    global_length: int = 128
    n_local: int = 6
    local_length: int = 64
    global_scale: tuple[float, float] = (0.6, 1.0)
    local_scale: tuple[float, float] = (0.2, 0.5)
    resample: bool = False

    def __post_init__(self) -> None:
        for name, minimum in (
            ("n_global", 1),
            ("n_local", 0),
            ("global_length", 2),
            ("local_length", 2),
        ):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise TypeError(f"MultiCropConfig.{name} must be an int, got {value!r}")
            if value < minimum:
                raise ValueError(f"MultiCropConfig.{name} must be >= {minimum}, got {value}")
        self.global_scale = _check_scale("global_scale", self.global_scale)
        self.local_scale = _check_scale("local_scale", self.local_scale)
        if not isinstance(self.resample, bool):
            raise TypeError(f"MultiCropConfig.resample must be a bool, got {self.resample!r}")

    @property
    def n_views(self) -> int:
        """Total number of views, ``n_global + n_local``."""
        return self.n_global + self.n_local

    def view_lengths(self) -> list[int]:
        """Length of every view, globals first."""
        return [self.global_length] * self.n_global + [self.local_length] * self.n_local

    def view_scales(self) -> list[tuple[float, float]]:
        """Scale range of every view, globals first (used when ``resample=True``)."""
        return [self.global_scale] * self.n_global + [self.local_scale] * self.n_local


@dataclass
class CropWindows:
    """Where one view reads the context: first source time and source span (samples).

    ``start`` (B,) and ``span`` (B,) are float64; the view's ``L`` points are at
    ``start + j (span - 1) / (L - 1)``. Without resampling ``span == L`` and ``start`` is
    integral.
    """

    start: Tensor
    span: Tensor
    length: int


class MultiCropper:
    """Cut ``n_global + n_local`` views from a context batch ``(B, C, T_ctx)``.

    Parameters
    ----------
    config : MultiCropConfig
    """

    def __init__(self, config: MultiCropConfig | None = None) -> None:
        if config is None:
            config = MultiCropConfig()
        if not isinstance(config, MultiCropConfig):
            raise TypeError(f"config must be a MultiCropConfig, got {type(config).__name__}")
        self.config = config

    def __repr__(self) -> str:
        c = self.config
        return (
            f"MultiCropper({c.n_global}x{c.global_length} + {c.n_local}x{c.local_length}, "
            f"resample={c.resample})"
        )

    def check_context(self, n_timepoints: int) -> None:
        """Raise ``ValueError`` if a view cannot be cut from ``n_timepoints`` samples."""
        c = self.config
        for kind, length, n, scale in (
            ("global", c.global_length, c.n_global, c.global_scale),
            ("local", c.local_length, c.n_local, c.local_scale),
        ):
            if n == 0:
                continue
            if length > n_timepoints:
                raise ValueError(
                    f"{kind} view length {length} is longer than the context length {n_timepoints}"
                )
            if c.resample and scale[0] * n_timepoints < 2.0:
                raise ValueError(
                    f"{kind}_scale lower bound {scale[0]} times the context length "
                    f"{n_timepoints} spans fewer than 2 samples"
                )

    def sample_windows(
        self,
        batch: int,
        n_timepoints: int,
        generator: torch.Generator,
        device: torch.device | str | None = None,
    ) -> list[CropWindows]:
        """Draw every view's window, independently per sample and per view.

        Parameters
        ----------
        batch, n_timepoints : int
            Batch size ``B`` and context length ``T_ctx``.
        generator : torch.Generator
            Source of randomness; draws happen on its device.
        device : torch.device or str, optional
            Where the returned tensors live (default: the generator's device).

        Returns
        -------
        list of CropWindows
            One per view, globals first.
        """
        self.check_context(n_timepoints)
        gen_device = generator.device
        device = gen_device if device is None else torch.device(device)
        windows = []
        for length, (lo, hi) in zip(self.config.view_lengths(), self.config.view_scales()):
            if self.config.resample:
                u = torch.rand(
                    (2, batch), generator=generator, device=gen_device, dtype=torch.float64
                )
                span = n_timepoints * (lo + (hi - lo) * u[0])  # (B,)
                start = u[1] * (n_timepoints - span)  # (B,)
            else:
                start = torch.randint(
                    0, n_timepoints - length + 1, (batch,), generator=generator, device=gen_device
                ).double()
                span = torch.full((batch,), float(length), dtype=torch.float64, device=gen_device)
            windows.append(CropWindows(start.to(device), span.to(device), length))
        return windows

    def crop(self, x: Tensor, windows: list[CropWindows]) -> list[Tensor]:
        """Read the views described by ``windows`` from ``x`` (B, C, T_ctx)."""
        batch, n_channels, _ = x.shape
        views = []
        for w in windows:
            if self.config.resample:
                j = torch.arange(w.length, device=x.device, dtype=torch.float64)
                step = (w.span - 1.0) / (w.length - 1)  # (B,)
                tau = w.start[:, None] + j[None, :] * step[:, None]  # (B, L)
                views.append(linear_gather(x, tau))
            else:
                idx = w.start.long()[:, None] + torch.arange(w.length, device=x.device)  # (B, L)
                views.append(x.gather(2, idx[:, None, :].expand(batch, n_channels, w.length)))
        return views

    def __call__(self, x: Tensor, generator: torch.Generator) -> list[Tensor]:
        """Return ``n_global + n_local`` views ``(B, C, L)``, globals first."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor (B, C, T), got {type(x).__name__}")
        if x.ndim != 3:
            raise ValueError(
                f"x must be 3-D (n_cases, n_channels, n_timepoints), got shape {tuple(x.shape)}"
            )
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        windows = self.sample_windows(x.shape[0], x.shape[2], generator, x.device)
        return self.crop(x, windows)
