"""The graph that is exported: the fitted model's standardisation, encoder and (optionally)
prototype scores, frozen, with max pools that keep the window length symbolic.

An encoder whose per-step features are one ``nn.Sequential`` of Conv1d / BatchNorm1d / ReLU /
MaxPool1d / Dropout (``cnn3``), and the dilated ``tcn``, are exported as the same arithmetic on
``(B, C, 1, T)``: 2-D convolutions with kernels ``(1, k)``, batch norm folded into them. ONNX
Runtime's CPU optimiser fuses and reblocks 2-D convolutions (its NCHWc layout) but not 1-D
ones; measured in docs/deploy.md."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from swav_ts.timeseries.encoders import TCNEncoder, pool_sequence


class _MaxPool1dAs2d(nn.Module):
    """``nn.MaxPool1d`` computed by ``max_pool2d`` on a ``(B, C, 1, T)`` view.

    The same values (a test checks it). Needed because ``torch.export`` (torch 2.14)
    specialises the time dimension of ``max_pool1d`` to the example's length, which would pin
    an ONNX export of ``cnn3`` to one window length; ``max_pool2d`` keeps it symbolic.
    """

    def __init__(self, pool: nn.MaxPool1d) -> None:
        super().__init__()
        if pool.dilation not in (1, (1,)) or pool.return_indices:
            raise ValueError(f"cannot export {pool!r} with a dynamic length")
        self.kernel = _single(pool.kernel_size)
        self.stride = _single(pool.stride if pool.stride is not None else pool.kernel_size)
        self.padding = _single(pool.padding)
        self.ceil_mode = bool(pool.ceil_mode)

    def as_2d(self) -> nn.MaxPool2d:
        """The same pooling as an ``nn.MaxPool2d`` on ``(B, C, 1, T)``."""
        return nn.MaxPool2d(
            (1, self.kernel), (1, self.stride), (0, self.padding), ceil_mode=self.ceil_mode
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.max_pool2d(
            x.unsqueeze(2),  # (B, C, 1, T)
            (1, self.kernel),
            (1, self.stride),
            (0, self.padding),
            ceil_mode=self.ceil_mode,
        )
        return y.squeeze(2)  # (B, C, T')


def _single(v: int | Sequence[int]) -> int:
    return int(v[0]) if isinstance(v, (tuple, list)) else int(v)


def _replace_modules(
    module: nn.Module, kind: type[nn.Module], make: Callable[[nn.Module], nn.Module]
) -> None:
    """Replace every ``kind`` below ``module`` by ``make(it)``, in place."""
    for child_name, child in list(module.named_children()):
        if isinstance(child, kind):
            setattr(module, child_name, make(child))
        else:
            _replace_modules(child, kind, make)


def _conv2d(conv: nn.Conv1d) -> nn.Conv2d:
    """``conv`` as a 2-D convolution on ``(B, C, 1, T)`` (kernel ``(1, k)``, always a bias)."""
    if conv.padding_mode != "zeros":
        raise ValueError(f"no planar form of {conv!r}")
    padding = conv.padding if isinstance(conv.padding, str) else (0, _single(conv.padding))
    out = nn.Conv2d(
        conv.in_channels,
        conv.out_channels,
        (1, _single(conv.kernel_size)),
        stride=(1, _single(conv.stride)),
        padding=padding,
        dilation=(1, _single(conv.dilation)),
        groups=conv.groups,
        bias=True,
    )
    with torch.no_grad():
        out.weight.copy_(conv.weight.unsqueeze(2))  # (W, C/g, 1, k)
        out.bias.copy_(conv.bias if conv.bias is not None else torch.zeros(conv.out_channels))
    return out


def _fold_batchnorm(conv: nn.Conv2d, bn: nn.BatchNorm1d) -> None:
    """Fold eval-mode ``bn`` into the preceding ``conv``: ``y = s (W x + b - mu) + beta``."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError(f"no planar form of {bn!r} without running statistics")
    with torch.no_grad():
        scale = torch.rsqrt(bn.running_var + bn.eps)  # (W,)
        if bn.weight is not None:
            scale = scale * bn.weight
        shift = -bn.running_mean * scale + (bn.bias if bn.bias is not None else 0.0)
        conv.weight.mul_(scale[:, None, None, None])
        conv.bias.copy_(conv.bias * scale + shift)


