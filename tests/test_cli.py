"""The swav-ts command line on the debug config (seconds)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from swav_ts.cli import main

DEBUG = str(Path(__file__).resolve().parents[1] / "configs" / "timeseries" / "debug.yaml")


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert main(["pretrain", "--config", DEBUG, "--out", str(out)]) == 0
    return out


def test_pretrain_writes_run_folder(pretrained):
    for name in ("config.yaml", "metrics.jsonl", "checkpoint.pt", "model.safetensors"):
        assert (pretrained / name).exists(), name


def test_pretrain_set_override_and_errors(tmp_path, capsys):
    assert (
        main(
            [
                "pretrain",
                "--config",
                DEBUG,
                "--out",
                str(tmp_path / "a"),
                "--set",
                "swav.epsilom=0.1",
            ]
        )
        == 2
    )
    err = capsys.readouterr().err
    assert "unknown config key 'swav.epsilom'; did you mean 'swav.epsilon'" in err
    assert (
        main(
            [
                "pretrain",
                "--config",
                DEBUG,
                "--out",
                str(tmp_path / "b"),
                "--set",
                "swav.temperature=0",
            ]
        )
        == 2
    )
    assert "swav.temperature: must be > 0" in capsys.readouterr().err
    assert main(["pretrain", "--config", str(tmp_path / "none.yaml"), "--out", "x"]) == 2
    assert "config file not found" in capsys.readouterr().err


def run_embed(pretrained, inp, out, *extra):
    """``swav-ts embed`` with the pretrained debug model; returns the exit code."""
    model = str(pretrained / "model.safetensors")
    return main(["embed", "--model", model, "--input", inp, "--out", out, *extra])


def test_evaluate_and_embed(pretrained, tmp_path, uea_dir, capsys):
    out = tmp_path / "eval.json"
    uea = uea_dir
    assert (
        main(
            [
                "evaluate",
                "--model",
                str(pretrained / "model.safetensors"),
                "--train",
                str(uea / "BasicMotions_TRAIN.ts"),
                "--test",
                str(uea / "BasicMotions_TEST.ts"),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    result = json.loads(out.read_text())
    assert 0.25 <= result["linear_probe"]["accuracy"] <= 1.0
    np.save(tmp_path / "w.npy", np.random.default_rng(0).standard_normal((5, 6, 100)))
    assert run_embed(pretrained, str(tmp_path / "w.npy"), str(tmp_path / "z.npy")) == 0
    assert np.load(tmp_path / "z.npy").shape == (5, 16)
    assert run_embed(pretrained, str(tmp_path / "w.npy"), str(tmp_path / "z.txt")) == 2


def test_embed_csv_recordings_to_parquet(pretrained, tmp_path):
    import pandas as pd

    rng = np.random.default_rng(0)
    t = np.arange(1500) * 20.0  # ms at 50 Hz
    df = pd.DataFrame({"timestamp": t, **{f"c{i}": rng.standard_normal(1500) for i in range(6)}})
    df.to_csv(tmp_path / "rec.csv", index=False)
    assert (
        run_embed(
            pretrained,
            str(tmp_path / "rec.csv"),
            str(tmp_path / "e.parquet"),
            "--window-s",
            "2.56",
            "--stride-s",
            "1",
        )
        == 0
    )
    emb = pd.read_parquet(tmp_path / "e.parquet")
    assert len(emb) == (1500 - 128) // 50 + 1
    assert list(emb.columns[:2]) == ["id", "start_time_s"]


@pytest.mark.slow
def test_demo_on_debug_config(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "swav_ts.cli",
            "demo",
            "--config",
            DEBUG,
            "--out",
            str(tmp_path),
            "--fractions",
            "0.1",
            "1.0",
            "--seeds",
            "0",
            "--map",
            "pca",
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SwAV (ours), encoder" in proc.stdout and "NMI" in proc.stdout
    assert "SwAV (ours), prototype scores" in proc.stdout
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert 0.3 < metrics["linear_probe"]["accuracy"] <= 1.0
    assert [r["fraction"] for r in metrics["prototype_scores_label_fractions"]] == [0.1, 1.0]
    for name in (
        "loss_curve.png",
        "embedding_map.png",
        "prototype_usage.png",
        "confusion_matrix.png",
        "model.safetensors",
    ):
        assert (tmp_path / name).stat().st_size > 1000, name


def test_unknown_benchmark(capsys):
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err
