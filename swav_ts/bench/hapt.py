"""HAPT benchmark: SwAV against MiniRocket, TS2Vec and a supervised yardstick, in one run.

Figures: docs/results.md, "HAPT: the recipe against TS2Vec on the test subjects"
(``--split test``); docs/results.md, "How the recipe was chosen (validation subjects)"
(``--split validation``).

Data: the bundled HAPT recordings; pretraining on the continuous recordings of the 21 UCI-HAR
training subjects (no labels); UCI-HAR-style windows (128 samples, stride 64) for the probes.

``--split validation`` (model selection) scores on the training subjects only: a linear probe
(logistic regression on standardised embeddings) trained on 2 of 3 subject-wise folds of the 21
training subjects and scored on the third, averaged over the folds, with 100 %, 10 % and 1 % of
the fold's training labels (3 stratified label subsets each). ``--split test`` scores the 9
official test subjects, once per final recipe: the same probe on all training windows, and
beside it TS2Vec's RBF-SVM protocol (C by 5-fold grid search).

In the same process:

* the **yardstick** (:func:`swav_ts.bench.peers.run_yardstick`, a supervised CNN trained for
  30 epochs): every time is reported as a multiple of its training time;
* **SwAV** with the recipe (``configs/timeseries/hapt.yaml`` unless ``--config``), one run per
  ``--seeds``; each configuration and seed writes its own run folder (``OUT/cfg-<hash>/...``);
* **SwAV at several budgets** (``--budgets``, multiples of the yardstick): the recipe with the
  number of epochs that fits the budget (from the measured time per epoch);
* **MiniRocket** (``--peer minirocket``, needs ``pip install "swav-ts[bench]"``): aeon's
  transform fitted on the same unlabelled training windows, scored with the same probes,
  its own ridge classifier included (:func:`swav_ts.bench.peers.run_minirocket`);
* **TS2Vec** (``--peer ts2vec``, needs ``pip install "swav-ts[bench]"``): every ``--peer-seeds``
  seed trained for the recipe's own mean pretraining time (the headline comparison, at equal
  time), the first seed with snapshots at the ``--budgets`` as well;
* optionally ``swav-ts demo`` itself (``--demo``), timed end to end.

``docs/results.md`` gives the commands and the numbers.

(About 440 lines: one benchmark, its evaluation protocol and its report; the peers it
runs live in :mod:`swav_ts.bench.peers`.)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import machine_info, output_folder, run_command, write_json

logger = logging.getLogger(__name__)

FRACTIONS = (0.01, 0.1, 1.0)
#: Probes of the default embedding and of the peers: logistic regression and MiniRocket's ridge.
PROBES = ("lr", "ridge")
PEERS = ("ts2vec", "minirocket")
ALL_PROBES = (*PROBES, "svm", "finetuned")
SUBSET_SEEDS = (0, 1, 2)
N_FOLDS = 3


# ------------------------------------------------------------------------------ evaluation
def config_folder(cfg) -> str:
    """A folder name unique to a config: runs of different configs never share a folder."""
    from swav_ts.core.config import to_dict

    text = json.dumps(to_dict(cfg), sort_keys=True)
    return "cfg-" + hashlib.sha1(text.encode()).hexdigest()[:10]


def _probe(name: str):
    from swav_ts.evaluation import linear_probe, ridge_probe

    probes = {"lr": linear_probe, "ridge": ridge_probe}
    if name not in probes:
        raise ValueError(f"unknown probe {name!r}; valid: {', '.join(probes)}")
    return probes[name]


def score(
    Ztr: np.ndarray,
    ytr: np.ndarray,
    str_: np.ndarray,
    Zte: np.ndarray | None,
    yte: np.ndarray | None,
    split: str,
    fractions: Sequence[float] = FRACTIONS,
    svm: bool = False,
    probes: Sequence[str] = ("lr",),
) -> dict[str, Any]:
    """Probe accuracies of one embedding: ``{probe: {fraction: acc}}``.

    ``probes``: ``"lr"`` (logistic regression on standardised features) and/or ``"ridge"``
    (MiniRocket's classifier, :func:`swav_ts.evaluation.ridge.ridge_probe`).
    ``validation``: mean over subject-wise folds of the training windows; ``test``: trained on
    all training windows, scored on the test subjects (``svm`` adds the RBF-SVM at 100 % and
    1 %).
    """
    from swav_ts.evaluation import label_fraction_table, subject_kfold
    from swav_ts.evaluation.label_fractions import stratified_fraction
    from swav_ts.evaluation.svm import svm_probe

    out: dict[str, Any] = {}
    for probe in probes:
        evaluator = _probe(probe)
        if split == "validation":
            per_fold: dict[float, list[float]] = {f: [] for f in fractions}
            for tr, va in subject_kfold(str_, N_FOLDS):
                for row in label_fraction_table(
                    Ztr[tr], ytr[tr], Ztr[va], ytr[va], fractions, SUBSET_SEEDS, evaluator
                ):
                    per_fold[row["fraction"]].append(row["accuracy_mean"])
            out[probe] = {f: float(np.mean(v)) for f, v in per_fold.items()}
        else:
            rows = label_fraction_table(Ztr, ytr, Zte, yte, fractions, SUBSET_SEEDS, evaluator)
            out[probe] = {row["fraction"]: row["accuracy_mean"] for row in rows}
    if svm and split == "test":
        out["svm"] = {1.0: svm_probe(Ztr, ytr, Zte, yte, n_jobs=2)["accuracy"]}
        if 0.01 in fractions:
            accs = [
                svm_probe(Ztr[idx], ytr[idx], Zte, yte)["accuracy"]
                for idx in (stratified_fraction(ytr, 0.01, s) for s in SUBSET_SEEDS)
            ]
            out["svm"][0.01] = float(np.mean(accs))
    return out


# ------------------------------------------------------------------------------ the runs
def finetune_scores(
    est, data: dict, split: str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """:class:`~swav_ts.classifier.TimeSeriesSwAVClassifier` (its defaults) started from
    ``est``, fine-tuned on each label subset (its epoch chosen on held-out training
    subjects: ``groups``) and scored like the probes (``validation``: on the held-out fold of
    the training subjects; ``test``: on the test subjects). ``params``
    replace the classifier's defaults.

    Returns ``{"finetuned": {fraction: accuracy}, "finetune_s": seconds of the fine-tuning on
    all labels (the mean over folds for validation)}``.
    """
    from swav_ts.classifier import TimeSeriesSwAVClassifier
    from swav_ts.evaluation import subject_kfold
    from swav_ts.evaluation.label_fractions import stratified_fraction

    Xtr, ytr = data["Xtr"], data["ytr"]
    if split == "validation":
        folds = [(tr, Xtr[va], ytr[va]) for tr, va in subject_kfold(data["str"], N_FOLDS)]
    else:
        folds = [(np.arange(len(ytr)), data["Xte"], data["yte"])]
    accs: dict[float, list[float]] = {f: [] for f in FRACTIONS}
    full_s = []
    for tr, X_eval, y_eval in folds:
        for f in FRACTIONS:
            for subset in SUBSET_SEEDS if f < 1 else SUBSET_SEEDS[:1]:
                idx = tr[stratified_fraction(ytr[tr], f, subset)]
                t0 = time.perf_counter()
                clf = TimeSeriesSwAVClassifier(est, random_state=subset, **(params or {}))
                clf.fit(Xtr[idx], ytr[idx], groups=data["str"][idx])  # held out: subjects
                if f == 1.0:
                    full_s.append(time.perf_counter() - t0)
                accs[f].append(clf.score(X_eval, y_eval))
    return {
        "finetuned": {f: float(np.mean(v)) for f, v in accs.items()},
        "finetune_s": float(np.mean(full_s)),
    }


def run_swav(
    cfg,
    seed: int,
    out: Path,
    data: dict,
    split: str,
    svm: bool,
    finetune: bool | dict[str, Any] = False,
) -> dict[str, Any]:
    """Pretrain the recipe with one seed; time and score its default embedding (and, with
    ``finetune``, the classifier fine-tuned from it)."""
    from swav_ts.estimator import TimeSeriesSwAV

    run_dir = out / config_folder(cfg) / f"seed{seed}"
    t0 = time.perf_counter()
    est = TimeSeriesSwAV.from_config(cfg, random_state=seed, run_dir=str(run_dir), resume=True)
    est.fit("hapt")
    fit_s = time.perf_counter() - t0
    epoch_s = [h["epoch_time_s"] for h in est.history_]
    Ztr, Zte = est.transform(data["Xtr"]), est.transform(data["Xte"])
    res: dict[str, Any] = {
        "seed": seed,
        "epochs": est.config_.train.epochs,
        "pretrain_s": fit_s,
        "epoch_s": float(np.median(epoch_s)) if epoch_s else None,
        "run_dir": str(run_dir),
        "final_loss": est.history_[-1]["loss"] if est.history_ else None,
        "embedding": score(
            Ztr, data["ytr"], data["str"], Zte, data["yte"], split, svm=svm, probes=PROBES
        ),
    }
    Ptr, Pte = est.prototype_scores(data["Xtr"]), est.prototype_scores(data["Xte"])
    res["prototype_scores"] = score(Ptr, data["ytr"], data["str"], Pte, data["yte"], split)
    rand = est.reinitialized(seed)
    Rtr, Rte = rand.transform(data["Xtr"]), rand.transform(data["Xte"])
    res["random_weights"] = score(Rtr, data["ytr"], data["str"], Rte, data["yte"], split)
    if finetune:
        tuned = finetune_scores(est, data, split, finetune if isinstance(finetune, dict) else None)
        res["embedding"]["finetuned"] = tuned["finetuned"]
        res["finetune_s"] = tuned["finetune_s"]
    return res


def run_peer(
    data: dict, budgets_s: Sequence[float], seed: int, split: str, svm_at: int | None = None
):
    """TS2Vec snapshots at ``budgets_s``; each scored like SwAV (snapshot ``svm_at`` also with
    the RBF-SVM)."""
    from swav_ts.bench.peers import run_ts2vec

    snaps = run_ts2vec(data["Xtr"], budgets_s, seed=seed, embed=(data["Xtr"], data["Xte"]))
    rows = []
    for k, snap in enumerate(snaps):
        Ztr, Zte = snap["embeddings"]
        rows.append(
            {
                "seed": seed,
                "time_s": snap["time_s"],
                "iterations": snap["iterations"],
                "epochs": snap["epochs"],
                "embedding": score(
                    Ztr, data["ytr"], data["str"], Zte, data["yte"], split, svm=k == svm_at
                ),
            }
        )
    return rows


def run_minirocket_peer(data: dict, split: str, unit_s: float, svm: bool) -> dict[str, Any]:
    """MiniRocket fitted on the training windows, scored with the same probes as SwAV."""
    from swav_ts.bench.peers import run_minirocket

    mr = run_minirocket(
        data["Xtr"], embed=(data["Xtr"], data["Xte"]), seed=0, n_jobs=torch.get_num_threads()
    )
    Ztr, Zte = mr["embeddings"]
    return {
        "time_s": mr["time_s"],
        "time_x_yardstick": mr["time_s"] / unit_s,
        "n_features": mr["n_features"],
        "embedding": score(
            Ztr, data["ytr"], data["str"], Zte, data["yte"], split, svm=svm, probes=PROBES
        ),
    }


def run_hapt_benchmark(
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    seeds: Sequence[int] = (0, 1, 2),
    split: str = "validation",
    budgets: Sequence[float] = (),
    peers: Sequence[str] = (),
    peer_seeds: Sequence[int] = (0,),
    svm: bool = False,
    finetune: bool | dict[str, Any] = False,
    demo: bool = False,
    out_dir: str | Path = "runs/bench_hapt",
    threads: int | None = None,
    yardstick_epochs: int = 30,
) -> dict[str, Any]:
    """Run the benchmark; see the module docstring. Returns (and writes) the results.

    ``yardstick_epochs`` other than 30 is for smoke tests only (the unit of time is the
    30-epoch run). ``finetune`` as a dict gives the classifier's settings instead of its
    defaults (``--finetune encoder_lr_scale=0.3``).
    """
    from swav_ts.bench.peers import run_yardstick
    from swav_ts.core.config import to_dict
    from swav_ts.data.hapt import load_hapt
    from swav_ts.demo import demo_config
    from swav_ts.timeseries.adapt import replace_section

    if split not in ("validation", "test"):
        raise ValueError(f"split must be 'validation' or 'test', got {split!r}")
    if threads:
        torch.set_num_threads(threads)
    cfg, _ = demo_config(config, overrides)
    out = Path(out_dir)
    Xtr, ytr, str_ = load_hapt("train")
    Xte, yte, _ = load_hapt("test")
    data = {"Xtr": Xtr, "ytr": ytr, "str": str_, "Xte": Xte, "yte": yte}
    result: dict[str, Any] = {
        "benchmark": "hapt",
        "split": split,
        "config": to_dict(cfg),
        "overrides": list(overrides),
        "machine": machine_info(),
        "torch_threads": torch.get_num_threads(),
    }
    path = out / f"results_{split}.json"

    # ---------------- the yardstick: the unit of time
    yard = run_yardstick(data["Xtr"], data["ytr"], data["Xte"], data["yte"], yardstick_epochs)
    unit = yard["time_s"]
    result["yardstick"] = yard
    logger.info("yardstick: %.1f s, test accuracy %.4f", unit, yard["accuracy"])

    # ---------------- the recipe, several seeds
    result["swav"] = []
    for seed in seeds:
        res = run_swav(cfg, seed, out, data, split, svm, finetune)
        res["pretrain_x_yardstick"] = res["pretrain_s"] / unit
        if finetune:  # the classifier's whole cost: pretraining + fine-tuning on all labels
            res["classifier_x_yardstick"] = (res["pretrain_s"] + res["finetune_s"]) / unit
        result["swav"].append(res)
        write_json(result, path)

    # ---------------- the recipe at other budgets (epochs fitted to k x the yardstick)
    unknown = sorted(set(peers) - set(PEERS))
    if unknown:
        raise ValueError(f"unknown peer {unknown[0]!r}; valid: {', '.join(PEERS)}")
    if budgets and not seeds and "ts2vec" not in peers:
        raise ValueError("budgets without --seeds are for the peer alone: add --peer")
    if budgets and seeds:  # (without seeds: the peer alone, at the budgets)
        epoch_s = result["swav"][0]["epoch_s"]
        if epoch_s is None:
            raise ValueError("budgets need a recipe run that trained at least one epoch")
        overhead_s = result["swav"][0]["pretrain_s"] - epoch_s * result["swav"][0]["epochs"]
        result["swav_budgets"] = []
        for k in budgets:
            epochs = max(1, math.floor((k * unit - overhead_s) / epoch_s))
            run_cfg = replace_section(cfg, "train", epochs=epochs)
            res = run_swav(run_cfg, seeds[0] if seeds else 0, out, data, split, svm=False)
            res.update(budget=k, pretrain_x_yardstick=res["pretrain_s"] / unit)
            result["swav_budgets"].append(res)
            write_json(result, path)

    # ---------------- MiniRocket: no training, fitted on the same unlabelled windows
    if "minirocket" in peers:
        result["minirocket"] = run_minirocket_peer(data, split, unit, svm)
        write_json(result, path)

    # ---------------- TS2Vec: at SwAV's own pretraining time (every seed) and at the budgets
    if "ts2vec" in peers:
        recipe = [r["pretrain_x_yardstick"] for r in result["swav"]]
        equal = float(np.mean(recipe)) if recipe else max(budgets, default=6.0)
        marks = sorted(set(budgets) | {equal})
        result["ts2vec"] = []
        for i, seed in enumerate(peer_seeds):
            seed_marks = marks if i == 0 else [equal]
            svm_at = seed_marks.index(equal) if svm else None
            rows = run_peer(data, [k * unit for k in seed_marks], seed, split, svm_at)
            for k, row in zip(seed_marks, rows):
                row.update(budget=k, equal_time=k == equal, time_x_yardstick=row["time_s"] / unit)
            result["ts2vec"].extend(rows)
            write_json(result, path)

    # ---------------- the main job, timed end to end
    if demo:
        from swav_ts.demo import run_demo

        t0 = time.perf_counter()
        metrics = run_demo(config, out / "demo" / config_folder(cfg), overrides)
        demo_s = time.perf_counter() - t0
        result["demo"] = {
            "total_s": demo_s,
            "total_x_yardstick": demo_s / unit,
            "pretrain_s": metrics["pretrain_time_s"],
            "label_fractions": metrics["label_fractions"],
        }
    result["summary"] = summarise(result)
    write_json(result, path)
    _plot(result, out / f"accuracy_vs_time_{split}.png")
    return result


def _kwargs(a: argparse.Namespace) -> dict[str, Any]:
    """The parsed command line as :func:`run_hapt_benchmark`'s arguments."""
    from swav_ts.core.config import parse_override

    kwargs = {k: v for k, v in vars(a).items() if k != "json"}
    if a.finetune is not None:  # --finetune [PARAM=VALUE ...]
        params = {".".join(key): value for key, value in map(parse_override, a.finetune)}
        kwargs["finetune"] = params or True
    else:
        kwargs["finetune"] = False
    return kwargs


# ------------------------------------------------------------------------------ reporting
def _stats(values: Sequence[float]) -> dict[str, float]:
    v = np.asarray(values, dtype=float)
    return {
        "mean": float(v.mean()),
        "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0,
        "n": len(v),
    }


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Mean and std over seeds of every headline number."""
    s: dict[str, Any] = {}
    runs = result.get("swav", [])
    for what in ("embedding", "prototype_scores", "random_weights"):
        for probe in ALL_PROBES:
            fr = runs[0][what].get(probe, {}) if runs else {}
            for f in fr:
                s[f"swav_{what}_{probe}_{f}"] = _stats([r[what][probe][f] for r in runs])
    if runs:
        s["swav_pretrain_x_yardstick"] = _stats([r["pretrain_x_yardstick"] for r in runs])
    if runs and "classifier_x_yardstick" in runs[0]:
        s["swav_classifier_x_yardstick"] = _stats([r["classifier_x_yardstick"] for r in runs])
    peers = result.get("ts2vec", [])
    if peers:
        final = [p for p in peers if p.get("equal_time")]  # at SwAV's pretraining time
        if not final:
            top = max(p["budget"] for p in peers)
            final = [p for p in peers if p["budget"] == top]
        for probe in ALL_PROBES:
            for f in final[0]["embedding"].get(probe, {}):
                s[f"ts2vec_{probe}_{f}"] = _stats([p["embedding"][probe][f] for p in final])
        s["ts2vec_x_yardstick"] = _stats([p["time_x_yardstick"] for p in final])
    mr = result.get("minirocket")
    if mr:
        for probe, accs in mr["embedding"].items():
            for f, acc in accs.items():
                s[f"minirocket_{probe}_{f}"] = _stats([acc])
        s["minirocket_x_yardstick"] = _stats([mr["time_x_yardstick"]])
    return s


def format_summary(result: dict[str, Any]) -> str:
    """Markdown tables of the headline numbers and the budget curve."""
    s = result["summary"]
    unit = result["yardstick"]["time_s"]

    def cell(key: str) -> str:
        if key not in s:
            return "–"
        v = s[key]
        return (
            f"{100 * v['mean']:.2f} ± {100 * v['std']:.2f}"
            if v["n"] > 1
            else f"{100 * v['mean']:.2f}"
        )

    lines = [
        f"split: {result['split']}; yardstick {unit:.0f} s (test accuracy "
        f"{100 * result['yardstick']['accuracy']:.2f} %)",
        "",
        "| representation | probe | 100 % | 10 % | 1 % | pretraining x yardstick |",
        "|---|---|---|---|---|---|",
    ]
    t = s.get("swav_pretrain_x_yardstick", {"mean": float("nan")})["mean"]
    for what, name in (
        ("embedding", "SwAV (transform)"),
        ("prototype_scores", "SwAV prototype scores"),
        ("random_weights", "same encoder, random weights"),
    ):
        for probe in ALL_PROBES:
            keys = [f"swav_{what}_{probe}_{f}" for f in (1.0, 0.1, 0.01)]
            if not any(k in s for k in keys):
                continue
            time_cell = f"{t:.2f}" if what == "embedding" else ""
            row, how = name, probe.upper()
            if probe == "finetuned":  # the classifier, not a probe of the frozen embedding
                row, how = "TimeSeriesSwAVClassifier (fine-tuned)", "–"
                time_cell = f"{s['swav_classifier_x_yardstick']['mean']:.2f} (+ fine-tuning)"
            lines.append(
                f"| {row} | {how} | " + " | ".join(cell(k) for k in keys) + f" | {time_cell} |"
            )
    for peer, name in (("ts2vec", "TS2Vec"), ("minirocket", "MiniRocket")):
        if f"{peer}_x_yardstick" not in s:
            continue
        for probe in ALL_PROBES:
            keys = [f"{peer}_{probe}_{f}" for f in (1.0, 0.1, 0.01)]
            if any(k in s for k in keys):
                lines.append(
                    f"| {name} | {probe.upper()} | "
                    + " | ".join(cell(k) for k in keys)
                    + f" | {s[f'{peer}_x_yardstick']['mean']:.2f} |"
                )
    curve = _curve(result)
    if curve:
        lines += ["", "| method | x yardstick | LR 100 % | LR 1 % |", "|---|---|---|---|"]
        for name, x, a100, a1 in curve:
            lines.append(f"| {name} | {x:.2f} | {100 * a100:.2f} | {100 * a1:.2f} |")
    if "demo" in result:
        d = result["demo"]
        lines.append(
            f"\nswav-ts demo: {d['total_s']:.0f} s in all = {d['total_x_yardstick']:.2f} x the "
            f"yardstick (pretraining {d['pretrain_s']:.0f} s)"
        )
    return "\n".join(lines)


def _curve(result: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    rows = []
    recipe = result.get("swav", [])
    if recipe:  # the recipe itself, mean over its seeds
        rows.append(
            (
                "SwAV",
                float(np.mean([r["pretrain_x_yardstick"] for r in recipe])),
                float(np.mean([r["embedding"]["lr"][1.0] for r in recipe])),
                float(np.mean([r["embedding"]["lr"][0.01] for r in recipe])),
            )
        )
    for r in result.get("swav_budgets", []):
        lr = r["embedding"]["lr"]
        rows.append(("SwAV", r["pretrain_x_yardstick"], lr[1.0], lr[0.01]))
    seed0 = result["ts2vec"][0]["seed"] if result.get("ts2vec") else None
    for r in result.get("ts2vec", []):
        if r["seed"] == seed0:
            lr = r["embedding"]["lr"]
            rows.append(("TS2Vec", r["time_x_yardstick"], lr[1.0], lr[0.01]))
    return rows


def _plot(result: dict[str, Any], path: Path) -> None:
    rows = _curve(result)
    if not rows:
        return
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.5), sharex=True)
    for ax, col, title in ((axes[0], 2, "all labels"), (axes[1], 3, "1 % of the labels")):
        for name, marker in (("SwAV", "o"), ("TS2Vec", "s")):
            pts = sorted((x, r[col]) for r in rows if r[0] == name for x in [r[1]])
            if pts:
                ax.plot(*zip(*[(x, 100 * a) for x, a in pts]), marker=marker, label=name)
        ax.set(xlabel="pretraining time / yardstick", ylabel="accuracy (%)", title=title)
        ax.legend()
    fig.suptitle(f"HAPT, linear probe ({result['split']})")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        prog="swav-ts bench hapt",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", dest="overrides")
    p.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    p.add_argument("--split", choices=["validation", "test"], default="validation")
    p.add_argument(
        "--budgets",
        type=float,
        nargs="*",
        default=[],
        help="also run the recipe at these multiples of the yardstick",
    )
    p.add_argument(
        "--peer",
        dest="peers",
        choices=PEERS,
        nargs="+",
        default=[],
        help="peers run beside SwAV in the same process (needs the bench extra)",
    )
    p.add_argument("--peer-seeds", type=int, nargs="+", default=[0])
    p.add_argument("--svm", action="store_true", help="add the RBF-SVM probe (test split)")
    p.add_argument(
        "--finetune",
        nargs="*",
        default=None,
        metavar="PARAM=VALUE",
        help="also fine-tune TimeSeriesSwAVClassifier from each seed's model on each label "
        "subset; PARAM=VALUE pairs replace the classifier's defaults (e.g. "
        "encoder_lr_scale=0.3)",
    )
    p.add_argument("--demo", action="store_true", help="also time swav-ts demo end to end")
    p.add_argument("--out", default="runs/bench_hapt", dest="out_dir")
    p.add_argument("--threads", type=int, default=None)
    return run_command(
        p,
        argv,
        lambda a: run_hapt_benchmark(**_kwargs(a)),
        format_summary,
        check=lambda a: output_folder(a.out_dir, "--out"),
    )
