"""Leave one data set out: one encoder pretrained across the other data sets, used frozen.

Figures: docs/results.md, "Across data sets: leave one data set out (issue 27)".

For each set of the development panel (:mod:`swav_ts.bench.panel`) the channel-independent
encoder (:class:`swav_ts.crossdata.ChannelIndependentSwAV`) is pretrained on the *training
splits of the other five* and used frozen on the held-out set, beside

* ``minirocket``: MiniRocket (``aeon``, no training) on the held-out set, and
* ``per-set``: ``TimeSeriesSwAV()`` with its defaults pretrained on the held-out set's
  training split alone (as ``swav-ts bench panel`` does),

with the same probes and label subsets (logistic regression and MiniRocket's ridge
classifier, 100 % and 10 % of the labels, 3 subsets). HAPT is scored on its **test
subjects** (probes trained on the 21 training subjects' windows; the test subjects are in
no corpus), the UEA sets on their test splits. A corpus never holds a test split.

Choosing a design: ``--hapt-split validation`` scores HAPT on the subject-wise validation
folds of its training subjects instead (the panel's protocol); ``--readouts`` scores several
readouts of one pretraining (``crossdata-<readout>`` each); ``--models DIR`` saves every
pretrained model and reuses it (a readout or the test-subject scoring needs no new
pretraining; a model pretrained with other settings is refused).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import machine_info, output_file, write_json
from swav_ts.bench.panel import (
    FRACTIONS,
    PANEL,
    PROBES,
    panel_table,
    record_run,
    score_set,
    summarise,
)
from swav_ts.crossdata import READOUTS, WEIGHTINGS, check_triplets, read_out, with_magnitudes

METHODS = ("crossdata", "minirocket", "per-set")
HAPT_SPLITS = ("test", "validation")
#: The panel's 3-axis sensors (``--triplets``): HAPT names its channels acc_x..gyro_z; the
#: two smartwatch sets hold a 3-D accelerometer then a 3-D gyroscope (their .ts headers and
#: data/README.md; the first three channels carry the larger, gravity-free acceleration, the
#: last three mean about zero). The pen and articulograph sets declare none.
TRIPLETS = {
    "HAPT": [(0, 1, 2), (3, 4, 5)],
    "BasicMotions": [(0, 1, 2), (3, 4, 5)],
    "RacketSports": [(0, 1, 2), (3, 4, 5)],
}


def load_set(
    name: str, data_dirs: Sequence[str | Path], hapt_split: str = "test"
) -> dict[str, Any]:
    """A panel set as :func:`swav_ts.bench.panel.load_panel_set` gives it (HAPT scored on
    subject-wise validation folds of its training subjects); with ``hapt_split="test"`` HAPT
    holds its test subjects' windows instead (scored once per method)."""
    from swav_ts.bench.panel import load_panel_set

    if hapt_split not in HAPT_SPLITS:
        raise ValueError(f"hapt_split must be one of {HAPT_SPLITS}, got {hapt_split!r}")
    data = load_panel_set(name, data_dirs)
    if name == "HAPT" and hapt_split == "test":
        from swav_ts.data.hapt import load_hapt

        data["Xte"], data["yte"], _ = load_hapt("test")
    return data


def score_heldout(Ztr: np.ndarray, Zte: np.ndarray, data: dict[str, Any]) -> dict[str, Any]:
    """``{probe: {fraction: accuracy}}`` on the held-out set's test cases (HAPT's validation
    folds when it holds no test windows)."""
    if data["name"] == "HAPT" and data["Xte"] is not None:
        from swav_ts.bench.hapt import score

        return score(Ztr, data["ytr"], data["groups"], Zte, data["yte"], "test", FRACTIONS,
                     probes=PROBES)  # fmt: skip
    return score_set(Ztr, Zte, data)


