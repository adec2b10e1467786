"""Benchmark: one accelerator session, every hot path, each section under a time budget.

Figures: docs/benchmarks.md, "`swav-ts bench gpu`: one accelerator session".

Sections (in order): Sinkhorn (ours vs the plain formula, :mod:`swav_ts.bench.sinkhorn`),
time-series view making on the device (the :mod:`swav_ts.bench.augment` pipeline), the
time-series training step on the device with bf16 autocast (the replica of
:mod:`swav_ts.bench.train`, real HAPT contexts), and the image ResNet-50 multi-crop step with
synthetic tensors and with real JPEG decoding (:func:`swav_ts.bench.image.gpu_throughput`).
A section starts only when its budget still fits in the total; a short summary table is
printed last.

Run: ``swav-ts bench gpu --json runs/bench_gpu.json`` (about 6-7 minutes on one GPU);
smoke: ``swav-ts bench gpu --device cpu --quick`` (tiny sizes, seconds).
"""

from __future__ import annotations

import argparse
import logging
import os
import time
import traceback
from collections.abc import Sequence
from typing import Any

import torch

from swav_ts.bench.common import (
    add_options,
    format_table,
    machine_info,
    resolve_config,
    run_command,
)
from swav_ts.bench.timing import device_sync, median_time_s

logger = logging.getLogger(__name__)

# seconds per section (full size); quick mode uses a tenth
BUDGETS_S = {"sinkhorn": 60.0, "augment": 45.0, "train": 100.0, "image": 210.0}


def bench_sinkhorn(device: str, quick: bool, budget_s: float) -> dict[str, Any]:
    """Ours vs the plain formula for several (B, K, dtype); stops adding sizes at the budget."""
    from swav_ts.bench.sinkhorn import run_sinkhorn_benchmark

    sizes = [(64, 30)] if quick else [(4096, 3000), (16384, 3000), (65536, 3000)]
    dtypes = ("float32",) if quick else ("float32", "bfloat16")
    t0, rows = time.perf_counter(), []
    for b, k in sizes:
        if rows and time.perf_counter() - t0 > budget_s / 2:
            logger.info("sinkhorn: budget reached, skipping B=%d", b)
            break
        res = run_sinkhorn_benchmark((b,), (k,), dtypes, device, 3 if quick else 7, threads=None)
        rows += res["rows"]
    return {"rows": rows}


def bench_augment(device: str, quick: bool, budget_s: float) -> dict[str, Any]:
    """Windows/s of the torch-engine ViewMaker (2x128 + 6x48 of 256) on the device."""
    from swav_ts.bench.augment import benchmark_config
    from swav_ts.timeseries.crops import MultiCropConfig
    from swav_ts.timeseries.views import ViewMaker

    dev = torch.device(device)
    augment = benchmark_config()
    augment.rotation.triplets = [[0, 1, 2], [3, 4, 5]]
    crops = MultiCropConfig(n_global=2, global_length=128, n_local=6, local_length=48)
    maker = ViewMaker(crops, augment, engine="torch")
    rows = []
    t0 = time.perf_counter()
    for batch in (16,) if quick else (512, 4096, 16384):
        if rows and time.perf_counter() - t0 > budget_s / 2:
            break
        g = torch.Generator(device=dev).manual_seed(0)
        x = torch.randn(batch, 6, 256, device=dev, generator=g)
        t = median_time_s(lambda x=x, g=g: maker(x, g), 3 if quick else 7, sync=device_sync(dev))
        rows.append({"batch": batch, "ms": 1e3 * t, "windows_per_s": batch / t})
    return {"augmentations": list(augment.active()), "rows": rows}


def bench_train(device: str, quick: bool, budget_s: float, use_compile: bool) -> dict[str, Any]:
    """The real time-series step (cnn3, default views) with bf16 autocast at a few batch sizes."""
    from swav_ts.bench.train import time_pretraining

    rows = []
    t0 = time.perf_counter()
    for batch in (32,) if quick else (128, 1024, 4096):
        if rows and time.perf_counter() - t0 > budget_s / 2:
            break
        sets = [f"train.batch_size={batch}", "train.precision=bf16", f"train.device={device}"]
        if quick:
            sets.append("data.stride=2048")  # a few hundred contexts
        cfg = resolve_config(sets)
        for compiled in (False, True) if use_compile else (False,):
            r = time_pretraining(
                cfg,
                iters=2 if quick else 30,
                warmup=1 if quick else 5,
                device=device,
                use_compile=compiled,
            )
            rows.append({"batch": batch, **{k: v for k, v in r.items() if k != "steps_ms"}})
    return {"precision": "bf16", "rows": rows}


def bench_image(device: str, quick: bool, budget_s: float) -> dict[str, Any]:
    """ResNet-50 2x224 + 6x96 step: synthetic tensors, JPEG pipeline, end to end."""
    from swav_ts.bench.image import gpu_throughput

    return gpu_throughput(device=device, quick=quick, max_seconds_per_phase=budget_s / 4)


