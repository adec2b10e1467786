"""The one time-series path: every entry point gives the same model; run folders never hold a
stale result; the model standardises inside; rotation is physical on the trainer's views."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from swav_ts import TimeSeriesSwAV
from swav_ts.cli import main
from swav_ts.core.config import load_config
from swav_ts.timeseries.config import TimeSeriesConfig
from swav_ts.timeseries.pretrain import RunFolderError, pretrain

DEBUG = Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml"


def test_estimator_cli_and_demo_give_bit_identical_embeddings(tmp_path, hapt_tiny):
    from swav_ts.demo import run_demo

    X = hapt_tiny["X_test"]
    assert main(["pretrain", "--config", str(DEBUG), "--out", str(tmp_path / "cli")]) == 0
    cli = TimeSeriesSwAV.load(tmp_path / "cli" / "model.safetensors").transform(X)
    est = TimeSeriesSwAV.from_config(DEBUG).fit("hapt").transform(X)
    run_demo(DEBUG, tmp_path / "demo", label_fractions=(1.0,), seeds=(0,), figures=False)
    demo = TimeSeriesSwAV.load(tmp_path / "demo" / "model.safetensors").transform(X)
    np.testing.assert_array_equal(cli, est)
    np.testing.assert_array_equal(demo, est)
    other = TimeSeriesSwAV.from_config(DEBUG, random_state=5).fit("hapt").transform(X)
    assert not np.allclose(other, est)  # the check can fail: another seed differs


def _array_source(tmp_path, n=48, c=3, t=64, seed=0):
    rng = np.random.default_rng(seed)
    X = (rng.standard_normal((n, c, t)).cumsum(-1) / 4).astype(np.float32)
    path = tmp_path / f"X{seed}.npy"
    np.save(path, X)
    return path


def _tiny_cfg(**train):
    return load_config(
        TimeSeriesConfig,
        None,
        [
            "encoder.name=cnn3",
            "encoder.kwargs={widths: [4, 8]}",
            "swav.n_prototypes=6",
            "swav.feat_dim=4",
            "swav.hidden_mlp=8",
            "train.device=cpu",
            "train.batch_size=16",
            *(f"train.{k}={v}" for k, v in train.items()),
        ],
    )


def test_a_run_folder_of_another_config_is_refused_before_any_work(tmp_path):
    src = _array_source(tmp_path)
    run = tmp_path / "run"
    first = pretrain(_tiny_cfg(epochs=1), src, run)
    before = {p.name: p.stat().st_mtime_ns for p in run.iterdir()}
    config_yaml = (run / "config.yaml").read_text()
    with pytest.raises(RunFolderError, match=r"train\.epochs: 1 -> 2") as err:
        pretrain(_tiny_cfg(epochs=2), src, run)
    assert "allow_config_change" in str(err.value)
    assert {p.name: p.stat().st_mtime_ns for p in run.iterdir()} == before  # nothing rewritten
    assert (run / "config.yaml").read_text() == config_yaml
    with pytest.raises(RunFolderError, match="data:"):  # the same config on other data
        pretrain(_tiny_cfg(epochs=1), _array_source(tmp_path, seed=1), run)
    # the same request resumes the finished run: the same weights, no training
    again = pretrain(_tiny_cfg(epochs=1), src, run)
    for a, b in zip(first.model.state_dict().values(), again.model.state_dict().values()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    # explicitly allowed: the run continues with the new config, and the folder says so
    longer = pretrain(_tiny_cfg(epochs=2), src, run, allow_config_change=True)
    assert len(longer.history) == 2
    assert json.loads((run / "request.json").read_text())["config"]["train"]["epochs"] == 2


def test_cli_refuses_another_config_in_the_run_folder(tmp_path, capsys):
    out = str(tmp_path / "run")
    assert main(["pretrain", "--config", str(DEBUG), "--out", out]) == 0
    capsys.readouterr()
    rc = main(["pretrain", "--config", str(DEBUG), "--out", out, "--set", "swav.epsilon=0.03"])
    assert rc == 2
    assert "swav.epsilon: 0.05 -> 0.03" in capsys.readouterr().err


def test_the_model_standardises_its_input_and_normalize_false_does_not(tmp_path):
    src = _array_source(tmp_path)
    X = np.load(src) * 3.0 + 10.0  # far from zero mean / unit scale
    np.save(src, X)
    res = pretrain(_tiny_cfg(epochs=1), src, tmp_path / "a")
    std = res.model.backbone.standardize
    flat = X.transpose(1, 0, 2).reshape(3, -1).astype(np.float64)
    np.testing.assert_allclose(std.mean.numpy(), flat.mean(1), rtol=1e-5)
    np.testing.assert_allclose(std.std.numpy(), flat.std(1), rtol=1e-5)
    cfg = _tiny_cfg(epochs=1)
    cfg.data.normalize = False
    raw = pretrain(cfg, src, tmp_path / "b").model.backbone.standardize
    assert torch.equal(raw.mean, torch.zeros(3)) and torch.equal(raw.std, torch.ones(3))


class ViewRecorder:
    """Forward pre-hook on the backbone: the views the trainer really feeds the model."""

    def __init__(self):
        self.views = []

    def __call__(self, module, args):
        if module.training:
            self.views.append(args[0].detach().clone())


def _rotation_only_run(tmp_path, source, triplets="null"):
    cfg = load_config(
        TimeSeriesConfig,
        None,
        [
            "encoder.name=cnn3",
            "encoder.kwargs={widths: [4, 8]}",
            "swav.n_prototypes=6",
            "swav.feat_dim=4",
            "swav.hidden_mlp=8",
            "train.device=cpu",
            "train.batch_size=16",
            "train.epochs=1",
            "data.context_length=64",
            "data.stride=64",
            "crops.global_length=48",
            "crops.local_length=24",
            "crops.n_local=2",
            f"augment.rotation={{p: 1.0, max_angle_deg: 90.0, triplets: {triplets}}}",
            *(
                f"augment.{a}.p=0"
                for a in (
                    "time_warp",
                    "scaling",
                    "magnitude_warp",
                    "jitter",
                    "time_mask",
                    "channel_dropout",
                )
            ),
        ],
    )
    rec = ViewRecorder()
    import swav_ts.timeseries.model as model_mod

    original = model_mod.build_model

    def build_and_hook(*a, **kw):
        model = original(*a, **kw)
        model.backbone.register_forward_pre_hook(rec)
        return model

    model_mod_pretrain = __import__("swav_ts.timeseries.pretrain", fromlist=["build_model"])
    model_mod_pretrain.build_model, saved = build_and_hook, model_mod_pretrain.build_model
    try:
        pretrain(cfg, source, tmp_path / "run")
    finally:
        model_mod_pretrain.build_model = saved
    return rec.views


def _gravity_recordings(n=4, t=2000):
    """Phone-like acc (g) + gyro (rad/s): every sample's acc vector has norm exactly 1 g, with
    channel means and spreads far apart (so a rotation of standardised signals would not keep
    it)."""
    from swav_ts.data import Recording

    rng = np.random.default_rng(0)
    names = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
    recs = []
    for i in range(n):
        theta = 0.3 + 0.2 * np.sin(np.linspace(0, 6, t) + i)  # tilt, slowly varying
        phi = 0.1 * rng.standard_normal(t).cumsum() / 10
        acc = np.stack([np.cos(theta), np.sin(theta) * np.cos(phi), np.sin(theta) * np.sin(phi)])
        gyro = 0.05 * rng.standard_normal((3, t)) + [[0.5], [-0.2], [0.0]]
        signals = np.concatenate([acc, gyro]).astype(np.float32)
        recs.append(Recording(signals, None, 50.0, names, 0.0, f"r{i}"))
    return recs


def test_rotation_keeps_gravity_on_the_views_the_trainer_feeds_the_model(tmp_path):
    views = _rotation_only_run(tmp_path, _gravity_recordings())
    assert views
    for v in views:  # (n_views * B, C, L) per backbone call
        norm = v[:, 0:3].double().norm(dim=1)
        torch.testing.assert_close(norm, torch.ones_like(norm), rtol=1e-5, atol=0)
    # and the views were rotated: their acc directions differ from any unrotated tilt
    first = views[0][:, 0]
    assert float(first.min()) < 0.5  # acc_x of the data stays above cos(0.5) = 0.88


def test_unnamed_channels_are_not_rotated(tmp_path):
    # 6 unnamed channels, each constant per case: any rotation would mix the constants
    rng = np.random.default_rng(1)
    levels = rng.uniform(-3, 3, size=(40, 6, 1)).astype(np.float32)
    X = np.repeat(levels, 64, axis=2)
    views = _rotation_only_run(tmp_path, X)
    allowed = {tuple(np.round(row, 5)) for row in levels[:, :, 0]}
    for v in views:
        for row in v[:, :, 0].numpy():
            assert tuple(np.round(row, 5)) in allowed