def run_crossdata(
    heldout: str,
    sets: dict[str, dict[str, Any]],
    seed: int,
    n_cases: int,
    weighting: str,
    length: int,
    overrides: Sequence[str] = (),
    model_path: Path | None = None,
    triplets: bool = False,
) -> dict[str, Any]:
    """Pretrain on the training splits of every set in ``sets`` but ``heldout``; give the
    held-out set's per-channel features (``ChannelIndependentSwAV.channel_features``), for
    every readout to use. ``overrides``: ``key=value`` settings of the univariate SwAV
    (defaults otherwise). ``model_path``: where the model is saved, and loaded from instead
    of pretrained when it is already there (its settings and corpus must match).
    ``triplets``: the sets' 3-axis sensors (:data:`TRIPLETS`) declared, in the corpus and
    for the held-out set (one magnitude row per sensor after the channels)."""
    from swav_ts.bench.common import resolve_config
    from swav_ts.crossdata import ChannelIndependentSwAV

    sources = {name: d["Xtr"] for name, d in sets.items() if name != heldout}
    if not sources:
        raise ValueError(f"the corpus holds no set but the held-out {heldout!r}")
    model = ChannelIndependentSwAV(
        length=length,
        n_cases=n_cases,
        weighting=weighting,
        random_state=seed,
        swav_params={"config": resolve_config(overrides)} if overrides else None,
    )
    declared = {name: TRIPLETS[name] for name in sources if triplets and name in TRIPLETS}
    t0 = time.perf_counter()
    run: dict[str, Any] = {}
    if model_path is not None and model_path.is_file():
        model = _load_matching(model_path, model, sorted(sources), overrides, declared)
        run["loaded_from"] = str(model_path)
    else:
        model.fit(sources, triplets=declared)
        if model_path is not None:
            model.save(model_path)
            model_path.with_suffix(".json").write_text(
                json.dumps({"overrides": list(overrides)}), encoding="utf-8"
            )
    fit_s = time.perf_counter() - t0
    data = sets[heldout]
    t1 = time.perf_counter()
    own = TRIPLETS.get(heldout) if triplets else None
    Ftr = model.channel_features(data["Xtr"], own)
    Fte = None if data["Xte"] is None else model.channel_features(data["Xte"], own)
    return {
        **run,
        "fit_s": fit_s,
        "time_s": fit_s + time.perf_counter() - t1,
        "corpus": model.corpus_counts_,
        "changes": list(model.encoder_.fit_changes_),
        "features": (Ftr, Fte),
    }


def _load_matching(
    path: Path, want: Any, corpus: list[str], overrides: Sequence[str], triplets: dict
) -> Any:
    """The model saved at ``path``, or a clear error when it was pretrained otherwise."""
    from swav_ts.crossdata import ChannelIndependentSwAV

    got = ChannelIndependentSwAV.load(path)
    side = path.with_suffix(".json")
    saved = json.loads(side.read_text(encoding="utf-8")) if side.is_file() else {}
    keys = ("length", "n_cases", "weighting", "random_state")
    have = {k: getattr(got, k) for k in keys} | {
        "corpus": sorted(got.corpus_counts_),
        "overrides": saved.get("overrides"),
        "triplets": got.triplets_,
    }
    need = {k: getattr(want, k) for k in keys} | {
        "corpus": corpus,
        "overrides": list(overrides),
        "triplets": {k: [list(t) for t in v] for k, v in triplets.items()},
    }
    if have != need:
        diff = {k: (have[k], need[k]) for k in need if have[k] != need[k]}
        raise ValueError(
            f"{path} was pretrained with other settings (saved, wanted: {diff}); name another "
            "--models folder or delete the file"
        )
    return got


