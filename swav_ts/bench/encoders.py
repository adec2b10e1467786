"""Benchmark: the training cost of time-series encoders on the HAPT recipe's views, each as a
ratio to the first encoder, measured in one process.

Figures: docs/benchmarks.md, "`swav-ts bench encoders`: the training cost of each encoder".

One step is the forward and backward pass of an encoder's per-position features
(``forward_sequence``) on one batch of the recipe's views (2 global views of 128 samples and
6 local views of 48, batch 64, 6 channels, random values); the median of ``repeats`` steps
after 2 untimed ones. The SwAV heads, loss and augmentations cost the same for every encoder
and are left out (``swav-ts bench train`` times the whole step).

Run: ``swav-ts bench encoders --threads 2 --json runs/bench_encoders.json``
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from typing import Any

import torch
import yaml

from swav_ts.bench.common import add_options, format_table, machine_info, run_command
from swav_ts.bench.timing import median_time_s, torch_threads
from swav_ts.timeseries.config import hapt_recipe
from swav_ts.timeseries.encoders import create_encoder

DEFAULT_ENCODERS = (
    "cnn3 {widths: [64, 128, 256]}",
    "tcn {}",
    "tcn {depth: 5, output_dim: 256}",
    "tcn {depth: 5, output_dim: 256, stride: 2}",
    "tcn {depth: 5, output_dim: 256, stride: 4}",
    "tcn {depth: 5, output_dim: 128, stride: 4}",
)


def parse_encoder(spec: str) -> tuple[str, dict[str, Any]]:
    """``"tcn {depth: 5, stride: 4}"`` -> ``("tcn", {"depth": 5, "stride": 4})``."""
    name, _, rest = spec.strip().partition(" ")
    kwargs = yaml.safe_load(rest) if rest.strip() else {}
    if not name or not isinstance(kwargs, dict):
        raise ValueError(
            f"encoder spec {spec!r}: expected a registered name, then optionally its keyword "
            "arguments as a YAML mapping, e.g. 'tcn {depth: 5, stride: 4}'"
        )
    return name, kwargs


def run_encoder_benchmark(
    encoders: Sequence[str] = DEFAULT_ENCODERS,
    threads: int = 2,
    repeats: int = 5,
    batch_size: int = 64,
    in_channels: int = 6,
) -> dict[str, Any]:
    """Median training-step time of every encoder in ``encoders`` and its ratio to the first.

    Returns
    -------
    dict
        ``machine``, ``views`` and ``rows``: per encoder its spec, parameters, positions per
        global view, ``step_ms`` and ``ratio_to_first``.
    """
    crops = hapt_recipe().crops
    g = torch.Generator().manual_seed(0)
    views = [
        torch.randn(batch_size, in_channels, crops.global_length, generator=g)
        for _ in range(crops.n_global)
    ] + [torch.randn(batch_size * crops.n_local, in_channels, crops.local_length, generator=g)]
    rows: list[dict[str, Any]] = []
    with torch_threads(threads):
        for spec in encoders:
            name, kwargs = parse_encoder(spec)
            torch.manual_seed(0)
            enc = create_encoder(name, in_channels, **kwargs).train()

            def step(enc: torch.nn.Module = enc) -> None:
                enc.zero_grad(set_to_none=True)
                sum(enc.forward_sequence(v).mean() for v in views).backward()

            step_s = median_time_s(step, repeats)
            with torch.no_grad():
                positions = enc.forward_sequence(views[0]).shape[-1]
            rows.append(
                {
                    "encoder": spec,
                    "params_k": sum(p.numel() for p in enc.parameters()) / 1e3,
                    "positions": positions,
                    "step_ms": step_s * 1e3,
                }
            )
    for row in rows:
        row["ratio_to_first"] = row["step_ms"] / rows[0]["step_ms"]
    views_text = (
        f"{crops.n_global}x{crops.global_length} + {crops.n_local}x{crops.local_length}, "
        f"batch {batch_size}, {in_channels} channels"
    )
    return {"benchmark": "encoders", "machine": machine_info(), "views": views_text, "rows": rows}


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(prog="swav-ts bench encoders", description=__doc__)
    kwargs = add_options(
        p, run_encoder_benchmark, helps={"encoders": "'name {key: value, ...}' per encoder"}
    )
    return run_command(
        p,
        argv,
        lambda a: run_encoder_benchmark(**kwargs(a)),
        lambda r: f"views: {r['views']}\n{format_table(r['rows'])}",
    )
