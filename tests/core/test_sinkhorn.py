import itertools
import math

import numpy as np
import pytest
import torch

from swav_ts.core import sinkhorn
from tests.reference import sinkhorn_ref


def original_sinkhorn(scores: torch.Tensor, epsilon: float, n_iters: int) -> torch.Tensor:
    """The reference implementation's in-place formula (single process), float32."""
    q = torch.exp(scores.float() / epsilon).t()
    b, k = q.shape[1], q.shape[0]
    q /= torch.sum(q)
    for _ in range(n_iters):
        q /= torch.sum(q, dim=1, keepdim=True)
        q /= k
        q /= torch.sum(q, dim=0, keepdim=True)
        q /= b
    q *= b
    return q.t()


# float32 unit roundoff. Cosine scores shifted by their prototype's maximum lie in [-2, 0], so
# exp's argument reaches 2 / epsilon in magnitude and its float32 rounding is amplified by up
# to that factor; the few extra units cover the products and sums of the rounds.
U32 = 2.0**-24
U64 = 2.0**-53


def rtol_for(epsilon: float, unit: float = U32) -> float:
    """Relative error Sinkhorn really reaches on cosine scores with unit roundoff ``unit``,
    with a margin of 2-3x: measured at most 1.35 (float32) and 1.7 (float64) times
    ``unit * (2 / epsilon + 4)`` over the cases of the reference tests below."""
    return 4 * unit * (2 / epsilon + 4)


def unit_scores(b, k, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    z = torch.nn.functional.normalize(torch.randn(b, d, generator=g), dim=1)
    c = torch.nn.functional.normalize(torch.randn(k, d, generator=g), dim=1)
    return z @ c.t()


@pytest.mark.parametrize("b,k", [(8, 5), (32, 10), (64, 300), (256, 30), (7, 100)])
@pytest.mark.parametrize("n_iters", [1, 3, 10])
@pytest.mark.parametrize("epsilon", [0.03, 0.05, 0.5])
def test_matches_float64_reference(b, k, n_iters, epsilon):
    scores = unit_scores(b, k, seed=b * 1000 + k)
    ours = sinkhorn(scores, epsilon=epsilon, n_iters=n_iters).double().numpy()
    ref = sinkhorn_ref(scores.double().numpy(), epsilon, n_iters)
    np.testing.assert_allclose(ours, ref, rtol=rtol_for(epsilon), atol=0)


@pytest.mark.parametrize("b,k", [(8, 5), (64, 300), (256, 30), (7, 100)])
@pytest.mark.parametrize("n_iters", [1, 3, 10])
@pytest.mark.parametrize("epsilon", [0.03, 0.05, 0.5])
def test_float64_input_matches_reference_to_float64_rounding(b, k, n_iters, epsilon):
    # float64 stays float64: the same algorithm as the reference up to float64 rounding
    # (measured: at most 6.5e-15 relative); a float32 computation would be ~1e-6 off
    scores = unit_scores(b, k, seed=b * 1000 + k).double()
    ours = sinkhorn(scores, epsilon=epsilon, n_iters=n_iters)
    assert ours.dtype == torch.float64
    ref = sinkhorn_ref(scores.numpy(), epsilon, n_iters)
    np.testing.assert_allclose(ours.numpy(), ref, rtol=rtol_for(epsilon, U64), atol=0)


@pytest.mark.parametrize("b,k", [(64, 30), (512, 300), (1024, 3000)])
def test_matches_original_formula_float32(b, k):
    scores = unit_scores(b, k, seed=3)
    ours = sinkhorn(scores, 0.05, 3)
    orig = original_sinkhorn(scores, 0.05, 3)
    # two float32 computations of the same rounds (measured: at most 4.7e-6 relative)
    torch.testing.assert_close(ours, orig, rtol=rtol_for(0.05), atol=0)


def test_rows_sum_to_one_and_dtype():
    scores = unit_scores(50, 20)
    q = sinkhorn(scores)
    assert q.dtype == torch.float32 and q.shape == (50, 20)
    # each row is normalised exactly: its sum (taken in float64) is 1 up to a few float32
    # roundings of its entries (measured 1.5 U32); in float64 up to a few U64
    torch.testing.assert_close(q.double().sum(1), torch.ones(50).double(), rtol=0, atol=4 * U32)
    assert (q >= 0).all()
    q64 = sinkhorn(scores.double())
    torch.testing.assert_close(q64.sum(1), torch.ones(50).double(), rtol=0, atol=4 * U64)


def test_prototype_mass_approaches_uniform():
    b, k = 240, 12
    scores = unit_scores(b, k, seed=5) * 3  # sharp, unbalanced
    errs = []
    for n_iters in (1, 3, 10, 100, 1000):
        mass = sinkhorn(scores, 0.05, n_iters).sum(0)
        errs.append(float((mass - b / k).abs().max()))
    assert all(a >= b_ - 1e-6 for a, b_ in itertools.pairwise(errs)), errs
    assert errs[-1] < 1e-3 * b / k, errs


@pytest.mark.parametrize("magnitude", [1e2, 1e3, 1e4])
def test_finite_for_extreme_scores(magnitude):
    # |scores / epsilon| up to magnitude: the original formula overflows
    g = torch.Generator().manual_seed(1)
    scores = (torch.rand(128, 50, generator=g) * 2 - 1) * magnitude * 0.05
    q = sinkhorn(scores, 0.05, 3)
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q.double().sum(1), torch.ones(128).double(), rtol=0, atol=4 * U32)
    if magnitude >= 1e3:
        assert not torch.isfinite(original_sinkhorn(scores, 0.05, 3)).all()


