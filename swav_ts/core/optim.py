"""Optimizers: LARS (layer-wise adaptive rate scaling over SGD), SGD and AdamW."""

from __future__ import annotations

import torch
from torch import nn

from swav_ts.core.config import OptimConfig


class LARS(torch.optim.Optimizer):
    """SGD with momentum whose per-parameter step is scaled by a trust ratio (You et al. 2017).

    For a parameter ``w`` with gradient ``g`` and weight decay ``wd``:

        g' = g + wd * w
        ratio = eta * ||w|| / (||g|| + wd * ||w||)   (1 when ||w|| or ||g|| is 0)
        buf = momentum * buf + ratio * g'
        w = w - lr * buf

    This is the update of the original SwAV (apex ``LARC`` with ``clip=False`` around SGD).
    A parameter whose weight or gradient norm is zero takes the raw gradient (no decay, no
    scaling), as in the original. Parameter groups with ``lars=False`` (biases and norm
    layers, when excluded) take the plain SGD step with their own weight decay.
    """

    def __init__(
        self,
        params,
        lr: float,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        trust_coefficient: float = 0.001,
        eps: float = 1e-8,
    ):
        defaults = dict(
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            trust_coefficient=trust_coefficient,
            eps=eps,
            lars=True,
        )
        super().__init__(params, defaults)

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            wd, mom = group["weight_decay"], group["momentum"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                if group["lars"]:
                    w_norm = torch.linalg.vector_norm(p)
                    g_norm = torch.linalg.vector_norm(p.grad)
                    ratio = (
                        group["trust_coefficient"] * w_norm / (g_norm + wd * w_norm + group["eps"])
                    )
                    scaled = p.grad.add(p, alpha=wd) * ratio
                    # as the original: a zero weight or gradient keeps the raw gradient
                    g = torch.where((w_norm > 0) & (g_norm > 0), scaled, p.grad)
                else:
                    g = p.grad.add(p, alpha=wd) if wd else p.grad
                state = self.state[p]
                if mom:
                    buf = state.get("momentum_buffer")
                    if buf is None:
                        buf = state["momentum_buffer"] = g.detach().clone()
                    else:
                        buf.mul_(mom).add_(g)
                    g = buf
                p.add_(g, alpha=-group["lr"])
        return loss


def split_decay_groups(model: nn.Module) -> tuple[list[nn.Parameter], list[nn.Parameter]]:
    """(weights, biases-and-norm-parameters): 1-D parameters form the second group."""
    regular, flat = [], []
    for p in model.parameters():
        if p.requires_grad:
            (flat if p.ndim <= 1 else regular).append(p)
    return regular, flat


def build_optimizer(model: nn.Module, cfg: OptimConfig) -> torch.optim.Optimizer:
    """The optimizer named by ``cfg.name``; learning rates are set per iteration by the trainer."""
    if cfg.name == "lars":
        if cfg.lars_exclude_bias_bn:
            regular, flat = split_decay_groups(model)
            groups = [{"params": regular}, {"params": flat, "lars": False, "weight_decay": 0.0}]
        else:
            groups = [{"params": [p for p in model.parameters() if p.requires_grad]}]
        return LARS(
            groups,
            lr=cfg.base_lr,
            momentum=cfg.momentum,
            weight_decay=cfg.weight_decay,
            trust_coefficient=cfg.lars_trust_coefficient,
        )
    params = [p for p in model.parameters() if p.requires_grad]
    if cfg.name == "sgd":
        return torch.optim.SGD(
            params, lr=cfg.base_lr, momentum=cfg.momentum, weight_decay=cfg.weight_decay
        )
    if cfg.name == "adamw":
        return torch.optim.AdamW(
            params, lr=cfg.base_lr, betas=tuple(cfg.betas), weight_decay=cfg.weight_decay
        )
    raise ValueError(f"unknown optimizer {cfg.name!r}; valid: lars, sgd, adamw")
