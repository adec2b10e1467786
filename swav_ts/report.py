"""The demo's report as one page: ``report.html``, self-contained (figures embedded as base64
data URIs, no external file, no script), so it can be opened anywhere or mailed.

It reads only the metrics dict that ``swav-ts demo`` writes to ``metrics.json`` and the paths
of the figures. The accuracy table is built from a list of :class:`AccuracyRow`; besides the
demo's own three rows (encoder features, prototype scores, random weights) it shows one row per
entry of ``metrics["peers"]``, where another method's results can be put::

    metrics["peers"]["MiniRocket"] = {"0.01": 0.902, "0.1": 0.951, "1.0": 0.962}

The key is the row's name as shown; each value maps a label fraction (a number, or its JSON
string) to the test accuracy in ``[0, 1]``, either a number or a dict ``{"accuracy_mean": m,
"accuracy_std": s}`` (the demo's own row format) when there were several runs.
"""

from __future__ import annotations

import base64
import html
import json
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "FIGURES",
    "REPORT_NAME",
    "AccuracyRow",
    "accuracy_rows",
    "next_commands",
    "render_report",
    "write_report",
]

#: File name of the report inside the demo's folder.
REPORT_NAME = "report.html"

#: The demo's figures, in the report's order, with how to read each (``{method}``: the
#: 2-D map's method).
FIGURES: dict[str, tuple[str, str]] = {
    "loss_curve.png": (
        "Pretraining loss",
        "The SwAV loss after each epoch: it should fall well below the dashed line at ln K "
        "(the loss of codes spread evenly over the K prototypes); a curve that stays at ln K "
        "means the model collapsed (docs/troubleshooting.md).",
    ),
    "embedding_map.png": (
        "Test-subject embeddings",
        "Each dot is a test window placed by {method} of its embedding and coloured by its "
        "activity, a label the pretraining never saw: one compact group per colour means the "
        "encoder tells the activities apart without labels.",
    ),
    "prototype_usage.png": (
        "Prototype usage",
        "How many test windows each prototype scores highest: windows spread over many "
        "prototypes is healthy, nearly all of them on one bar is collapse.",
    ),
    "confusion_matrix.png": (
        "Confusion matrix of the linear probe",
        "Rows are the true activities of the test windows, columns what the linear probe on "
        "the encoder features (all training labels) predicted; counts off the diagonal are "
        "its mistakes.",
    ),
}

#: The demo's own rows: (name, key of ``metrics`` holding the label-fraction rows).
OWN_ROWS = (
    ("SwAV encoder features", "label_fractions"),
    ("SwAV prototype scores", "prototype_scores_label_fractions"),
    ("same encoder, random weights", "random_init_label_fractions"),
)


@dataclass(frozen=True)
class AccuracyRow:
    """One row of the accuracy table.

    Attributes
    ----------
    name : str
        Shown in the first column.
    accuracy : dict of float to (float, float or None)
        Label fraction -> (mean test accuracy in ``[0, 1]``, standard deviation over runs or
        None when not known).
    """

    name: str
    accuracy: dict[float, tuple[float, float | None]]


def accuracy_rows(metrics: Mapping[str, Any]) -> list[AccuracyRow]:
    """The table's rows: the demo's own (where ``metrics`` has them), then the peers.

    Raises
    ------
    ValueError
        A ``metrics["peers"]`` entry that is not a mapping of label fractions to accuracies in
        ``[0, 1]`` (naming the entry and the expected form).
    """
    rows = []
    for name, key in OWN_ROWS:
        table = metrics.get(key) or []
        cells = {
            float(r["fraction"]): (float(r["accuracy_mean"]), _opt_float(r.get("accuracy_std")))
            for r in table
        }
        if cells:
            rows.append(AccuracyRow(name, cells))
    peers = metrics.get("peers") or {}
    if not isinstance(peers, Mapping):
        raise ValueError(f'metrics["peers"] must map a method name to its results, got {peers!r}')
    for name, results in peers.items():
        rows.append(AccuracyRow(str(name), _peer_cells(str(name), results)))
    return rows


def _opt_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _peer_cells(name: str, results: Any) -> dict[float, tuple[float, float | None]]:
    where = f'metrics["peers"][{name!r}]'
    form = '{label fraction: accuracy in [0, 1] or {"accuracy_mean": m, "accuracy_std": s}}'
    if not isinstance(results, Mapping) or not results:
        raise ValueError(f"{where} must be {form}, got {results!r}")
    cells = {}
    for fraction, value in results.items():
        try:
            f = float(fraction)
            if isinstance(value, Mapping):
                mean, std = float(value["accuracy_mean"]), _opt_float(value.get("accuracy_std"))
            else:
                mean, std = float(value), None
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"{where} must be {form}; entry {fraction!r}: {value!r}") from None
        if not (0 < f <= 1 and 0 <= mean <= 1):
            raise ValueError(
                f"{where}: label fraction {fraction!r} must be in (0, 1] and its accuracy in "
                f"[0, 1] (not percent), got {value!r}"
            )
        cells[f] = (mean, std)
    return cells


