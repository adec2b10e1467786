"""`swav-ts bench crossdata` on the shipped UEA sets with a tiny encoder: the held-out set is
in no corpus, the peers score beside it, finished runs are not rerun."""

import pytest

from swav_ts.bench import crossdata
from swav_ts.bench.crossdata import run_lodo
from tests.bench.test_panel_bench import TINY as PANEL_TINY

pytest.importorskip("aeon", reason="the bench extra (aeon)")

# the panel test's tiny candidate, with its prototypes and length given (used as explicit here)
TINY = [*PANEL_TINY, "swav.n_prototypes=8", "train.epochs=2", "train.batch_size=16"]


@pytest.mark.slow
def test_leave_one_set_out_pretrains_on_the_others_only(tmp_path, monkeypatch):
    out = tmp_path / "lodo.json"
    kwargs = dict(
        datasets=["BasicMotions"],
        methods=["crossdata", "minirocket"],
        n_cases=96,
        length=32,
        corpus=["BasicMotions", "RacketSports"],
        overrides=TINY,
        out_dir=str(tmp_path),
        threads=1,
        json_path=str(out),
    )
    res = run_lodo(**kwargs)
    runs = {r["method"]: r for r in res["runs"]}
    assert set(runs) == {"crossdata", "minirocket"}
    # the corpus is RacketSports alone: 151 cases x 6 channels held, all 96 drawn from it
    assert runs["crossdata"]["corpus"] == {"RacketSports": {"held": 906, "drawn": 96}}
    assert runs["crossdata"]["dim"] == 6 * (8 + 2)  # 6 channels x (8 features + mean, log std)
    for r in runs.values():
        for probe in ("lr", "ridge"):
            accs = r["scores"][probe]
            assert set(accs) == {1.0, 0.1}
            assert all(0 <= a <= 1 for a in accs.values())
    assert runs["minirocket"]["scores"]["lr"][1.0] > 0.9  # 4 classes, MiniRocket near 100 %
    monkeypatch.setattr(crossdata, "run_crossdata", _fail)
    assert len(run_lodo(**kwargs)["runs"]) == 2  # resumed: nothing rerun
    with pytest.raises(ValueError, match="other settings"):
        run_lodo(**{**kwargs, "n_cases": 97})


def _fail(*args, **kwargs):
    raise AssertionError("a finished result was run again")


def _saved_models(tmp_path, **settings):
    """BasicMotions held out, RacketSports the corpus, models saved under tmp_path/models."""
    return dict(
        datasets=["BasicMotions"],
        methods=["crossdata"],
        n_cases=96,
        length=32,
        corpus=["BasicMotions", "RacketSports"],
        overrides=TINY,
        models_dir=str(tmp_path / "models"),
        out_dir=str(tmp_path),
        threads=1,
        **settings,
    )


@pytest.mark.slow
def test_readouts_share_one_pretraining_and_saved_models_are_reused(tmp_path, monkeypatch):
    kwargs = _saved_models(tmp_path, readouts=["concat", "mean-max"])
    first = run_lodo(json_path=str(tmp_path / "a.json"), **kwargs)["runs"]
    assert [r["method"] for r in first] == ["crossdata-concat", "crossdata-mean-max"]
    assert [r["dim"] for r in first] == [6 * (8 + 2), 2 * 8 + 2 * 6]
    assert (tmp_path / "models" / "BasicMotions-seed0.safetensors").is_file()
    # another results file, the same model: loaded, not pretrained again
    monkeypatch.setattr("swav_ts.crossdata.ChannelIndependentSwAV.fit", _fail)
    again = run_lodo(json_path=str(tmp_path / "b.json"), **kwargs)["runs"]
    assert all(r["loaded_from"].endswith("BasicMotions-seed0.safetensors") for r in again)
    assert [r["scores"] for r in again] == [r["scores"] for r in first]
    with pytest.raises(ValueError, match="pretrained with other settings"):
        run_lodo(json_path=str(tmp_path / "c.json"), **{**kwargs, "overrides": TINY[:-1]})
    with pytest.raises(ValueError, match="pretrained with other settings.*triplets"):
        run_lodo(json_path=str(tmp_path / "e.json"), **{**kwargs, "triplets": True})
    monkeypatch.undo()  # T1: the smartwatch sets' two sensors add a magnitude row each
    trip = {**kwargs, "triplets": True, "models_dir": str(tmp_path / "models_t")}
    runs = run_lodo(json_path=str(tmp_path / "t.json"), **trip)["runs"]
    assert [r["dim"] for r in runs] == [8 * (8 + 2), 2 * 8 + 2 * 8]
    assert runs[0]["corpus"]["RacketSports"]["held"] == 151 * 8
    with pytest.raises(ValueError, match="unknown method, set or readout 'sum'"):
        run_lodo(json_path=str(tmp_path / "d.json"), **{**kwargs, "readouts": ["sum"]})


@pytest.mark.slow
def test_an_extra_source_joins_every_corpus_and_is_never_scored(tmp_path):
    import numpy as np

    watch = tmp_path / "watch.npy"
    np.save(watch, np.random.default_rng(0).normal(size=(20, 3, 40)).astype(np.float16))
    kwargs = _saved_models(tmp_path)
    res = run_lodo(json_path=str(tmp_path / "a.json"), extra_sources=[f"watch={watch}"], **kwargs)
    (run,) = res["runs"]
    assert run["dataset"] == "BasicMotions" and run["dim"] == 6 * (8 + 2)
    assert {k: v["held"] for k, v in run["corpus"].items()} == {"RacketSports": 906, "watch": 60}
    assert res["settings"]["extra_sources"] == [f"watch={watch}"]
    # the model saved with the extra source is not taken for a corpus without it
    with pytest.raises(ValueError, match="pretrained with other settings.*corpus"):
        run_lodo(json_path=str(tmp_path / "b.json"), **kwargs)
    for spec, message in ((str(watch), "give NAME=PATH"), (f"RacketSports={watch}", "panel")):
        with pytest.raises(ValueError, match=message):
            run_lodo(json_path=str(tmp_path / "c.json"), extra_sources=[spec], **kwargs)
