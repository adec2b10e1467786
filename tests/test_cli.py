"""The swav-ts command line on the debug config (seconds)."""

import json
import shlex
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from swav_ts.cli import main
from swav_ts.report import FIGURES
from tests.test_report import check_report

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


def test_finetune_then_export_the_classifier(pretrained, tmp_path, uea_dir, capsys):
    clf = tmp_path / "clf.safetensors"
    args = [
        "finetune",
        "--model",
        str(pretrained / "model.safetensors"),
        "--train",
        str(uea_dir / "BasicMotions_TRAIN.ts"),
        "--test",
        str(uea_dir / "BasicMotions_TEST.ts"),
        "--out",
        str(clf),
        "--max-epochs",
        "2",
    ]
    # the debug model was pretrained on HAPT's 6 channels of 128 steps; BasicMotions has 6
    # channels of 100 steps: its windows pass the model's input contract
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    assert "fine-tuned on 40 labelled windows" in out and "accuracy on" in out
    accuracy = float(out.rsplit(":", 1)[1])
    assert 0.25 <= accuracy <= 1.0
    onnx = tmp_path / "clf.pt"
    assert main(["export", "--model", str(clf), "--out", str(onnx), "--format", "torchscript"]) == 0
    assert "['logits', 'probabilities']" in capsys.readouterr().out
    assert main(["export", "--model", str(clf), "--out", str(onnx), "--scores"]) == 2
    assert "is a classifier" in capsys.readouterr().err


HAPT_NAMES = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]


def _phone_csv(path, rate_hz=50.0, seconds=30.0, order=None, extra=True):
    """A smooth 6-channel signal as a phone export: ms timestamps, a string label column."""
    import pandas as pd

    t = np.arange(0, seconds, 1 / rate_hz)
    cols = {"timestamp": t * 1000.0}
    for i, name in enumerate(HAPT_NAMES):
        cols[name] = np.sin(2 * np.pi * (0.3 + 0.1 * i) * t + i) * (0.3 + 0.1 * i)
    if extra:
        cols["activity"] = np.where(t < seconds / 2, "SEATED", "WALKING")
    df = pd.DataFrame(cols)
    if order is not None:
        df = df[["timestamp", *order, "activity"]]
    df.to_csv(path, index=False)
    return path


def test_embed_csv_recordings_to_parquet(pretrained, tmp_path):
    import pandas as pd

    _phone_csv(tmp_path / "rec.csv")
    args = ("--window-s", "2.56", "--stride-s", "1")
    assert run_embed(pretrained, str(tmp_path / "rec.csv"), str(tmp_path / "e.parquet"), *args) == 0
    emb = pd.read_parquet(tmp_path / "e.parquet")  # the label column was left out
    assert len(emb) == (1500 - 128) // 50 + 1
    assert list(emb.columns[:2]) == ["id", "start_time_s"]


