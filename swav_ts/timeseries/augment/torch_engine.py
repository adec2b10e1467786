"""Batched torch engine: every augmentation for the whole batch at once, on x's device.

Randomness is split from computation: :meth:`TorchAugmenter.sample_params` draws every
random quantity (per sample) from the documented distributions, :meth:`TorchAugmenter.apply`
is a deterministic function of ``(x, params)``. No Python loop runs over samples.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import Tensor

from swav_ts.timeseries.augment.base import (
    EngineBase,
    check_batch_shape,
    cubic_basis,
    linear_basis,
    segment_ids,
)
from swav_ts.timeseries.augment.config import AUGMENTATION_ORDER, AugmentConfig

#: ``params[name]`` holds the draws of one augmentation; ``params[name]["apply"]`` is the
#: per-sample Bernoulli(p) selection, shape (B,).
TorchAugmentParams = dict[str, dict[str, Tensor]]


def _rotation_from_quaternion(q: Tensor) -> Tensor:
    """Rotation matrices (B, 3, 3) from unit quaternions (B, 4) ordered (w, x, y, z)."""
    w, x, y, z = q.unbind(-1)
    rows = [
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ]  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(q.shape[0], 3, 3)


def _rotation_from_axis_angle(axis: Tensor, angle_rad: Tensor) -> Tensor:
    """Rodrigues' formula: unit axes (B, 3), angles (B,) -> rotation matrices (B, 3, 3)."""
    ux, uy, uz = axis.unbind(-1)
    zero = torch.zeros_like(ux)
    k = torch.stack([zero, -uz, uy, uz, zero, -ux, -uy, ux, zero], dim=-1).reshape(-1, 3, 3)
    eye = torch.eye(3, dtype=axis.dtype, device=axis.device).expand_as(k)
    sin = angle_rad.sin()[:, None, None]
    cos = angle_rad.cos()[:, None, None]
    return eye + sin * k + (1 - cos) * (k @ k)


