"""The development panel: where the estimator's defaults are chosen.

Figures: docs/results.md, "The development panel: how the estimator's defaults are chosen".

Measures exactly what ``TimeSeriesSwAV().fit(X)`` does — the default configuration, fitted to
each data set by :func:`swav_ts.timeseries.adapt.adapt_to_data` as it would be for a user —
beside TS2Vec and MiniRocket, on six data sets, with the same probes and label subsets:

* **HAPT** (validation folds only): SwAV pretrains on the continuous recordings of the 21
  training subjects, the peers on their windows; probes are trained on 2 of 3 subject-wise
  folds of those subjects and scored on the third (:func:`swav_ts.bench.hapt.score`). The
  9 test subjects are never read.
* **BasicMotions, RacketSports** (shipped in ``datasets/uea``) and **Libras,
  ArticularyWordRecognition, PenDigits** (the UEA archive's ``.ts`` files; ``--data-dir``
  names the folders that hold ``<name>_TRAIN.ts`` / ``<name>_TEST.ts``): every method is
  fitted without labels on the training split, the probes are trained on its labels and
  scored on the test split.

Probes: logistic regression on standardised features (``lr``) and MiniRocket's own ridge
classifier (``ridge``), with 100 % and 10 % of the training labels (3 stratified subsets
each for 10 %). The peers: TS2Vec with its authors' default training length (200 iterations,
600 when the training array holds over 100,000 values; batch 8, 320-d) and MiniRocket
(``aeon``, 10,000 kernels, no training). Both need ``pip install "swav-ts[bench]"``.

A candidate for the defaults is given as ``--set key=value`` overrides of
:class:`~swav_ts.timeseries.config.TimeSeriesConfig`; they are treated as defaults (the
small-data rules adapt them), not as a user's explicit choice. ``--methods`` runs a subset,
so candidates and peers can run separately and be reported together with ``--report``.
``docs/results.md`` ("The development panel") holds the rule that chose the defaults, the
commands and the table.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import machine_info, output_file, output_folder, write_json

PANEL = (
    "HAPT",
    "BasicMotions",
    "RacketSports",
    "Libras",
    "ArticularyWordRecognition",
    "PenDigits",
)
METHODS = ("swav", "ts2vec", "minirocket")
PROBES = ("lr", "ridge")
FRACTIONS = (1.0, 0.1)
SUBSET_SEEDS = (0, 1, 2)


# ------------------------------------------------------------------------------ data
def load_panel_set(name: str, data_dirs: Sequence[str | Path]) -> dict[str, Any]:
    """One panel data set: training windows and labels, what SwAV pretrains on, and either
    test windows (UEA) or the subject of every training window (HAPT, scored by folds).

    Raises
    ------
    FileNotFoundError
        A UEA set in none of ``data_dirs`` (the message names the folders searched).
    """
    if name == "HAPT":
        from swav_ts.data.hapt import load_hapt, load_hapt_recordings

        Xtr, ytr, subjects = load_hapt("train")
        return {
            "name": name,
            "Xtr": Xtr,
            "ytr": ytr,
            "groups": subjects,
            "Xte": None,
            "yte": None,
            "pretrain_on": load_hapt_recordings("train"),
        }
    from swav_ts.data.ts_files import load_ts_file

    for folder in data_dirs:
        train = Path(folder) / f"{name}_TRAIN.ts"
        if train.is_file():
            Xtr, ytr = load_ts_file(train, return_type="array")
            Xte, yte = load_ts_file(Path(folder) / f"{name}_TEST.ts", return_type="array")
            return {
                "name": name,
                "Xtr": Xtr,
                "ytr": ytr,
                "groups": None,
                "Xte": Xte,
                "yte": yte,
                "pretrain_on": Xtr,
            }
    searched = ", ".join(str(d) for d in data_dirs) or "(none)"
    raise FileNotFoundError(
        f"{name}_TRAIN.ts is in none of the --data-dir folders ({searched}); download the UEA "
        "archive's files (www.timeseriesclassification.com) and name their folder"
    )


def score_set(Ztr: np.ndarray, Zte: np.ndarray | None, data: dict[str, Any]) -> dict[str, Any]:
    """``{probe: {fraction: accuracy}}`` of one representation on one panel set."""
    from swav_ts.bench.hapt import score
    from swav_ts.evaluation import label_fraction_table, linear_probe, ridge_probe

    if data["groups"] is not None:  # HAPT: subject-wise validation folds
        return score(
            Ztr, data["ytr"], data["groups"], None, None, "validation", FRACTIONS, probes=PROBES
        )
    out: dict[str, Any] = {}
    for probe, evaluator in (("lr", linear_probe), ("ridge", ridge_probe)):
        rows = label_fraction_table(
            Ztr, data["ytr"], Zte, data["yte"], FRACTIONS, SUBSET_SEEDS, evaluator
        )
        out[probe] = {row["fraction"]: row["accuracy_mean"] for row in rows}
    return out


# ------------------------------------------------------------------------------ methods
def run_swav_defaults(
    data: dict[str, Any], seed: int, overrides: Sequence[str], run_dir: Path
) -> dict[str, Any]:
    """Pretrain the candidate as the estimator's defaults would be (``explicit`` empty: the
    small-data rules adapt it), then embed the set's windows."""
    from swav_ts.bench.common import resolve_config
    from swav_ts.core.config import to_dict
    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.timeseries.adapt import replace_section
    from swav_ts.timeseries.pretrain import pretrain

    cfg = replace_section(resolve_config(overrides), "train", seed=seed, progress=False)
    t0 = time.perf_counter()
    result = pretrain(cfg, data["pretrain_on"], run_dir, resume=True, explicit=set())
    fit_s = time.perf_counter() - t0
    est = TimeSeriesSwAV.from_result(result)
    t1 = time.perf_counter()
    Ztr = est.transform(data["Xtr"])
    Zte = None if data["Xte"] is None else est.transform(data["Xte"])
    return {
        "time_s": fit_s + time.perf_counter() - t1,
        "fit_s": fit_s,
        "changes": list(result.changes),
        "config": to_dict(result.config),
        "embeddings": (Ztr, Zte),
    }


