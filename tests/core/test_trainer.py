import json
import math
import warnings

import pytest
import torch

from swav_ts.core.checkpoint import CheckpointError, atomic_save, safe_load
from swav_ts.core.monitor import CollapseWarning, NonFiniteLossError, read_metrics
from swav_ts.core.trainer import load_training_checkpoint, train
from tests.core.helpers import SignalDataset, noisy_views, tiny_config, tiny_model


def run(tmp_path, name, cfg=None, model=None, views=noisy_views, **kw):
    cfg = cfg or tiny_config()
    model = model or tiny_model()
    return model, train(model, SignalDataset(), cfg, tmp_path / name, make_views=views, **kw)


def test_run_folder_contents(tmp_path):
    # (that the loss falls is checked in test_trainer_steps.test_loss_falls_on_separable_clusters)
    _model, res = run(tmp_path, "a")
    assert (res.run_dir / "config.yaml").exists()
    rows = read_metrics(res.run_dir / "metrics.jsonl")
    epochs = [r for r in rows if r["kind"] == "epoch"]
    assert len(epochs) == 3 and len(res.history) == 3
    assert all(math.isfinite(r["loss"]) for r in rows)
    assert res.iterations == 3 * (64 // 16)
    ckpt = load_training_checkpoint(res.checkpoint_path)
    assert ckpt["iteration"] == 12
    assert json.loads(ckpt["config"])["train"]["batch_size"] == 16


def test_lr_follows_schedule(tmp_path):
    _, res = run(tmp_path, "a", cfg=tiny_config(log_every_iters=1))
    lrs = [r["lr"] for r in read_metrics(res.run_dir / "metrics.jsonl") if r["kind"] == "iter"]
    # warmup over the first epoch (4 iterations) from 0.05 to 0.5, then cosine to 0.005
    assert lrs[0] == pytest.approx(0.05)
    assert max(lrs) == pytest.approx(0.5)
    assert lrs[-1] < 0.05 and lrs[-1] > 0.005


def test_prototypes_frozen_then_trained(tmp_path):
    cfg = tiny_config(epochs=1)
    cfg.swav.freeze_prototypes_iters = 4  # the whole single epoch
    model = tiny_model()
    model.prototypes.normalize_()
    before = model.prototypes.heads[0].weight.detach().clone()
    head_before = model.projection_head.mlp[0].weight.detach().clone()
    run(tmp_path, "frozen", cfg=cfg, model=model)
    w = model.prototypes.heads[0].weight.detach()
    torch.testing.assert_close(torch.nn.functional.normalize(w, dim=1), before)
    assert not torch.allclose(model.projection_head.mlp[0].weight, head_before)
    cfg2 = tiny_config(epochs=1)
    cfg2.swav.freeze_prototypes_iters = 1
    model2 = tiny_model()
    model2.prototypes.normalize_()
    run(tmp_path, "unfrozen", cfg=cfg2, model=model2)
    assert not torch.allclose(model2.prototypes.heads[0].weight, before)


def test_resume_equals_uninterrupted(tmp_path):
    cfg = tiny_config(checkpoint_every_iters=3)
    full, _ = run(tmp_path, "full", cfg=cfg)
    # interrupted after 5 iterations (mid-epoch 2): the last checkpoint is at iteration 3
    _part, res = run(
        tmp_path, "resumed", cfg=tiny_config(checkpoint_every_iters=3), stop_after_iters=5
    )
    assert res.iterations == 5
    ckpt = load_training_checkpoint(res.checkpoint_path)
    assert ckpt["iteration"] == 5
    # simulate a kill at iteration 5 by rolling back to the iteration-3 checkpoint
    _part3, _res3 = run(
        tmp_path, "killed", cfg=tiny_config(checkpoint_every_iters=3), stop_after_iters=3
    )
    resumed = tiny_model(seed=123)  # different init: everything must come from the checkpoint
    _, res_final = run(tmp_path, "killed", cfg=tiny_config(checkpoint_every_iters=3), model=resumed)
    assert res_final.iterations == 12
    for (name, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        torch.testing.assert_close(a, b, rtol=0, atol=0, msg=f"{name} differs after resume")


def test_queue_used_once_full_and_checkpointed(tmp_path):
    cfg = tiny_config(epochs=3, log_every_iters=1)
    cfg.swav.queue_length = 32
    cfg.swav.queue_start_epoch = 1
    _model, res = run(tmp_path, "q", cfg=cfg)
    rows = [r for r in read_metrics(res.run_dir / "metrics.jsonl") if r["kind"] == "epoch"]
    assert [r["queue_in_use"] for r in rows] == [False, True, True]
    ckpt = load_training_checkpoint(res.checkpoint_path)
    q = ckpt["queue"]
    assert q["embeddings"].shape == (2, 32, 8) and int(q["n_filled"]) == 32
    norms = q["embeddings"].norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms), rtol=0, atol=1e-5)


