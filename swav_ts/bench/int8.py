"""Which layers int8 quantisation may touch, decided on HAPT training subjects only.

Figures: docs/deploy.md, "Quantise (int8)".

For a saved HAPT model: export it to ONNX fp32, then quantise it (static QDQ, the same
calibration as ``swav-ts export --int8``) with every layer in int8, with the input layer in
float (the default of :func:`swav_ts.export.quantize_onnx`), and, with ``--per-layer``, with
each other layer alone in float. Each variant is scored against fp32 on the training windows:

* the mean cosine of its embeddings to fp32's (all training windows, no labels), and
* a linear probe trained on the training windows of all but ``--val-subjects`` randomly drawn
  training subjects and scored on those held out, as points lost against fp32's probe.

The 9 test subjects are never read: the test-subject cost of the chosen scheme is measured
once by ``swav-ts bench export``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import (
    add_options,
    format_table,
    machine_info,
    mean_cosine,
    run_command,
    scratch_folder,
    subset_rows,
)

COLUMNS = ("variant", "float_layers", "mean_cosine_vs_fp32", "val_probe_acc", "val_drop_points")


def run_int8_study(
    model: str | Path,
    threads: int = 1,
    n_calibration: int = 300,
    val_subjects: int = 7,
    seed: int = 0,
    per_layer: bool = True,
    max_windows: int | None = None,
) -> dict[str, Any]:
    """Score int8 variants of a saved HAPT model on the training subjects.

    Parameters
    ----------
    model : path
        A saved model (``.safetensors``) on HAPT's six channels.
    threads : int
        Torch and ONNX Runtime threads.
    n_calibration : int
        HAPT training windows calibrating each int8 model (as ``swav-ts export --int8``).
    val_subjects : int
        Training subjects held out for the probe, drawn with ``seed``.
    seed : int
    per_layer : bool
        Also score each layer after the input layer alone in float.
    max_windows : int, optional
        Use at most this many training windows (drawn with ``seed``; default: all).

    Returns
    -------
    dict
        ``rows`` (one per variant, :data:`COLUMNS`), ``val_subjects``, ``fp32_val_probe_acc``,
        ``layers`` (the weighted layers, input first) and the machine.
    """
    from swav_ts.data.hapt import load_hapt
    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.evaluation import linear_probe
    from swav_ts.export import (
        calibration_windows,
        load_exported,
        quantize_onnx,
        weighted_layers,
    )

    torch.set_num_threads(threads)
    est = TimeSeriesSwAV.load(model)
    X, y, subjects = load_hapt("train")
    rng = np.random.default_rng(seed)
    keep = subset_rows(len(X), max_windows, rng)  # the held-out subjects are drawn next
    X, y, subjects = X[keep], y[keep], subjects[keep]
    held_out = np.sort(rng.choice(np.unique(subjects), val_subjects, replace=False))
    val = np.isin(subjects, held_out)
    if val.all() or not val.any():
        raise ValueError(f"val_subjects={val_subjects} leaves no training or no probe windows")
    with scratch_folder("swav_ts_bench_int8_") as root:
        fp32 = est.export(root / "fp32.onnx", "onnx")
        layers = weighted_layers(fp32)
        z32 = load_exported(fp32, threads=threads)(X)  # (n, D)
        acc32 = linear_probe(z32[~val], y[~val], z32[val], y[val])["accuracy"]
        calib = calibration_windows("hapt", est.contract_, n=n_calibration)
        variants = [("every layer int8", []), ("input layer in float", layers[:1])]
        if per_layer:
            variants += [(f"{name} in float", [name]) for name in layers[1:]]
        rows = []
        for i, (label, in_float) in enumerate(variants):  # in_float: the layers kept in float
            path = quantize_onnx(
                fp32, root / f"v{i}.onnx", calib, float_input_layer=False, float_layers=in_float
            )
            z8 = load_exported(path, threads=threads)(X)
            acc = linear_probe(z8[~val], y[~val], z8[val], y[val])["accuracy"]
            rows.append(
                {
                    "variant": label,
                    "float_layers": ",".join(in_float) or "-",
                    "mean_cosine_vs_fp32": mean_cosine(z8, z32),
                    "val_probe_acc": acc,
                    "val_drop_points": 100 * (acc32 - acc),
                }
            )
    return {
        "benchmark": "int8",
        "model": str(model),
        "layers": layers,
        "val_subjects": held_out.tolist(),
        "fp32_val_probe_acc": acc32,
        "n_windows": len(X),
        "rows": rows,
        "machine": machine_info(),
        "settings": {"threads": threads, "n_calibration": n_calibration, "seed": seed},
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: print the table, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench int8", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a saved model (.safetensors), HAPT channels")
    kwargs = add_options(p, run_int8_study, helps={"max_windows": "None: all training windows"})
    return run_command(
        p,
        argv,
        lambda a: run_int8_study(a.model, **kwargs(a)),
        format_result,
        json_help="write the results here",
    )


def format_result(res: dict[str, Any]) -> str:
    """The held-out subjects, fp32's probe on them and the table of a :func:`run_int8_study`
    result."""
    return "\n".join(
        [
            f"model {res['model']}; probe held out: training subjects {res['val_subjects']}",
            f"fp32 probe on them: {100 * res['fp32_val_probe_acc']:.2f} %\n",
            format_table(res["rows"], COLUMNS),
        ]
    )