def run_lodo(
    datasets: Sequence[str] = PANEL,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0,),
    n_cases: int = 12000,
    weighting: str = "sqrt",
    length: int = 128,
    corpus: Sequence[str] = PANEL,
    overrides: Sequence[str] = (),
    readouts: Sequence[str] = ("concat",),
    hapt_split: str = "test",
    triplets: bool = False,
    extra_sources: Sequence[str] = (),
    models_dir: str | None = None,
    data_dirs: Sequence[str] = (),
    out_dir: str = "runs/bench_crossdata",
    threads: int = 2,
    json_path: str | None = None,
) -> dict[str, Any]:
    """Every method on every held-out set with every seed; resumable like the panel (results
    already in ``json_path`` for the same settings are kept).

    ``corpus``: the sets whose training splits the cross-data-set encoder pretrains on (the
    held-out one always left out); ``overrides``: ``key=value`` settings for both SwAV
    methods (the defaults otherwise; the per-set model treats them as defaults);
    ``readouts``: the cross-data-set embeddings scored from one pretraining (one readout:
    the method ``crossdata``; several: ``crossdata-<readout>`` each); ``hapt_split``: HAPT
    scored on its test subjects or on the validation folds of its training subjects (for
    choosing a design); ``triplets``: the sets' 3-axis sensors declared (:data:`TRIPLETS`,
    :func:`run_crossdata`); ``extra_sources``: ``NAME=PATH`` sources outside the panel (any
    :func:`swav_ts.crossdata.read_source` reads, e.g. ``datasets/watch/watch_windows.npy``)
    in every corpus, never held out or scored; ``models_dir``: the cross-data-set models are
    saved there as ``<held-out>-seed<seed>.safetensors`` and loaded instead of pretrained
    when present."""
    from swav_ts.bench.panel import run_peer, run_swav_defaults
    from swav_ts.bench.uea import default_uea_dir

    bad = sorted(set(methods) - set(METHODS)) + sorted(set(datasets) - set(PANEL))
    bad += sorted(set(corpus) - set(PANEL)) + sorted(set(readouts) - set(READOUTS))
    if bad or not readouts:
        raise ValueError(
            f"unknown method, set or readout {bad[0] if bad else None!r}; methods: "
            f"{', '.join(METHODS)}; sets: {', '.join(PANEL)}; readouts: {', '.join(READOUTS)}"
        )
    names = {r: "crossdata" if len(readouts) == 1 else f"crossdata-{r}" for r in readouts}
    extras = _extra_sources(extra_sources, length)
    torch.set_num_threads(threads)
    dirs = [str(default_uea_dir()), *data_dirs]
    path = Path(json_path) if json_path else Path(out_dir) / "crossdata.json"
    settings = {
        "n_cases": n_cases,
        "weighting": weighting,
        "length": length,
        "corpus": list(corpus),
        "overrides": list(overrides),
        "readouts": list(readouts),
        "hapt_split": hapt_split,
        **({"triplets": True} if triplets else {}),  # runs without keep their settings
        **({"extra_sources": list(extra_sources)} if extra_sources else {}),
    }
    result: dict[str, Any] = {"benchmark": "crossdata", "label": "lodo", "settings": settings}
    if path.is_file():
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("settings") != settings:
            raise ValueError(
                f"{path} holds runs with other settings ({result.get('settings')}); name a "
                "new --json"
            )
    result["machine"] = machine_info()
    runs = result.setdefault("runs", [])
    done = {(r["dataset"], r["method"], r["seed"]) for r in runs}
    sets: dict[str, dict[str, Any]] = {}
    for heldout in datasets:
        for method in methods:
            for seed in seeds[:1] if method == "minirocket" else seeds:
                wanted = list(names.values()) if method == "crossdata" else [method]
                if all((heldout, m, seed) in done for m in wanted):
                    continue
                for name in {*corpus, heldout} - set(sets):
                    sets[name] = load_set(name, dirs, hapt_split)
                data = sets[heldout]
                if method == "crossdata":
                    pool = {name: sets[name] for name in corpus if name != heldout}
                    pool[heldout] = data  # left out of the corpus by run_crossdata
                    pool.update(extras)
                    model_path = (
                        Path(models_dir) / f"{heldout}-seed{seed}.safetensors"
                        if models_dir
                        else None
                    )
                    res = run_crossdata(
                        heldout,
                        pool,
                        seed,
                        n_cases,
                        weighting,
                        length,
                        overrides,
                        model_path,
                        triplets,
                    )
                    Ftr, Fte = res.pop("features")
                    own = check_triplets(
                        TRIPLETS.get(heldout) if triplets else None, data["Xtr"].shape[1]
                    )
                    Xtr, Xte = (None if X is None else with_magnitudes(X, own)
                                for X in (data["Xtr"], data["Xte"]))  # fmt: skip
                    for readout, name in names.items():
                        Z = (
                            read_out(Ftr, readout, Xtr),
                            None if Fte is None else read_out(Fte, readout, Xte),
                        )
                        one = {**res, "readout": readout, "embeddings": Z}
                        record_run(result, path, one, heldout, name, seed, data, score_heldout)
                    continue
                if method == "per-set":
                    run_dir = Path(out_dir) / "per-set" / heldout / f"seed{seed}"
                    res = run_swav_defaults(data, seed, overrides, run_dir)
                    res.pop("config")
                else:
                    res = run_peer("minirocket", data, seed, threads)
                record_run(result, path, res, heldout, method, seed, data, score_heldout)
    result["summary"] = summarise([result])
    write_json(result, path)
    return result