def test_queue_too_short_rejected(tmp_path):
    cfg = tiny_config()
    cfg.swav.queue_length = 8
    with pytest.raises(ValueError, match="queue_length=8 .* less than train.batch_size=16"):
        run(tmp_path, "q", cfg=cfg)


def test_nan_guard_names_iteration(tmp_path):
    def poisoned(batch, generator, device):
        views = noisy_views(batch, generator, device)
        poisoned.calls += 1
        if poisoned.calls == 6:
            views[1] = views[1] * float("nan")
        return views

    poisoned.calls = 0
    with pytest.raises(NonFiniteLossError, match="iteration 5"):
        run(tmp_path, "nan", views=poisoned)


def test_collapse_warning_fires_on_collapsed_model(tmp_path):
    model = tiny_model()
    torch.nn.init.zeros_(model.backbone.conv.weight)  # every sample -> the same embedding
    for p in model.backbone.parameters():
        p.requires_grad_(False)
    model.projection_head.mlp[0].weight.requires_grad_(False)
    cfg = tiny_config(epochs=4, collapse_patience_iters=8, log_every_iters=2)
    cfg.optim.base_lr = 1e-4
    with pytest.warns(CollapseWarning, match="collapsed"):
        run(tmp_path, "c", cfg=cfg, model=model)


def test_no_collapse_warning_on_healthy_run(tmp_path):
    cfg = tiny_config(epochs=4, collapse_patience_iters=8, log_every_iters=2)
    with warnings.catch_warnings():
        warnings.simplefilter("error", CollapseWarning)
        run(tmp_path, "h", cfg=cfg)


def test_checkpoint_refuses_pickle_payload(tmp_path):
    marker = tmp_path / "pwned"

    class Payload:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    bad = tmp_path / "evil.pt"
    torch.save({"format": "x", "model": Payload()}, bad)
    with pytest.raises(CheckpointError, match="refusing to load"):
        safe_load(bad)
    assert not marker.exists()


def test_truncated_and_failed_writes(tmp_path):
    path = tmp_path / "ck.pt"
    atomic_save({"a": torch.ones(1000)}, path)
    good = path.read_bytes()

    class Boom:
        def __reduce__(self):
            raise OSError("No space left on device")

    with pytest.raises(OSError, match="No space left"):
        atomic_save({"a": Boom()}, path)
    assert path.read_bytes() == good
    assert list(tmp_path.iterdir()) == [path]  # no temp files left behind
    torch.testing.assert_close(safe_load(path)["a"], torch.ones(1000))
    truncated = tmp_path / "trunc.pt"
    truncated.write_bytes(good[: len(good) // 2])
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        safe_load(truncated)
    with pytest.raises(CheckpointError, match="not found"):
        safe_load(tmp_path / "missing.pt")


def test_training_checkpoint_of_other_kind(tmp_path):
    path = tmp_path / "other.pt"
    atomic_save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="lacks"):
        load_training_checkpoint(path)


def test_bf16_autocast_runs(tmp_path):
    _, res = run(tmp_path, "bf16", cfg=tiny_config(precision="bf16", epochs=1))
    assert math.isfinite(res.history[-1]["loss"])
