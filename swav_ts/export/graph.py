"""The graph that is exported: the fitted model's standardisation, encoder and (optionally)
prototype scores, frozen, with max pools that keep the window length symbolic."""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn


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


def _swap_maxpool1d(module: nn.Module) -> int:
    """Replace every ``nn.MaxPool1d`` below ``module`` in place; return how many."""
    n = 0
    for child_name, child in list(module.named_children()):
        if isinstance(child, nn.MaxPool1d):
            setattr(module, child_name, _MaxPool1dAs2d(child))
            n += 1
        else:
            n += _swap_maxpool1d(child)
    return n


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
        if dynamic_length:
            _swap_maxpool1d(backbone)
        self.standardize = backbone.standardize
        self.encoder = backbone.encoder
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
        h = self.encoder.forward_features(self.standardize(windows))  # (B, D)
        if not self.with_scores:
            return h
        z = self.head(h)  # (B, F), unit rows
        return h, z @ self.prototypes.T  # (B, D), (B, K)
