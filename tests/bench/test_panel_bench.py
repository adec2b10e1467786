"""`swav-ts bench panel` on one shipped set with a tiny candidate: the defaults' path, the
peers, resuming, the table."""

import json

import numpy as np
import pytest

from swav_ts.bench import panel
from swav_ts.bench.panel import load_panel_set, panel_table, run_panel, summarise

pytest.importorskip("aeon", reason="the bench extra (aeon)")

# a tiny candidate: treated as defaults, so the small-data rules still adapt it (250 steps)
TINY = [
    "encoder.name=cnn3",
    "encoder.kwargs={widths: [8, 8, 8]}",
    "swav.feat_dim=8",
    "swav.hidden_mlp=16",
    "crops.n_local=0",
]


@pytest.mark.slow
def test_panel_runs_defaults_and_minirocket_and_resumes(tmp_path, monkeypatch):
    out = tmp_path / "panel.json"
    kwargs = dict(
        datasets=["BasicMotions"],
        methods=["swav", "minirocket"],
        seeds=[0],
        overrides=TINY,
        label="tiny",
        out_dir=str(tmp_path),
        threads=1,
        json_path=str(out),
    )
    res = run_panel(**kwargs)
    runs = {r["method"]: r for r in res["runs"]}
    assert set(runs) == {"swav", "minirocket"}
    swav = runs["swav"]
    # the candidate went through the defaults' path: the small-data rules adapted it
    assert any("train.epochs" in c for c in swav["changes"]), swav["changes"]
    assert swav["config"]["data"]["context_length"] == 100
    for r in runs.values():
        for probe in ("lr", "ridge"):
            accs = r["scores"][probe]
            assert set(accs) == {1.0, 0.1}
            # 4 classes; shuffled labels would sit near 25 %
            assert all(0.5 < a <= 1 for a in accs.values()), (r["method"], probe, accs)
    # a second call finds every result in the JSON and reruns nothing
    monkeypatch.setattr(panel, "run_swav_defaults", _fail)
    monkeypatch.setattr(panel, "run_peer", _fail)
    again = run_panel(**kwargs)
    assert len(again["runs"]) == 2
    rows = summarise([json.loads(out.read_text())])
    assert {r["method"] for r in rows} == {"swav:tiny", "minirocket"}
    text = panel_table(rows, "lr")
    assert "| BasicMotions |" in text and "mean rank" in text
    # another candidate may not write into this candidate's file
    with pytest.raises(ValueError, match="another candidate"):
        run_panel(**{**kwargs, "overrides": [*TINY, "swav.epsilon=0.03"]})


def _fail(*args, **kwargs):
    raise AssertionError("a finished result was run again")


def test_panel_table_means_and_ranks():
    rows = [
        {"dataset": "HAPT", "method": "swav:a", "lr_100": 90.0, "lr_10": 80.0},
        {"dataset": "HAPT", "method": "minirocket", "lr_100": 95.0, "lr_10": 70.0},
        {"dataset": "Libras", "method": "swav:a", "lr_100": 60.0, "lr_10": 50.0},
        {"dataset": "Libras", "method": "minirocket", "lr_100": 60.0, "lr_10": 40.0},
    ]
    lines = panel_table(rows, "lr").splitlines()
    assert lines[0] == "| data set | swav:a 100 % / 10 % | minirocket 100 % / 10 % |"
    assert lines[2] == "| HAPT | 90.00 / 80.00 | 95.00 / 70.00 |"
    assert lines[4] == "| **mean** | 75.00 / 65.00 | 77.50 / 55.00 |"
    # ranks over 4 numbers: swav 2, 1, 1 (tie), 1 -> 1.25; minirocket 1, 2, 1, 2 -> 1.5
    assert lines[5] == "| mean rank | 1.25 | 1.50 |"


def test_missing_panel_set_names_the_folders(tmp_path):
    with pytest.raises(FileNotFoundError, match=f"Libras_TRAIN.ts is in none .*{tmp_path}"):
        load_panel_set("Libras", [tmp_path])
    data = load_panel_set("RacketSports", [tmp_path, panel_dir()])
    assert data["Xtr"].shape == (151, 6, 30) and data["Xte"].shape == (152, 6, 30)
    assert np.isfinite(data["Xtr"]).all()


def panel_dir():
    from swav_ts.bench.uea import default_uea_dir

    return default_uea_dir()


@pytest.mark.slow
def test_time_candidate_measures_both_in_one_process():
    from swav_ts.bench.panel import time_candidate

    rows = time_candidate(["BasicMotions"], [*TINY, "small_data.min_steps=20"], iters=(2, 4),
                          repeats=1)  # fmt: skip
    (row,) = rows
    assert row["dataset"] == "BasicMotions"
    # the defaults' small-data rule: at least 250 steps; the candidate's: at least 20
    assert row["defaults_steps"] >= 250 and 20 <= row["candidate_steps"] < 250
    for label in ("defaults", "candidate"):
        assert row[f"{label}_s_per_step"] > 0
        assert row[f"{label}_fit_s"] == pytest.approx(
            row[f"{label}_s_per_step"] * row[f"{label}_steps"]
        )


def test_merge_runs_replaces_a_base_per_set_and_seed():
    from swav_ts.bench.panel import merge_runs

    def run(dataset, seed, acc, method="swav"):
        return {"dataset": dataset, "seed": seed, "method": method, "acc": acc}

    base = {"runs": [run("HAPT", 0, 1), run("HAPT", 1, 2), run("Libras", 0, 3),
                     run("Libras", 1, 4)]}  # fmt: skip
    cand_s0 = {"runs": [run("Libras", 0, 5), run("Libras", 0, 9, method="minirocket")]}
    cand_s1 = {"runs": [run("Libras", 1, 6)]}
    merged = merge_runs([base, cand_s0, cand_s1], "c")
    swav = [(r["dataset"], r["seed"], r["acc"]) for r in merged["runs"] if r["method"] == "swav"]
    # the candidate replaces the base only where it ran (Libras), seed by seed
    assert swav == [("HAPT", 0, 1), ("HAPT", 1, 2), ("Libras", 0, 5), ("Libras", 1, 6)]
    assert [r["acc"] for r in merged["runs"] if r["method"] == "minirocket"] == [9]
    assert merged["label"] == "c"
