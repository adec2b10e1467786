"""UEA benchmark: embeddings of ``TimeSeriesSwAV`` with its unchanged default settings.

Figures: docs/results.md,
"UEA: BasicMotions and RacketSports with the estimator's default settings".

For each data set, the estimator is fitted (without labels) on the training split; its
embeddings are scored on the test split with TS2Vec's protocol, an RBF-kernel SVM with ``C``
chosen by 5-fold grid search (:func:`swav_ts.evaluation.svm.svm_probe`; the protocol of
TS2Vec's published numbers), with our logistic-regression probe and with MiniRocket's ridge
classifier. The same encoder with random weights is the reference. Mean and standard deviation
over ``seeds``. **MiniRocket** (``aeon``, the ``bench`` extra; ``minirocket=False`` to skip it)
runs in the same process on the same splits with the same three probes; its time is given as a
multiple of SwAV's mean fit time on the same data set.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import swav_ts
from swav_ts.bench.common import add_options, format_table, machine_info, run_command

PUBLISHED_TS2VEC = {"BasicMotions": 0.975, "RacketSports": 0.855}


def default_uea_dir() -> Path:
    """The repository's UEA folder, where BasicMotions and RacketSports ship.

    Returns
    -------
    Path
        ``datasets/uea`` beside the ``swav_ts`` package (a source checkout or editable install).
    """
    return Path(swav_ts.__file__).resolve().parents[1] / "datasets" / "uea"


def run_uea_benchmark(
    datasets: Sequence[str] = ("BasicMotions", "RacketSports"),
    uea_dir: str | Path | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    threads: int | None = None,
    minirocket: bool = True,
) -> dict[str, Any]:
    """Accuracy of a linear probe on SwAV embeddings (mean ± std over ``seeds``), beside
    MiniRocket (``minirocket_*`` keys; its ``random_state`` is 0).

    ``uea_dir`` holds ``<name>_TRAIN.ts`` and ``<name>_TEST.ts`` for each data set; default
    :func:`default_uea_dir`.
    """
    from swav_ts.data.ts_files import load_ts_file
    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.evaluation import linear_probe
    from swav_ts.evaluation.minirocket import run_minirocket
    from swav_ts.evaluation.ridge import ridge_probe
    from swav_ts.evaluation.svm import svm_probe

    if threads:
        torch.set_num_threads(threads)
    uea_dir = Path(uea_dir) if uea_dir else default_uea_dir()
    rows = []
    for name in datasets:
        Xtr, ytr = load_ts_file(uea_dir / f"{name}_TRAIN.ts", return_type="array")
        Xte, yte = load_ts_file(uea_dir / f"{name}_TEST.ts", return_type="array")
        accs, svm_accs, ridge_accs, rand_accs, fit_s = [], [], [], [], []
        for seed in seeds:
            t0 = time.perf_counter()
            est = TimeSeriesSwAV(random_state=seed).fit(Xtr)
            fit_s.append(time.perf_counter() - t0)
            Ztr, Zte = est.transform(Xtr), est.transform(Xte)
            svm_accs.append(svm_probe(Ztr, ytr, Zte, yte)["accuracy"])
            accs.append(linear_probe(Ztr, ytr, Zte, yte)["accuracy"])
            ridge_accs.append(ridge_probe(Ztr, ytr, Zte, yte)["accuracy"])
            rand = est.reinitialized(seed)  # the same architecture, random weights
            Rtr, Rte = rand.transform(Xtr), rand.transform(Xte)
            rand_accs.append(svm_probe(Rtr, ytr, Rte, yte)["accuracy"])
        row = {
            "dataset": name,
            "n_train": len(ytr),
            "n_test": len(yte),
            "shape": "x".join(map(str, Xtr.shape[1:])),
            "swav_svm_mean": float(np.mean(svm_accs)),
            "swav_svm_std": float(np.std(svm_accs, ddof=1)) if len(svm_accs) > 1 else 0.0,
            "swav_lr_mean": float(np.mean(accs)),
            "swav_ridge_mean": float(np.mean(ridge_accs)),
            "random_init_svm_mean": float(np.mean(rand_accs)),
            "ts2vec_published_svm": PUBLISHED_TS2VEC.get(name),
            "fit_time_s": float(np.mean(fit_s)),
        }
        if minirocket:
            peer = run_minirocket(Xtr, [Xtr, Xte], seed=0)
            Mtr, Mte = peer["embeddings"]
            row["minirocket_svm"] = svm_probe(Mtr, ytr, Mte, yte)["accuracy"]
            row["minirocket_lr"] = linear_probe(Mtr, ytr, Mte, yte)["accuracy"]
            row["minirocket_ridge"] = ridge_probe(Mtr, ytr, Mte, yte)["accuracy"]
            row["minirocket_x_swav_fit"] = peer["time_s"] / row["fit_time_s"]
        rows.append(row)
    return {"benchmark": "uea", "seeds": list(seeds), "machine": machine_info(), "rows": rows}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="swav-ts bench uea", description=__doc__)
    kwargs = add_options(
        p,
        run_uea_benchmark,
        helps={"uea_dir": "folder with <name>_TRAIN.ts and <name>_TEST.ts (default: datasets/uea)"},
    )
    return run_command(
        p, argv, lambda a: run_uea_benchmark(**kwargs(a)), lambda r: format_table(r["rows"])
    )
