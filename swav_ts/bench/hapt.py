"""HAPT results benchmark: SwAV pretraining seeds, linear probe, fine-tuning, baselines.

For each pretraining seed: pretrain with ``configs/timeseries/hapt.yaml`` on the continuous
recordings of the 21 training subjects; embed the UCI-HAR-style windows; then, on the 9
official test subjects,

* linear probe (logistic regression on standardised embeddings) with 1 %, 10 % and 100 % of
  the training labels (stratified, 3 subset seeds each),
* the same linear probe on the prototype scores (``TimeSeriesSwAV.prototype_scores``),
* fine-tuning (encoder + linear head, end to end) with 1 % and 10 % of the labels,
* the same encoder with random weights (linear probe),
* the same architecture trained from scratch with the same labels (supervised baseline),
* NMI/ARI of the prototype assignments against the activities,
* logistic regression on the raw windows.

The numbers in ``docs/results.md`` come from this command.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import machine_info, write_json


def _fraction_rows(Ztr, ytr, Zte, yte, fractions, seeds):
    from swav_ts.evaluation import label_fraction_table

    rows = label_fraction_table(Ztr, ytr, Zte, yte, fractions=fractions, seeds=seeds)
    return {float(r["fraction"]): r for r in rows}


def config_folder(cfg) -> str:
    """A folder name unique to a config: runs of different configs never share a folder."""
    import hashlib

    from swav_ts.core.config import to_dict

    text = json.dumps(to_dict(cfg), sort_keys=True)
    return "cfg-" + hashlib.sha1(text.encode()).hexdigest()[:10]


def _trained_fractions(train_fn, y, fractions, seeds, min_steps, epochs):
    """``train_fn(idx, epochs, seed) -> metrics`` on stratified label subsets, aggregated."""
    from swav_ts.evaluation.label_fractions import stratified_fraction

    out = {}
    for frac in fractions:
        runs = []
        for seed in seeds:
            idx = stratified_fraction(y, frac, seed)
            runs.append(train_fn(idx, _epochs_for(len(idx), 64, min_steps, epochs), seed))
        accs = [r["accuracy"] for r in runs]
        out[frac] = {
            "accuracy_mean": float(np.mean(accs)),
            "accuracy_std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
            "macro_f1_mean": float(np.mean([r["macro_f1"] for r in runs])),
        }
    return out


def _epochs_for(n_labelled: int, batch_size: int, min_steps: int, epochs: int) -> int:
    steps_per_epoch = max(1, math.ceil(n_labelled / batch_size))
    return max(epochs, math.ceil(min_steps / steps_per_epoch))


def run_hapt_benchmark(
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    pretrain_seeds: Sequence[int] = (0, 1, 2),
    fractions: Sequence[float] = (0.01, 0.1, 1.0),
    subset_seeds: Sequence[int] = (0, 1, 2),
    finetune_fractions: Sequence[float] = (0.01, 0.1),
    finetune_epochs: int = 20,
    finetune_min_steps: int = 300,
    out_dir: str | Path = "runs/bench_hapt",
    threads: int | None = None,
) -> dict[str, Any]:
    """Run the HAPT results benchmark; see the module docstring."""
    from swav_ts.core.config import to_dict
    from swav_ts.data.hapt import load_hapt
    from swav_ts.data.normalize import ChannelNormalizer
    from swav_ts.demo import demo_config
    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.evaluation import clustering_metrics, finetune, linear_probe, train_supervised

    if threads:
        torch.set_num_threads(threads)
    cfg, _ = demo_config(config, overrides)
    out = Path(out_dir) / config_folder(cfg)
    Xtr, ytr, _ = load_hapt("train")
    Xte, yte, _ = load_hapt("test")
    result: dict[str, Any] = {
        "benchmark": "hapt",
        "config": to_dict(cfg),
        "machine": machine_info(),
        "runs": [],
    }

    # raw windows, standardised per feature (no pretraining)
    raw = linear_probe(Xtr.reshape(len(Xtr), -1), ytr, Xte.reshape(len(Xte), -1), yte)
    result["raw_windows_linear_probe"] = raw

    # supervised from scratch: same architecture, same labels, same routine as fine-tuning
    norm = ChannelNormalizer().fit(Xtr)
    Ntr, Nte = norm.transform(Xtr).astype(np.float32), norm.transform(Xte).astype(np.float32)

    def supervised_run(idx, epochs, seed):
        return train_supervised(
            cfg.encoder.name,
            Xtr.shape[1],
            Ntr[idx],
            ytr[idx],
            Nte,
            yte,
            encoder_kwargs=cfg.encoder.kwargs,
            epochs=epochs,
            seed=seed,
        )

    supervised = _trained_fractions(
        supervised_run,
        ytr,
        (*finetune_fractions, 1.0),
        subset_seeds,
        finetune_min_steps,
        finetune_epochs,
    )
    result["supervised_from_scratch"] = supervised

    for seed in pretrain_seeds:
        t0 = time.perf_counter()
        est = TimeSeriesSwAV.from_config(
            cfg, random_state=seed, run_dir=str(out / f"seed{seed}"), resume=True
        )
        est.fit("hapt")
        pretrain_s = time.perf_counter() - t0
        Ztr, Zte = est.transform(Xtr), est.transform(Xte)
        run: dict[str, Any] = {
            "seed": seed,
            "pretrain_time_s": pretrain_s,
            "final_loss": est.history_[-1]["loss"],
        }
        run["linear_probe"] = _fraction_rows(Ztr, ytr, Zte, yte, fractions, subset_seeds)
        # the same model, cluster space: cosine similarity to each prototype (K-d)
        Str, Ste = est.prototype_scores(Xtr), est.prototype_scores(Xte)
        run["prototype_scores_linear_probe"] = _fraction_rows(
            Str, ytr, Ste, yte, fractions, subset_seeds
        )
        run["clusters"] = clustering_metrics(yte, Ste.argmax(axis=1))
        # fine-tuning the pretrained encoder (its standardisation layer stays frozen)

        def finetune_run(idx, epochs, seed, est=est):
            return finetune(
                est.model_.backbone, Xtr[idx], ytr[idx], Xte, yte, epochs=epochs, seed=seed
            )

        ft = _trained_fractions(
            finetune_run, ytr, finetune_fractions, subset_seeds, finetune_min_steps, finetune_epochs
        )
        run["finetune"] = ft
        # the same encoder, random weights
        rand = est.reinitialized(seed)
        Rtr, Rte = rand.transform(Xtr), rand.transform(Xte)
        run["random_init_linear_probe"] = _fraction_rows(
            Rtr, ytr, Rte, yte, fractions, subset_seeds
        )
        result["runs"].append(run)
        write_json(result, out / "results.json")
    result["summary"] = summarise(result)
    write_json(result, out / "results.json")
    return result


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    """Mean ± std over pretraining seeds of each headline number."""
    runs = result["runs"]

    def stats(values):
        v = np.asarray(values, dtype=float)
        return {"mean": float(v.mean()), "std": float(v.std(ddof=1)) if len(v) > 1 else 0.0}

    summary: dict[str, Any] = {}
    for frac in runs[0]["linear_probe"]:
        summary[f"linear_probe_{frac}"] = stats(
            [r["linear_probe"][frac]["accuracy_mean"] for r in runs]
        )
        summary[f"linear_probe_f1_{frac}"] = stats(
            [r["linear_probe"][frac]["macro_f1_mean"] for r in runs]
        )
        if "prototype_scores_linear_probe" in runs[0]:
            summary[f"prototype_scores_{frac}"] = stats(
                [r["prototype_scores_linear_probe"][frac]["accuracy_mean"] for r in runs]
            )
        summary[f"random_init_{frac}"] = stats(
            [r["random_init_linear_probe"][frac]["accuracy_mean"] for r in runs]
        )
    for frac in runs[0]["finetune"]:
        summary[f"finetune_{frac}"] = stats([r["finetune"][frac]["accuracy_mean"] for r in runs])
    summary["nmi"] = stats([r["clusters"]["nmi"] for r in runs])
    summary["ari"] = stats([r["clusters"]["ari"] for r in runs])
    summary["pretrain_time_s"] = stats([r["pretrain_time_s"] for r in runs])
    return summary


def format_summary(result: dict[str, Any]) -> str:
    s = result["summary"]
    sup = result["supervised_from_scratch"]
    lines = ["| method | 100 % labels | 10 % | 1 % |", "|---|---|---|---|"]

    def cell(key):
        if key not in s:
            return "–"
        return f"{100 * s[key]['mean']:.1f} ± {100 * s[key]['std']:.1f}"

    def sup_cell(frac):
        if frac not in sup:
            return "–"
        return f"{100 * sup[frac]['accuracy_mean']:.1f} ± {100 * sup[frac]['accuracy_std']:.1f}"

    lines.append(
        f"| SwAV, linear probe | {cell('linear_probe_1.0')} | {cell('linear_probe_0.1')} "
        f"| {cell('linear_probe_0.01')} |"
    )
    lines.append(
        f"| SwAV, linear probe on prototype scores | {cell('prototype_scores_1.0')} | "
        f"{cell('prototype_scores_0.1')} | {cell('prototype_scores_0.01')} |"
    )
    lines.append(f"| SwAV, fine-tuned | – | {cell('finetune_0.1')} | {cell('finetune_0.01')} |")
    lines.append(
        f"| same encoder, random init, linear probe | {cell('random_init_1.0')} | "
        f"{cell('random_init_0.1')} | {cell('random_init_0.01')} |"
    )
    lines.append(
        "| supervised from scratch (same encoder) | "
        + " | ".join(sup_cell(f) for f in (1.0, 0.1, 0.01))
        + " |"
    )
    lines.append(
        f"| logistic regression on raw windows | "
        f"{100 * result['raw_windows_linear_probe']['accuracy']:.1f} | | |"
    )
    lines.append("")
    lines.append(
        f"macro-F1 (linear probe, 100 %): {cell('linear_probe_f1_1.0')}; "
        f"prototype clusters vs activities: NMI {s['nmi']['mean']:.3f} ± "
        f"{s['nmi']['std']:.3f}, ARI {s['ari']['mean']:.3f}; pretraining "
        f"{s['pretrain_time_s']['mean']:.0f} s per seed"
    )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(
        prog="swav-ts bench hapt",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--config", default=None)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--out", default="runs/bench_hapt")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    res = run_hapt_benchmark(a.config, a.set, a.seeds, out_dir=a.out, threads=a.threads)
    print(format_summary(res))
    write_json(res, a.json)
    return res