def run_peer(method: str, data: dict[str, Any], seed: int, threads: int) -> dict[str, Any]:
    """TS2Vec (authors' default length) or MiniRocket on the set's training windows."""
    from swav_ts.bench.peers import run_minirocket, run_ts2vec_default

    inputs = [data["Xtr"]] + ([] if data["Xte"] is None else [data["Xte"]])
    if method == "minirocket":
        res = run_minirocket(data["Xtr"], embed=inputs, seed=seed, n_jobs=threads)
    elif method == "ts2vec":
        res = run_ts2vec_default(data["Xtr"], embed=inputs, seed=seed)
    else:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    embeddings = res.pop("embeddings")
    res["embeddings"] = (embeddings[0], embeddings[1] if len(embeddings) > 1 else None)
    return res


# ------------------------------------------------------------------------------ the panel
def run_panel(
    datasets: Sequence[str] = PANEL,
    methods: Sequence[str] = METHODS,
    seeds: Sequence[int] = (0, 1),
    overrides: Sequence[str] = (),
    label: str = "defaults",
    data_dirs: Sequence[str] = (),
    out_dir: str = "runs/bench_panel",
    threads: int = 2,
    json_path: str | None = None,
) -> dict[str, Any]:
    """Run every method on every set with every seed; returns (and writes) the results.

    Results already in ``json_path`` for the same label, set, method and seed are kept, not
    rerun, so an interrupted panel continues where it stopped. MiniRocket is deterministic
    given its seed and runs with the first seed only.
    """
    import json

    from swav_ts.bench.uea import default_uea_dir

    bad = sorted(set(methods) - set(METHODS))
    if bad:
        raise ValueError(f"unknown method {bad[0]!r}; valid: {', '.join(METHODS)}")
    bad = sorted(set(datasets) - set(PANEL))
    if bad:
        raise ValueError(f"unknown panel set {bad[0]!r}; valid: {', '.join(PANEL)}")
    torch.set_num_threads(threads)
    dirs = [str(default_uea_dir()), *data_dirs]
    path = Path(json_path) if json_path else Path(out_dir) / f"panel_{label}.json"
    result: dict[str, Any] = {"benchmark": "panel", "label": label, "overrides": list(overrides)}
    if path.is_file():
        result = json.loads(path.read_text(encoding="utf-8"))
        if result.get("label") != label or result.get("overrides") != list(overrides):
            raise ValueError(
                f"{path} holds the panel of another candidate ({result.get('label')!r}, "
                f"{result.get('overrides')}); name a new --json"
            )
    result["machine"] = machine_info()
    runs = result.setdefault("runs", [])
    done = {(r["dataset"], r["method"], r["seed"]) for r in runs}
    for name in datasets:
        data = None
        for method in methods:
            for seed in seeds[:1] if method == "minirocket" else seeds:
                if (name, method, seed) in done:
                    continue
                data = data or load_panel_set(name, dirs)
                if method == "swav":
                    run_dir = Path(out_dir) / label / name / f"seed{seed}"
                    res = run_swav_defaults(data, seed, overrides, run_dir)
                else:
                    res = run_peer(method, data, seed, threads)
                record_run(result, path, res, name, method, seed, data, score_set)
    result["summary"] = summarise([result])
    write_json(result, path)
    return result


