"""The main job: SwAV pretraining on the shipped HAPT recordings, then downstream evaluation.

Pretrains on the continuous recordings of the 21 training subjects (no labels), embeds the
UCI-HAR-style windows, and evaluates on the 9 official test subjects: a linear probe with 100 %
and with 1 % / 10 % of the training labels (several seeds), on the encoder features and on the
prototype scores, the same architecture with random weights, and the agreement of prototype
assignments with the activities (NMI/ARI). Writes a report folder with metrics, figures and
``report.html``, one self-contained page (:mod:`swav_ts.report`).
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np

from swav_ts.core.config import apply_overrides, from_dict, read_yaml, save_config, to_dict
from swav_ts.data.hapt import class_names, load_hapt
from swav_ts.estimator import TimeSeriesSwAV
from swav_ts.evaluation import (
    clustering_metrics,
    confusion,
    label_fraction_table,
    linear_probe,
    ridge_probe,
)
from swav_ts.report import write_report
from swav_ts.timeseries.adapt import explicit_keys
from swav_ts.timeseries.config import TimeSeriesConfig, hapt_recipe

logger = logging.getLogger(__name__)


def demo_config(
    config: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()
) -> tuple[TimeSeriesConfig, set[str]]:
    """The demo's config: a YAML file or the packaged HAPT recipe, plus overrides."""
    if config is None:
        base = to_dict(hapt_recipe())
        cfg = from_dict(TimeSeriesConfig, apply_overrides(base, overrides))
        return cfg, explicit_keys(base)
    raw = apply_overrides(read_yaml(config), overrides)
    return from_dict(TimeSeriesConfig, raw), explicit_keys(raw)


def run_demo(
    config: str | Path | None = None,
    out_dir: str | Path = "runs/demo",
    overrides: list[str] | tuple[str, ...] = (),
    label_fractions: tuple[float, ...] = (0.01, 0.1, 1.0),
    seeds: tuple[int, ...] = (0, 1, 2),
    figures: bool = True,
    embedding_map: str = "tsne",
    peers: bool = True,
) -> dict[str, Any]:
    """Pretrain on HAPT training subjects, evaluate on the test subjects, write a report.

    Parameters
    ----------
    config : path, optional
        A time-series YAML config (default: the packaged recipe
        :func:`swav_ts.timeseries.config.hapt_recipe`, = ``configs/timeseries/hapt.yaml``).
    out_dir : path
        Report folder: ``report.html`` (the page to open), ``metrics.json``,
        ``model.safetensors``, figures, the run folder (a rerun with the same config resumes
        it; another config is refused).
    overrides : list of str
        ``section.key=value`` config overrides.
    label_fractions, seeds : tuples
        Label fractions and label-subset seeds of the linear-probe runs.
    figures : bool
        Write the PNG figures (matplotlib).
    embedding_map : {"tsne", "pca"}
        Method of the 2-D map of test embeddings.
    peers : bool, default True
        Also score MiniRocket with its ridge classifier on the same windows and label subsets
        (the report's reference row; needs the bench extra, ``aeon``, else it is left out
        with a warning).

    Returns
    -------
    dict
        The metrics written to ``metrics.json``.
    """
    t0 = time.perf_counter()
    out = Path(out_dir)
    cfg, _ = demo_config(config, overrides)
    if cfg.data.source != "hapt":
        raise ValueError(f"the demo pretrains on HAPT; data.source is {cfg.data.source!r}")

    # ---------------- pretraining on the training subjects' continuous recordings
    est = TimeSeriesSwAV.from_config(cfg, run_dir=str(out / "run"), resume=True).fit("hapt")
    pretrain_s = time.perf_counter() - t0
    out.mkdir(parents=True, exist_ok=True)
    save_config(est.config_, out / "config.yaml")
    est.save(out / "model.safetensors")

    # ---------------- downstream: windows of train and test subjects
    Xtr, ytr, _ = load_hapt("train")
    Xte, yte, _ = load_hapt("test")
    Ztr, Zte = est.transform(Xtr), est.transform(Xte)
    probe = linear_probe(Ztr, ytr, Zte, yte)
    fractions = label_fraction_table(Ztr, ytr, Zte, yte, label_fractions, seeds)
    # the cluster space: cosine similarities to the prototypes
    Str, Ste = est.prototype_scores(Xtr), est.prototype_scores(Xte)
    score_fractions = label_fraction_table(Str, ytr, Ste, yte, label_fractions, seeds)
    clusters_te = Ste.argmax(axis=1)
    cluster_scores = clustering_metrics(yte, clusters_te)

    # ---------------- the same architecture with random weights
    rand = est.reinitialized(cfg.train.seed)
    Rtr, Rte = rand.transform(Xtr), rand.transform(Xte)
    rand_probe = linear_probe(Rtr, ytr, Rte, yte)
    rand_fractions = label_fraction_table(Rtr, ytr, Rte, yte, label_fractions, seeds)

    # ---------------- the training-free reference, on the same windows and label subsets
    reference = _minirocket_peer(Xtr, ytr, Xte, yte, label_fractions, seeds) if peers else {}

    wall_s = time.perf_counter() - t0
    metrics = {
        "config": to_dict(est.config_),
        "pretrain_time_s": pretrain_s,
        "wall_time_s": wall_s,
        "n_train_windows": len(ytr),
        "n_test_windows": len(yte),
        "linear_probe": probe,
        "label_fractions": fractions,
        "prototype_scores_label_fractions": score_fractions,
        "random_init_linear_probe": rand_probe,
        "random_init_label_fractions": rand_fractions,
        "peers": reference,
        "prototype_clusters_test": cluster_scores,
        "loss_history": [h["loss"] for h in est.history_],
        "class_names": list(class_names),
        "channel_names": list(est.channel_names_),
        "rate_hz": est.rate_hz_,
        "window_length": int(est.contract_.window_length),
        "seeds": list(seeds),
        "embedding_map": embedding_map,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2, default=float))
    if figures:
        _figures(out, est, Zte, yte, clusters_te, probe, Ztr, ytr, embedding_map)
    write_report(metrics, out)
    return metrics