def percent(value: float, std: float | None = None) -> str:
    """``0.95812, 0.0012 -> "95.81 ± 0.12"`` (percent, two decimals)."""
    text = f"{100 * value:.2f}"
    return text if std is None else f"{text} ± {100 * std:.2f}"


def fraction_label(fraction: float) -> str:
    """``0.01 -> "1 %"``."""
    return f"{100 * fraction:g} %"


# ------------------------------------------------------------------------------- rendering
def _accuracy_table(metrics: Mapping[str, Any], rows: Sequence[AccuracyRow]) -> str:
    fractions = sorted({f for row in rows for f in row.accuracy})
    n_labelled = {
        float(r["fraction"]): r.get("n_labelled") for r in metrics.get("label_fractions") or []
    }
    head = ["<th>representation</th>"]
    for f in fractions:
        n = n_labelled.get(f)
        extra = f"<br><small>{n:.0f} labelled windows</small>" if n is not None else ""
        head.append(f"<th>{fraction_label(f)} labels{extra}</th>")
    body = []
    for row in rows:
        cells = [f"<th>{html.escape(row.name)}</th>"]
        for f in fractions:
            cell = row.accuracy.get(f)
            cells.append(f"<td>{percent(*cell) if cell else '&ndash;'}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    n_runs = sorted({int(r.get("n_runs", 1)) for r in metrics.get("label_fractions") or []})
    runs = f", mean ± standard deviation over {n_runs[-1]} label subsets" if n_runs else ""
    return (
        '<table id="accuracy"><caption>Test accuracy (%) on the test subjects with a fraction '
        "of the training labels: a linear probe on each representation (other methods: their "
        f"own classifier){runs}</caption>"
        f"<thead><tr>{''.join(head)}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )


def _facts(pairs: Sequence[tuple[str, str]], table_id: str) -> str:
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in pairs)
    return f'<table id="{table_id}" class="facts">{rows}</table>'


_DATA = (
    "HAPT smartphone recordings (UCI 341, CC BY 4.0) shipped in datasets/hapt: pretraining on "
    "the continuous recordings of the 21 training subjects without labels, evaluation on the "
    "activity windows, test on the 9 official test subjects"
)


def _settings(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the data and settings used; what ``metrics`` lacks is left out."""
    cfg = metrics.get("config") or {}
    enc, train, swav, crops, optim = (
        cfg.get(k) or {} for k in ("encoder", "train", "swav", "crops", "optim")
    )
    rate, length = metrics.get("rate_hz"), metrics.get("window_length")
    kwargs = ", ".join(f"{k}={v}" for k, v in (enc.get("kwargs") or {}).items())
    n_train, n_test = metrics.get("n_train_windows"), metrics.get("n_test_windows")
    pairs = [
        ("data", _DATA),
        ("channels", ", ".join(metrics.get("channel_names") or [])),
        ("windows", rate and length and f"{length} samples at {rate:g} Hz ({length / rate:g} s)"),
        ("labelled windows", n_train is not None and f"{n_train} training, {n_test} test"),
        ("encoder", enc and f"{enc.get('name')}({kwargs})"),
        (
            "pretraining",
            train
            and f"{train.get('epochs')} epochs, batch {train.get('batch_size')}, "
            f"{optim.get('name')} lr {optim.get('base_lr')}, seed {train.get('seed')}",
        ),
        (
            "prototypes",
            swav and f"K = {swav.get('n_prototypes')}, temperature {swav.get('temperature')}",
        ),
        (
            "crops",
            crops
            and f"{crops.get('n_global')} global of {crops.get('global_length')} samples, "
            f"{crops.get('n_local')} local of {crops.get('local_length')}",
        ),
        ("label-subset seeds", ", ".join(str(s) for s in metrics.get("seeds") or [])),
    ]
    return [(k, v) for k, v in pairs if v]


def _results(metrics: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, text) of the single figures: full-label probe, clusters, times."""
    probe, clusters = metrics.get("linear_probe"), metrics.get("prototype_clusters_test")
    pairs = [
        (
            "linear probe, all training labels",
            probe
            and f"accuracy {percent(probe['accuracy'])} %, macro-F1 {percent(probe['macro_f1'])} %",
        ),
        (
            "prototype clusters vs activities (test)",
            clusters and f"NMI {clusters['nmi']:.3f}, ARI {clusters['ari']:.3f}",
        ),
        ("pretraining time", _duration(metrics.get("pretrain_time_s"))),
        ("total time (pretraining + evaluation)", _duration(metrics.get("wall_time_s"))),
    ]
    return [(k, v) for k, v in pairs if v]


def _duration(seconds: float | None) -> str | None:
    if seconds is None:
        return None
    seconds = float(seconds)
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds:.0f} s ({seconds / 60:.1f} min)"


def _figure(path: Path, title: str, sentence: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(title)}" src="data:image/png;base64,{data}">'
        f"<figcaption><b>{html.escape(title)}.</b> {html.escape(sentence)}</figcaption></figure>"
    )