def planar_layers(layers: nn.Sequential) -> nn.Sequential | None:
    """``layers`` (eval mode) as 2-D operations on ``(B, C, 1, T)``, batch norm folded into
    the convolutions; ``None`` if a layer has no such form (the graph then stays 1-D)."""
    out: list[nn.Module] = []
    try:
        for m in layers:
            if isinstance(m, nn.Conv1d):
                out.append(_conv2d(m))
            elif isinstance(m, nn.BatchNorm1d) and out and isinstance(out[-1], nn.Conv2d):
                _fold_batchnorm(out[-1], m)
            elif isinstance(m, nn.ReLU):
                out.append(nn.ReLU())
            elif isinstance(m, nn.MaxPool1d):
                out.append(_MaxPool1dAs2d(m).as_2d())
            elif not isinstance(m, (nn.Dropout, nn.Identity)):  # identities in eval mode
                return None
    except ValueError:
        return None
    return nn.Sequential(*out)


def _planar_tcn(encoder: TCNEncoder) -> nn.Sequential:
    """``encoder`` as 2-D operations on ``(B, C, 1, T)``: its per-step input projection (a
    linear layer, or the strided convolution) becomes a convolution, and a copy of its blocks
    gets 2-D convolutions; the blocks' own forward (GELU, 'same' trimming of the last axis,
    residual sum) then runs unchanged on the planar tensors."""
    fc = encoder.input_fc
    if isinstance(fc, nn.Linear):
        first = nn.Conv2d(fc.in_features, fc.out_features, (1, 1))
        with torch.no_grad():
            first.weight.copy_(fc.weight[:, :, None, None])  # (hidden, C, 1, 1)
            first.bias.copy_(fc.bias)
    else:
        first = _conv2d(fc)
    blocks = copy.deepcopy(encoder.blocks)
    _replace_modules(blocks, nn.Conv1d, _conv2d)
    return nn.Sequential(first, blocks)


def planar_encoder(encoder: nn.Module) -> nn.Module | None:
    """The planar form of ``encoder`` (eval mode): ``(B, C, 1, T) -> (B, W, 1, T')``, or
    ``None`` where there is none (the graph then stays 1-D)."""
    if isinstance(encoder, TCNEncoder):
        return _planar_tcn(encoder)
    stack = encoder.sequential_layers()
    return planar_layers(stack) if stack is not None else None


class ExportGraph(nn.Module):
    """What is exported: windows in sensor units ``(B, C, T)`` -> embedding ``(B, D)`` and,
    with ``scores``, the prototype scores ``(B, K)``.

    A frozen copy of the fitted model's parts (the estimator is not changed): the backbone
    (standardisation + encoder) and, for the scores, the projection head and the unit-norm
    prototypes of the first head, exactly as :meth:`TimeSeriesSwAV.prototype_scores`.

    Parameters
    ----------
    model : SwAVModel
        The fitted model (``estimator.model_``).
    scores : bool
        Also return the prototype scores.
    dynamic_length : bool
        Prepare the graph for a symbolic window length (see :class:`_MaxPool1dAs2d`).
    """

    def __init__(self, model: nn.Module, scores: bool = False, dynamic_length: bool = True):
        super().__init__()
        backbone = copy.deepcopy(model.backbone).cpu().float().eval()
        self.standardize = backbone.standardize
        encoder = backbone.encoder
        self.min_length = int(encoder.min_length)
        self.pooling = encoder.pooling
        self.planar = planar_encoder(encoder)  # length-agnostic
        if self.planar is None and dynamic_length:
            _replace_modules(encoder, nn.MaxPool1d, _MaxPool1dAs2d)
        self.encoder = encoder if self.planar is None else None  # only what is exported
        self.with_scores = bool(scores)
        if self.with_scores:
            self.head = copy.deepcopy(model.projection_head).cpu().float().eval()
            protos = model.prototypes.weights()[0].detach().cpu().float()  # (K, F)
            # the last optimiser step leaves the prototypes slightly off unit norm
            self.register_buffer("prototypes", F.normalize(protos, dim=1).clone())
        self.eval()
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, windows: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = self.standardize(windows)  # (B, C, T)
        if self.planar is None:
            h = self.encoder.forward_features(x)  # (B, D)
        else:
            seq = self.planar(x.unsqueeze(2)).squeeze(2)  # (B, W, T')
            h = pool_sequence(seq, self.pooling)  # (B, D)
        if not self.with_scores:
            return h
        z = self.head(h)  # (B, F), unit rows
        return h, z @ self.prototypes.T  # (B, D), (B, K)