def run_gpu_benchmark(
    device: str = "cuda",
    quick: bool = False,
    sections: Sequence[str] = tuple(BUDGETS_S),
    total_budget_s: float = 420.0,
    use_compile: bool = False,
) -> dict[str, Any]:
    """Run the sections in order, each only if its budget fits in what is left.

    A failing section is recorded (``error`` with the last traceback line) and the next one
    runs. Returns ``machine``, ``load_avg``, ``sections`` (name -> result, with ``seconds``)
    and ``summary`` (the rows of the final table).
    """
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device cuda requested but torch.cuda.is_available() is False")
    unknown = [s for s in sections if s not in BUDGETS_S]
    if unknown:
        raise ValueError(f"unknown section(s) {unknown}; valid: {list(BUDGETS_S)}")
    scale = 0.1 if quick else 1.0
    out: dict[str, Any] = {
        "benchmark": "gpu",
        "device": device,
        "quick": quick,
        "machine": machine_info(),
        "load_avg": {"before": os.getloadavg()},
        "sections": {},
    }
    runners = {
        "sinkhorn": lambda b: bench_sinkhorn(device, quick, b),
        "augment": lambda b: bench_augment(device, quick, b),
        "train": lambda b: bench_train(device, quick, b, use_compile),
        "image": lambda b: bench_image(device, quick, b),
    }
    t_start = time.perf_counter()
    for name in sections:
        budget = BUDGETS_S[name] * scale
        left = total_budget_s - (time.perf_counter() - t_start)
        if budget > left:
            out["sections"][name] = {"skipped": f"budget {budget:.0f} s > {left:.0f} s left"}
            continue
        t0 = time.perf_counter()
        try:
            result = runners[name](budget)
        except Exception as exc:  # one broken section must not lose the others' figures
            logger.error("section %s failed:\n%s", name, traceback.format_exc())
            result = {"error": f"{type(exc).__name__}: {exc}"[:500]}
        result["seconds"] = time.perf_counter() - t0
        result["budget_s"] = budget
        out["sections"][name] = result
        logger.info("section %s: %.1f s", name, result["seconds"])
    out["load_avg"]["after"] = os.getloadavg()
    out["summary"] = summary_rows(out)
    return out


def summary_rows(result: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per headline figure: section, what, value, unit, seconds of the section."""
    rows: list[dict[str, Any]] = []
    for name, sec in result["sections"].items():
        secs = sec.get("seconds", 0.0)
        if "skipped" in sec or "error" in sec:
            note = sec.get("skipped") or sec.get("error")
            rows.append({"section": name, "what": str(note)[:70], "value": "", "unit": ""})
            continue
        if name == "sinkhorn":
            for r in sec["rows"]:
                rows.append(
                    {
                        "section": name,
                        "what": f"B={r['B']} K={r['K']} {r['dtype']} ours (plain)",
                        "value": f"{r['ours_ms']:.3g} ({r['plain_ms']:.3g})",
                        "unit": "ms",
                    }
                )
        elif name == "augment":
            for r in sec["rows"]:
                rows.append(
                    {
                        "section": name,
                        "what": f"views of B={r['batch']}",
                        "value": r["windows_per_s"],
                        "unit": "windows/s",
                    }
                )
        elif name == "train":
            for r in sec["rows"]:
                share = r["share"]["data"] + r["share"]["views"]
                rows.append(
                    {
                        "section": name,
                        "what": f"cnn3 B={r['batch']} {'compiled' if r['compile'] else 'eager'}"
                        f" (data+views {100 * share:.0f} %, sinkhorn+loss "
                        f"{100 * r['share']['loss']:.0f} %)",
                        "value": r["windows_per_s"],
                        "unit": "windows/s",
                    }
                )
        elif name == "image":
            for key in ("synthetic_img_s", "jpeg_pipeline_img_s", "end_to_end_jpeg_img_s"):
                if key in sec:
                    rows.append(
                        {
                            "section": name,
                            "what": f"{sec['arch']} {sec['crops']} {key[:-6]}",
                            "value": sec[key],
                            "unit": "images/s",
                        }
                    )
        if rows:
            rows[-1]["seconds"] = secs
    return rows


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: run the sections, print the summary table last, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench gpu", description=__doc__.splitlines()[0])
    kwargs = add_options(
        p,
        run_gpu_benchmark,
        names={"use_compile": "compile"},
        helps={"quick": "tiny sizes (CPU smoke test)"},
        choices={"sections": list(BUDGETS_S)},
    )

    def run(a: argparse.Namespace) -> dict[str, Any]:
        torch.set_num_threads(1 if a.device == "cpu" else torch.get_num_threads())
        return run_gpu_benchmark(**kwargs(a))

    return run_command(p, argv, run, format_result)


def format_result(res: dict[str, Any]) -> str:
    """The device, the load average and the summary table (last) of a
    :func:`run_gpu_benchmark` result."""
    la = res["load_avg"]
    return (
        f"device {res['device']} ({res['machine'].get('gpu', res['machine']['cpu'])}); "
        f"load average before {la['before'][0]:.2f}, after {la['after'][0]:.2f}\n"
        + format_table(res["summary"], ["section", "what", "value", "unit", "seconds"])
    )


if __name__ == "__main__":
    main()