def next_commands(metrics: Mapping[str, Any], model_path: str | Path) -> list[str]:
    """Shell lines to run next on the demo's model, from the folder the demo ran in: embed
    recordings, export for a device, evaluate again (each after a ``#`` comment line)."""
    model = Path(model_path)
    folder = model.parent
    m = shlex.quote(str(model))
    lines = []
    rate, length = metrics.get("rate_hz"), metrics.get("window_length")
    if rate and length:
        window_s = int(length) / float(rate)
        lines += [
            f"# embeddings of {window_s:g} s windows (every {window_s / 2:g} s) of the HAPT "
            "training recordings; --input also takes CSV/Parquet globs, .npy, .ts",
            f"swav-ts embed --model {m} --input hapt --window-s {window_s:g} "
            f"--stride-s {window_s / 2:g} --out {shlex.quote(str(folder / 'embeddings.npy'))}",
        ]
    lines += [
        "# the model for a device: TorchScript (torch only) or ONNX "
        '(pip install "swav-ts[export]"), docs/deploy.md',
        f"swav-ts export --model {m} --out {shlex.quote(str(folder / 'model.pt'))} "
        "--format torchscript",
        f"swav-ts export --model {m} --out {shlex.quote(str(folder / 'model.onnx'))}",
        "# linear probe, kNN and label fractions again, as JSON",
        f"swav-ts evaluate --model {m} --train hapt --mode all",
    ]
    return lines


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       color: #222; line-height: 1.45; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; }
th, td { border-bottom: 1px solid #ddd; padding: 0.3rem 0.7rem; text-align: left; }
#accuracy td { text-align: right; font-variant-numeric: tabular-nums; }
caption { caption-side: top; text-align: left; font-style: italic; padding-bottom: 0.3rem; }
figure { margin: 1rem 0 2rem; } img { max-width: 100%; }
pre { background: #f4f4f4; padding: 0.7rem; overflow-x: auto; }
"""


def render_report(
    metrics: Mapping[str, Any],
    figures: Mapping[str, str | Path],
    model_path: str | Path,
) -> str:
    """The report page as an HTML string.

    Parameters
    ----------
    metrics : mapping
        What ``swav-ts demo`` writes to ``metrics.json`` (``label_fractions``,
        ``prototype_scores_label_fractions``, ``random_init_label_fractions``,
        ``linear_probe``, ``prototype_clusters_test``, times, ``config``; optionally
        ``peers``, see the module's docstring). Missing entries are left out of the page.
    figures : mapping of file name to path
        PNG files to embed; names in :data:`FIGURES` get their title and reading, others
        their file name.
    model_path : path
        The saved model, as the next commands should name it.
    """
    rows = accuracy_rows(metrics)
    method = metrics.get("embedding_map", "t-SNE")
    method = {"tsne": "t-SNE", "pca": "PCA"}.get(method, method)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<title>swav-ts demo report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>swav-ts demo: SwAV on HAPT</h1>",
        "<p>SwAV pretrained on unlabelled sensor recordings, then a linear classifier on its "
        "embeddings, scored on people it never saw.</p>",
        "<h2>Accuracy</h2>",
        _accuracy_table(metrics, rows) if rows else "<p>No label-fraction results.</p>",
        _facts(_results(metrics), "results"),
        "<h2>Figures</h2>",
    ]
    if figures:
        for name, path in figures.items():
            title, sentence = FIGURES.get(name, (name, ""))
            parts.append(_figure(Path(path), title, sentence.format(method=method)))
    else:
        parts.append("<p>No figures were drawn (run_demo(..., figures=False)).</p>")
    parts += [
        "<h2>Data and settings</h2>",
        _facts(_settings(metrics), "settings"),
        "<h2>What to run next</h2>",
        "<p>From the folder the demo ran in (the paths are the demo's):</p>",
        "<pre><code>"
        + html.escape("\n".join(next_commands(metrics, model_path)))
        + "</code></pre>",
        "<p>docs/quickstart.md (the API), docs/data.md (your own recordings), docs/deploy.md "
        "(on the device), docs/results.md (how these figures compare).</p>",
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_report(
    metrics: Mapping[str, Any],
    out_dir: str | Path,
    figures: Mapping[str, str | Path] | None = None,
) -> Path:
    """Write ``out_dir/report.html``.

    Parameters
    ----------
    metrics : mapping
        The demo's metrics (see :func:`render_report`).
    out_dir : path
        The demo's folder; the model is ``out_dir/model.safetensors``.
    figures : mapping of file name to path, optional
        Default: those of :data:`FIGURES` that exist in ``out_dir``.

    Returns
    -------
    Path
        The report.
    """
    out = Path(out_dir)
    if figures is None:
        figures = {name: out / name for name in FIGURES if (out / name).is_file()}
    text = render_report(
        json.loads(json.dumps(metrics, default=float)), figures, out / "model.safetensors"
    )
    path = out / REPORT_NAME
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
    return path
