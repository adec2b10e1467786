import numpy as np
import pytest
import torch
import torch.nn.functional as F

from swav_ts.core import swav_loss
from swav_ts.core.loss import SwAVLossOutput
from tests.reference import swav_loss_grad_ref, swav_loss_ref


def random_scores(n_crops, b, k, seed):
    g = torch.Generator().manual_seed(seed)
    z = F.normalize(torch.randn(n_crops * b, 24, generator=g), dim=1)
    c = F.normalize(torch.randn(k, 24, generator=g), dim=1)
    return (z @ c.t()).double()


def original_loop_loss(scores, n_crops, crops_for_assign, temperature, epsilon, iters, queue=None):
    """The original training loop's loss arithmetic (with the original in-place Sinkhorn)."""
    from tests.core.test_sinkhorn import original_sinkhorn

    bs = scores.shape[0] // n_crops
    loss = 0
    for i, crop_id in enumerate(crops_for_assign):
        with torch.no_grad():
            out = scores[bs * crop_id : bs * (crop_id + 1)].detach()
            if queue is not None:
                out = torch.cat((queue[i], out))
            q = original_sinkhorn(out, epsilon, iters)[-bs:]
        subloss = 0
        for v in np.delete(np.arange(n_crops), crop_id):
            x = scores[bs * v : bs * (v + 1)] / temperature
            subloss -= torch.mean(torch.sum(q * F.log_softmax(x.float(), dim=1), dim=1))
        loss += subloss / (n_crops - 1)
    return loss / len(crops_for_assign)


LAYOUTS = [
    (2, (0, 1), 16, 10),
    (8, (0, 1), 12, 30),
    (4, (0,), 20, 7),
    (5, (1, 3), 9, 50),
    (3, (0, 1, 2), 32, 300),
]


@pytest.mark.parametrize("n_crops,assign,b,k", LAYOUTS)
@pytest.mark.parametrize("temperature,epsilon", [(0.1, 0.05), (0.2, 0.03)])
def test_value_and_gradient_match_reference(n_crops, assign, b, k, temperature, epsilon):
    scores = random_scores(n_crops, b, k, seed=n_crops * 100 + b).float().requires_grad_(True)
    loss = swav_loss(scores, n_crops, assign, temperature, epsilon, 3)
    loss.backward()
    ref = swav_loss_ref(scores.detach().double().numpy(), n_crops, assign, temperature, epsilon, 3)
    grad_ref = swav_loss_grad_ref(
        scores.detach().double().numpy(), n_crops, assign, temperature, epsilon=epsilon, n_iters=3
    )
    assert float(loss.detach()) == pytest.approx(ref, rel=1e-5)
    np.testing.assert_allclose(scores.grad.double().numpy(), grad_ref, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("queue_len", [16, 64])
def test_queue_matches_reference(queue_len):
    n_crops, assign, b, k = 4, (0, 1), 8, 20
    scores = random_scores(n_crops, b, k, seed=7).float().requires_grad_(True)
    g = torch.Generator().manual_seed(11)
    queue = [F.normalize(torch.randn(queue_len, k, generator=g), dim=1) for _ in assign]
    loss = swav_loss(scores, n_crops, assign, queue_scores=queue)
    loss.backward()
    q_np = [q.double().numpy() for q in queue]
    ref = swav_loss_ref(scores.detach().double().numpy(), n_crops, assign, queue_scores=q_np)
    grad_ref = swav_loss_grad_ref(
        scores.detach().double().numpy(), n_crops, assign, queue_scores=q_np
    )
    assert float(loss.detach()) == pytest.approx(ref, rel=1e-5)
    np.testing.assert_allclose(scores.grad.numpy(), grad_ref, rtol=1e-4, atol=1e-7)
    # the queue changes the codes, hence the loss
    assert float(swav_loss(scores.detach(), n_crops, assign)) != pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("with_queue", [False, True])
def test_equals_original_training_loop(with_queue):
    n_crops, assign, b, k = 8, (0, 1), 16, 100
    s1 = random_scores(n_crops, b, k, seed=3).float().requires_grad_(True)
    s2 = s1.detach().clone().requires_grad_(True)
    queue = [torch.randn(32, k) * 0.3 for _ in assign] if with_queue else None
    ours = swav_loss(s1, n_crops, assign, 0.1, 0.05, 3, queue_scores=queue)
    orig = original_loop_loss(s2, n_crops, assign, 0.1, 0.05, 3, queue)
    ours.backward()
    orig.backward()
    torch.testing.assert_close(ours, orig, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(s1.grad, s2.grad, rtol=1e-4, atol=1e-7)


def test_no_gradient_through_codes():
    # gradient must equal (p - q)/(T*B) with q constant: perturbing only the assignment
    # crop's scores changes the loss only through the predictions made from it
    scores = random_scores(2, 6, 5, seed=1).float().requires_grad_(True)
    out = swav_loss(scores, 2, (0,), return_codes=True)
    assert isinstance(out, SwAVLossOutput)
    assert not out.codes[0].requires_grad
    out.loss.backward()
    # crop 0 only provides codes (assign=(0,)) and is never predicted: zero gradient
    assert torch.count_nonzero(scores.grad[:6]) == 0
    assert torch.count_nonzero(scores.grad[6:]) > 0


def test_bf16_autocast_extreme_logits_finite():
    scores = (torch.randn(4 * 16, 30) * 500).requires_grad_(True)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = swav_loss(scores.bfloat16(), 4)
    assert torch.isfinite(loss)


def test_bad_input_messages():
    s = torch.randn(10, 4)
    with pytest.raises(ValueError, match="10 rows, not divisible by n_crops=3"):
        swav_loss(s, 3)
    s[2, 1] = float("nan")
    with pytest.raises(ValueError, match="1 NaN/inf values out of 40"):
        swav_loss(s, 2)
    with pytest.raises(ValueError, match=r"crop 5, outside 0\.\.1"):
        swav_loss(torch.randn(10, 4), 2, (0, 5))
    with pytest.raises(ValueError, match="temperature must be > 0"):
        swav_loss(torch.randn(10, 4), 2, temperature=0.0)
    with pytest.raises(ValueError, match="queue_scores holds 1 tensors for 2"):
        swav_loss(torch.randn(10, 4), 2, queue_scores=[torch.randn(3, 4)])


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64, torch.bfloat16])
def test_rejects_non_finite_scores_with_count(bad, dtype):
    s = random_scores(4, 8, 10, seed=2).to(dtype)
    s[[1, 9, 9, 31], [0, 0, 9, 9]] = bad  # several per prototype and per sample
    with pytest.raises(ValueError, match=r"4 NaN/inf values out of 320 \(shape \(32, 10\)\)"):
        swav_loss(s, 4)
    # the trainer's path skips the check (it guards the loss instead)
    swav_loss(s, 4, check_finite=False)


def test_huge_finite_scores_whose_sums_overflow_are_accepted():
    # the cheap check sums each prototype's scores, which overflows here: the exact count must
    # then clear the input instead of refusing it
    s = torch.full((8, 3), 3e38)
    s[::2, 1] = -3e38
    assert not torch.isfinite(s.sum(0)).all()
    loss = swav_loss(s, 2, temperature=10.0)  # scores / temperature stay finite
    assert torch.isfinite(loss)
