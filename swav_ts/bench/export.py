"""Deployment benchmark: exported models against torch eager, int8 accuracy, a 24-hour stream.

Figures: docs/deploy.md, "Measured: `swav-ts bench export`".

In one run, on ``--threads`` CPU threads (default 1):

* **Latency and throughput.** The same encoder as torch eager (``backbone(x)`` under
  ``torch.inference_mode``), TorchScript (traced, frozen), ONNX Runtime fp32 and ONNX Runtime
  int8 (static QDQ quantisation calibrated on ``--n-calibration`` HAPT training windows):
  median time of one window (batch 1) and windows per second at batch ``--batch``. The
  runtimes are measured in turn inside each of ``--rounds`` rounds, so that load drift on a
  shared machine hits them alike; the figures are medians over the rounds, and every runtime
  is also given as a ratio to torch eager (speed-up: eager time / its time).
* **Sizes** of the model file (safetensors, with the SwAV heads) and of each export.
* **Accuracy.** The HAPT linear probe (train windows -> the 9 test subjects, all labels) on
  the embeddings of torch, ONNX fp32 and ONNX int8, and how far each export's embeddings are
  from torch's.
* **Streaming.** A fresh subprocess per backend embeds a synthetic ``--stream-hours`` stream
  (default 24 h) at the model's rate with :class:`swav_ts.streaming.StreamingEmbedder`, fed in
  ``--chunk-s`` chunks: peak RSS at checkpoints (the ratio of the peak after the whole stream
  to the peak after ``--stream-ref-hours``; flat memory gives 1.0) and the real-time factor
  (stream seconds per second of ``push`` time).

Run: ``swav-ts bench export --model runs/hapt/model.safetensors --json runs/bench_export.json``

(About 440 lines: one benchmark; much of its length is the streaming child process and the
report.)
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.bench.common import (
    add_options,
    format_table,
    machine_info,
    mean_cosine,
    run_child,
    run_command,
    scratch_folder,
    subset_rows,
)
from swav_ts.bench.timing import median_time_s

__all__ = ["main", "run_export_benchmark"]

logger = logging.getLogger(__name__)

# One stream in a fresh process: its peak RSS (VmHWM, Linux) at each checkpoint.
_STREAM_CHILD = r"""
import json, sys, time
import numpy as np, torch
threads = int(sys.argv[1])
torch.set_num_threads(threads)
from swav_ts.streaming import StreamingEmbedder
model, hours, chunk_s = sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
window_s = float(sys.argv[5]) if sys.argv[5] != "none" else None
stride_s = float(sys.argv[6]) if sys.argv[6] != "none" else None
checkpoints = sorted(float(h) for h in sys.argv[7].split(","))
emb = StreamingEmbedder(model, window_s, stride_s, threads=threads)
c, rate = emb.contract, emb.rate_hz
C = c.n_channels
if c.low is not None:
    low, high = np.asarray(c.low), np.asarray(c.high)
    mid, amp = (low + high) / 2, (high - low) / 8
else:
    mid, amp = np.zeros(C), np.ones(C)
rng = np.random.default_rng(0)
freq, phase = rng.uniform(0.2, 3.0, C)[:, None], rng.uniform(0, 6.28, C)[:, None]
n_chunk = max(1, round(chunk_s * rate))
total = round(hours * 3600 * rate)
marks = [(h, round(h * 3600 * rate)) for h in checkpoints]

def status_mib(key):
    # VmHWM (peak) / VmRSS of this process image: ru_maxrss would include the parent's RSS
    # at fork time (Linux keeps it across fork and exec)
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {key} in /proc/self/status")

i, n_win, busy, rows, t_start = 0, 0, 0.0, [], time.perf_counter()
while i < total:
    n = min(n_chunk, total - i)
    t = (i + np.arange(n)) / rate
    x = mid[:, None] + amp[:, None] * (
        np.sin(2 * np.pi * freq * t + phase) + 0.2 * rng.standard_normal((C, n))
    )
    x = x.astype(np.float32)  # (C, n)
    t0 = time.perf_counter()
    out = emb.push(x)
    busy += time.perf_counter() - t0
    n_win += len(out)
    del out
    i += n
    while marks and i >= marks[0][1]:
        h, _ = marks.pop(0)
        rows.append({"hours": h, "samples": i, "windows": n_win, "busy_s": busy,
                     "peak_rss_mib": status_mib("VmHWM"), "rss_mib": status_mib("VmRSS")})
print(json.dumps({"backend": emb.backend, "window": emb.window_length, "stride": emb.stride,
                  "rate_hz": rate, "chunk_samples": n_chunk, "buffer_bytes": emb.buffer_nbytes,
                  "wall_s": time.perf_counter() - t_start, "checkpoints": rows}))