def test_embed_follows_the_model_contract(pretrained, tmp_path, capsys):
    args = ("--window-s", "2.56", "--stride-s", "1")

    def embed(csv, *extra):
        out = tmp_path / f"{csv.stem}.npy"
        assert run_embed(pretrained, str(csv), str(out), *args, *extra) == 0
        return np.load(out)

    ref = embed(_phone_csv(tmp_path / "ref.csv"))
    # columns in another order: selected by name, the same embeddings
    shuffled = embed(_phone_csv(tmp_path / "shuf.csv", order=HAPT_NAMES[::-1]))
    np.testing.assert_array_equal(shuffled, ref)
    # the same signal exported at 100 Hz: resampled to the model's 50 Hz, nearly the same
    fast = embed(_phone_csv(tmp_path / "fast.csv", rate_hz=100.0))
    assert fast.shape == ref.shape
    rel = np.linalg.norm(fast - ref) / np.linalg.norm(ref)
    assert rel < 0.02, rel
    # explicit --channels in the model's order
    renamed = tmp_path / "renamed.csv"
    import pandas as pd

    df = pd.read_csv(tmp_path / "ref.csv").rename(columns=dict(zip(HAPT_NAMES, "abcdef")))
    df.to_csv(renamed, index=False)
    np.testing.assert_array_equal(embed(renamed, "--channels", *"abcdef"), ref)
    # a missing channel is an error naming both sides; a slower recording too
    capsys.readouterr()
    out = str(tmp_path / "x.npy")
    assert run_embed(pretrained, str(renamed), out, *args) == 2
    assert "channel column(s) ['acc_x'" in capsys.readouterr().err
    slow = _phone_csv(tmp_path / "slow.csv", rate_hz=20.0)
    assert run_embed(pretrained, str(slow), out, *args, "--rate-hz", "20") == 2
    err = capsys.readouterr().err
    assert "20 Hz, below the model's 50 Hz" in err


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
            "--no-peers",  # MiniRocket's row: test_demo_minirocket_row (this test stays fast)
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
    assert metrics["peers"] == {}
    assert [r["fraction"] for r in metrics["prototype_scores_label_fractions"]] == [0.1, 1.0]
    for name in (
        "loss_curve.png",
        "embedding_map.png",
        "prototype_usage.png",
        "confusion_matrix.png",
        "model.safetensors",
    ):
        assert (tmp_path / name).stat().st_size > 1000, name
    # the one page to open: named last, every figure of it from metrics.json, images inside
    report = tmp_path / "report.html"
    assert proc.stdout.strip().splitlines()[-1] == f"report: {report}"
    figures = {name: tmp_path / name for name in FIGURES}
    page = check_report(report, metrics, figures)
    # its next steps run as written on the demo's model (export, embed: seconds on debug)
    lines = [line for line in page.code[0].splitlines() if line.startswith("swav-ts ")]
    assert [line.split()[1] for line in lines] == ["embed", "export", "export", "evaluate"]
    for line in lines[:3]:
        assert main(shlex.split(line)[1:]) == 0, line
    assert np.load(tmp_path / "embeddings.npy").shape[1] == 16  # debug: feat width 16
    assert (tmp_path / "model.pt").stat().st_size > 1000
    assert (tmp_path / "model.onnx").stat().st_size > 1000


def test_unknown_benchmark(capsys):
    assert main(["bench", "nope"]) == 2
    assert "unknown benchmark 'nope'" in capsys.readouterr().err


def test_pretrain_on_a_csv_glob_with_the_example_config(tmp_path):
    """configs/timeseries/csv_example.yaml as the docs show it: a glob of exports at different
    rates with a label column; the model takes the listed channels at 50 Hz."""
    folder = tmp_path / "logs"
    folder.mkdir()
    for i, rate in enumerate((50.0, 100.0, 52.0)):
        _phone_csv(folder / f"rec{i}.csv", rate_hz=rate, seconds=40.0)
    example = Path(__file__).resolve().parents[1] / "configs" / "timeseries" / "csv_example.yaml"
    out = tmp_path / "run"
    sets = [
        f"data.source={folder}/*.csv",
        "train.epochs=1",
        "train.progress=false",
        "train.device=cpu",
        "encoder.name=cnn3",
        "encoder.kwargs={widths: [4, 8]}",
        "swav.hidden_mlp=8",
        "swav.feat_dim=4",
    ]
    args = ["pretrain", "--config", str(example), "--out", str(out)]
    for s in sets:
        args += ["--set", s]
    assert main(args) == 0
    from swav_ts import TimeSeriesSwAV

    est = TimeSeriesSwAV.load(out / "model.safetensors")
    assert est.channel_names_ == HAPT_NAMES and est.rate_hz_ == 50.0


def test_demo_minirocket_row(hapt_tiny, tmp_path):
    """The demo's reference row: MiniRocket + ridge on the same label subsets, in the report."""
    pytest.importorskip("aeon", reason="the bench extra")
    from swav_ts.demo import _minirocket_peer
    from swav_ts.report import accuracy_rows

    d = hapt_tiny
    peers = _minirocket_peer(d["X_train"], d["y_train"], d["X_test"], d["y_test"], (0.5, 1.0), (0,))
    ((name, cells),) = peers.items()
    assert name.startswith("MiniRocket") and set(cells) == {"0.5", "1.0"}
    assert 1 / 6 < cells["1.0"]["accuracy_mean"] <= 1  # 6 classes, an unseen subject
    rows = accuracy_rows({"peers": peers})
    assert rows[-1].name == name and rows[-1].accuracy[1.0][0] == cells["1.0"]["accuracy_mean"]
