"""Peak-memory benchmark of :class:`RecordingContextDataset` on tiled HAPT recordings.

For each scale ``s`` the 61 HAPT recordings are written ``s`` times to an on-disk cache
(:func:`swav_ts.data.datasets.write_recording_cache`), and a fresh Python subprocess runs one
pass of a DataLoader over the memory-mapped cache and reports its peak RSS
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``). Flat memory means the ratio to 1x stays near 1
while the data grows ``s``-fold.

Run: ``python -m swav_ts.bench.memory --scales 1 4 16 --json memory.json``
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["main", "run_memory_benchmark"]

logger = logging.getLogger(__name__)

_CHILD = r"""
import json, resource, sys, time
import torch
torch.set_num_threads(1)
from torch.utils.data import DataLoader
from swav_ts.data.datasets import RecordingContextDataset
cache, shuffle = sys.argv[1], sys.argv[5] == "1"
context, batch, stride = (int(a) for a in sys.argv[2:5])
def status_kib(key):
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
def reset_hwm():
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")  # Linux: reset VmHWM (peak RSS) to the current RSS
        return True
    except OSError:
        return False
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ds = RecordingContextDataset(cache, context_length=context, stride=stride)
before = status_kib("VmRSS")
hwm_reset = reset_hwm()
g = torch.Generator().manual_seed(0)
dl = DataLoader(ds, batch_size=batch, shuffle=shuffle, num_workers=0, generator=g)
t0 = time.perf_counter()
n = 0
total = 0.0
for xb in dl:  # (B, C, T)
    n += xb.shape[0]
    total += float(xb.sum())
dt = time.perf_counter() - t0
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"peak_rss_kib": rss, "rss_after_import_kib": rss0, "items": n,
                  "rss_before_pass_kib": before, "rss_after_pass_kib": status_kib("VmRSS"),
                  "pass_peak_rss_kib": status_kib("VmHWM") if hwm_reset else None,
                  "seconds": dt, "checksum": total}))
