"""Independent float64 reimplementation of SwAV's equations, for reference-equivalence tests.

Written from the paper (Caron et al. 2020, Sec. 3.1, Eq. 1-3 and Algorithm 1), deliberately
naive: explicit loops, no numerical tricks, numpy only.
"""

from __future__ import annotations

import numpy as np


def sinkhorn_ref(scores: np.ndarray, epsilon: float, n_iters: int) -> np.ndarray:
    """Codes Q (B, K) from scores (B, K): alternate prototype/sample normalisations."""
    scores = np.asarray(scores, dtype=np.float64)
    q = np.exp(scores.T / epsilon)  # K x B, paper's notation
    k_protos, b = q.shape
    q = q / q.sum()
    for _ in range(n_iters):
        for k in range(k_protos):  # each prototype receives total mass 1/K
            q[k, :] = q[k, :] / q[k, :].sum() / k_protos
        for j in range(b):  # each sample receives total mass 1/B
            q[:, j] = q[:, j] / q[:, j].sum() / b
    return (q * b).T


def log_softmax_ref(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    m = x.max(axis=1, keepdims=True)
    return x - m - np.log(np.exp(x - m).sum(axis=1, keepdims=True))


def swav_loss_ref(
    scores: np.ndarray,
    n_crops: int,
    crops_for_assign=(0, 1),
    temperature: float = 0.1,
    epsilon: float = 0.05,
    n_iters: int = 3,
    queue_scores=None,
) -> float:
    """Eq. (1): sum over assignment crops s and other crops t of the cross-entropy
    between q_s and softmax(scores_t / temperature), averaged as the original loop does."""
    scores = np.asarray(scores, dtype=np.float64)
    b = scores.shape[0] // n_crops
    crop = [scores[v * b : (v + 1) * b] for v in range(n_crops)]
    total = 0.0
    for i, s in enumerate(crops_for_assign):
        block = crop[s]
        if queue_scores is not None and queue_scores[i] is not None:
            block = np.concatenate([np.asarray(queue_scores[i], np.float64), block])
        q = sinkhorn_ref(block, epsilon, n_iters)[-b:]
        sub = 0.0
        for t in range(n_crops):
            if t == s:
                continue
            logp = log_softmax_ref(crop[t] / temperature)
            sub += -np.mean(np.sum(q * logp, axis=1))
        total += sub / (n_crops - 1)
    return total / len(crops_for_assign)


def swav_loss_grad_ref(scores, n_crops, crops_for_assign=(0, 1), temperature=0.1, **kw):
    """Analytic gradient of Eq. (1) w.r.t. the scores (codes held constant).

    For crop t predicting q_s: d/dx [-mean_b sum_k q log softmax(x/T)] = (softmax(x/T) - q)/(T*B).
    """
    scores = np.asarray(scores, dtype=np.float64)
    b = scores.shape[0] // n_crops
    grad = np.zeros_like(scores)
    queue_scores = kw.pop("queue_scores", None)
    for i, s in enumerate(crops_for_assign):
        block = scores[s * b : (s + 1) * b]
        if queue_scores is not None and queue_scores[i] is not None:
            block = np.concatenate([np.asarray(queue_scores[i], np.float64), block])
        q = sinkhorn_ref(block, kw.get("epsilon", 0.05), kw.get("n_iters", 3))[-b:]
        for t in range(n_crops):
            if t == s:
                continue
            x = scores[t * b : (t + 1) * b] / temperature
            p = np.exp(log_softmax_ref(x))
            grad[t * b : (t + 1) * b] += (p - q) / (temperature * b) / (n_crops - 1)
    return grad / len(crops_for_assign)


def lars_step_ref(
    w: np.ndarray,
    g: np.ndarray,
    buf,
    lr: float,
    momentum: float,
    weight_decay: float,
    trust_coefficient: float,
    eps: float = 1e-8,
    lars: bool = True,
):
    """One step of the original SwAV optimizer for one parameter, from the equations of apex
    ``LARC(clip=False)`` (You et al. 2017) wrapped around ``torch.optim.SGD(momentum, wd)``.

    LARC (``lars=True``) takes the weight decay out of SGD (SGD runs with wd = 0) and rescales
    the gradient: when ``||w|| > 0`` and ``||g|| > 0``

        eta_l = trust * ||w|| / (||g|| + wd * ||w|| + eps),    g <- eta_l * (g + wd * w),

    otherwise ``g`` is left as it is (no decay, no scaling). A parameter kept out of LARC
    (``lars=False``, biases and norm layers when excluded) gets SGD's own decay ``g + wd * w``.
    Then SGD with momentum, no dampening, no Nesterov:

        buf <- g (first step),  buf <- momentum * buf + g (later),    w <- w - lr * buf.

    Returns ``(w, buf)`` after the step (``buf`` None when momentum is 0).
    """
    w = np.asarray(w, dtype=np.float64)
    g = np.asarray(g, dtype=np.float64)
    if lars:
        w_norm = np.sqrt(np.sum(w * w))
        g_norm = np.sqrt(np.sum(g * g))
        if w_norm != 0 and g_norm != 0:
            eta_l = trust_coefficient * w_norm / (g_norm + weight_decay * w_norm + eps)
            g = eta_l * (g + weight_decay * w)
    elif weight_decay != 0:
        g = g + weight_decay * w
    if momentum != 0:
        buf = g.copy() if buf is None else momentum * np.asarray(buf, np.float64) + g
        g = buf
    return w - lr * g, buf