def record_run(
    result: dict[str, Any],
    path: Path,
    res: dict[str, Any],
    dataset: str,
    method: str,
    seed: int,
    data: dict[str, Any],
    scorer: Callable[[np.ndarray, np.ndarray | None, dict[str, Any]], dict[str, Any]],
) -> None:
    """Score a finished run's embeddings with ``scorer(Ztr, Zte, data)``, append it to
    ``result["runs"]`` and write the JSON, so an interrupted benchmark resumes after it."""
    Ztr, Zte = res.pop("embeddings")
    res.update(
        dataset=dataset,
        method=method,
        seed=seed,
        dim=int(Ztr.shape[1]),
        scores=scorer(Ztr, Zte, data),
    )
    result["runs"].append(res)
    write_json(result, path)


# ------------------------------------------------------------------------------ speed
def time_candidate(
    datasets: Sequence[str],
    overrides: Sequence[str],
    data_dirs: Sequence[str] = (),
    iters: tuple[int, int] = (10, 40),
    repeats: int = 2,
    threads: int = 1,
) -> list[dict[str, Any]]:
    """The rule's tie-break, measured in one process: seconds per optimisation step of the
    current defaults and of the candidate (``overrides``, as defaults) on each set, and the
    whole pretraining each would do there (steps x seconds per step).

    Seconds per step are the difference between runs stopped after ``iters[1]`` and
    ``iters[0]`` steps (setup cancels out), the fastest of ``repeats``; the two
    configurations alternate, so a slower spell of the machine hits both.
    """
    from swav_ts.bench.common import resolve_config
    from swav_ts.bench.uea import default_uea_dir
    from swav_ts.timeseries.pretrain import pretrain

    torch.set_num_threads(threads)
    dirs = [str(default_uea_dir()), *data_dirs]
    configs = {"defaults": resolve_config(()), "candidate": resolve_config(overrides)}
    rows = []
    for name in datasets:
        data = load_panel_set(name, dirs)
        per_step: dict[str, list[float]] = {label: [] for label in configs}
        steps: dict[str, int] = {}
        for _ in range(repeats):
            for label, cfg in configs.items():
                elapsed = []
                for n in iters:
                    t0 = time.perf_counter()
                    res = pretrain(cfg, data["pretrain_on"], None, explicit=set(),
                                   stop_after_iters=n)  # fmt: skip
                    elapsed.append(time.perf_counter() - t0)
                per_step[label].append((elapsed[1] - elapsed[0]) / (iters[1] - iters[0]))
                steps[label] = _total_steps(res)
        row: dict[str, Any] = {"dataset": name}
        for label in configs:
            row[f"{label}_s_per_step"] = min(per_step[label])
            row[f"{label}_steps"] = steps[label]
            row[f"{label}_fit_s"] = min(per_step[label]) * steps[label]
        rows.append(row)
    return rows