"""


def _stream_run(
    model_path: Path,
    hours: float,
    ref_hours: float,
    chunk_s: float,
    window_s: float | None,
    stride_s: float | None,
    threads: int,
) -> dict[str, Any]:
    marks = sorted({ref_hours, hours, *(h for h in (2, 4, 8, 16) if ref_hours < h < hours)})
    args = [
        str(threads),
        str(model_path),
        repr(hours),
        repr(chunk_s),
        "none" if window_s is None else repr(window_s),
        "none" if stride_s is None else repr(stride_s),
        ",".join(repr(h) for h in marks),
    ]
    res = run_child(_STREAM_CHILD, args, "stream child")
    rows = res["checkpoints"]
    ref = next(r for r in rows if r["hours"] == ref_hours)
    end = rows[-1]
    stream_s = end["samples"] / res["rate_hz"]
    res.update(
        stream_hours=hours,
        ref_hours=ref_hours,
        windows=end["windows"],
        peak_rss_ref_mib=ref["peak_rss_mib"],
        peak_rss_end_mib=end["peak_rss_mib"],
        peak_rss_ratio=end["peak_rss_mib"] / ref["peak_rss_mib"],
        realtime_factor=stream_s / end["busy_s"],
        ms_per_window=1e3 * end["busy_s"] / max(end["windows"], 1),
    )
    return res


def _rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    """Largest absolute difference relative to the largest absolute reference value."""
    return float(np.abs(a - ref).max() / max(float(np.abs(ref).max()), 1e-12))


def run_export_benchmark(
    model: str | Path,
    threads: int = 1,
    batch: int = 256,
    rounds: int = 3,
    latency_repeats: int = 200,
    batch_repeats: int = 5,
    n_calibration: int = 300,
    probe_windows: int | None = None,
    stream_hours: float = 24.0,
    stream_ref_hours: float = 1.0,
    stream_backends: Sequence[str] = ("onnx", "torch"),
    chunk_s: float = 1.0,
    window_s: float | None = None,
    stride_s: float | None = None,
    work_dir: str | Path | None = None,
    exports: dict[str, str | Path] | None = None,
) -> dict[str, Any]:
    """Measure the exports of a saved model (see the module docstring).

    Parameters
    ----------
    model : path
        A saved ``TimeSeriesSwAV`` (``.safetensors``) with the HAPT channels.
    threads : int
        Torch and ONNX Runtime threads.
    batch : int
        Batch of the throughput measurement.
    rounds, latency_repeats, batch_repeats : int
        Rounds of the interleaved timing; timed calls per round at batch 1 and at ``batch``.
    n_calibration : int
        HAPT training windows calibrating the int8 model.
    probe_windows : int, optional
        Use at most this many train and test windows for the linear probe (default: all).
    stream_hours, stream_ref_hours : float
        Length of the synthetic stream, and the checkpoint its peak RSS is compared with.
    stream_backends : sequence of {"onnx", "torch"}
        One streaming subprocess per backend (none: no streaming measurement).
    chunk_s : float
        Seconds of stream per ``push``.
    window_s, stride_s : float, optional
        Streaming windows (default: the model's window length; stride: half of it).
    work_dir : path, optional
        Where the exports are written (default: a temporary folder, removed afterwards).
    exports : dict, optional
        Files to measure instead of exporting here: ``onnx_fp32``, ``onnx_int8``,
        ``torchscript`` (exports of this model, e.g. with other quantisation settings).
    """
    from swav_ts.data.hapt import load_hapt
    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.evaluation import linear_probe
    from swav_ts.export import calibration_windows, file_size_mib, load_exported

    # the work folder is made (or refused) before the model is read
    with scratch_folder("swav_ts_bench_export_", work_dir) as root:
        torch.set_num_threads(threads)
        model = Path(model)
        est = TimeSeriesSwAV.load(model)
        contract = est.contract_
        length = contract.window_length
        Xtr, ytr, _ = load_hapt("train")
        Xte, yte, _ = load_hapt("test")

        # ---------------------------------------------------------------- exports
        timings: dict[str, float] = {}
        given = dict(exports or {})
        unknown = sorted(set(given) - {"onnx_fp32", "onnx_int8", "torchscript"})
        if unknown:
            raise ValueError(f"exports: unknown keys {unknown}")
        paths: dict[str, Path] = {k: Path(v) for k, v in given.items()}
        if "onnx_fp32" not in paths:
            t0 = time.perf_counter()
            paths["onnx_fp32"] = est.export(root / "fp32.onnx", "onnx")
            timings["export_onnx_s"] = time.perf_counter() - t0
        if "torchscript" not in paths:
            t0 = time.perf_counter()
            paths["torchscript"] = est.export(root / "model.pt", "torchscript")
            timings["export_torchscript_s"] = time.perf_counter() - t0
        if "onnx_int8" not in paths:
            t0 = time.perf_counter()
            calib = calibration_windows("hapt", contract, n=n_calibration)
            paths["onnx_int8"] = est.export(
                root / "int8.onnx", "onnx", int8=True, calibration=calib
            )
            timings["export_int8_s"] = time.perf_counter() - t0
        loaded = {k: load_exported(p, threads=threads) for k, p in paths.items()}
        sizes = {"safetensors": file_size_mib(model)}
        sizes.update({k: file_size_mib(p) for k, p in paths.items()})

        # ---------------------------------------------------------------- speed
        backbone = est.model_.backbone.cpu().eval()
        sessions = {k: m._runner for k, m in loaded.items()}
        x1 = np.ascontiguousarray(Xte[:1, :, :length]) if Xte.shape[2] >= length else None
        if x1 is None:
            raise ValueError(f"the model's windows ({length}) are longer than HAPT's (128)")
        xb = np.ascontiguousarray(Xte[subset_rows(len(Xte), batch, 1)][:, :, :length])
        if len(xb) < batch:
            xb = np.concatenate([xb] * (batch // len(xb) + 1))[:batch]

        def eager(x: np.ndarray) -> Callable[[], Any]:
            xt = torch.from_numpy(x)

            def fn() -> Any:
                with torch.inference_mode():
                    return backbone(xt)

            return fn

        def scripted(x: np.ndarray) -> Callable[[], Any]:
            xt, module = torch.from_numpy(x), sessions["torchscript"]

            def fn() -> Any:
                with torch.inference_mode():
                    return module(xt)

            return fn

        def onnx(key: str, x: np.ndarray) -> Callable[[], Any]:
            sess = sessions[key]
            return lambda: sess.run(None, {"windows": x})

        runners: dict[str, Callable[[np.ndarray], Callable[[], Any]]] = {
            "torch_eager": eager,
            "torchscript": scripted,
            "onnx_fp32": lambda x: onnx("onnx_fp32", x),
            "onnx_int8": lambda x: onnx("onnx_int8", x),
        }
        t0 = time.perf_counter()
        lat: dict[str, list[float]] = {k: [] for k in runners}
        thr: dict[str, list[float]] = {k: [] for k in runners}
        for _ in range(rounds):
            for name, make in runners.items():
                lat[name].append(median_time_s(make(x1), repeats=latency_repeats, warmup=20))
                thr[name].append(median_time_s(make(xb), repeats=batch_repeats, warmup=1))
        timings["speed_s"] = time.perf_counter() - t0
        speed = []
        base_lat = statistics.median(lat["torch_eager"])
        base_thr = statistics.median(thr["torch_eager"])
        for name in runners:
            t_lat, t_thr = statistics.median(lat[name]), statistics.median(thr[name])
            speed.append(
                {
                    "runtime": name,
                    "batch1_ms": 1e3 * t_lat,
                    "batch1_speedup": base_lat / t_lat,
                    f"batch{batch}_windows_per_s": batch / t_thr,
                    f"batch{batch}_speedup": base_thr / t_thr,
                    "file_mib": sizes.get(name, sizes["safetensors"]),
                }
            )

        # ---------------------------------------------------------------- accuracy
        t0 = time.perf_counter()
        itr = subset_rows(len(Xtr), probe_windows, 2)
        ite = subset_rows(len(Xte), probe_windows, 3)
        Xtr_l = np.ascontiguousarray(Xtr[itr])
        Xte_l = np.ascontiguousarray(Xte[ite])
        emb = {"torch_eager": (est.transform(Xtr_l), est.transform(Xte_l))}
        for k in ("onnx_fp32", "onnx_int8", "torchscript"):
            emb[k] = (loaded[k](Xtr_l), loaded[k](Xte_l))
        accuracy = []
        for k in ("torch_eager", "onnx_fp32", "onnx_int8", "torchscript"):
            ztr, zte = emb[k]
            row: dict[str, Any] = {
                "runtime": k,
                "max_rel_diff_vs_torch": _rel_err(zte, emb["torch_eager"][1]),
                "mean_cosine_vs_torch": mean_cosine(zte, emb["torch_eager"][1]),
            }
            if k != "torchscript":  # TorchScript runs the same kernels as torch
                row["linear_probe_acc"] = linear_probe(ztr, ytr[itr], zte, yte[ite])["accuracy"]
            accuracy.append(row)
        acc = {r["runtime"]: r.get("linear_probe_acc") for r in accuracy}
        int8_drop_points = 100 * (acc["onnx_fp32"] - acc["onnx_int8"])
        timings["accuracy_s"] = time.perf_counter() - t0

        # ---------------------------------------------------------------- streaming
        stream = []
        saved = {"onnx": paths["onnx_fp32"], "torch": model}
        if stride_s is None and window_s is None and contract.rate_hz:
            stride_s = (length // 2) / contract.rate_hz
        for backend in stream_backends:
            if backend not in saved:
                raise ValueError(f"stream backend must be 'onnx' or 'torch', got {backend!r}")
            r = _stream_run(
                saved[backend], stream_hours, stream_ref_hours, chunk_s, window_s, stride_s, threads
            )
            stream.append(r)
            timings[f"stream_{backend}_s"] = r["wall_s"]
    onnx_row = next(r for r in speed if r["runtime"] == "onnx_fp32")
    goals = {
        "onnx_batch1_speedup_ge_2": onnx_row["batch1_speedup"] >= 2.0,
        "int8_within_0.5_points": int8_drop_points <= 0.5,
    }
    if stream:
        goals["stream_rss_ratio_le_1.05"] = all(r["peak_rss_ratio"] <= 1.05 for r in stream)
        goals["stream_realtime_ge_100x"] = all(r["realtime_factor"] >= 100 for r in stream)
    return {
        "benchmark": "export",
        "machine": machine_info(),
        "model": str(model),
        "contract": contract.describe(),
        "settings": {
            "threads": threads,
            "batch": batch,
            "rounds": rounds,
            "latency_repeats": latency_repeats,
            "batch_repeats": batch_repeats,
            "n_calibration": n_calibration,
            "probe_windows": probe_windows,
            "stream_hours": stream_hours,
            "stream_ref_hours": stream_ref_hours,
            "chunk_s": chunk_s,
        },
        "timings": timings,
        "sizes_mib": sizes,
        "speed": speed,
        "accuracy": accuracy,
        "int8_drop_points": int8_drop_points,
        "stream": stream,
        "goals": goals,
    }


STREAM_COLUMNS = (
    "backend",
    "stream_hours",
    "window",
    "stride",
    "chunk_samples",
    "windows",
    "peak_rss_ref_mib",
    "peak_rss_end_mib",
    "peak_rss_ratio",
    "realtime_factor",
    "ms_per_window",
    "buffer_bytes",
)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command line: print the tables, optionally write JSON."""
    p = argparse.ArgumentParser(prog="swav-ts bench export", description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True, help="a saved model (.safetensors), HAPT channels")
    kwargs = add_options(
        p,
        run_export_benchmark,
        skip=("exports",),
        helps={
            "probe_windows": "None: all HAPT windows",
            "chunk_s": "stream seconds per push",
            "stream_backends": "streams to run (none: no stream)",
        },
        choices={"stream_backends": ("onnx", "torch")},
    )
    p.add_argument("--onnx", default=None, help="measure this fp32 ONNX export of the model")
    p.add_argument("--onnx-int8", default=None, help="measure this int8 ONNX export")
    p.add_argument("--torchscript", default=None, help="measure this TorchScript export")

    def check(a: argparse.Namespace) -> None:
        if not 0 < a.stream_ref_hours < a.stream_hours:
            p.error("need 0 < --stream-ref-hours < --stream-hours")

    def run(a: argparse.Namespace) -> dict[str, Any]:
        given = (("onnx_fp32", a.onnx), ("onnx_int8", a.onnx_int8), ("torchscript", a.torchscript))
        return run_export_benchmark(a.model, **kwargs(a), exports={k: v for k, v in given if v})

    return run_command(p, argv, run, format_result, json_help="write the results here", check=check)


def format_result(res: dict[str, Any]) -> str:
    """The tables, the int8 cost, the goals and the seconds of a :func:`run_export_benchmark`
    result."""
    parts = [
        f"model {res['model']}: {res['contract']}; {res['settings']['threads']} thread(s)\n",
        format_table(res["speed"]),
        "",
        format_table(res["accuracy"]),
        f"\nint8 linear-probe cost: {res['int8_drop_points']:.2f} points",
    ]
    if res["stream"]:
        parts += ["", format_table(res["stream"], STREAM_COLUMNS)]
    parts.append(f"\ngoals: {json.dumps(res['goals'])}")
    parts.append(f"seconds: {json.dumps({k: round(v, 1) for k, v in res['timings'].items()})}")
    return "\n".join(parts)
