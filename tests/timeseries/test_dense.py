"""The dense (timestamp-level) swapped prediction: which positions are paired, the views' source
times, and the loss term against the float64 reference."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swav_ts.core.config import SwAVConfig, load_config
from swav_ts.core.step import dense_loss
from swav_ts.timeseries.augment import AugmentConfig
from swav_ts.timeseries.augment.torch_engine import linear_gather
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.crops import MultiCropConfig
from swav_ts.timeseries.dense import pair_positions, position_times
from swav_ts.timeseries.model import build_model
from swav_ts.timeseries.pretrain import pretrain
from swav_ts.timeseries.views import ViewMaker
from tests.reference import swav_loss_ref


def test_positions_pair_by_context_time():
    # two windows of 64 samples from one context, b starting 16 samples after a; 8 positions
    # each (spacing 9 samples): position j of b sits at a's time + 16
    times_a = torch.arange(64, dtype=torch.float64)[None]
    times_b = times_a + 18.0  # two position spacings later
    b, ia, ib = pair_positions(times_a, times_b, 8, 8)
    assert torch.equal(ia - ib, torch.full_like(ia, 2)) and ia.min() == 2  # overlap only
    assert len(ia) == 6 and torch.equal(b, torch.zeros_like(b))
    b, ia, ib = pair_positions(times_a, times_a + 100.0, 8, 8)  # no overlap: no pair
    assert len(ia) == 0
    same = pair_positions(times_a.expand(3, -1), times_a.expand(3, -1), 8, 8)
    assert torch.equal(same[1], same[2]) and len(same[0]) == 24
    # a time warp: positions of b are matched to the nearest a position in context time
    warped = (torch.linspace(0, 1, 64, dtype=torch.float64) ** 1.5 * 63)[None]
    _, ia, ib = pair_positions(times_a, warped, 8, 8)
    ta, tb = position_times(times_a, 8)[0], position_times(warped, 8)[0]
    assert ((ta[ia] - tb[ib]).abs() <= 4.5 + 1e-9).all()


def test_views_report_where_every_sample_comes_from():
    # time warp and crops only: every view equals the context read at its source times
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(5, 2, 96, generator=gen, dtype=torch.float64).cumsum(-1)
    aug = AugmentConfig.disabled(time_warp={"p": 1.0, "max_speed_change": 0.5})
    crops = MultiCropConfig(n_global=2, global_length=48, n_local=2, local_length=24)
    views = ViewMaker(crops, aug)(x, torch.Generator().manual_seed(1))
    assert len(views.source_times) == 4
    for v, t in zip(views, views.source_times):
        assert t.shape == v.shape[::2] and (t >= 0).all() and (t <= 95).all()
        torch.testing.assert_close(v, linear_gather(x, t), rtol=1e-10, atol=1e-10)
    # the first global view is warped: its times are not evenly spaced
    steps = views.source_times[0].diff(dim=1)
    assert float(steps.std()) > 0.01


def test_dense_loss_matches_the_float64_reference():
    torch.manual_seed(0)
    cfg = load_config(
        TimeSeriesConfig,
        None,
        [
            "encoder.name=cnn3",
            "encoder.kwargs={widths: [4, 8]}",
            "swav.dense_prototypes=5",
            "swav.feat_dim=4",
            "swav.hidden_mlp=0",
        ],
    )
    model = build_model(cfg, 3).eval()
    seqs = [torch.randn(4, 8, 10), torch.randn(4, 8, 10)]  # (B, W, N)
    pairs = pair_positions(
        torch.arange(40.0).double().expand(4, -1),
        (torch.arange(40.0) + 8).double().expand(4, -1),
        10,
        10,
    )
    swav = SwAVConfig(temperature=0.1, epsilon=0.05)
    got = dense_loss(model, seqs, pairs, swav, distributed=False)
    b, ia, ib = pairs
    rows = torch.cat([seqs[0][b, :, ia], seqs[1][b, :, ib]])
    with torch.no_grad():
        scores = model.dense_scores(rows)[0].double().numpy()
    ref = swav_loss_ref(scores, 2, (0, 1), temperature=0.1, epsilon=0.05, n_iters=3)
    assert float(got.detach()) == pytest.approx(ref, rel=1e-5)


def test_pretraining_with_the_dense_objective_logs_and_lowers_it(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(4000) / 50.0
    X = np.stack([np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (0.5, 1.0, 1.7)])[
        None
    ].repeat(2, 0) + 0.05 * rng.standard_normal((2, 3, 4000))
    from swav_ts.data import Recording

    recs = [
        Recording(X[i].astype(np.float32), None, 50.0, ["a", "b", "c"], 0.0, f"r{i}")
        for i in range(2)
    ]
    cfg = load_config(
        TimeSeriesConfig,
        None,
        [
            "encoder.name=cnn3",
            "encoder.kwargs={widths: [8, 16]}",
            "swav.n_prototypes=8",
            "swav.dense_prototypes=8",
            "swav.feat_dim=8",
            "swav.hidden_mlp=16",
            "swav.freeze_prototypes_iters=0",
            "train.device=cpu",
            "train.batch_size=16",
            "train.epochs=5",  # not the default (6): a default would be raised to 250 steps
            "data.context_length=128",
            "data.stride=16",
            "crops.global_length=96",
            "crops.local_length=32",
            "crops.n_local=2",
        ],
    )
    res = pretrain(cfg, recs, tmp_path / "run")
    dense = [h["dense_loss"] for h in res.history]
    assert len(dense) == 5 and all(np.isfinite(dense))
    assert dense[-1] < dense[0] - 0.1, dense
    assert res.model.dense_prototypes is not None
