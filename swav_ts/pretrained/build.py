"""Rebuild a shipped model from its recipe: ``python -m swav_ts.pretrained.build motion-50hz``.

``motion-50hz``: the HAPT recipe (:func:`swav_ts.timeseries.config.hapt_recipe`, seed 31, the
model ``swav-ts demo`` trains) pretrained on the continuous recordings of the 21 UCI-HAR
training subjects; missing channels are then allowed
(:meth:`swav_ts.TimeSeriesSwAV.fill_missing_channels`) and the model is written beside
:mod:`swav_ts.pretrained` (or to ``--out``). Floating-point summation order differs between
machines and thread counts, so a rebuild gives the recipe's model, not the same bytes.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch

from swav_ts.estimator import TimeSeriesSwAV
from swav_ts.pretrained import MODELS, list_models
from swav_ts.timeseries.config import hapt_recipe

__all__ = ["build", "main"]

RECIPES = {"hapt": hapt_recipe}


def build(name: str, out: str | Path | None = None, run_dir: str | Path | None = None) -> Path:
    """Pretrain the shipped model ``name`` from its recipe and write it.

    Parameters
    ----------
    name : str
        A name from :func:`swav_ts.pretrained.list_models`.
    out : str or Path, optional
        Where to write it; default: the package's own file for ``name``.
    run_dir : str or Path, optional
        Run folder (checkpoint, data cache) so that an interrupted build resumes.

    Returns
    -------
    Path
        The written file.
    """
    if name not in MODELS:
        raise ValueError(f"no shipped model {name!r}; the shipped models: {list_models()}")
    spec = MODELS[name]
    cfg = RECIPES[spec.recipe]()
    cfg.train.progress = False
    est = TimeSeriesSwAV.from_config(cfg, run_dir=None if run_dir is None else str(run_dir))
    est.fit("hapt").fill_missing_channels()
    est.set_params(run_dir=None)  # the file names no folder of the machine that built it
    out = Path(out) if out else Path(__file__).resolve().parent / spec.file
    return est.save(out)


def main(argv: Sequence[str] | None = None) -> Path:
    p = argparse.ArgumentParser(prog="python -m swav_ts.pretrained.build", description=__doc__)
    p.add_argument("name", choices=list_models())
    p.add_argument("--out", help="output file (default: the package's file for NAME)")
    p.add_argument("--run-dir", help="run folder, to resume an interrupted build")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    path = build(a.name, a.out, a.run_dir)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB)")
    return path


if __name__ == "__main__":
    main()