def test_finite_for_huge_finite_scores():
    scores = torch.tensor([[3e38, -3e38], [-3e38, 3e38], [0.0, 1.0]])
    q = sinkhorn(scores, 0.05, 3)
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q.double().sum(1), torch.ones(3).double(), rtol=0, atol=4 * U32)


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_low_precision_inputs(dtype):
    scores = unit_scores(64, 32, seed=2)
    q_low = sinkhorn(scores.to(dtype), 0.05, 3)
    assert q_low.dtype == torch.float32 and torch.isfinite(q_low).all()
    # computed in float32 from the rounded inputs (measured: 5e-7 relative), not in the
    # input's precision (bf16 arithmetic would be ~1e-2 off)
    ref = sinkhorn_ref(scores.to(dtype).double().numpy(), 0.05, 3)
    np.testing.assert_allclose(q_low.numpy(), ref, rtol=rtol_for(0.05), atol=0)


def test_autocast_bf16_extreme():
    scores = torch.randn(64, 32) * 1e3
    with torch.autocast("cpu", dtype=torch.bfloat16):
        q = sinkhorn(scores.bfloat16(), 0.05, 3)
    assert q.dtype == torch.float32 and torch.isfinite(q).all()


def test_no_gradient():
    scores = unit_scores(16, 8).requires_grad_(True)
    q = sinkhorn(scores)
    assert not q.requires_grad


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
def test_rejects_non_finite(bad):
    # -inf matters as much as NaN/+inf: exp(-inf) = 0 would otherwise pass silently
    scores = unit_scores(10, 4)
    scores[3, 2] = bad
    with pytest.raises(ValueError, match=r"1 NaN/inf values out of 40 \(shape \(10, 4\)\)"):
        sinkhorn(scores)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
def test_rejects_non_finite_any_dtype_with_count(bad, dtype):
    scores = unit_scores(64, 30, seed=4).to(dtype)
    scores[[0, 5, 5, 63], [0, 1, 29, 29]] = bad  # several per prototype and per sample
    with pytest.raises(ValueError, match=r"4 NaN/inf values out of 1920 \(shape \(64, 30\)\)"):
        sinkhorn(scores)


def test_rejects_whole_prototype_of_minus_inf():
    # a prototype no sample can reach: its row maximum is -inf as well
    scores = unit_scores(16, 5)
    scores[:, 2] = -math.inf
    with pytest.raises(ValueError, match="16 NaN/inf values out of 80"):
        sinkhorn(scores)


def test_huge_finite_scores_whose_sums_overflow_are_accepted():
    # the cheap check sums each prototype's scores, which overflows here (4 x 3e38): the
    # exact count must then clear the input instead of refusing it
    scores = torch.full((4, 3), 3e38)
    scores[0, 1] = 0.0
    assert not torch.isfinite(scores.sum(0)).all()
    q = sinkhorn(scores)
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q.double().sum(1), torch.ones(4).double(), rtol=0, atol=4 * U32)


def test_check_finite_false_skips_the_check():
    # the trainer's path: no check (it guards the loss instead), hence no error here
    scores = unit_scores(10, 4)
    scores[3, 2] = -math.inf
    q = sinkhorn(scores, check_finite=False)
    assert q[3, 2] == 0


def test_rejects_bad_arguments():
    with pytest.raises(ValueError, match="epsilon must be > 0; got 0"):
        sinkhorn(unit_scores(4, 4), epsilon=0)
    with pytest.raises(ValueError, match="n_iters must be >= 1"):
        sinkhorn(unit_scores(4, 4), n_iters=0)
    with pytest.raises(ValueError, match=r"2-D \(B, K\); got shape \(4,\)"):
        sinkhorn(torch.zeros(4))
