"""The pieces several benchmarks share (`bench.common`, `bench.timing`)."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest
import torch

from swav_ts.bench.common import run_child, run_command, scratch_folder, subset_rows
from swav_ts.bench.timing import device_sync, median_time_s, time_calls, torch_threads


def test_time_calls_warms_up_then_times_each_call_and_syncs():
    events = []
    times = time_calls(lambda: events.append("call"), repeats=3, warmup=2,
                       sync=lambda: events.append("sync"))  # fmt: skip
    assert len(times) == 3 and all(t >= 0 for t in times)
    assert events == ["call", "call", "sync"] + ["call", "sync"] * 3
    assert median_time_s(lambda: None, repeats=1, warmup=0) >= 0


def test_device_sync_is_a_no_op_off_cuda():
    assert device_sync("cpu")() is None


def test_torch_threads_sets_restores_and_refuses_zero():
    before = torch.get_num_threads()
    with torch_threads(before + 1):
        assert torch.get_num_threads() == before + 1
    assert torch.get_num_threads() == before
    with torch_threads(None):
        assert torch.get_num_threads() == before
    with pytest.raises(ValueError, match="threads must be >= 1, got 0"), torch_threads(0):
        pass
    with pytest.raises(RuntimeError), torch_threads(before + 1):
        raise RuntimeError
    assert torch.get_num_threads() == before  # restored on errors too


def test_subset_rows_draws_only_when_it_subsets():
    rng, same = np.random.default_rng(5), np.random.default_rng(5)
    np.testing.assert_array_equal(subset_rows(4, None, rng), np.arange(4))
    np.testing.assert_array_equal(subset_rows(4, 9, rng), np.arange(4))
    assert rng.integers(1000) == same.integers(1000)  # nothing was drawn
    picked = subset_rows(100, 10, 3)
    assert len(picked) == 10 and np.all(np.diff(picked) > 0)
    np.testing.assert_array_equal(picked, subset_rows(100, 10, np.random.default_rng(3)))


def test_scratch_folder_is_made_inside_work_dir_and_removed(tmp_path):
    work = tmp_path / "new" / "work"
    with scratch_folder("x_", work) as root:
        assert root.parent == work and root.name.startswith("x_")
        (root / "f").write_text("data")
    assert work.is_dir() and not root.exists()


def test_run_child_returns_the_last_line_and_reports_failures():
    ok = "import json, sys; print('noise'); print(json.dumps({'args': sys.argv[1:]}))"
    assert run_child(ok, ["a", "b"], "child") == {"args": ["a", "b"]}
    with pytest.raises(RuntimeError, match=r"^the child failed \(exit 3\):\n.*oops"):
        run_child("import sys; sys.stderr.write('oops'); sys.exit(3)", [], "the child")
    with pytest.raises(RuntimeError, match=r"^the child exited with 2:"):
        run_child("print('{\"code\": 2}')", [], "the child")


def test_run_command_checks_json_before_running_and_writes_after(tmp_path, capsys):
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1)
    ran = []

    def run(args: argparse.Namespace) -> dict:
        assert (tmp_path / "out").is_dir()  # --json's folder exists before the run
        ran.append(args.n)
        return {"n": args.n}

    path = tmp_path / "out" / "r.json"
    res = run_command(parser, ["--n", "4", "--json", str(path)], run, lambda r: f"n={r['n']}")
    assert res == {"n": 4} and ran == [4]
    assert capsys.readouterr().out == "n=4\n"
    assert json.loads(path.read_text()) == {"n": 4}

    def refuse(args: argparse.Namespace) -> None:
        raise ValueError("wrong together")

    with pytest.raises(ValueError, match="wrong together"):
        run_command(argparse.ArgumentParser(), [], run, str, check=refuse)
    assert ran == [4]  # the check comes first
