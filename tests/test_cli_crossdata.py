"""`swav-ts pretrain-crossdata` and `swav-ts embed` with its model: several sources with
different channel sets and rates in, one file out that embeds any channel set."""

from pathlib import Path

import numpy as np
import pytest

from swav_ts.cli import load_model, main
from swav_ts.crossdata import ChannelIndependentSwAV
from tests.test_cli import _phone_csv

UEA = Path(__file__).resolve().parents[1] / "datasets" / "uea"
TINY = [
    "--set", "encoder.name=cnn3",
    "--set", "encoder.kwargs={widths: [8, 8, 8]}",
    "--set", "swav.feat_dim=8",
    "--set", "swav.hidden_mlp=16",
    "--set", "swav.n_prototypes=8",
    "--set", "crops.n_local=0",
    "--set", "train.epochs=1",
    "--set", "train.batch_size=16",
]  # fmt: skip


@pytest.fixture(scope="module")
def crossdata_model(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crossdata")
    for i, rate in enumerate((50.0, 20.0)):  # two phones, two rates
        _phone_csv(folder / f"phone{i}.csv", rate_hz=rate, seconds=20.0, extra=False)
    args = ["pretrain-crossdata", "--source", f"racket={UEA / 'RacketSports_TRAIN.ts'}"]
    args += ["--source", f"phones={folder / 'phone*.csv'}", "--window-s", "2.56"]
    args += ["--n-cases", "64", "--length", "32", "--out", str(folder / "model"), *TINY]
    assert main(args) == 0
    return folder


def test_pretrain_across_sources_writes_a_model_for_any_channel_set(crossdata_model, capsys):
    model = load_model(crossdata_model / "model.safetensors")
    assert isinstance(model, ChannelIndependentSwAV) and model.length == 32
    # 151 RacketSports cases x 6 channels; the phones: 2 files x 7 windows of 2.56 s x 6
    assert {k: v["held"] for k, v in model.corpus_counts_.items()} == {
        "racket": 906,
        "phones": 84,
    }
    assert sum(v["drawn"] for v in model.corpus_counts_.values()) == 64


def test_embed_with_a_crossdata_model_takes_any_channel_count(crossdata_model):
    D = load_model(crossdata_model / "model.safetensors").encoder_.n_features_out_
    model = str(crossdata_model / "model.safetensors")
    for C in (1, 3, 9):
        X = np.random.default_rng(C).normal(size=(5, C, 40)).astype(np.float32)
        np.save(crossdata_model / f"x{C}.npy", X)
        out = crossdata_model / f"z{C}.npy"
        assert main(["embed", "--model", model, "--input", str(out.with_name(f"x{C}.npy")),
                     "--out", str(out)]) == 0  # fmt: skip
        assert np.load(out).shape == (5, C * (D + 2))
    # recordings: cut at their own rate, every column but the time a channel
    csv = crossdata_model / "phone1.csv"
    out = crossdata_model / "rec.npy"
    assert main(["embed", "--model", model, "--input", str(csv), "--out", str(out),
                 "--window-s", "2.56"]) == 0  # fmt: skip
    assert np.load(out).shape == (7, 6 * (D + 2))


def test_pretrain_crossdata_errors_name_the_fix(tmp_path, capsys):
    ts = str(UEA / "RacketSports_TRAIN.ts")
    _phone_csv(tmp_path / "rec.csv", extra=False)
    cases = [
        (["--source", ts], "give NAME=VALUE"),
        (["--source", f"a={ts}", "--source", f"a={ts}"], "'a' is given twice"),
        (["--source", f"a={ts}", "--weighting", "uniform"], "weighting must be one of"),
        (["--source", f"a={tmp_path / 'rec.csv'}"], "give window_s (--window-s)"),
    ]
    for extra, message in cases:
        argv = ["pretrain-crossdata", *extra, "--out", str(tmp_path / "m")]
        assert main(argv) == 2
        assert message in capsys.readouterr().err


def test_export_refuses_a_crossdata_model(crossdata_model, capsys):
    model = str(crossdata_model / "model.safetensors")
    assert main(["export", "--model", model, "--out", str(crossdata_model / "m.onnx")]) == 2
    assert "channel-independent model" in capsys.readouterr().err


def _imu_csv(path, acc_scale=1.0, gyro_scale=1.0, rate_hz=50.0, seconds=20.0):
    """A phone at rest but for small motions: gravity on z (1 g), slow turns."""
    import pandas as pd

    t = np.arange(0, seconds, 1 / rate_hz)
    rng = np.random.default_rng(0)
    acc = np.stack([0.05 * np.sin(t), 0.05 * np.cos(t), 1.0 + 0.02 * rng.normal(size=len(t))])
    gyro = np.stack([0.5 * np.sin(2 * t + i) for i in range(3)])
    cols = {"timestamp": t * 1000.0}
    for i, axis in enumerate("xyz"):
        cols[f"acc_{axis}"] = acc[i] * acc_scale
        cols[f"gyro_{axis}"] = gyro[i] * gyro_scale
    pd.DataFrame(cols).to_csv(path, index=False)
    return path


def test_recordings_in_other_units_are_converted_and_said(tmp_path, caplog, capsys):
    from swav_ts.crossdata import read_source

    g = read_source(_imu_csv(tmp_path / "g.csv"), window_s=2.56)
    si = _imu_csv(tmp_path / "si.csv", acc_scale=9.80665, gyro_scale=180 / np.pi)
    with caplog.at_level("WARNING"):
        converted = read_source(si, window_s=2.56)
    np.testing.assert_allclose(converted, g, rtol=1e-5, atol=1e-6)
    said = caplog.text
    assert "acc_x, acc_y, acc_z: m/s^2 (detected" in said and "converted to g" in said
    assert "deg/s (detected" in said and "converted to rad/s" in said
    # a declared unit the data contradicts is one clear error on the command line
    argv = ["pretrain-crossdata", "--source", f"phone={si}", "--window-s", "2.56"]
    assert main([*argv, "--units", "acc=g", "--out", str(tmp_path / "m")]) == 2
    assert "are declared in g but the data says m/s^2" in capsys.readouterr().err


def test_triplets_are_recognised_by_name_in_pretraining_and_embedding(tmp_path, capsys):
    for i in range(2):
        _phone_csv(tmp_path / f"phone{i}.csv", seconds=20.0, extra=False)
    phones = f"phones={tmp_path / 'phone*.csv'}"
    args = ["pretrain-crossdata", "--source", phones, "--window-s", "2.56", "--triplets"]
    args += ["--n-cases", "64", "--length", "32", "--out", str(tmp_path / "m"), *TINY]
    assert main(args) == 0
    assert "3-axis sensors [(0, 1, 2), (3, 4, 5)]" in capsys.readouterr().out
    model = load_model(tmp_path / "m.safetensors")
    assert model.triplets_ == {"phones": [[0, 1, 2], [3, 4, 5]]}
    assert model.corpus_counts_["phones"]["held"] == 2 * 7 * 8  # 6 axes + 2 magnitudes
    D = model.encoder_.n_features_out_
    out = tmp_path / "z.npy"
    embed = ["embed", "--model", str(tmp_path / "m.safetensors"), "--input"]
    assert main([*embed, str(tmp_path / "phone0.csv"), "--out", str(out), "--window-s", "2.56",
                 "--triplets"]) == 0  # fmt: skip
    assert np.load(out).shape == (7, 8 * (D + 2))
    ts = str(UEA / "RacketSports_TRAIN.ts")
    assert main([*embed, ts, "--out", str(out), "--triplets"]) == 2
    assert "its channels have no names" in capsys.readouterr().err
    assert main(["embed", "--model", "motion-50hz", "--input", ts, "--out", str(out),
                 "--triplets"]) == 2  # fmt: skip
    assert "--triplets: motion-50hz has a fixed channel set" in capsys.readouterr().err


def test_recordings_are_read_one_at_a_time_into_a_file_on_disk(tmp_path, monkeypatch):
    """A source of recordings larger than memory: each recording's windows are written to the
    spill file before the next recording is read, and the source comes back memory-mapped,
    equal to the windows read in memory."""
    import swav_ts.data.sources as sources
    from swav_ts.crossdata import read_source, resize_cases

    for i, rate in enumerate((50.0, 50.0, 20.0)):
        _imu_csv(tmp_path / f"rec{i}.csv", rate_hz=rate, seconds=10.0 + 5 * i)
    glob = str(tmp_path / "rec*.csv")
    in_memory = read_source(glob, length=32, window_s=2.56)
    spill_dir = tmp_path / "spill"
    written_before_read = []
    real_read = sources.read_recording

    def read_recording(*args, **kwargs):
        files = list(spill_dir.glob("source-*.f32"))
        written_before_read.append(files[0].stat().st_size if files else 0)
        return real_read(*args, **kwargs)

    monkeypatch.setattr(sources, "read_recording", read_recording)
    spilled = read_source(glob, length=32, window_s=2.56, spill_dir=spill_dir)
    assert isinstance(spilled, np.memmap) and spilled.shape == (*in_memory.shape[:2], 32)
    np.testing.assert_allclose(spilled, resize_cases(in_memory, 32), rtol=1e-6, atol=1e-6)
    # 3, 5 and 7 windows of 2.56 s, each window 6 x 32 float32 numbers
    assert written_before_read == [0, 3 * 6 * 32 * 4, 8 * 6 * 32 * 4]


def test_a_recording_with_other_channels_is_named_when_spilled(tmp_path):
    import pandas as pd

    from swav_ts.crossdata import read_source

    _imu_csv(tmp_path / "a.csv")
    df = pd.read_csv(_imu_csv(tmp_path / "b.csv")).drop(columns=["gyro_x", "gyro_y", "gyro_z"])
    df.to_csv(tmp_path / "b.csv", index=False)
    with pytest.raises(ValueError, match="recording b has 3 channels, the first has 6"):
        read_source(str(tmp_path / "*.csv"), window_s=2.56, spill_dir=tmp_path / "spill")
    assert list((tmp_path / "spill").iterdir()) == []  # no partial file left behind


def test_pretrain_crossdata_keeps_recordings_on_disk(tmp_path, monkeypatch):
    import tempfile

    _imu_csv(tmp_path / "rec.csv")
    ts = f"racket={UEA / 'RacketSports_TRAIN.ts'}"
    argv = ["pretrain-crossdata", "--source", ts, "--source", f"imu={tmp_path / 'rec.csv'}"]
    argv += ["--window-s", "2.56", "--n-cases", "64", "--length", "32", *TINY]
    # --cache-dir: the recordings' windows stay there (7 windows x 6 x 32 float32); the .ts
    # source is read by its reader, in memory
    assert main([*argv, "--cache-dir", str(tmp_path / "cache"), "--out", str(tmp_path / "a")]) == 0
    kept = list((tmp_path / "cache").iterdir())
    assert len(kept) == 1 and kept[0].stat().st_size == 7 * 6 * 32 * 4
    # without it: a temporary folder, removed at the end
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    assert main([*argv, "--out", str(tmp_path / "b")]) == 0
    assert list((tmp_path / "tmp").iterdir()) == []
    a = load_model(tmp_path / "a.safetensors").corpus_counts_
    assert a == load_model(tmp_path / "b.safetensors").corpus_counts_