def _extra_sources(specs: Sequence[str], length: int) -> dict[str, dict[str, Any]]:
    """``NAME=PATH`` sources outside the panel, read once, as ``{name: {"Xtr": cases}}``."""
    from swav_ts.crossdata import read_source

    extras: dict[str, dict[str, Any]] = {}
    for spec in specs:
        name, sep, where = spec.partition("=")
        if not sep or not name or not where:
            raise ValueError(
                f"--extra-source {spec!r}: give NAME=PATH, e.g. "
                "watch=datasets/watch/watch_windows.npy"
            )
        if name in PANEL or name in extras:
            raise ValueError(
                f"--extra-source {name!r}: the name is a panel set's or given twice; name each "
                "extra source once, differently from the panel's sets"
            )
        extras[name] = {"name": name, "Xtr": read_source(where, length)}
    return extras


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: run the benchmark, or ``--report`` finished runs together."""
    p = argparse.ArgumentParser(
        prog="swav-ts bench crossdata",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--datasets", nargs="+", default=list(PANEL), choices=PANEL)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--n-cases", type=int, default=12000, dest="n_cases")
    p.add_argument("--weighting", default="sqrt", choices=WEIGHTINGS)
    p.add_argument("--length", type=int, default=128)
    p.add_argument("--corpus", nargs="+", default=list(PANEL), choices=PANEL)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides")
    p.add_argument("--readouts", nargs="+", default=["concat"], choices=READOUTS)
    p.add_argument("--hapt-split", default="test", choices=HAPT_SPLITS, dest="hapt_split")
    p.add_argument(
        "--triplets",
        action="store_true",
        help="declare the 3-axis sensors of HAPT, BasicMotions and RacketSports: their "
        "magnitudes join the corpus (under random rotations) and the embedding",
    )
    p.add_argument(
        "--extra-source",
        action="append",
        default=[],
        metavar="NAME=PATH",
        dest="extra_sources",
        help="a source outside the panel in every corpus (never held out or scored), e.g. "
        "watch=datasets/watch/watch_windows.npy; repeat for each",
    )
    p.add_argument(
        "--models", default=None, dest="models_dir", help="save (and reuse) the pretrained models"
    )
    p.add_argument("--data-dir", nargs="*", default=[], dest="data_dirs")
    p.add_argument("--out", default="runs/bench_crossdata", dest="out_dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None, dest="json_path")
    p.add_argument("--report", nargs="+", default=None, help="print finished runs together")
    a = p.parse_args(argv)
    if a.report:
        results = [json.loads(Path(f).read_text(encoding="utf-8")) for f in a.report]
    else:
        output_file(a.json_path, "--json")
        kwargs = {k: v for k, v in vars(a).items() if k != "report"}
        results = [run_lodo(**kwargs)]
    rows = summarise(results)
    for probe in PROBES:
        print(f"\n{probe.upper()} probe, held-out set, accuracy % (100 % / 10 % of the labels)")
        print(panel_table(rows, probe))
    return {"rows": rows}


if __name__ == "__main__":
    main()
