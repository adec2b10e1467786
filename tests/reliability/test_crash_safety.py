"""Crash safety: a killed run resumes to the same weights; failed or damaged checkpoint writes
never destroy the previous checkpoint and never load silently."""

import os
import random
import signal
import struct
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swav_ts.core.checkpoint import CheckpointError, atomic_save, safe_load
from swav_ts.core.trainer import CHECKPOINT_NAME, load_training_checkpoint, train
from tests.core.helpers import SignalDataset, noisy_views, tiny_config, tiny_model

ROOT = Path(__file__).resolve().parents[2]
DEBUG = str(ROOT / "configs" / "timeseries" / "debug.yaml")


# ------------------------------------------------------------------ SIGKILL and resume (CLI)
def _pretrain_cmd(out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "swav_ts.cli",
        "pretrain",
        "--config",
        DEBUG,
        "--out",
        str(out),
        "--set",
        "train.epochs=3",
        "--set",
        "data.stride=512",  # 49 iterations per epoch on the HAPT train split
        "--set",
        "train.checkpoint_every_iters=3",
    ]


def _env() -> dict:
    # same thread count in every run: CPU results are bit-identical for a fixed thread count
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def _ckpt_iteration(path: Path) -> int | None:
    try:
        return int(torch.load(path, map_location="cpu", weights_only=True)["iteration"])
    except Exception:  # not written yet
        return None


def _safetensors(path: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(path))


