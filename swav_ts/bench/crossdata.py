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
from swav_ts.crossdata import WEIGHTINGS

METHODS = ("crossdata", "minirocket", "per-set")


def load_set(name: str, data_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """A panel set as :func:`swav_ts.bench.panel.load_panel_set` gives it, except that HAPT
    holds its test subjects' windows (scored once per method) instead of validation folds."""
    from swav_ts.bench.panel import load_panel_set

    data = load_panel_set(name, data_dirs)
    if name == "HAPT":
        from swav_ts.data.hapt import load_hapt

        data["Xte"], data["yte"], _ = load_hapt("test")
    return data


def score_heldout(Ztr: np.ndarray, Zte: np.ndarray, data: dict[str, Any]) -> dict[str, Any]:
    """``{probe: {fraction: accuracy}}`` on the held-out set's test cases."""
    if data["name"] == "HAPT":
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
) -> dict[str, Any]:
    """Pretrain on the training splits of every set in ``sets`` but ``heldout``; embed
    ``heldout``. ``overrides``: ``key=value`` settings of the univariate SwAV (defaults
    otherwise)."""
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
    t0 = time.perf_counter()
    model.fit(sources)
    fit_s = time.perf_counter() - t0
    data = sets[heldout]
    t1 = time.perf_counter()
    Ztr, Zte = model.transform(data["Xtr"]), model.transform(data["Xte"])
    return {
        "fit_s": fit_s,
        "time_s": fit_s + time.perf_counter() - t1,
        "corpus": model.corpus_counts_,
        "changes": list(model.encoder_.fit_changes_),
        "embeddings": (Ztr, Zte),
    }


def run_lodo(
    datasets: Sequence[str] = PANEL,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0,),
    n_cases: int = 12000,
    weighting: str = "sqrt",
    length: int = 128,
    corpus: Sequence[str] = PANEL,
    overrides: Sequence[str] = (),
    data_dirs: Sequence[str] = (),
    out_dir: str = "runs/bench_crossdata",
    threads: int = 2,
    json_path: str | None = None,
) -> dict[str, Any]:
    """Every method on every held-out set with every seed; resumable like the panel (results
    already in ``json_path`` for the same settings are kept).

    ``corpus``: the sets whose training splits the cross-data-set encoder pretrains on (the
    held-out one always left out); ``overrides``: ``key=value`` settings for both SwAV
    methods (the defaults otherwise; the per-set model treats them as defaults)."""
    from swav_ts.bench.panel import run_peer, run_swav_defaults
    from swav_ts.bench.uea import default_uea_dir

    bad = sorted(set(methods) - set(METHODS)) + sorted(set(datasets) - set(PANEL))
    bad += sorted(set(corpus) - set(PANEL))
    if bad:
        raise ValueError(
            f"unknown method or set {bad[0]!r}; methods: {', '.join(METHODS)}; "
            f"sets: {', '.join(PANEL)}"
        )
    torch.set_num_threads(threads)
    dirs = [str(default_uea_dir()), *data_dirs]
    path = Path(json_path) if json_path else Path(out_dir) / "crossdata.json"
    settings = {
        "n_cases": n_cases,
        "weighting": weighting,
        "length": length,
        "corpus": list(corpus),
        "overrides": list(overrides),
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
                if (heldout, method, seed) in done:
                    continue
                for name in {*corpus, heldout} - set(sets):
                    sets[name] = load_set(name, dirs)
                data = sets[heldout]
                if method == "crossdata":
                    pool = {name: sets[name] for name in corpus if name != heldout}
                    pool[heldout] = data  # left out of the corpus by run_crossdata
                    res = run_crossdata(heldout, pool, seed, n_cases, weighting, length, overrides)
                elif method == "per-set":
                    run_dir = Path(out_dir) / "per-set" / heldout / f"seed{seed}"
                    res = run_swav_defaults(data, seed, overrides, run_dir)
                    res.pop("config")
                else:
                    res = run_peer("minirocket", data, seed, threads)
                record_run(result, path, res, heldout, method, seed, data, score_heldout)
    result["summary"] = summarise([result])
    write_json(result, path)
    return result


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
