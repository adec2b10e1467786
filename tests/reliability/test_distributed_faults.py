"""A rank that dies mid-run: the survivor stops with a clear error in bounded time (gloo, CPU)."""

import json
import os
import socket
import time
import traceback

import pytest
import torch
import torch.multiprocessing as mp

from swav_ts.core.trainer import train
from tests.core.helpers import SignalDataset, deterministic_views, tiny_config, tiny_model

pytestmark = pytest.mark.distributed

FAULT_AT_CALL = 3  # rank 1 fails while making the views of its 3rd batch (iteration 2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(
    rank: int, world_size: int, port: int, run_dir: str, out_dir: str, fault: str, timeout_s: float
) -> None:
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(world_size),
    )
    calls = {"n": 0}

    def views(batch, generator, device):
        calls["n"] += 1
        if rank == 1 and calls["n"] == FAULT_AT_CALL:
            if fault == "exit":
                os._exit(17)  # a crash without any clean-up (OOM kill, segfault)
            time.sleep(3600)  # a stalled peer (deadlock, hung I/O): alive, but silent
        return deterministic_views(batch, generator, device)

    cfg = tiny_config(epochs=3, batch_size=8, log_every_iters=1, dist_timeout_s=timeout_s)
    t0 = time.monotonic()
    outcome = {"rank": rank, "error": None, "type": None}
    try:
        train(tiny_model(batch_norm=False, hidden_mlp=0), SignalDataset(), cfg, run_dir, views)
    except BaseException as exc:
        outcome.update(error=str(exc), type=type(exc).__name__, tb=traceback.format_exc())
    outcome["elapsed_s"] = time.monotonic() - t0
    with open(os.path.join(out_dir, f"rank{rank}.json"), "w") as f:
        json.dump(outcome, f)
    os._exit(0)  # skip process-group destructors that could wait on the dead peer


@pytest.mark.parametrize(
    "fault,timeout_s",
    [
        ("exit", 20.0),  # the dead peer's sockets close: detected at once
        pytest.param("stall", 8.0, marks=pytest.mark.slow),  # detected after the timeout
    ],
)
def test_failed_rank_gives_clear_error_not_hang(tmp_path, fault, timeout_s):
    ctx = mp.get_context("spawn")
    port = _free_port()
    args = (str(tmp_path / "run"), str(tmp_path), fault, timeout_s)
    procs = [ctx.Process(target=_worker, args=(r, 2, port, *args)) for r in range(2)]
    for p in procs:
        p.start()
    limit_s = timeout_s + 60  # start-up (imports) + the collective timeout + slack
    procs[0].join(timeout=limit_s)
    survivor_hung = procs[0].is_alive()
    for p in procs:
        if p.is_alive():  # the stalled rank 1 (and rank 0 if it hangs)
            p.kill()
        p.join()
    assert not survivor_hung, f"rank 0 still running after {limit_s:.0f} s: it hangs"
    if fault == "exit":
        assert procs[1].exitcode == 17
    assert not (tmp_path / "rank1.json").exists()
    survivor = json.loads((tmp_path / "rank0.json").read_text())
    assert survivor["error"] is not None, "rank 0 finished as if nothing happened"
    assert survivor["type"] == "CollectiveError", survivor
    # training itself takes well under a second; the rest is the fault detection
    assert survivor["elapsed_s"] < timeout_s + 15, survivor
    msg = survivor["error"]
    assert "rank 0 of 2" in msg and "iteration 2 (epoch 0)" in msg, msg
    assert f"train.dist_timeout_s={timeout_s:g} s" in msg, msg
