"""Two gloo processes on CPU: sharded Sinkhorn and DDP steps equal one process."""

import datetime
import math
import os
import socket

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from swav_ts.core import sinkhorn
from swav_ts.core.monitor import read_metrics
from swav_ts.core.trainer import train
from tests.core.helpers import SignalDataset, deterministic_views, tiny_config, tiny_model

pytestmark = pytest.mark.distributed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def set_env(rank, world_size, port):
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
    )


def _sinkhorn_worker(rank, world_size, port, scores, out_dir):
    set_env(rank, world_size, port)
    dist.init_process_group("gloo")
    shard = scores.chunk(world_size)[rank]
    codes = sinkhorn(shard, epsilon=0.05, n_iters=3)
    local = sinkhorn(shard, epsilon=0.05, n_iters=3, distributed=False)
    torch.save({"codes": codes, "local": local}, f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def test_sharded_sinkhorn_equals_full_batch(tmp_path):
    g = torch.Generator().manual_seed(0)
    z = torch.nn.functional.normalize(torch.randn(64, 16, generator=g), dim=1)
    c = torch.nn.functional.normalize(torch.randn(30, 16, generator=g), dim=1)
    scores = z @ c.t()
    mp.spawn(_sinkhorn_worker, args=(2, free_port(), scores, str(tmp_path)), nprocs=2)
    parts = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    sharded = torch.cat([p["codes"] for p in parts])
    torch.testing.assert_close(sharded, sinkhorn(scores, 0.05, 3), rtol=1e-5, atol=1e-7)
    # distributed=False really is local: it differs from the global solution
    local = torch.cat([p["local"] for p in parts])
    assert not torch.allclose(local, sharded, atol=1e-4)


def _non_finite_worker(rank, world_size, port, scores, out_dir):
    set_env(rank, world_size, port)
    # a short timeout: a rank left waiting in a collective fails the test instead of hanging
    dist.init_process_group("gloo", timeout=datetime.timedelta(seconds=20))
    shard = scores.chunk(world_size)[rank].clone()
    if rank == 0:
        shard[1, 2] = -math.inf  # exp(-inf) = 0: silent unless checked
        shard[3, 2] = -math.inf
    try:
        sinkhorn(shard, epsilon=0.05, n_iters=3)
        message = None
    except ValueError as exc:
        message = str(exc)
    # both ranks still talk: nobody was left waiting inside a collective
    flag = torch.ones(1)
    dist.all_reduce(flag)
    torch.save({"message": message, "flag": float(flag)}, f"{out_dir}/rank{rank}.pt")
    dist.destroy_process_group()


def test_non_finite_scores_on_one_rank_stop_every_rank(tmp_path):
    g = torch.Generator().manual_seed(1)
    scores = torch.rand(16, 6, generator=g) * 2 - 1
    mp.spawn(_non_finite_worker, args=(2, free_port(), scores, str(tmp_path)), nprocs=2)
    parts = [torch.load(tmp_path / f"rank{r}.pt") for r in range(2)]
    assert parts[0]["flag"] == parts[1]["flag"] == 2.0
    assert parts[0]["message"] is not None and parts[1]["message"] is not None
    assert "2 NaN/inf values out of 48 (shape (8, 6))" in parts[0]["message"]
    assert "another process contain NaN/inf" in parts[1]["message"]


def _train_worker(rank, world_size, port, run_dir):
    set_env(rank, world_size, port)
    cfg = tiny_config(epochs=2, batch_size=8, log_every_iters=1)
    model = tiny_model(batch_norm=False, hidden_mlp=0)
    train(model, SignalDataset(), cfg, run_dir, make_views=deterministic_views)
    dist.destroy_process_group()


def test_ddp_steps_equal_single_process(tmp_path):
    # no batch norm: per-rank statistics would differ from the full batch's by design
    mp.spawn(_train_worker, args=(2, free_port(), str(tmp_path / "ddp")), nprocs=2)
    single_cfg = tiny_config(epochs=2, batch_size=16, log_every_iters=1)
    single = tiny_model(batch_norm=False, hidden_mlp=0)
    train(single, SignalDataset(), single_cfg, tmp_path / "single", make_views=deterministic_views)

    def losses(name):
        rows = read_metrics(tmp_path / name / "metrics.jsonl")
        return torch.tensor([r["loss"] for r in rows if r["kind"] == "iter"])

    ddp_losses, single_losses = losses("ddp"), losses("single")
    assert len(ddp_losses) == len(single_losses) == 8
    torch.testing.assert_close(ddp_losses, single_losses, rtol=1e-4, atol=1e-5)
    ddp_state = torch.load(tmp_path / "ddp" / "checkpoint.pt", weights_only=True)["model"]
    for name, value in single.state_dict().items():
        torch.testing.assert_close(ddp_state[name], value, rtol=1e-4, atol=1e-5, msg=name)
