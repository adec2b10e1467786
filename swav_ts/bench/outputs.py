"""Which output of a trained model is the default embedding, decided on validation subjects.

Figures: docs/results.md, "How the recipe was chosen (validation subjects)".

For finished ``swav-ts bench hapt --split validation`` runs (their ``--json`` files), each
seed's model is loaded from its run folder (not retrained) and several of its outputs are
scored with the benchmark's own validation protocol (:func:`swav_ts.bench.hapt.score`: a
logistic regression trained on 2 of 3 subject-wise folds of the 21 training subjects, scored
on the third; 100 / 10 / 1 % of the labels, 3 label subsets each):

* ``transform``: the encoder features, the default embedding;
* ``prototype_scores``: the cosine of the projection to each prototype;
* ``transform+prototype_scores``: both, concatenated;
* ``transform+window_mean``: the features and each channel's mean over the window in sensor
  units (for an accelerometer, the direction of gravity: the information that a rotation
  augmentation teaches the encoder to discount);
* other poolings of the encoder's per-step features ``forward_sequence`` (the default is the
  encoder's own, max pooling for the TCN): ``avg_pool``; ``ppv_pool``, the proportion of
  positive values of each feature over the window (MiniRocket's pooling, with the threshold at
  0); ``max+avg+ppv_pool``, the three concatenated.

Runs of the test split are refused: the 9 test subjects never take part in a choice.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import add_options, format_table, machine_info, run_command

FRACTIONS = (1.0, 0.1, 0.01)
COLUMNS = ("output", "dim", "lr_100", "lr_10", "lr_1", "vs_transform")


def candidate_outputs(est, X: np.ndarray) -> dict[str, np.ndarray]:
    """The outputs compared, each ``(n_cases, dim)``, of windows ``X`` (n_cases, C, T)."""
    features = est.transform(X)  # (n, D)
    scores = est.prototype_scores(X)  # (n, K)
    window_mean = X.mean(axis=-1)  # (n, C), sensor units
    avg, ppv, mx = per_step_poolings(est, X)
    return {
        "transform": features,
        "prototype_scores": scores,
        "transform+prototype_scores": np.concatenate([features, scores], axis=1),
        "transform+window_mean": np.concatenate([features, window_mean], axis=1),
        "avg_pool": avg,
        "ppv_pool": ppv,
        "max+avg+ppv_pool": np.concatenate([mx, avg, ppv], axis=1),
    }


def per_step_poolings(est, X: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Average, proportion-of-positive-values and max pooling of the encoder's per-step
    features ``(n, W, T')`` of windows ``X`` (n, C, T): three ``(n, W)`` arrays."""
    backbone = est.model_.backbone.eval()
    avg, ppv, mx = [], [], []
    with torch.no_grad():
        for start in range(0, len(X), 512):
            h = backbone.forward_sequence(torch.from_numpy(X[start : start + 512]))  # (B, W, T')
            avg.append(h.mean(dim=-1).numpy())  # (B, W)
            ppv.append((h > 0).float().mean(dim=-1).numpy())  # (B, W)
            mx.append(h.amax(dim=-1).numpy())  # (B, W)
    return np.concatenate(avg), np.concatenate(ppv), np.concatenate(mx)


def _load_run(path: Path) -> dict[str, Any]:
    run = json.loads(path.read_text(encoding="utf-8"))
    if run.get("benchmark") != "hapt" or "swav" not in run:
        raise ValueError(f"{path} is not the --json of `swav-ts bench hapt`")
    if run.get("split") != "validation":
        raise ValueError(
            f"{path} is a run of split {run.get('split')!r}: outputs are compared on "
            "validation runs only (`swav-ts bench hapt --split validation`), so that the "
            "test subjects never take part in the choice"
        )
    return run


def run_outputs_study(
    runs: Sequence[str | Path],
    threads: int = 1,
    max_windows: int | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """Score each output of each seed's model of finished validation runs.

    Parameters
    ----------
    runs : paths
        ``--json`` files of ``swav-ts bench hapt --split validation``; their run folders must
        still hold the checkpoints.
    threads : int
        Torch threads.
    max_windows : int, optional
        Use at most this many training windows (drawn with ``seed``; default: all, as the bench).
    seed : int

    Returns
    -------
    dict
        ``per_model`` (LR accuracy per output, fraction and model), ``rows`` (means over the
        models, :data:`COLUMNS`, accuracies in %, ``vs_transform`` the mean of the three
        columns' differences to ``transform``) and the machine.
    """
    from swav_ts.bench.hapt import score
    from swav_ts.data.hapt import load_hapt
    from swav_ts.estimator import TimeSeriesSwAV

    torch.set_num_threads(threads)
    loaded = [(Path(p), _load_run(Path(p))) for p in runs]
    X, y, subjects = load_hapt("train")
    if max_windows is not None and max_windows < len(X):
        keep = np.sort(np.random.default_rng(seed).choice(len(X), max_windows, replace=False))
        X, y, subjects = X[keep], y[keep], subjects[keep]
    per_model = []
    for path, run in loaded:
        for r in run["swav"]:
            if not (Path(r["run_dir"]) / "checkpoint.pt").exists():
                raise FileNotFoundError(
                    f"{path}: no checkpoint in {r['run_dir']} (seed {r['seed']}); run folders "
                    "are relative to where the bench ran"
                )
            est = TimeSeriesSwAV.from_config(
                run["config"], random_state=r["seed"], run_dir=r["run_dir"], resume=True
            )
            est.fit(run["config"]["data"]["source"])  # a finished run resumes at its end
            accs = {}
            for name, Z in candidate_outputs(est, X).items():
                lr = score(Z, y, subjects, None, None, "validation", fractions=FRACTIONS)["lr"]
                accs[name] = {"dim": Z.shape[1], "lr": [100 * lr[f] for f in FRACTIONS]}
            per_model.append({"run": str(path), "seed": r["seed"], "outputs": accs})
    return {
        "benchmark": "outputs",
        "runs": [str(p) for p, _ in loaded],
        "n_windows": len(X),
        "per_model": per_model,
        "rows": summarise(per_model),
        "machine": machine_info(),
        "settings": {"threads": threads, "max_windows": max_windows, "seed": seed},
    }


def summarise(per_model: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean accuracy per output over the models, and its difference to the first output."""
    names = list(per_model[0]["outputs"])
    mean = {n: np.mean([m["outputs"][n]["lr"] for m in per_model], axis=0) for n in names}
    rows = []
    for n in names:
        lr_100, lr_10, lr_1 = (float(v) for v in mean[n])
        rows.append(
            {
                "output": n,
                "dim": per_model[0]["outputs"][n]["dim"],
                "lr_100": lr_100,
                "lr_10": lr_10,
                "lr_1": lr_1,
                "vs_transform": float(np.mean(mean[n] - mean[names[0]])),
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: print the table, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench outputs", description=__doc__.splitlines()[0])
    p.add_argument("--runs", nargs="+", required=True, help="--json files of validation runs")
    kwargs = add_options(p, run_outputs_study, helps={"max_windows": "None: all windows"})
    return run_command(p, argv, lambda a: run_outputs_study(a.runs, **kwargs(a)), _report)


def _report(res: dict[str, Any]) -> str:
    head = f"{len(res['per_model'])} models, {res['n_windows']} training windows; LR accuracy %"
    return head + "\n" + format_table(res["rows"], COLUMNS)
