"""``swav-ts pretrain`` under torchrun (2 gloo processes on CPU), as docs/quickstart.md shows it."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.distributed

REPO = Path(__file__).resolve().parents[2]


def test_torchrun_ranks_share_one_run_folder_and_train_the_dense_head(tmp_path):
    """The ranks share the run folder: rank 0 writes the data cache, the others open it (they
    used to write it at once and fail on each other's files); the dense head, used in every
    step, trains under DDP."""
    out = tmp_path / "run"
    cmd = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
        "-m", "swav_ts.cli", "pretrain", "--config", "configs/timeseries/debug.yaml",
        "--set", "swav.dense_prototypes=8", "--set", "train.progress=false", "--out", str(out),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert any("dense_loss" in row for row in rows if row["kind"] == "iter")
    assert (out / "model.safetensors").is_file() and (out / "cache").is_dir()
    assert not list(out.glob("cache_*")) and not list((out / "cache").glob("*.tmp"))
