"""LARS against an independent float64 implementation of the original SwAV optimizer: apex
``LARC(trust_coefficient=0.001, clip=False)`` around ``torch.optim.SGD(momentum=0.9, wd)``."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from swav_ts.core.config import OptimConfig
from swav_ts.core.optim import LARS, build_optimizer
from tests.reference import lars_step_ref

LRS = [0.3, 1.2, 4.8, 4.8, 2.0, 0.5]  # set per step, as the trainer's schedule does
U32, U64 = 2.0**-24, 2.0**-53


def assert_close_to_rounding(ours, ref, unit, factor):
    """Elementwise: ``|ours - ref| <= factor * unit * (|ref| + max |ref|)``, i.e. a few
    roundings of the value or of the parameter's scale (measured: at most 1.4 in float64 and
    0.9 in float32 over these tests)."""
    for i, (a, b) in enumerate(zip(ours, ref)):
        tol = factor * unit
        np.testing.assert_allclose(
            a, b, rtol=tol, atol=tol * np.abs(b).max(), err_msg=f"parameter {i}"
        )


def make_params(dtype):
    """A weight matrix, a zero weight (LARC leaves it alone), a weight whose gradient is zero
    at some steps, and a vector."""
    g = torch.Generator().manual_seed(0)
    return [
        nn.Parameter((torch.randn(6, 5, generator=g) * 0.3).to(dtype)),
        nn.Parameter(torch.zeros(4, 3, dtype=dtype)),
        nn.Parameter(torch.randn(7, generator=g).to(dtype)),
        nn.Parameter((torch.randn(3, 3, generator=g) * 2).to(dtype)),
    ]


def grads_at(step, params):
    """A fresh gradient per step and parameter; parameter 2's is zero at steps 1 and 3, and
    parameter 3 has none at step 2 (skipped, as SGD skips it)."""
    g = torch.Generator().manual_seed(100 + step)
    out = []
    for i, p in enumerate(params):
        grad = torch.randn(p.shape, generator=g).to(p.dtype) * (0.5 + i)
        if i == 2 and step in (1, 3):
            grad = torch.zeros_like(grad)
        if i == 3 and step == 2:
            grad = None
        out.append(grad)
    return out


def run_ours(params, groups, steps, **kw):
    opt = LARS(groups, lr=LRS[0], **kw)
    for step in range(steps):
        for group in opt.param_groups:
            group["lr"] = LRS[step]
        for p, grad in zip(params, grads_at(step, params)):
            p.grad = None if grad is None else grad.clone()
        opt.step()
    return [p.detach().double().numpy() for p in params]


def run_reference(params, lars_flags, wds, steps, momentum, trust, eps=1e-8):
    w = [p.detach().double().numpy() for p in params]
    bufs = [None] * len(params)
    for step in range(steps):
        for i, grad in enumerate(grads_at(step, params)):
            if grad is None:
                continue
            w[i], bufs[i] = lars_step_ref(
                w[i],
                grad.double().numpy(),
                bufs[i],
                LRS[step],
                momentum,
                wds[i],
                trust,
                eps,
                lars=lars_flags[i],
            )
    return w


@pytest.mark.parametrize("momentum", [0.9, 0.0])
@pytest.mark.parametrize("weight_decay", [1e-6, 0.05])
@pytest.mark.parametrize("trust", [0.001, 0.02])  # the original's, and apex's default
def test_lars_matches_apex_larc_reference_float64(momentum, weight_decay, trust):
    # float64 parameters: the same arithmetic up to float64 rounding. Parameter 1 is zero and
    # parameter 2's gradient is zero at two steps: LARC leaves those gradients alone.
    params = make_params(torch.float64)
    ref = run_reference(params, [True] * 4, [weight_decay] * 4, len(LRS), momentum, trust)
    ours = run_ours(
        params,
        params,
        len(LRS),
        momentum=momentum,
        weight_decay=weight_decay,
        trust_coefficient=trust,
    )
    assert_close_to_rounding(ours, ref, U64, 8)


def test_lars_matches_reference_float32():
    params = make_params(torch.float32)
    ref = run_reference(params, [True] * 4, [0.05] * 4, len(LRS), 0.9, 0.001)
    ours = run_ours(params, params, len(LRS), momentum=0.9, weight_decay=0.05)
    assert_close_to_rounding(ours, ref, U32, 8)


def test_lars_false_group_is_plain_sgd_with_its_own_decay():
    # two groups, as build_optimizer makes with lars_exclude_bias_bn: LARC on the first,
    # plain SGD (momentum, the group's weight decay) on the second
    params = make_params(torch.float64)
    groups = [
        {"params": params[:2]},
        {"params": params[2:], "lars": False, "weight_decay": 0.01},
    ]
    ref = run_reference(params, [True, True, False, False], [0.05, 0.05, 0.01, 0.01], 6, 0.9, 1e-3)
    ours = run_ours(params, groups, 6, momentum=0.9, weight_decay=0.05)
    assert_close_to_rounding(ours, ref, U64, 8)
    # and the same as torch's SGD for that group
    sgd_params = [nn.Parameter(p.detach().clone()) for p in make_params(torch.float64)[2:]]
    sgd = torch.optim.SGD(sgd_params, lr=LRS[0], momentum=0.9, weight_decay=0.01)
    for step in range(6):
        for group in sgd.param_groups:
            group["lr"] = LRS[step]
        grads = grads_at(step, make_params(torch.float64))[2:]
        for p, grad in zip(sgd_params, grads):
            p.grad = grad
        sgd.step()
    assert_close_to_rounding(ours[2:], [p.detach().numpy() for p in sgd_params], U64, 8)


def test_build_optimizer_excludes_bias_and_norm_from_lars():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Linear(4, 3, bias=False)).double()
    cfg = OptimConfig(name="lars", base_lr=1.0, weight_decay=0.05, lars_exclude_bias_bn=True)
    opt = build_optimizer(model, cfg)
    assert [g["lars"] for g in opt.param_groups] == [True, False]
    assert [g["weight_decay"] for g in opt.param_groups] == [0.05, 0.0]
    assert {p.ndim for p in opt.param_groups[0]["params"]} == {2}
    assert {p.ndim for p in opt.param_groups[1]["params"]} == {1}
    flags = [p.ndim > 1 for p in model.parameters()]
    wds = [0.05 if f else 0.0 for f in flags]
    start = [p.detach().clone() for p in model.parameters()]
    x = torch.randn(16, 5, dtype=torch.float64)
    grads = []
    for step in range(3):
        for group in opt.param_groups:
            group["lr"] = LRS[step]
        opt.zero_grad()
        model(x * (step + 1)).square().mean().backward()
        grads.append([p.grad.detach().clone() for p in model.parameters()])
        opt.step()
    w, bufs = [p.double().numpy() for p in start], [None] * len(start)
    for step in range(3):
        for i in range(len(w)):
            w[i], bufs[i] = lars_step_ref(
                w[i],
                grads[step][i].numpy(),
                bufs[i],
                LRS[step],
                0.9,
                wds[i],
                0.001,
                lars=flags[i],
            )
    assert_close_to_rounding([p.detach().numpy() for p in model.parameters()], w, U64, 8)
    # without the option, one LARS group over everything (the original)
    opt_all = build_optimizer(model, OptimConfig(name="lars", base_lr=1.0))
    assert len(opt_all.param_groups) == 1 and opt_all.param_groups[0]["lars"] is True