def _total_steps(result: Any) -> int:
    """Optimisation steps of the whole pretraining a :class:`PretrainResult` was configured
    for (one process): epochs x contexts // batch."""
    train = result.config.train
    return train.epochs * max(1, result.n_contexts // train.batch_size)


# ------------------------------------------------------------------------------ reporting
def summarise(results: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean over seeds per (set, method): one row per set and method, accuracies in %.

    SwAV rows are named by their candidate label (``swav:<label>``).
    """
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for res in results:
        for r in res["runs"]:
            method = f"swav:{res['label']}" if r["method"] == "swav" else r["method"]
            cells.setdefault((r["dataset"], method), []).append(r)
    rows = []
    for (dataset, method), runs in cells.items():
        row: dict[str, Any] = {"dataset": dataset, "method": method, "n_seeds": len(runs)}
        for probe in PROBES:
            for f in FRACTIONS:
                accs = [r["scores"][probe][_key(r["scores"][probe], f)] for r in runs]
                row[f"{probe}_{round(100 * f)}"] = 100 * float(np.mean(accs))
        row["time_s"] = float(np.mean([r["time_s"] for r in runs]))
        rows.append(row)
    order = {d: i for i, d in enumerate(PANEL)}
    return sorted(rows, key=lambda r: (order.get(r["dataset"], 99), r["method"]))


def merge_runs(results: Sequence[dict[str, Any]], label: str) -> dict[str, Any]:
    """One candidate from several panel files, as the rule builds it: the SwAV run of a set
    and seed comes from the *last* file that has it (a candidate's runs replace its base's
    only where it binds; files of single seeds add up); peers' runs are kept as they are."""
    swav: dict[tuple[str, int], dict[str, Any]] = {}
    peers = []
    for res in results:
        for r in res["runs"]:
            if r["method"] == "swav":
                swav[(r["dataset"], r["seed"])] = r
            else:
                peers.append(r)
    runs = [swav[k] for k in sorted(swav, key=lambda k: (PANEL.index(k[0]), k[1]))]
    return {"benchmark": "panel", "label": label, "runs": runs + peers}


def _key(accs: dict, fraction: float):
    """JSON turns float keys into strings: find ``fraction`` either way."""
    return fraction if fraction in accs else str(fraction)


def panel_table(rows: Sequence[dict[str, Any]], column: str = "lr") -> str:
    """A Markdown table, sets as rows and methods as columns (``probe`` 100 % / 10 %), with
    the panel mean and the mean rank (over the 12 numbers per method: 6 sets x 2 budgets)."""
    methods = sorted({r["method"] for r in rows}, key=lambda m: (not m.startswith("swav"), m))
    sets = [d for d in PANEL if any(r["dataset"] == d for r in rows)]
    by = {(r["dataset"], r["method"]): r for r in rows}
    keys = [f"{column}_100", f"{column}_10"]
    head = "| data set | " + " | ".join(f"{m} 100 % / 10 %" for m in methods) + " |"
    lines = [head, "|---" * (len(methods) + 1) + "|"]
    complete = [m for m in methods if all((d, m) in by for d in sets)]
    for d in sets:
        cells = [
            " / ".join(f"{by[(d, m)][k]:.2f}" for k in keys) if (d, m) in by else "–"
            for m in methods
        ]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    if complete:
        means, ranks = {}, {m: [] for m in complete}
        for m in complete:
            means[m] = [float(np.mean([by[(d, m)][k] for d in sets])) for k in keys]
        for d in sets:
            for k in keys:
                vals = {m: by[(d, m)][k] for m in complete}
                for m in complete:  # rank 1 = best; ties share the better rank
                    ranks[m].append(1 + sum(v > vals[m] for v in vals.values()))
        lines.append(
            "| **mean** | "
            + " | ".join(
                " / ".join(f"{v:.2f}" for v in means[m]) if m in means else "–" for m in methods
            )
            + " |"
        )
        lines.append(
            "| mean rank | "
            + " | ".join(f"{np.mean(ranks[m]):.2f}" if m in ranks else "–" for m in methods)
            + " |"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: run a panel, or ``--report`` finished panels together."""
    import json

    p = argparse.ArgumentParser(
        prog="swav-ts bench panel",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--datasets", nargs="+", default=list(PANEL), choices=PANEL)
    p.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides")
    p.add_argument("--label", default="defaults", help="the candidate's name in the tables")
    p.add_argument("--data-dir", nargs="*", default=[], dest="data_dirs")
    p.add_argument("--out", default="runs/bench_panel", dest="out_dir")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--json", default=None, dest="json_path")
    p.add_argument("--report", nargs="+", default=None, help="print finished panels together")
    p.add_argument(
        "--merge",
        default=None,
        metavar="LABEL",
        help="with --report: the files' SwAV runs as one candidate LABEL, a later file's runs "
        "of a set replacing an earlier file's (a candidate over its base)",
    )
    p.add_argument(
        "--time",
        action="store_true",
        help="no scores: seconds per step and whole pretraining of the --set candidate "
        "against the current defaults, per set, in this process (the rule's tie-break)",
    )
    a = p.parse_args(argv)
    if a.time:
        rows = time_candidate(a.datasets, a.overrides, a.data_dirs, threads=a.threads)
        for r in rows:
            print(
                f"{r['dataset']:<27} defaults {r['defaults_steps']} steps x "
                f"{r['defaults_s_per_step']:.3f} s = {r['defaults_fit_s']:.0f} s; candidate "
                f"{r['candidate_steps']} x {r['candidate_s_per_step']:.3f} s = "
                f"{r['candidate_fit_s']:.0f} s"
            )
        total = {k: sum(r[f"{k}_fit_s"] for r in rows) for k in ("defaults", "candidate")}
        print(
            f"over these sets: candidate / defaults = {total['candidate'] / total['defaults']:.3f}"
        )
        if a.json_path:
            write_json({"benchmark": "panel-time", "overrides": a.overrides, "rows": rows},
                       Path(a.json_path))  # fmt: skip
        return {"rows": rows}
    if a.report:
        results = [json.loads(Path(f).read_text(encoding="utf-8")) for f in a.report]
        if a.merge:
            results = [merge_runs(results, a.merge)]
    else:
        output_folder(a.out_dir, "--out")
        output_file(a.json_path, "--json")
        kwargs = {k: v for k, v in vars(a).items() if k not in ("report", "time")}
        results = [run_panel(**kwargs)]
    rows = summarise(results)
    for probe in PROBES:
        print(f"\n{probe.upper()} probe, accuracy % (100 % / 10 % of the labels)")
        print(panel_table(rows, probe))
    return {"rows": rows}
