"""``swav-ts`` command line: pretrain, evaluate, embed, demo, bench."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from swav_ts.core.config import ConfigError, read_yaml

logger = logging.getLogger("swav_ts")

BENCHMARKS = {
    "sinkhorn": "swav_ts.bench.sinkhorn",
    "augment": "swav_ts.bench.augment",
    "memory": "swav_ts.bench.memory",
    "train": "swav_ts.bench.train",
    "ddp": "swav_ts.bench.ddp",
    "gpu": "swav_ts.bench.gpu",
    "hapt": "swav_ts.bench.hapt",
    "uea": "swav_ts.bench.uea",
    "cifar": "swav_ts.image.bench cifar",
    "image-throughput": "swav_ts.image.bench throughput",
}


def _modality(config: str | None) -> str:
    if config is None:
        return "timeseries"
    data = read_yaml(config)
    modality = data.get("modality", "timeseries")
    if modality not in ("timeseries", "image"):
        raise ConfigError(
            f"modality: {modality!r} is not one of ['timeseries', 'image'] in {config}"
        )
    return modality


def cmd_pretrain(args: argparse.Namespace) -> int:
    from swav_ts.core.config import load_config

    out = Path(args.out)
    if _modality(args.config) == "image":
        from swav_ts.image.config import ImageConfig
        from swav_ts.image.pretrain import pretrain

        cfg = load_config(ImageConfig, args.config, args.set)
        pretrain(cfg, out, resume=not args.no_resume)
        print(f"image pretraining finished: {out}")
        return 0

    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.timeseries.config import TimeSeriesConfig
    from swav_ts.timeseries.sources import load_source

    cfg = load_config(TimeSeriesConfig, args.config, args.set)
    data = load_source(cfg.data)
    est = TimeSeriesSwAV(
        config=cfg,
        random_state=cfg.train.seed,
        device=cfg.train.device,
        run_dir=str(out),
        resume=not args.no_resume,
        verbose=cfg.train.progress,
    )
    est.fit(data)
    from swav_ts.core import distributed as dist_utils

    if dist_utils.is_main_process():  # under torchrun only rank 0 writes
        path = est.save(out / "model.safetensors")
        last = est.history_[-1]["loss"] if est.history_ else float("nan")
        print(
            f"pretraining finished: {len(est.history_)} epochs, final loss {last:.4f}; "
            f"model saved to {path}"
        )
    dist_utils.destroy()
    return 0


def _load_labelled(spec: str, split: str):
    """(X, y) of a labelled dataset: 'hapt', a .ts file, or an .npz with X_<split>/y_<split>."""
    if spec == "hapt":
        from swav_ts.datasets import load_hapt

        X, y, _ = load_hapt(split)
        return X, y
    path = Path(spec)
    if path.suffix == ".ts":
        from swav_ts.data.ts_files import load_ts_file

        return load_ts_file(path, return_type="array")
    if path.suffix == ".npz":
        import numpy as np

        with np.load(path, allow_pickle=False) as z:
            for kx, ky in ((f"X_{split}", f"y_{split}"), ("X", "y")):
                if kx in z and ky in z:
                    return z[kx], z[ky]
            raise ValueError(f"{path} holds {sorted(z.keys())}; expected X_{split} and y_{split}")
    raise ValueError(f"unknown labelled data {spec!r}: use 'hapt', a .ts file or an .npz file")


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.modality == "image":
        from swav_ts.image.evaluate import evaluate

        result = evaluate(args.model, args.train, mode=args.mode)
        print(json.dumps(result, indent=2, default=float))
        return 0

    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.evaluation import knn_eval, label_fraction_runs, linear_probe

    est = TimeSeriesSwAV.load(args.model)
    test_spec = args.test or args.train
    Xtr, ytr = _load_labelled(args.train, "train")
    Xte, yte = _load_labelled(test_spec, "test")
    Ztr, Zte = est.transform(Xtr), est.transform(Xte)
    result = {"linear_probe": linear_probe(Ztr, ytr, Zte, yte)}
    if args.mode in ("knn", "all"):
        result["knn"] = knn_eval(Ztr, ytr, Zte, yte, k=min(20, len(ytr)))
    if args.mode == "all":
        df = label_fraction_runs(Ztr, ytr, Zte, yte, fractions=(0.01, 0.1, 1.0))
        result["label_fractions"] = json.loads(df.to_json(orient="records"))
    text = json.dumps(result, indent=2, default=float)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    import numpy as np

    from swav_ts.estimator import TimeSeriesSwAV

    est = TimeSeriesSwAV.load(args.model)
    out = Path(args.out)
    src = Path(args.input)
    if src.suffix in (".npy", ".npz", ".ts"):
        from swav_ts.timeseries.config import TSDataConfig
        from swav_ts.timeseries.sources import load_source

        X = load_source(TSDataConfig(source=str(src)))
        Z = est.transform(X)
        starts = None
        ids = np.arange(len(Z)).astype(str)
    else:
        from swav_ts.data.readers import read_recordings

        if args.window_s is None:
            raise ValueError("--window-s is needed to embed CSV/Parquet recordings")
        recs = read_recordings(
            args.input, time_col=args.time_col, time_unit=args.time_unit, rate_hz=args.rate_hz
        )
        parts, starts_l, ids_l = [], [], []
        for r in recs:
            z, t = est.embed_recording(r, args.window_s, args.stride_s or args.window_s)
            parts.append(z)
            starts_l.append(t)
            ids_l.append(np.full(len(z), r.recording_id))
        Z, starts, ids = np.concatenate(parts), np.concatenate(starts_l), np.concatenate(ids_l)
    if out.suffix == ".npy":
        np.save(out, Z)
    elif out.suffix in (".parquet", ".pq"):
        import pandas as pd

        df = pd.DataFrame(Z, columns=[f"e{i}" for i in range(Z.shape[1])])
        df.insert(0, "id", ids)
        if starts is not None:
            df.insert(1, "start_time_s", starts)
        df.to_parquet(out)
    else:
        raise ValueError(f"--out {out}: use a .npy or .parquet file")
    print(f"wrote {Z.shape[0]} embeddings of width {Z.shape[1]} to {out}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from swav_ts.demo import format_results, run_demo

    metrics = run_demo(
        args.config,
        args.out,
        args.set,
        label_fractions=tuple(args.fractions),
        seeds=tuple(args.seeds),
        embedding_map=args.map,
    )
    print(format_results(metrics))
    print(f"\nreport written to {args.out}")
    return 0


def cmd_bench(args: argparse.Namespace, rest: list[str]) -> int:
    import importlib

    if args.name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {args.name!r}; valid: {', '.join(BENCHMARKS)}")
    module_name, *prefix = BENCHMARKS[args.name].split()
    module = importlib.import_module(module_name)
    result = module.main([*prefix, *rest])
    return result if isinstance(result, int) else 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="swav-ts", description="SwAV for sensor time series")
    p.add_argument("-v", "--verbose", action="store_true", help="log at INFO level")
    sub = p.add_subparsers(dest="command", required=True)

    pre = sub.add_parser("pretrain", help="pretrain from a YAML config")
    pre.add_argument("--config", required=True)
    pre.add_argument("--out", required=True, help="run folder")
    pre.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config value, e.g. --set optim.base_lr=0.3",
    )
    pre.add_argument("--no-resume", action="store_true", help="ignore an existing checkpoint")

    ev = sub.add_parser("evaluate", help="evaluate a pretrained model on labelled data")
    ev.add_argument("--model", required=True, help="model.safetensors (or image checkpoint)")
    ev.add_argument("--train", default="hapt", help="'hapt', a .ts or .npz file (or image dir)")
    ev.add_argument("--test", default=None, help="test data (default: --train's test split)")
    ev.add_argument("--mode", default="linear", choices=["linear", "knn", "all"])
    ev.add_argument("--modality", default="timeseries", choices=["timeseries", "image"])
    ev.add_argument("--out", default=None, help="write the metrics JSON here")

    em = sub.add_parser("embed", help="embeddings of windows or recordings")
    em.add_argument("--model", required=True)
    em.add_argument("--input", required=True, help=".npy/.npz/.ts windows or CSV/Parquet glob")
    em.add_argument("--out", required=True, help=".npy or .parquet")
    em.add_argument("--window-s", type=float, default=None)
    em.add_argument("--stride-s", type=float, default=None)
    em.add_argument("--time-col", default="timestamp")
    em.add_argument("--time-unit", default="ms")
    em.add_argument("--rate-hz", type=float, default=None)

    de = sub.add_parser("demo", help="pretrain + evaluate on the shipped HAPT data")
    de.add_argument("--config", default=None)
    de.add_argument("--out", default="runs/demo")
    de.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    de.add_argument(
        "--fractions",
        type=float,
        nargs="+",
        default=[0.01, 0.1, 1.0],
        help="label fractions of the linear-probe runs",
    )
    de.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    de.add_argument(
        "--map", choices=["tsne", "pca"], default="tsne", help="2-D map of the test embeddings"
    )

    be = sub.add_parser("bench", help=f"run a benchmark: {', '.join(BENCHMARKS)}", add_help=False)
    be.add_argument("name")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if rest and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "pretrain":
            return cmd_pretrain(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "embed":
            return cmd_embed(args)
        if args.command == "demo":
            return cmd_demo(args)
        return cmd_bench(args, rest)
    except (ConfigError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"swav-ts {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