def _minirocket_peer(Xtr, ytr, Xte, yte, fractions, seeds) -> dict[str, Any]:
    """MiniRocket + its ridge classifier on the same label subsets, for the report's table
    (``{}`` with a log line when aeon, the bench extra, is not installed)."""
    from swav_ts.evaluation.minirocket import run_minirocket

    try:
        mr = run_minirocket(Xtr, embed=(Xtr, Xte), seed=0)
    except ImportError as exc:
        logger.warning("no MiniRocket row in the report: %s", exc)
        return {}
    Mtr, Mte = mr["embeddings"]
    rows = label_fraction_table(Mtr, ytr, Mte, yte, fractions, seeds, ridge_probe)
    cells = {
        str(r["fraction"]): {"accuracy_mean": r["accuracy_mean"], "accuracy_std": r["accuracy_std"]}
        for r in rows
    }
    return {"MiniRocket + ridge (no training)": cells}


def _figures(out: Path, est, Zte, yte, clusters_te, probe, Ztr, ytr, method: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA
    from sklearn.linear_model import LogisticRegression
    from sklearn.manifold import TSNE
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names = list(class_names)
    # loss curve
    fig, ax = plt.subplots(figsize=(5, 3.5))
    losses = [h["loss"] for h in est.history_]
    ax.plot(range(1, len(losses) + 1), losses, marker="o")
    k = est.config_.swav.n_prototypes
    k = k if isinstance(k, int) else k[0]
    ax.axhline(np.log(k), ls="--", c="grey", label="ln K")
    ax.set(xlabel="epoch", ylabel="SwAV loss", title="Pretraining loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss_curve.png", dpi=120)
    plt.close(fig)
    # 2-D map of test embeddings
    rng = np.random.default_rng(0)
    idx = rng.choice(len(Zte), size=min(2000, len(Zte)), replace=False)
    Zs = StandardScaler().fit_transform(Zte[idx])
    if method == "tsne":
        Z2 = TSNE(n_components=2, init="pca", random_state=0, perplexity=30).fit_transform(Zs)
    else:
        Z2 = PCA(n_components=2, random_state=0).fit_transform(Zs)
    fig, ax = plt.subplots(figsize=(6, 5))
    for c, name in enumerate(names):
        m = yte[idx] == c
        ax.scatter(Z2[m, 0], Z2[m, 1], s=4, label=name)
    ax.set(title=f"Test-subject embeddings ({method})", xticks=[], yticks=[])
    ax.legend(markerscale=3, fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "embedding_map.png", dpi=120)
    plt.close(fig)
    # prototype usage
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(np.arange(k), np.bincount(clusters_te, minlength=k))
    ax.set(xlabel="prototype", ylabel="test windows", title="Prototype usage (test subjects)")
    fig.tight_layout()
    fig.savefig(out / "prototype_usage.png", dpi=120)
    plt.close(fig)
    # confusion matrix of the linear probe
    clf = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(Ztr, ytr)
    cm = confusion(yte, clf.predict(Zte), labels=np.arange(len(names)))
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.imshow(cm, cmap="Blues")
    for i in range(len(names)):
        for j in range(len(names)):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=7)
    ax.set(
        xticks=range(len(names)),
        yticks=range(len(names)),
        xlabel="predicted",
        ylabel="true",
        title=f"Linear probe, accuracy {probe['accuracy']:.3f}",
    )
    ax.set_xticklabels(names, rotation=45, ha="right", fontsize=7)
    ax.set_yticklabels(names, fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "confusion_matrix.png", dpi=120)
    plt.close(fig)


def format_results(metrics: dict[str, Any]) -> str:
    """The results table printed at the end of ``swav-ts demo``."""
    lines = ["", "swav-ts demo: HAPT, pretrain on 21 training subjects, test on 9 subjects", ""]
    lines.append(f"{'representation':<30}{'labels':>8}{'accuracy':>16}{'macro-F1':>16}")
    for label, key in (
        ("SwAV (ours), encoder", "label_fractions"),
        ("SwAV (ours), prototype scores", "prototype_scores_label_fractions"),
        ("same encoder, random init", "random_init_label_fractions"),
    ):
        for row in metrics.get(key, []):
            frac = row["fraction"]
            acc = f"{row['accuracy_mean']:.4f} ± {row.get('accuracy_std', 0) or 0:.4f}"
            f1 = f"{row['macro_f1_mean']:.4f} ± {row.get('macro_f1_std', 0) or 0:.4f}"
            lines.append(f"{label:<30}{frac:>8.0%}{acc:>16}{f1:>16}")
    for label, cells in metrics.get("peers", {}).items():
        for frac, cell in sorted(cells.items(), key=lambda kv: float(kv[0])):
            acc = f"{cell['accuracy_mean']:.4f} ± {cell.get('accuracy_std', 0) or 0:.4f}"
            lines.append(f"{label[:29]:<30}{float(frac):>8.0%}{acc:>16}{'':>16}")
    c = metrics["prototype_clusters_test"]
    lines.append("")
    lines.append(f"prototype clusters vs activities (test): NMI {c['nmi']:.3f}  ARI {c['ari']:.3f}")
    lines.append(
        f"pretraining {metrics['pretrain_time_s']:.0f} s, total {metrics['wall_time_s']:.0f} s"
    )
    return "\n".join(lines)