"""


def _mib(kib: int | None) -> float | None:
    return None if kib is None else kib / 1024.0


def _tile_cache(recordings, scale: int, directory: Path) -> int:
    from swav_ts.data.datasets import write_recording_cache
    from swav_ts.data.recording import Recording

    tiled = [
        Recording(
            signals=r.signals,
            labels=None,
            rate_hz=r.rate_hz,
            channel_names=r.channel_names,
            recording_id=f"{r.recording_id}_t{k}",
            subject=r.subject,
        )
        for k in range(scale)
        for r in recordings
    ]
    write_recording_cache(tiled, directory)
    return sum(p.stat().st_size for p in directory.glob("*.npy"))


def run_memory_benchmark(
    scales: Sequence[int] = (1, 4, 16),
    context_length: int = 256,
    batch_size: int = 256,
    stride: int | None = None,
    shuffle: bool = True,
    work_dir: str | Path | None = None,
    data_dir: str | Path | None = None,
    keep_files: bool = False,
) -> dict:
    """Measure peak RSS of one DataLoader pass over 1x, 4x, 16x ... tiled HAPT caches.

    Parameters
    ----------
    scales : sequence of int
        Tiling factors; the first is the reference for ``ratio_to_first``.
    context_length, batch_size : int
        Items of ``(6, context_length)``, batches of ``batch_size``.
    stride : int, optional
        Context stride (default ``context_length``).
    shuffle : bool
        Random item order (the harder case for memory maps).
    work_dir : str or Path, optional
        Where the caches are written (default: a temporary directory, removed afterwards).
    data_dir : str or Path, optional
        Passed to :func:`swav_ts.datasets.load_hapt_recordings`.
    keep_files : bool
        Keep the caches.

    Returns
    -------
    dict
        ``{"config": {...}, "results": [{"scale", "data_bytes", "items", "peak_rss_mib",
        "rss_after_import_mib", "seconds", "ratio_to_first"}, ...]}``.
    """
    from swav_ts.datasets import load_hapt_recordings

    scales = [int(s) for s in scales]
    if not scales or min(scales) < 1:
        raise ValueError(f"scales must be positive integers, got {scales}")
    stride = context_length if stride is None else int(stride)
    recs = load_hapt_recordings("all", data_dir=data_dir)
    tmp = Path(tempfile.mkdtemp(prefix="swav_ts_mem_", dir=work_dir))
    results = []
    try:
        for s in scales:
            cache = tmp / f"x{s}"
            nbytes = _tile_cache(recs, s, cache)
            cmd = [
                sys.executable,
                "-c",
                _CHILD,
                str(cache),
                str(context_length),
                str(batch_size),
                str(stride),
                "1" if shuffle else "0",
            ]
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            if proc.returncode != 0:
                raise RuntimeError(f"benchmark child for scale {s} failed:\n{proc.stderr[-2000:]}")
            child = json.loads(proc.stdout.strip().splitlines()[-1])
            results.append(
                {
                    "scale": s,
                    "data_bytes": nbytes,
                    "items": child["items"],
                    "peak_rss_mib": child["peak_rss_kib"] / 1024.0,
                    "rss_after_import_mib": child["rss_after_import_kib"] / 1024.0,
                    "rss_before_pass_mib": _mib(child["rss_before_pass_kib"]),
                    "rss_after_pass_mib": _mib(child["rss_after_pass_kib"]),
                    "pass_peak_rss_mib": _mib(child["pass_peak_rss_kib"]),
                    "seconds": child["seconds"],
                    "wall_s": time.perf_counter() - t0,
                }
            )
            logger.info("scale %d: %s", s, results[-1])
            if not keep_files:
                shutil.rmtree(cache, ignore_errors=True)
    finally:
        if not keep_files:
            shutil.rmtree(tmp, ignore_errors=True)
    base = results[0]["peak_rss_mib"]
    base_pass = results[0]["pass_peak_rss_mib"]
    for r in results:
        r["ratio_to_first"] = r["peak_rss_mib"] / base
        if base_pass and r["pass_peak_rss_mib"] is not None:
            r["pass_peak_ratio_to_first"] = r["pass_peak_rss_mib"] / base_pass
    return {
        "config": {
            "scales": scales,
            "context_length": context_length,
            "batch_size": batch_size,
            "stride": stride,
            "shuffle": shuffle,
            "num_workers": 0,
            "measure": "ru_maxrss of a fresh child process (Linux: KiB); pass_peak_rss is "
            "VmHWM after resetting it just before the DataLoader pass (Linux only)",
        },
        "results": results,
    }


def format_table(report: dict) -> str:
    """Plain-text table of :func:`run_memory_benchmark` results."""
    lines = [
        f"{'scale':>5} {'data MiB':>9} {'items':>8} {'peak RSS MiB':>13} {'ratio':>6} "
        f"{'pass-peak MiB':>14} {'ratio':>6} {'pass s':>7}"
    ]
    for r in report["results"]:
        pp = r.get("pass_peak_rss_mib")
        lines.append(
            f"{r['scale']:>5} {r['data_bytes'] / 2**20:>9.1f} {r['items']:>8} "
            f"{r['peak_rss_mib']:>13.1f} {r['ratio_to_first']:>6.3f} "
            f"{pp if pp is not None else float('nan'):>14.1f} "
            f"{r.get('pass_peak_ratio_to_first', float('nan')):>6.3f} {r['seconds']:>7.2f}"
        )
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: print the table, optionally write JSON."""
    p = argparse.ArgumentParser(description="Peak RSS of RecordingContextDataset vs data size")
    p.add_argument("--scales", type=int, nargs="+", default=[1, 4, 16])
    p.add_argument("--context", type=int, default=256)
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--no-shuffle", action="store_true")
    p.add_argument("--work-dir", default=None)
    p.add_argument("--json", dest="json_path", default=None, help="write the results here")
    args = p.parse_args(argv)
    report = run_memory_benchmark(
        scales=args.scales,
        context_length=args.context,
        batch_size=args.batch,
        shuffle=not args.no_shuffle,
        work_dir=args.work_dir,
    )
    sys.stdout.write(format_table(report) + "\n")
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
