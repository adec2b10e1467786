"""What happens inside each training step, observed through the public ``train`` API only
(the model's public attributes, ``make_views``, the metrics file and the checkpoint):
prototype re-normalisation, the queue's place in the loss, and learning on a toy problem."""

from __future__ import annotations

import copy
import itertools
import math

import numpy as np
import pytest
import torch
from torch.utils.data import Dataset

from swav_ts.core.monitor import read_metrics
from swav_ts.core.trainer import load_training_checkpoint, train
from tests.core.helpers import (
    SignalDataset,
    deterministic_views,
    noisy_views,
    tiny_config,
    tiny_model,
)
from tests.reference import swav_loss_ref

REL = 2e-6  # measured: at most 2.6e-7 relative over the 12 steps


def test_prototypes_renormalised_before_every_step(tmp_path):
    # two heads, started far from unit norm and trained from the first step: each step moves
    # the rows off the unit sphere, so only a normalisation before every step keeps every
    # forward pass on unit rows
    cfg = tiny_config(epochs=2)
    cfg.swav.n_prototypes = [10, 6]
    cfg.swav.freeze_prototypes_iters = 0
    model = tiny_model(n_prototypes=[10, 6])
    with torch.no_grad():
        for w in model.prototypes.weights():
            w.mul_(3.0)
    seen = []  # the prototype matrices each training forward pass used

    def record(module, args):
        if module.training:
            seen.append([w.detach().clone() for w in module.weights()])

    model.prototypes.register_forward_pre_hook(record)
    res = train(model, SignalDataset(), cfg, tmp_path / "run", make_views=noisy_views)
    assert len(seen) == res.iterations == 8
    for it, heads in enumerate(seen):
        for h, w in enumerate(heads):  # (K_h, D)
            norms = w.norm(dim=1)
            torch.testing.assert_close(
                norms, torch.ones_like(norms), rtol=0, atol=1e-6, msg=f"iteration {it} head {h}"
            )
    # the check is sensitive: every step moved the prototypes, and off the unit sphere
    for a, b in itertools.pairwise(seen):
        assert all((wa - wb).abs().max() > 1e-5 for wa, wb in zip(a, b))
    for w in model.prototypes.weights():
        assert (w.detach().norm(dim=1) - 1).abs().max() > 1e-5


def test_every_step_loss_equals_reference_with_the_queue_before_the_step(tmp_path):
    """Each iteration's logged loss equals Eq. (1) recomputed in float64 from the state before
    the step (read from the per-iteration checkpoint when ``make_views`` is called):

    * once the queue is full, its embeddings scored against the current prototypes enter
      Sinkhorn before the batch (the queue's scores reach the loss);
    * the batch is pushed after the loss (the queue of step t holds batches < t only);
    * while the queue fills, it is not used.
    """
    cfg = tiny_config(epochs=3, log_every_iters=1, checkpoint_every_iters=1)
    cfg.swav.queue_length = 32  # two batches of 16
    cfg.swav.queue_start_epoch = 1
    cfg.swav.freeze_prototypes_iters = 0
    model = tiny_model(batch_norm=False)
    state0 = copy.deepcopy(model.state_dict())
    run_dir = tmp_path / "run"
    before_step = []  # per iteration: views, model state and queue before the step

    def views_and_state(batch, generator, device):
        views = deterministic_views(batch, generator, device)
        ckpt = run_dir / "checkpoint.pt"
        if ckpt.exists():
            saved = load_training_checkpoint(ckpt)
            state, queue = saved["model"], saved["queue"]
        else:
            state, queue = state0, None
        before_step.append(([v.clone() for v in views], copy.deepcopy(state), queue))
        return views

    res = train(model, SignalDataset(), cfg, run_dir, make_views=views_and_state)
    logged = [r["loss"] for r in read_metrics(run_dir / "metrics.jsonl") if r["kind"] == "iter"]
    assert len(before_step) == len(logged) == res.iterations == 12

    swav = cfg.swav
    replica = tiny_model(batch_norm=False).double()
    used = []
    for it, (views, state, queue) in enumerate(before_step):
        replica.load_state_dict(state)
        replica.prototypes.normalize_()
        c = replica.prototypes.weights()[0].detach().double().numpy()  # (K, D)
        with torch.no_grad():
            _, scores = replica([v.double() for v in views])  # [(V*B, K)]
        queue_scores = None
        full = queue is not None and int(queue["n_filled"]) == swav.queue_length
        if full:
            # one (queue length, K) block per assignment crop
            queue_scores = [e.double().numpy() @ c.T for e in queue["embeddings"]]
        used.append(full)
        ref = swav_loss_ref(
            scores[0].numpy(),
            len(views),
            swav.crops_for_assign,
            swav.temperature,
            swav.epsilon,
            swav.sinkhorn_iters,
            queue_scores,
        )
        # float32 training against a float64 recomputation (REL)
        assert logged[it] == pytest.approx(ref, rel=REL), f"iteration {it}: {logged[it]} vs {ref}"
    # the run covered all three regimes: no queue yet, queue filling, queue full
    assert used == [False] * 6 + [True] * 6
    assert before_step[5][2] is not None and int(before_step[5][2]["n_filled"]) == 16


class ClusterSignals(Dataset):
    """Noisy copies of 4 multichannel sinusoid templates (distinct frequencies and phases)."""

    def __init__(self, n=128, n_clusters=4, channels=3, length=32, noise=0.1, seed=0):
        g = torch.Generator().manual_seed(seed)
        t = torch.arange(length) / length
        freqs = torch.arange(1, n_clusters + 1).float() * 1.5
        phase = torch.rand(n_clusters, channels, 1, generator=g) * 2 * math.pi
        templates = torch.sin(2 * math.pi * freqs[:, None, None] * t + phase)  # (4, C, T)
        labels = torch.arange(n) % n_clusters
        self.x = templates[labels] + noise * torch.randn(n, channels, length, generator=g)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def test_loss_falls_on_separable_clusters(tmp_path):
    cfg = tiny_config(epochs=4, batch_size=32, log_every_iters=4)
    cfg.optim.name = "adamw"
    cfg.optim.base_lr, cfg.optim.final_lr, cfg.optim.start_warmup_lr = 1e-2, 1e-4, 1e-3
    cfg.optim.weight_decay = 1e-4
    res = train(tiny_model(), ClusterSignals(), cfg, tmp_path / "run", make_views=noisy_views)
    losses = [r["loss"] for r in res.history]
    ln_k = math.log(10)
    assert len(losses) == 4 and np.isfinite(losses).all()
    # measured: 2.77, 1.47, 1.18, 1.15 (ln K = 2.30); with a zero learning rate the epoch
    # loss stays at 3.29, 3.31, 2.80, 2.92
    assert losses[-1] < losses[0] - 1.0, losses
    assert losses[-1] < ln_k - 0.7, losses
