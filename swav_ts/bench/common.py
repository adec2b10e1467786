"""What several benchmarks share: their command line, output files and folders, tables,
the machine description, and the pieces of data and configuration they measure on.

Timing (:func:`median_time_s`, device synchronisation, thread counts) is in
:mod:`swav_ts.bench.timing`; each benchmark module keeps only what it alone measures.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import subprocess
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

if TYPE_CHECKING:
    from swav_ts.timeseries.config import TimeSeriesConfig


# ------------------------------------------------------------------------------ reporting
def machine_info() -> dict[str, Any]:
    """Where a benchmark ran (for docs/benchmarks.md)."""
    info = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
    }
    if torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name()
    return info


def format_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain-text table (also valid Markdown)."""
    if not rows:
        return "(no rows)"
    columns = list(columns or rows[0].keys())

    def fmt(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.4g}"
        return str(v)

    cells = [[fmt(r.get(c, "")) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    line = "| " + " | ".join(c.ljust(w) for c, w in zip(columns, widths)) + " |"
    sep = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(v.ljust(w) for v, w in zip(row, widths)) + " |" for row in cells]
    return "\n".join([line, sep, *body])


def load_average_text(load_avg: dict[str, Sequence[float]]) -> str:
    """``load average (1 min) before X, after Y`` from a result's ``load_avg`` (both
    ``os.getloadavg()``)."""
    before, after = load_avg["before"][0], load_avg["after"][0]
    return f"load average (1 min) before {before:.2f}, after {after:.2f}"


# ------------------------------------------------------------------------------ output files
def _no_file_in_the_way(folder: Path, what: str) -> None:
    """Raise if ``folder`` or its nearest existing ancestor is a file (not a folder)."""
    for p in (folder, *folder.parents):
        if p.exists():
            if not p.is_dir():
                raise ValueError(
                    f"{what}: {p} is a file, not a folder (give another path or move the file)"
                )
            return


def output_folder(path: str | Path, option: str | None = None) -> Path:
    """``path`` as a folder to write into, created with its parents.

    Parameters
    ----------
    path : path
    option : str, optional
        The command-line option that gave ``path`` (``"--work-dir"``), named in errors.

    Raises
    ------
    ValueError
        ``path`` or one of its parents is a file, or the folder cannot be created (naming
        the option, the path and the file in the way).
    """
    p = Path(path)
    what = f"{option} {p}" if option else str(p)
    _no_file_in_the_way(p, what)
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{what}: cannot create the folder ({exc.strerror or exc})") from None
    return p


def output_file(path: str | Path | None, option: str | None = None) -> Path | None:
    """Check, before any work is done, that a result file can be written at ``path``: its
    folder is created (parents included). ``None`` (no file asked for) stays ``None``.

    Raises
    ------
    ValueError
        ``path`` is a folder, or a file stands where one of its folders should be (naming
        the option and the path).
    """
    if path is None or str(path) == "":
        return None
    p = Path(path)
    what = f"{option} {p}" if option else str(p)
    if p.is_dir():
        raise ValueError(f"{what} is a folder; give a file name, e.g. {p / 'result.json'}")
    _no_file_in_the_way(p.parent, what)
    output_folder(p.parent, option)
    return p


def write_json(result: dict[str, Any], path: str | Path | None, option: str | None = None) -> None:
    """Write ``result`` as JSON to ``path`` (its folder created); nothing when ``path`` is
    empty. Errors as :func:`output_file` (``option`` names where ``path`` came from)."""
    p = output_file(path, option)
    if p is not None:
        p.write_text(json.dumps(result, indent=2), encoding="utf-8")


@contextmanager
def scratch_folder(
    prefix: str, work_dir: str | Path | None = None, option: str = "--work-dir"
) -> Iterator[Path]:
    """A temporary folder for a benchmark's files, removed (as far as it can be) on exit.

    Parameters
    ----------
    prefix : str
        Start of the folder's name (``"swav_ts_bench_export_"``).
    work_dir : path, optional
        Where the folder is made (created first, as :func:`output_folder`; default: the
        system's temporary folder).
    option : str
        The command-line option that gave ``work_dir``, named in errors.
    """
    work = output_folder(work_dir, option) if work_dir else None
    with tempfile.TemporaryDirectory(prefix=prefix, dir=work, ignore_cleanup_errors=True) as tmp:
        yield Path(tmp)


def run_child(script: str, args: Sequence[str], what: str) -> dict[str, Any]:
    """``python -c script *args`` in a fresh process (whose peak memory is its own); the JSON
    object on its last line of output.

    Raises
    ------
    RuntimeError
        The process failed, printed nothing, or reported a non-zero ``"code"``: ``what`` (what
        the child does) and the end of its standard error.
    """
    cmd = [sys.executable, "-c", script, *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    out = json.loads(lines[-1])
    if out.get("code", 0) != 0:
        raise RuntimeError(f"{what} exited with {out.get('code')}:\n{proc.stderr[-3000:]}")
    return out


# ------------------------------------------------------------------------------ command line
def _option_type(hint: Any) -> tuple[type, bool]:
    """``(element type, takes several values)`` of a parameter annotation; paths become str."""
    origin = typing.get_origin(hint)
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if origin in (typing.Union, types.UnionType):
        return (str, False) if Path in args else _option_type(args[0])
    if origin in (list, tuple, Sequence):
        return (args[0] if args and args[0] in (int, float) else str), True
    if hint in (int, float, str, bool):
        return hint, False
    raise TypeError(f"no command-line option for a parameter annotated {hint!r}")


def add_options(
    parser: argparse.ArgumentParser,
    fn: Callable[..., Any],
    *,
    skip: Sequence[str] = (),
    names: dict[str, str] | None = None,
    helps: dict[str, str] | None = None,
    choices: dict[str, Sequence[Any]] | None = None,
) -> Callable[[argparse.Namespace], dict[str, Any]]:
    """One ``--option`` per parameter of ``fn`` with a default, its type and default read from
    ``fn``'s signature, so that a benchmark's defaults are written once (in its function).

    ``names`` maps a parameter to its option name when they differ (without ``--``); ``bool``
    parameters become ``--x`` / ``--no-x``; sequences take zero or more values. Returns a function
    that turns the parsed namespace into ``fn``'s keyword arguments.
    """
    names, helps, choices = names or {}, helps or {}, choices or {}
    hints = typing.get_type_hints(fn)
    dests: list[str] = []
    for name, param in inspect.signature(fn).parameters.items():
        if name in skip or param.default is inspect.Parameter.empty:
            continue
        flag = "--" + names.get(name, name).replace("_", "-")
        default = param.default
        kind, many = _option_type(hints[name])
        note = f"default: {default!r}"
        extra: dict[str, Any] = {"help": f"{helps[name]} ({note})" if name in helps else note}
        if name in choices:
            extra["choices"] = list(choices[name])
        if kind is bool:
            extra["action"] = argparse.BooleanOptionalAction
        else:
            extra["type"] = kind
        if many:
            extra["nargs"] = "*"
            default = None if default is None else list(default)
        parser.add_argument(flag, default=default, dest=name, **extra)
        dests.append(name)
    return lambda ns: {name: getattr(ns, name) for name in dests}


def run_command(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    run: Callable[[argparse.Namespace], dict[str, Any]],
    report: Callable[[dict[str, Any]], str],
    *,
    json_help: str = "write the result to this JSON file",
    check: Callable[[argparse.Namespace], None] | None = None,
) -> dict[str, Any]:
    """A benchmark's command line: ``--json`` (added to ``parser`` last) checked before the
    run, ``run(args)``, ``report(result)`` printed, the result written to ``--json``.

    Parameters
    ----------
    parser : argparse.ArgumentParser
        The benchmark's other options.
    argv : sequence of str, optional
        The arguments (default: ``sys.argv[1:]``).
    run, report : callable
        The benchmark, from the parsed arguments; the text printed from its result.
    json_help : str
        Help of ``--json``.
    check : callable, optional
        Called with the parsed arguments before anything is written (``parser.error`` for
        options that are wrong together).

    Returns
    -------
    dict
        The result.
    """
    parser.add_argument("--json", default=None, help=json_help)
    args = parser.parse_args(argv)
    if check is not None:
        check(args)
    path = output_file(args.json, "--json")  # before the run, not after it
    result = run(args)
    print(report(result))
    write_json(result, path)
    return result


# ------------------------------------------------------------------------------ shared data
def resolve_config(overrides: Sequence[str] = ()) -> TimeSeriesConfig:
    """``TimeSeriesConfig()`` with ``section.key=value`` overrides applied (the time-series
    defaults, not the core ones)."""
    from swav_ts.core.config import load_config
    from swav_ts.timeseries.config import TimeSeriesConfig

    return load_config(TimeSeriesConfig, None, overrides)


def iteration_rows(run_dir: str | Path) -> list[dict[str, Any]]:
    """The per-iteration rows (``kind == "iter"``) of a run's ``metrics.jsonl``."""
    from swav_ts.core.monitor import read_metrics

    return [r for r in read_metrics(Path(run_dir) / "metrics.jsonl") if r["kind"] == "iter"]


def subset_rows(n: int, k: int | None, rng: int | np.random.Generator) -> np.ndarray:
    """Sorted indices ``(min(k, n),)`` of ``k`` of ``n`` rows drawn without replacement with
    ``rng`` (a seed, or a generator that later draws continue from); all rows, and nothing
    drawn, when ``k`` is ``None`` or at least ``n``."""
    if k is None or k >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(rng).choice(n, k, replace=False))


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the cosine similarity of ``a[i]`` and ``b[i]`` (both ``(n, D)``)."""
    na = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    nb = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((na * nb).sum(axis=1).mean())
