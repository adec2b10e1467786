"""The shipped model ``motion-50hz`` used frozen: HAPT test subjects, fewer sensors, speed.

Figures: docs/pretrained.md, "Measured".

* **HAPT test subjects** (the model never saw them): logistic regression on the frozen
  embeddings of the 7,143 training and 2,874 test windows, with 100 %, 10 % and 1 % of the
  training labels (3 stratified subsets each), and MiniRocket's ridge classifier.
* **An accelerometer alone**: the same, with the gyroscope channels at their training mean in
  every window — what the model is given for a recording without a gyroscope
  (:meth:`swav_ts.TimeSeriesSwAV.fill_missing_channels`).
* **Speed**: embedding 10,000 windows on one CPU thread, as a multiple of MiniRocket's
  transform of the same windows in the same process (``aeon``, the ``bench`` extra; its fit on
  the training windows is not counted). Best of ``repeats`` runs each.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import add_options, machine_info, run_command
from swav_ts.bench.timing import time_calls

N_TIMED = 10_000


def run_pretrained_benchmark(
    name: str = "motion-50hz", threads: int = 1, repeats: int = 3, minirocket: bool = True
) -> dict[str, Any]:
    """Scores and speed of a shipped model (see the module docstring)."""
    from swav_ts.bench.hapt import score
    from swav_ts.data.hapt import load_hapt
    from swav_ts.estimator import TimeSeriesSwAV

    torch.set_num_threads(threads)
    est = TimeSeriesSwAV.pretrained(name)
    Xtr, ytr, str_ = load_hapt("train")
    Xte, yte, _ = load_hapt("test")
    result: dict[str, Any] = {"benchmark": "pretrained", "model": name, "machine": machine_info()}
    probes = ("lr", "ridge")
    result["all_channels"] = score(
        est.transform(Xtr), ytr, str_, est.transform(Xte), yte, "test", probes=probes
    )
    fill = np.asarray(est.contract_.fill_values, np.float32)[:, None]  # (C, 1)
    gyro = [i for i, c in enumerate(est.contract_.channel_names) if c.startswith("gyro")]

    def acc_only(X: np.ndarray) -> np.ndarray:
        X = X.copy()
        X[:, gyro] = fill[gyro]
        return X

    result["accelerometer_only"] = score(
        est.transform(acc_only(Xtr)), ytr, str_, est.transform(acc_only(Xte)), yte, "test",
        probes=probes,
    )  # fmt: skip
    timed = np.concatenate([Xtr, Xte])[:N_TIMED]  # (10000, 6, 128)
    result["embed_s"] = _best_time(lambda: est.transform(timed), repeats)
    result["n_timed"] = int(timed.shape[0])
    if minirocket:
        from aeon.transformations.collection.convolution_based import MiniRocket

        from swav_ts.evaluation.minirocket import use_workqueue_threads

        use_workqueue_threads()
        peer = MiniRocket(random_state=0, n_jobs=threads).fit(Xtr.astype(np.float32))
        result["minirocket_transform_s"] = _best_time(
            lambda: peer.transform(timed.astype(np.float32)), repeats
        )
        result["x_minirocket"] = result["embed_s"] / result["minirocket_transform_s"]
    return result


def _best_time(fn, repeats: int) -> float:
    """The fastest of ``repeats`` calls after one warm-up (numba compilation, allocator)."""
    return min(time_calls(fn, repeats, warmup=1))


def format_result(r: dict[str, Any]) -> str:
    lines = [f"shipped model {r['model']}, frozen, HAPT test subjects (accuracy %, 100/10/1 %)"]
    for key in ("all_channels", "accelerometer_only"):
        for probe, accs in r[key].items():
            cells = " / ".join(f"{100 * accs[f]:.2f}" for f in (1.0, 0.1, 0.01))
            lines.append(f"  {key:<20} {probe:<6} {cells}")
    lines.append(f"embedding {r['n_timed']} windows, 1 thread: {r['embed_s']:.2f} s")
    if "x_minirocket" in r:
        lines.append(
            f"MiniRocket transform of the same windows: {r['minirocket_transform_s']:.2f} s; "
            f"the shipped model takes {r['x_minirocket']:.2f}x MiniRocket's time"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="swav-ts bench pretrained", description=__doc__)
    kwargs = add_options(p, run_pretrained_benchmark)
    return run_command(p, argv, lambda a: run_pretrained_benchmark(**kwargs(a)), format_result)


if __name__ == "__main__":
    main()
