"""Shared benchmark helpers: timing, machine description, tables and JSON output."""

from __future__ import annotations

import argparse
import inspect
import json
import os
import platform
import statistics
import time
import types
import typing
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch


def median_time_s(
    fn: Callable[[], Any], repeats: int = 7, warmup: int = 2, sync: Callable[[], None] | None = None
) -> float:
    """Median wall time of ``fn()`` over ``repeats`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    if sync:
        sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


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


def mean_cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Mean over rows of the cosine similarity of ``a[i]`` and ``b[i]`` (both ``(n, D)``)."""
    na = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    nb = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
    return float((na * nb).sum(axis=1).mean())
