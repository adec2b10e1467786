"""``swav-ts`` command line: pretrain, finetune, evaluate, embed, export, demo, bench."""

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
    "cifar": "swav_ts.bench.image cifar",
    "image-throughput": "swav_ts.bench.image throughput",
    "export": "swav_ts.bench.export",
    "int8": "swav_ts.bench.int8",
    "outputs": "swav_ts.bench.outputs",
    "panel": "swav_ts.bench.panel",
    "encoders": "swav_ts.bench.encoders",
    "pretrained": "swav_ts.bench.pretrained",
    "crossdata": "swav_ts.bench.crossdata",
}


def _modality(data: dict, where: str) -> str:
    modality = data.get("modality", "timeseries")
    if modality not in ("timeseries", "image"):
        raise ConfigError(
            f"modality: {modality!r} is not one of ['timeseries', 'image'] in {where}"
        )
    return modality


def cmd_pretrain(args: argparse.Namespace) -> int:
    from swav_ts.core import distributed as dist_utils
    from swav_ts.core.config import apply_overrides

    out = Path(args.out)
    raw = apply_overrides(read_yaml(args.config), args.set)  # the YAML is read once
    if _modality(raw, args.config) == "image":
        from swav_ts.image.config import ImageConfig
        from swav_ts.image.pretrain import pretrain as image_pretrain

        image_pretrain(
            _strict(ImageConfig, raw, args.config),
            out,
            resume=not args.no_resume,
            stop_after_iters=args.stop_after_iters,
        )
        print(f"image pretraining finished: {out}")
        return 0

    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.timeseries.adapt import explicit_keys
    from swav_ts.timeseries.config import TimeSeriesConfig
    from swav_ts.timeseries.pretrain import pretrain

    cfg = _strict(TimeSeriesConfig, raw, args.config)
    result = pretrain(
        cfg,
        None,
        out,
        resume=not args.no_resume,
        allow_config_change=args.allow_config_change,
        explicit=explicit_keys(raw),
        stop_after_iters=args.stop_after_iters,
    )
    if dist_utils.is_main_process():  # under torchrun only rank 0 writes
        path = TimeSeriesSwAV.from_result(result, config=cfg).save(out / "model.safetensors")
        last = result.history[-1]["loss"] if result.history else float("nan")
        print(
            f"pretraining finished: {len(result.history)} epochs, final loss {last:.4f}; "
            f"model saved to {path}"
        )
    dist_utils.destroy()
    return 0


def cmd_pretrain_crossdata(args: argparse.Namespace) -> int:
    import tempfile

    if args.cache_dir:
        return _pretrain_crossdata(args, Path(args.cache_dir))
    with tempfile.TemporaryDirectory(prefix="swav-ts-crossdata-") as folder:
        return _pretrain_crossdata(args, Path(folder))


def _pretrain_crossdata(args: argparse.Namespace, spill_dir: Path) -> int:
    """``pretrain-crossdata``: recordings are read one at a time, their windows kept in
    ``spill_dir`` on disk (memory-mapped) until the corpus is drawn."""
    from swav_ts.core.config import load_config
    from swav_ts.crossdata import ChannelIndependentSwAV, named_triplets, read_source
    from swav_ts.timeseries.config import TimeSeriesConfig

    model = ChannelIndependentSwAV(
        length=args.length,
        n_cases=args.n_cases,
        weighting=args.weighting,
        random_state=args.seed,
        readout=args.readout,
    )
    model.check_params()  # before the sources are read
    units = dict(_key_value(spec, "--units") for spec in args.units)
    sources, triplets = {}, {}
    for spec in args.source:
        name, where = _key_value(spec, "--source")
        if name in sources:
            raise ValueError(f"--source {name!r} is given twice; name each source once")
        options = {"time_col": args.time_col, "time_unit": args.time_unit}
        sources[name] = read_source(
            where, args.length, args.window_s, spill_dir=spill_dir, units=units, **options
        )
        if args.triplets:
            triplets[name] = named_triplets(where, **options)
        sensors = f", 3-axis sensors {triplets[name]}" if args.triplets else ""
        print(
            f"source {name}: {sources[name].shape[0]} cases x {sources[name].shape[1]} "
            f"channels{sensors}"
        )
    if args.config or args.set:
        model.set_params(
            swav_params={"config": load_config(TimeSeriesConfig, args.config, args.set)}
        )
    model.fit(sources, triplets=triplets)
    path = model.save(args.out)
    drawn = ", ".join(f"{k} {v['drawn']} of {v['held']}" for k, v in model.corpus_counts_.items())
    print(f"pretrained on {args.n_cases} series ({drawn}); model saved to {path}")
    return 0