class TorchAugmenter(EngineBase):
    """Apply the :class:`AugmentConfig` pipeline to a torch batch ``(B, C, T)``.

    Parameters
    ----------
    config : AugmentConfig
        Augmentations, their probabilities and distribution parameters. Rotation triplets must
        be channel indices (see :func:`~swav_ts.timeseries.augment.resolve_triplets`).
    center, scale : sequence of float (C,), optional
        The channels' training mean and standard deviation, for input in **sensor units**.
        Given them, the rotation acts on the sensor-unit signals (it turns gravity), while every
        other augmentation acts on ``(x - center) / scale`` (its sigmas are in units of the
        channel's standard deviation, and a masked or dropped channel takes the channel's mean);
        the output is in sensor units again. Without them every augmentation acts on the input
        as it is.

    Notes
    -----
    Draws are made on ``generator.device`` (so a CPU generator reproduces the same
    augmentation on CPU and CUDA inputs) and moved to the input's device.
    """

    def __init__(self, config: AugmentConfig | None = None, center=None, scale=None) -> None:
        super().__init__(config, center, scale)
        self.center = None if self._center is None else torch.from_numpy(self._center)
        self.scale = None if self._scale is None else torch.from_numpy(self._scale)
        self._basis_cache: dict[tuple, Tensor] = {}

    def __call__(
        self, x: Tensor, generator: torch.Generator, return_times: bool = False
    ) -> Tensor | tuple[Tensor, Tensor]:
        """Augment ``x`` (B, C, T); returns a new tensor of the same shape/dtype/device (and,
        with ``return_times``, :meth:`source_times` ``(B, T)``)."""
        if not isinstance(x, Tensor):
            raise TypeError(f"x must be a torch.Tensor (B, C, T), got {type(x).__name__}")
        if not x.is_floating_point():
            raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
        if not isinstance(generator, torch.Generator):
            raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
        batch, n_channels, n_timepoints = check_batch_shape(tuple(x.shape), self.config)
        if self.center is not None and self.center.shape[0] != n_channels:
            raise ValueError(
                f"the augmenter's channel statistics have {self.center.shape[0]} channels, the "
                f"input {n_channels} (shape {tuple(x.shape)})"
            )
        params = self.sample_params(batch, n_channels, n_timepoints, generator, x.device)
        if return_times:
            return self.apply(x, params), self.source_times(params, batch, n_timepoints, x.device)
        return self.apply(x, params)

    # ------------------------------------------------------------------ sampling
    def sample_params(
        self,
        batch: int,
        n_channels: int,
        n_timepoints: int,
        generator: torch.Generator,
        device: torch.device | str | None = None,
    ) -> TorchAugmentParams:
        """Draw the random parameters of every active augmentation for one batch.

        Parameters
        ----------
        batch, n_channels, n_timepoints : int
            Shape ``(B, C, T)`` of the batch to augment.
        generator : torch.Generator
            Source of all randomness; draws happen on its device.
        device : torch.device or str, optional
            Where the returned tensors live (default: the generator's device).

        Returns
        -------
        dict
            ``{name: {"apply": (B,) bool, ...draws}}`` for each augmentation with ``p > 0``:
            ``time_warp.speed`` (B, n_knots); ``permutation.order`` (B, n_segments) long,
            output position j takes original segment ``order[j]``;
            ``rotation.matrix`` (B, 3, 3); ``scaling.factor`` (B, C);
            ``magnitude_warp.knot_value`` (B, C, n_knots); ``jitter.noise`` (B, C, T)
            (already multiplied by sigma); ``time_mask.start``/``length`` (B,) long;
            ``channel_dropout.keep`` (B, C) bool.
        """
        cfg = self.config
        check_batch_shape((batch, n_channels, n_timepoints), cfg)
        gen_device = generator.device
        device = gen_device if device is None else torch.device(device)
        f32 = torch.float32

        def rand(*size: int, dtype: torch.dtype = f32) -> Tensor:
            return torch.rand(size, generator=generator, device=gen_device, dtype=dtype)

        def randn(*size: int) -> Tensor:
            return torch.randn(size, generator=generator, device=gen_device, dtype=f32)

        params: TorchAugmentParams = {}
        for name in AUGMENTATION_ORDER:
            sub = getattr(cfg, name)
            if sub.p <= 0:
                continue
            draws: dict[str, Tensor] = {"apply": rand(batch) < sub.p}
            if name == "time_warp":
                m = sub.max_speed_change
                draws["speed"] = 1.0 + m * (2.0 * rand(batch, sub.n_knots) - 1.0)
            elif name == "permutation":
                draws["order"] = rand(batch, sub.n_segments).argsort(dim=1)
            elif name == "rotation":
                if sub.uniform_so3:
                    q = randn(batch, 4).double()
                    q = q / q.norm(dim=1, keepdim=True)
                    matrix = _rotation_from_quaternion(q)
                else:
                    axis = randn(batch, 3).double()
                    axis = axis / axis.norm(dim=1, keepdim=True)
                    angle = rand(batch, dtype=torch.float64) * math.radians(sub.max_angle_deg)
                    matrix = _rotation_from_axis_angle(axis, angle)
                draws["matrix"] = matrix.to(f32)
            elif name == "scaling":
                draws["factor"] = 1.0 + sub.sigma * randn(batch, n_channels)
            elif name == "magnitude_warp":
                draws["knot_value"] = 1.0 + sub.sigma * randn(batch, n_channels, sub.n_knots)
            elif name == "jitter":
                draws["noise"] = sub.sigma * randn(batch, n_channels, n_timepoints)
            elif name == "time_mask":
                max_len = max(1, math.floor(sub.max_fraction * n_timepoints))
                length = torch.randint(
                    1, max_len + 1, (batch,), generator=generator, device=gen_device
                )
                n_starts = (n_timepoints - length + 1).double()  # (B,)
                start = (rand(batch, dtype=torch.float64) * n_starts).floor().long()
                draws["length"] = length
                draws["start"] = torch.minimum(start, n_timepoints - length)
            elif name == "channel_dropout":
                draws["keep"] = rand(batch, n_channels) >= sub.drop_prob
            params[name] = draws
        return {k: {kk: vv.to(device) for kk, vv in v.items()} for k, v in params.items()}

    # ------------------------------------------------------------------ applying
    def apply(self, x: Tensor, params: TorchAugmentParams) -> Tensor:
        """Deterministically apply drawn ``params`` to ``x`` (B, C, T).

        Samples whose ``apply`` flag is False are left unchanged by that augmentation. With
        ``center``/``scale`` the rotation sees sensor units and the rest standardised signals.
        """
        if self.center is None:
            out = x
            for name in AUGMENTATION_ORDER:
                if name in params:
                    out = getattr(self, f"_apply_{name}")(out, params[name])
            return out
        center = self.center.to(x.device, x.dtype)[None, :, None]  # (1, C, 1)
        scale = self.scale.to(x.device, x.dtype)[None, :, None]  # (1, C, 1)
        out = (x - center) / scale  # standardised
        for name in AUGMENTATION_ORDER:
            if name not in params:
                continue
            if name == "rotation":  # geometry in sensor units
                out = (self._apply_rotation(out * scale + center, params[name]) - center) / scale
            else:
                out = getattr(self, f"_apply_{name}")(out, params[name])
        return out * scale + center

    def _basis(self, kind: str, n_knots: int, n_timepoints: int, device: torch.device) -> Tensor:
        key = (kind, n_knots, n_timepoints, str(device))
        if key not in self._basis_cache:
            fn = linear_basis if kind == "linear" else cubic_basis
            self._basis_cache[key] = torch.from_numpy(np.array(fn(n_knots, n_timepoints))).to(
                device
            )  # (T, n_knots) float64
        return self._basis_cache[key]

    def _warp_tau(self, p: dict[str, Tensor], n_timepoints: int, device) -> Tensor:
        """Source time of each output time point of the time warp, ``(B, T)`` float64."""
        basis = self._basis("linear", p["speed"].shape[1], n_timepoints, device)
        speed = p["speed"].double().to(device) @ basis.T  # (B, T)
        speed = torch.where(p["apply"].to(device)[:, None], speed, torch.ones_like(speed))
        steps = 0.5 * (speed[:, 1:] + speed[:, :-1])  # (B, T-1)
        cum = torch.cat([torch.zeros_like(speed[:, :1]), steps.cumsum(dim=1)], dim=1)  # (B, T)
        return (n_timepoints - 1) * cum / cum[:, -1:]  # (B, T)

    def _permutation_src(self, p: dict[str, Tensor], n_timepoints: int, device) -> Tensor:
        """Source index of each output time point of the permutation, ``(B, T)`` long."""
        order = p["order"].to(device)  # (B, n)
        seg = torch.from_numpy(segment_ids(order.shape[1], n_timepoints)).to(device)  # (T,)
        position = order.argsort(dim=1)  # (B, n) output position of each original segment
        t = torch.arange(n_timepoints, device=device)
        key = position[:, seg] * n_timepoints + t  # (B, T)
        src = key.argsort(dim=1)  # (B, T)
        return torch.where(p["apply"].to(device)[:, None], src, t.expand_as(src))

    def source_times(self, params: TorchAugmentParams, batch: int, n_timepoints: int, device):
        """Where each output time point of :meth:`apply` comes from in its input: ``(B, T)``
        float64 input times (fractional after a time warp). The dense objective pairs views
        by these times. Only the time warp and the permutation move time."""
        times = torch.arange(n_timepoints, device=device, dtype=torch.float64).expand(batch, -1)
        if "time_warp" in params:
            times = self._warp_tau(params["time_warp"], n_timepoints, device)
        if "permutation" in params:
            times = times.gather(
                1, self._permutation_src(params["permutation"], n_timepoints, device)
            )
        return times

    def _apply_time_warp(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        return linear_gather(x, self._warp_tau(p, x.shape[2], x.device))

    def _apply_permutation(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        batch, n_channels, n_timepoints = x.shape
        src = self._permutation_src(p, n_timepoints, x.device)  # (B, T)
        return x.gather(2, src[:, None, :].expand(batch, n_channels, n_timepoints))

    def _apply_rotation(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        triplets = self.config.rotation.index_triplets()
        if not triplets:
            return x
        batch, _, n_timepoints = x.shape
        eye = torch.eye(3, dtype=x.dtype, device=x.device).expand(batch, 3, 3)
        matrix = torch.where(p["apply"][:, None, None], p["matrix"].to(x.dtype), eye)
        idx = torch.tensor([c for trip in triplets for c in trip], device=x.device)  # (3G,)
        xs = x[:, idx].reshape(batch, len(triplets), 3, n_timepoints)  # (B, G, 3, T)
        rotated = torch.einsum("bij,bgjt->bgit", matrix, xs)
        out = x.clone()
        out[:, idx] = rotated.reshape(batch, 3 * len(triplets), n_timepoints)
        return out

    def _apply_scaling(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        factor = p["factor"].to(x.dtype)  # (B, C)
        factor = torch.where(p["apply"][:, None], factor, torch.ones_like(factor))
        return x * factor[:, :, None]

    def _apply_magnitude_warp(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        knots = p["knot_value"]  # (B, C, n_knots)
        basis = self._basis("cubic", knots.shape[2], x.shape[2], x.device)
        curve = (knots.double() @ basis.T).to(x.dtype)  # (B, C, T)
        curve = torch.where(p["apply"][:, None, None], curve, torch.ones_like(curve))
        return x * curve

    def _apply_jitter(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        noise = p["noise"].to(x.dtype)  # (B, C, T)
        return torch.where(p["apply"][:, None, None], x + noise, x)

    def _apply_time_mask(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        t = torch.arange(x.shape[2], device=x.device)
        start = p["start"][:, None]
        masked = (t >= start) & (t < start + p["length"][:, None]) & p["apply"][:, None]  # (B, T)
        if self.config.time_mask.fill == "mean":
            fill = x.mean(dim=2, keepdim=True)  # (B, C, 1)
        else:
            fill = torch.zeros((), dtype=x.dtype, device=x.device)
        return torch.where(masked[:, None, :], fill, x)

    def _apply_channel_dropout(self, x: Tensor, p: dict[str, Tensor]) -> Tensor:
        keep = p["keep"] | ~p["apply"][:, None]  # (B, C)
        return torch.where(keep[:, :, None], x, torch.zeros((), dtype=x.dtype, device=x.device))


def linear_gather(x: Tensor, tau: Tensor) -> Tensor:
    """Sample ``x`` (B, C, T) at fractional times ``tau`` (B, T') by linear interpolation."""
    batch, n_channels, n_timepoints = x.shape
    i0 = tau.floor().long().clamp(0, n_timepoints - 2)  # (B, T')
    w = (tau - i0).to(x.dtype)[:, None, :]  # (B, 1, T')
    idx0 = i0[:, None, :].expand(batch, n_channels, -1)
    left = x.gather(2, idx0)
    right = x.gather(2, idx0 + 1)
    return left + w * (right - left)