@pytest.mark.slow
def test_sigkill_mid_epoch_then_resume_is_bit_identical(tmp_path):
    ref_dir, run_dir = tmp_path / "reference", tmp_path / "killed"
    reference = subprocess.Popen(
        _pretrain_cmd(ref_dir), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    victim = subprocess.Popen(
        _pretrain_cmd(run_dir), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    ckpt = run_dir / CHECKPOINT_NAME
    deadline = time.monotonic() + 240
    seen = None
    while time.monotonic() < deadline and victim.poll() is None:
        seen = _ckpt_iteration(ckpt) if ckpt.exists() else None
        if seen is not None and seen >= 6:
            victim.send_signal(signal.SIGKILL)
            break
        time.sleep(0.02)
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL, victim.stdout.read().decode()[-2000:]
    assert not (run_dir / "model.safetensors").exists()
    killed_at = load_training_checkpoint(ckpt)["iteration"]
    assert 6 <= killed_at < 147 and killed_at % 49 != 0, killed_at  # mid-epoch

    resumed = subprocess.run(
        _pretrain_cmd(run_dir), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert reference.wait(timeout=300) == 0, reference.stdout.read().decode()[-2000:]

    a = _safetensors(ref_dir / "model.safetensors")
    b = _safetensors(run_dir / "model.safetensors")
    assert a.keys() == b.keys()
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs after kill + resume"
    ca = load_training_checkpoint(ref_dir / CHECKPOINT_NAME)
    cb = load_training_checkpoint(run_dir / CHECKPOINT_NAME)
    assert ca["iteration"] == cb["iteration"] == 147
    for name in ca["model"]:
        assert torch.equal(ca["model"][name], cb["model"][name]), name


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_or_sigterm_stops_with_one_line_and_resumes_identically(tmp_path, sig):
    ref_dir, run_dir = tmp_path / "reference", tmp_path / "stopped"
    reference = subprocess.Popen(
        _pretrain_cmd(ref_dir), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    victim = subprocess.Popen(
        _pretrain_cmd(run_dir), env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    ckpt = run_dir / CHECKPOINT_NAME
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and victim.poll() is None:
        seen = _ckpt_iteration(ckpt) if ckpt.exists() else None
        if seen is not None and seen >= 6:
            victim.send_signal(sig)
            break
        time.sleep(0.02)
    _, err = victim.communicate(timeout=120)
    err = err.decode()
    assert victim.returncode == 128 + sig, err[-2000:]
    stopped_at = load_training_checkpoint(ckpt)["iteration"]
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err, err[-2000:]
    assert lines[-1] == (
        f"swav-ts pretrain: interrupted ({signal.Signals(sig).name}: checkpoint at iteration "
        f"{stopped_at} kept in {ckpt}; rerun the same command to resume)"
    ), err[-2000:]
    assert not (run_dir / "model.safetensors").exists()

    resumed = subprocess.run(
        _pretrain_cmd(run_dir), env=_env(), capture_output=True, text=True, timeout=300
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming {run_dir} at iteration {stopped_at} of 147" in resumed.stderr
    assert reference.wait(timeout=300) == 0
    a = _safetensors(ref_dir / "model.safetensors")
    b = _safetensors(run_dir / "model.safetensors")
    for name in a:
        assert torch.equal(a[name], b[name]), f"{name} differs after stop + resume"


# ------------------------------------------------------------------ failed writes
def _run(run_dir, **kw):
    model = tiny_model()
    cfg = tiny_config(checkpoint_every_iters=2)
    train(model, SignalDataset(), cfg, run_dir, make_views=noisy_views, **kw)
    return model


@pytest.mark.parametrize("failing", ["torch.save", "os.replace"])
def test_disk_full_during_checkpoint_keeps_previous(tmp_path, monkeypatch, failing):
    run_dir = tmp_path / "run"
    real_save, real_replace = torch.save, os.replace
    calls = {"n": 0}

    def full_disk_save(obj, f, *a, **k):
        calls["n"] += 1
        if calls["n"] == 3:  # the checkpoint of iteration 6
            real_save(obj, f, *a, **k)  # a partial file exists when the error comes
            raise OSError(28, "No space left on device")
        return real_save(obj, f, *a, **k)

    def full_disk_replace(src, dst, *a, **k):
        if Path(dst).name == CHECKPOINT_NAME:
            calls["n"] += 1
            if calls["n"] == 3:
                raise OSError(28, "No space left on device")
        return real_replace(src, dst, *a, **k)

    if failing == "torch.save":
        monkeypatch.setattr(torch, "save", full_disk_save)
    else:
        monkeypatch.setattr(os, "replace", full_disk_replace)
    with pytest.raises(OSError, match="No space left on device"):
        _run(run_dir)
    monkeypatch.undo()
    assert sorted(p.name for p in run_dir.iterdir()) == [
        CHECKPOINT_NAME,
        "config.yaml",
        "metrics.jsonl",
    ]  # no temporary files left behind
    assert load_training_checkpoint(run_dir / CHECKPOINT_NAME)["iteration"] == 4
    # and the run resumes from it to the same weights as an uninterrupted run
    resumed = _run(run_dir)
    full = _run(tmp_path / "full")
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), name


# ------------------------------------------------------------------ damaged checkpoints
@pytest.fixture(scope="module")
def good_checkpoint(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("good")
    model = tiny_model()
    train(
        model,
        SignalDataset(),
        tiny_config(epochs=1, checkpoint_every_iters=2),
        run_dir,
        make_views=noisy_views,
    )
    return run_dir / CHECKPOINT_NAME


def _same(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.dtype == b.dtype and torch.equal(a, b)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    return a == b


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_flips=st.integers(1, 8),
    truncate=st.booleans(),
)
def test_damaged_checkpoint_is_refused_never_loaded_silently(
    good_checkpoint, tmp_path_factory, seed, n_flips, truncate
):
    data = bytearray(good_checkpoint.read_bytes())
    original = safe_load(good_checkpoint)
    rng = random.Random(seed)
    if truncate:
        data = data[: rng.randrange(0, len(data))]
    else:
        for _ in range(n_flips):
            i = rng.randrange(len(data))
            data[i] ^= rng.randrange(1, 256)
    path = tmp_path_factory.mktemp("bad") / CHECKPOINT_NAME
    path.write_bytes(bytes(data))
    try:
        loaded = safe_load(path)
    except CheckpointError as exc:
        assert str(path) in str(exc)
        return
    # bytes outside every entry (zip padding) may change harmlessly; the content may not
    assert _same(loaded, original), "a damaged checkpoint loaded with different content"


def test_resume_from_damaged_checkpoint_raises_checkpoint_error(good_checkpoint, tmp_path):
    good = good_checkpoint.read_bytes()
    with zipfile.ZipFile(good_checkpoint) as zf:
        # the largest tensor record: flipping a byte there changes a weight, nothing else
        info = max(zf.infolist(), key=lambda i: i.file_size)
    name_len, extra_len = struct.unpack(
        "<HH", good[info.header_offset + 26 : info.header_offset + 30]
    )
    start = info.header_offset + 30 + name_len + extra_len  # first byte of the tensor data
    cases = {
        "truncated": good[: len(good) // 2],
        "empty": b"",
        "flipped": good[: start + 7] + bytes([good[start + 7] ^ 0x40]) + good[start + 8 :],
        "garbage": os.urandom(len(good)),
    }
    for name, data in cases.items():
        run_dir = tmp_path / name
        run_dir.mkdir()
        (run_dir / CHECKPOINT_NAME).write_bytes(data)
        with pytest.raises(CheckpointError, match=f"{name}/{CHECKPOINT_NAME}") as exc:
            train(tiny_model(), SignalDataset(), tiny_config(), run_dir, make_views=noisy_views)
        assert "truncated or corrupted" in str(exc.value) or "empty" in str(exc.value)


def test_atomic_save_failure_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "ck.pt"
    atomic_save({"w": torch.arange(10)}, path)

    def fail_fsync(fd):
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fsync", fail_fsync)
    with pytest.raises(OSError, match="Input/output error"):
        atomic_save({"w": torch.zeros(10)}, path)
    monkeypatch.undo()
    assert [p.name for p in tmp_path.iterdir()] == ["ck.pt"]
    assert torch.equal(safe_load(path)["w"], torch.arange(10))