def _key_value(spec: str, option: str) -> tuple[str, str]:
    key, sep, value = spec.partition("=")
    if not sep or not key or not value:
        example = "--source imu='logs/*.csv'" if option == "--source" else "--units acc=m/s^2"
        raise ValueError(f"{option} {spec!r}: give NAME=VALUE, e.g. {example}")
    return key, value


def _strict(cls, raw: dict, where: str):
    from swav_ts.core.config import from_dict

    try:
        return from_dict(cls, raw)
    except ConfigError as exc:
        raise ConfigError(f"{exc} in {where}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    if args.modality == "image":
        from swav_ts.evaluation.image import evaluate

        result = evaluate(args.model, args.train, mode=args.mode)
        print(json.dumps(result, indent=2, default=float))
        return 0

    from swav_ts.data.sources import load_windows
    from swav_ts.evaluation import knn_eval, label_fraction_table, linear_probe

    est = _load_embedder(args.model, "evaluate")
    test_spec = args.test or args.train
    Xtr, ytr = load_windows(args.train, "train")
    Xte, yte = load_windows(test_spec, "test")
    Ztr, Zte = est.transform(Xtr), est.transform(Xte)
    result = {"linear_probe": linear_probe(Ztr, ytr, Zte, yte)}
    if args.mode in ("knn", "all"):
        result["knn"] = knn_eval(Ztr, ytr, Zte, yte, k=min(20, len(ytr)))
    if args.mode == "all":
        result["label_fractions"] = label_fraction_table(
            Ztr, ytr, Zte, yte, fractions=(0.01, 0.1, 1.0)
        )
    text = json.dumps(result, indent=2, default=float)
    if args.out:
        Path(args.out).write_text(text)
    print(text)
    return 0


def cmd_embed(args: argparse.Namespace) -> int:
    import numpy as np

    from swav_ts.crossdata import ChannelIndependentSwAV
    from swav_ts.data.sources import RECORDING_SUFFIXES, resolve_source

    est = _load_embedder(args.model, "embed")
    out = Path(args.out)
    if out.suffix not in (".npy", ".parquet", ".pq"):
        raise ValueError(f"--out {out}: use a .npy or .parquet file")
    if out.suffix != ".npy":
        _require_parquet(out)
    if args.triplets and not isinstance(est, ChannelIndependentSwAV):
        raise ValueError(
            f"--triplets: {args.model} has a fixed channel set; the magnitude rows are for "
            "channel-independent models (swav-ts pretrain-crossdata)"
        )
    if isinstance(est, ChannelIndependentSwAV):
        Z, ids, starts = _embed_any_channels(est, args)
        _write_embeddings(out, Z, ids, starts)
        return 0
    contract = est.contract_
    # the model's channels, by name (other columns such as labels are left out); each file on
    # its own grid, then embed_recording resamples it to the model's rate (or refuses a slower
    # one: upsampling cannot restore what was not recorded)
    channels = args.channels or (contract.channel_names if contract.named else None)
    tables = str(args.input).lower().endswith(RECORDING_SUFFIXES)  # CSV/Parquet, not windows
    if not args.channels and contract.fill_values is not None and tables:
        # a model that fills missing channels reads those of its channels the file has
        from swav_ts.data.readers import read_columns

        present = set(read_columns(args.input))
        channels = [c for c in contract.channel_names if c in present] or channels
    src = resolve_source(
        args.input,
        time_col=args.time_col,
        time_unit=args.time_unit,
        rate_hz=args.rate_hz,
        channels=channels,
    )
    starts = None
    if src.kind in ("array", "ts"):
        recs = list(src.recordings())  # one per case
        X = np.stack([r.signals for r in recs])
        Z = est.transform(X)
        ids = np.arange(len(Z)).astype(str)
    else:
        if args.window_s is None:
            raise ValueError("--window-s is needed to embed CSV/Parquet recordings")
        if args.channels and len(args.channels) != contract.n_channels:
            raise ValueError(
                f"--channels names {len(args.channels)} columns {args.channels}; the model takes "
                f"{contract.n_channels}: {contract.channel_names}"
            )
        parts, starts_l, ids_l = [], [], []
        for r in src.recordings():
            if args.channels:  # the given columns are the model's channels, in its order
                r.channel_names = list(contract.channel_names)
            z, t = est.embed_recording(r, args.window_s, args.stride_s or args.window_s)
            parts.append(z)
            starts_l.append(t)
            ids_l.append(np.full(len(z), r.recording_id))
        Z, starts, ids = np.concatenate(parts), np.concatenate(starts_l), np.concatenate(ids_l)
    _write_embeddings(out, Z, ids, starts)
    return 0


def _embed_any_channels(est, args: argparse.Namespace):
    """A channel-independent model's embeddings of windows, or of recordings cut at their own
    rate (it takes any channel set, so every column but the time is a channel)."""
    from swav_ts.crossdata import named_triplets, stack_cases
    from swav_ts.data.sources import read_windows

    options = {"time_col": args.time_col, "time_unit": args.time_unit, "rate_hz": args.rate_hz}
    if args.channels:
        options["channels"] = args.channels
    cases, ids, starts = read_windows(args.input, args.window_s, args.stride_s, **options)
    X = stack_cases(cases, ids, est.length, str(args.input))
    triplets = named_triplets(args.input, **options) if args.triplets else None
    if triplets:
        print(f"3-axis sensors {triplets}: one magnitude row each after the channels")
    return est.transform(X, triplets), ids, starts


def _write_embeddings(out: Path, Z, ids, starts) -> None:
    """``Z`` as .npy, or as Parquet with an ``id`` (and ``start_time_s``) column."""
    import numpy as np

    if out.suffix == ".npy":
        np.save(out, Z)
    else:
        import pandas as pd

        df = pd.DataFrame(Z, columns=[f"e{i}" for i in range(Z.shape[1])])
        df.insert(0, "id", ids)
        if starts is not None:
            df.insert(1, "start_time_s", starts)
        df.to_parquet(out)
    print(f"wrote {Z.shape[0]} embeddings of width {Z.shape[1]} to {out}")


def _require_parquet(path: Path) -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        raise ValueError(
            f'--out {path}: writing Parquet needs pyarrow: pip install "swav-ts[parquet]" '
            "(or write .npy)"
        ) from None


def _load_embedder(path: str | Path, command: str):
    """:func:`load_model`, refusing a classifier (``command`` needs the embedder)."""
    from swav_ts.classifier import TimeSeriesSwAVClassifier

    est = load_model(path)
    if isinstance(est, TimeSeriesSwAVClassifier):
        raise ValueError(f"{path} holds a classifier; swav-ts {command} needs an embedder")
    return est


def load_model(path: str | Path):
    """A saved :class:`TimeSeriesSwAV` or :class:`TimeSeriesSwAVClassifier`, by the format
    its file declares; a shipped model's name (``motion-50hz``) where no such file exists."""
    from safetensors import SafetensorError, safe_open

    from swav_ts.classifier import CLASSIFIER_FORMAT, TimeSeriesSwAVClassifier
    from swav_ts.crossdata import CROSSDATA_KEY, ChannelIndependentSwAV
    from swav_ts.estimator import TimeSeriesSwAV
    from swav_ts.pretrained import model_file

    path = model_file(path)
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except (SafetensorError, OSError, ValueError):
        meta = {}  # TimeSeriesSwAV.load says what is wrong with the file
    fmt = meta.get("format")
    if fmt == CLASSIFIER_FORMAT:
        return TimeSeriesSwAVClassifier.load(path)
    if CROSSDATA_KEY in meta:
        return ChannelIndependentSwAV.load(path)
    return TimeSeriesSwAV.load(path)


def cmd_finetune(args: argparse.Namespace) -> int:
    from swav_ts.classifier import TimeSeriesSwAVClassifier
    from swav_ts.data.sources import load_windows

    Xtr, ytr = load_windows(args.train, "train")
    chosen = {"max_epochs": args.max_epochs} if args.max_epochs is not None else {}
    if args.no_augment:
        chosen["augment"] = False
    clf = TimeSeriesSwAVClassifier(args.model, random_state=args.seed, **chosen)
    clf.fit(Xtr, ytr, X_unlabelled=args.unlabelled)
    path = clf.save(args.out)
    kept = f"epoch {clf.best_epoch_} of {len(clf.history_)}"
    print(f"fine-tuned on {len(ytr)} labelled windows ({kept} kept); saved to {path}")
    if args.test:
        Xte, yte = load_windows(args.test, "test")
        print(f"accuracy on {args.test} ({len(yte)} windows): {clf.score(Xte, yte):.4f}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    from swav_ts.classifier import TimeSeriesSwAVClassifier
    from swav_ts.export import file_size_mib, load_exported

    if args.int8 and args.format != "onnx":
        raise ValueError("--int8 needs --format onnx")
    if args.int8 and not args.calibration:
        raise ValueError("--int8 needs --calibration hapt|FILE.npy (a few hundred windows)")
    from swav_ts.crossdata import ChannelIndependentSwAV

    est = load_model(args.model)
    if isinstance(est, ChannelIndependentSwAV):
        raise ValueError(
            f"{args.model} is a channel-independent model (swav-ts pretrain-crossdata): it "
            "embeds channel by channel after resizing and normalising each, which the exported "
            "graph does not do; embed with swav-ts embed or the Python API"
        )
    extra = {"scores": args.scores}
    if isinstance(est, TimeSeriesSwAVClassifier):
        if args.scores:
            raise ValueError(f"--scores: {args.model} is a classifier (it outputs class scores)")
        extra = {}
    try:
        path = est.export(
            args.out,
            format=args.format,
            dynamic_length=not args.fixed_length,
            int8=args.int8,
            calibration=args.calibration,
            **extra,
        )
        exported = load_exported(path)
    except ImportError as exc:  # the optional export extra is missing: say how to install it
        print(f"swav-ts export: error: {exc}", file=sys.stderr)
        return 2
    print(
        f"wrote {path} ({args.format}{', int8' if args.int8 else ''}, "
        f"{file_size_mib(path):.2f} MiB): {exported.contract.describe()} -> "
        f"{exported.output_names}"
    )
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from swav_ts.demo import format_results, run_demo
    from swav_ts.report import REPORT_NAME

    metrics = run_demo(
        args.config,
        args.out,
        args.set,
        label_fractions=tuple(args.fractions),
        seeds=tuple(args.seeds),
        embedding_map=args.map,
        peers=not args.no_peers,
    )
    print(format_results(metrics))
    print(f"\nreport: {Path(args.out) / REPORT_NAME}")
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
    pre.add_argument(
        "--allow-config-change",
        action="store_true",
        help="continue a run folder whose config or data differs (default: refuse)",
    )
    pre.add_argument(
        "--stop-after-iters",
        type=int,
        default=None,
        metavar="N",
        help="stop (with a checkpoint) after N iterations of the run; rerun to continue",
    )

    cd = sub.add_parser(
        "pretrain-crossdata",
        help="pretrain one encoder for any channel set across several sources (docs/crossdata.md)",
    )
    cd.add_argument(
        "--source",
        action="append",
        required=True,
        metavar="NAME=PATH",
        help="a source: .npy/.npz/.ts windows or CSV/Parquet recordings (path or glob); "
        "repeat for each",
    )
    cd.add_argument("--out", required=True, help="model .safetensors")
    cd.add_argument(
        "--window-s",
        type=float,
        default=None,
        help="window of recordings, cut at each file's own rate (windows are taken as they are)",
    )
    cd.add_argument(
        "--units",
        action="append",
        default=[],
        metavar="KIND=UNIT",
        help="declared units of recordings' sensors, e.g. acc=m/s^2 gyro=deg/s (else detected); "
        "recognised sensors are converted to g and rad/s",
    )
    cd.add_argument("--time-col", default="timestamp")
    cd.add_argument("--time-unit", default="ms")
    cd.add_argument("--length", type=int, default=128, help="points every case is resized to")
    cd.add_argument("--n-cases", type=int, default=12000, help="series in the corpus")
    cd.add_argument("--weighting", default="sqrt", help="sqrt, proportional or equal")
    cd.add_argument("--readout", default="concat", help="concat, mean-max, mean or concat-corr")
    cd.add_argument("--seed", type=int, default=0)
    cd.add_argument(
        "--triplets",
        action="store_true",
        help="recognise each source's 3-axis sensors by channel name (acc_x, acc_y, acc_z): "
        "their magnitudes join the corpus, each sensor turned by random rotations",
    )
    cd.add_argument(
        "--cache-dir",
        default=None,
        help="folder for the windows of CSV/Parquet recordings, written one recording at a "
        "time and read memory-mapped, so sources may be larger than memory (default: a "
        "temporary folder, removed at the end)",
    )
    cd.add_argument("--config", default=None, help="YAML of the univariate SwAV (its defaults)")
    cd.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")

    ft = sub.add_parser(
        "finetune", help="fine-tune a pretrained encoder with a linear head on labelled windows"
    )
    ft.add_argument(
        "--model",
        default=None,
        help="a pretrained model.safetensors (default: pretrain the default TimeSeriesSwAV on "
        "--train plus --unlabelled)",
    )
    ft.add_argument("--train", required=True, help="'hapt', a .ts or .npz file with labels")
    ft.add_argument("--test", default=None, help="labelled data to score the classifier on")
    ft.add_argument("--unlabelled", default=None, help="more data to pretrain on (without --model)")
    ft.add_argument("--out", required=True, help="classifier .safetensors")
    ft.add_argument(
        "--max-epochs", type=int, default=None, help="default: TimeSeriesSwAVClassifier's"
    )
    ft.add_argument("--no-augment", action="store_true", help="fine-tune without augmentations")
    ft.add_argument("--seed", type=int, default=0)

    ev = sub.add_parser("evaluate", help="evaluate a pretrained model on labelled data")
    ev.add_argument("--model", required=True, help="model.safetensors (or image checkpoint)")
    ev.add_argument("--train", default="hapt", help="'hapt', a .ts or .npz file (or image dir)")
    ev.add_argument("--test", default=None, help="test data (default: --train's test split)")
    ev.add_argument("--mode", default="linear", choices=["linear", "knn", "all"])
    ev.add_argument("--modality", default="timeseries", choices=["timeseries", "image"])
    ev.add_argument("--out", default=None, help="write the metrics JSON here")

    em = sub.add_parser("embed", help="embeddings of windows or recordings")
    em.add_argument(
        "--model", required=True, help="model.safetensors, or a shipped model: motion-50hz"
    )
    em.add_argument("--input", required=True, help=".npy/.npz/.ts windows or CSV/Parquet glob")
    em.add_argument("--out", required=True, help=".npy or .parquet")
    em.add_argument("--window-s", type=float, default=None)
    em.add_argument("--stride-s", type=float, default=None)
    em.add_argument("--time-col", default="timestamp")
    em.add_argument("--time-unit", default="ms")
    em.add_argument(
        "--rate-hz",
        type=float,
        default=None,
        help="grid rate of the files (default: inferred); they are then resampled to the "
        "model's rate",
    )
    em.add_argument(
        "--channels",
        nargs="+",
        default=None,
        help="signal columns of CSV/Parquet input, in the model's channel order (default: the "
        "model's channel names; other columns, such as labels, are left out)",
    )
    em.add_argument(
        "--triplets",
        action="store_true",
        help="a channel-independent model: add each 3-axis sensor's magnitude (recognised by "
        "channel name) after the channels",
    )

    ex = sub.add_parser("export", help="export a model to ONNX or TorchScript (docs/deploy.md)")
    ex.add_argument("--model", required=True, help="model.safetensors (embedder or classifier)")
    ex.add_argument("--out", required=True, help="output file (.onnx, or .pt for TorchScript)")
    ex.add_argument("--format", default="onnx", choices=["onnx", "torchscript"])
    ex.add_argument("--scores", action="store_true", help="also output the prototype scores")
    ex.add_argument(
        "--fixed-length",
        action="store_true",
        help="accept only the model's window length (default: any length >= the minimum)",
    )
    ex.add_argument("--int8", action="store_true", help="static int8 quantisation (ONNX)")
    ex.add_argument(
        "--calibration",
        default=None,
        metavar="hapt|FILE.npy",
        help="calibration windows (n, C, T) in sensor units for --int8",
    )

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
    de.add_argument(
        "--no-peers", action="store_true", help="leave out the MiniRocket reference row"
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
        if args.command == "pretrain-crossdata":
            return cmd_pretrain_crossdata(args)
        if args.command == "evaluate":
            return cmd_evaluate(args)
        if args.command == "finetune":
            return cmd_finetune(args)
        if args.command == "embed":
            return cmd_embed(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "export":
            return cmd_export(args)
        return cmd_bench(args, rest)
    except (ConfigError, ValueError, TypeError, FileNotFoundError) as exc:
        print(f"swav-ts {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:  # TrainingInterrupted says where the checkpoint is
        detail = f" ({exc})" if str(exc) else ""
        print(f"swav-ts {args.command}: interrupted{detail}", file=sys.stderr)
        return 128 + int(getattr(exc, "signum", 2))


if __name__ == "__main__":
    sys.exit(main())
