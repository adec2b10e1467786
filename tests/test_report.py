"""The demo's one-page report: every figure of metrics.json it shows is the figure (to the
shown precision), the images are inside the file, peers' rows come from metrics["peers"]."""

from __future__ import annotations

import base64
import re
import struct
import zlib
from html.parser import HTMLParser
from pathlib import Path

import pytest

from swav_ts.report import FIGURES, REPORT_NAME, write_report

NUMBER = r"-?\d+(?:\.\d+)?"


class _Page(HTMLParser):
    """Tables (by id: rows of cell texts), image sources, figure captions, code blocks."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.images: list[str] = []
        self.captions: list[str] = []
        self.code: list[str] = []
        self.tags: set[str] = set()
        self._table: str | None = None
        self._cell: list[str] | None = None
        self._caption: list[str] | None = None
        self._code: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "table":
            self._table = a.get("id")
            self.tables[self._table] = []
        elif tag == "tr" and self._table:
            self.tables[self._table].append([])
        elif tag in ("td", "th") and self._table:
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")
        elif tag == "img":
            self.images.append(a["src"])
        elif tag == "figcaption":
            self._caption = []
        elif tag == "code":
            self._code = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[self._table][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "table":
            self._table = None
        elif tag == "figcaption":
            self.captions.append("".join(self._caption))
            self._caption = None
        elif tag == "code":
            self.code.append("".join(self._code))
            self._code = None

    def handle_data(self, data):
        for part in (self._cell, self._caption, self._code):
            if part is not None:
                part.append(data)


def parse_report(path: Path) -> _Page:
    page = _Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def _pct(text: str) -> tuple[float, float | None]:
    """``"95.81 ± 0.12"`` -> ``(95.81, 0.12)``; ``"91.23"`` -> ``(91.23, None)``."""
    m = re.fullmatch(rf"({NUMBER})(?: ± ({NUMBER}))?", text)
    assert m, f"not an accuracy cell: {text!r}"
    return float(m[1]), (float(m[2]) if m[2] else None)


def _shown(value: float, decimals: int) -> float:
    return round(value, decimals)


OWN = {
    "SwAV encoder features": "label_fractions",
    "SwAV prototype scores": "prototype_scores_label_fractions",
    "same encoder, random weights": "random_init_label_fractions",
}


def check_report(path: Path, metrics: dict, figures: dict[str, Path]) -> _Page:
    """Assert that the report at ``path`` shows ``metrics`` faithfully and embeds ``figures``."""
    page = parse_report(path)
    # ------------------------------------------------ accuracy table, cell by cell
    head, *body = page.tables["accuracy"]
    fractions = []
    for cell in head[1:]:
        m = re.fullmatch(rf"({NUMBER}) % labels(?: ({NUMBER}) labelled windows)?", cell)
        assert m, cell
        fractions.append(float(m[1]) / 100)
        if m[2] is not None:
            row = next(
                r for r in metrics["label_fractions"] if abs(r["fraction"] - fractions[-1]) < 1e-12
            )
            assert float(m[2]) == _shown(row["n_labelled"], 0)
    expected_names = [n for n, k in OWN.items() if metrics.get(k)] + list(metrics.get("peers", {}))
    assert [r[0] for r in body] == expected_names
    n_cells = 0
    for name, *cells in body:
        if name in OWN:
            rows = {r["fraction"]: r for r in metrics[OWN[name]]}
            want = {f: (r["accuracy_mean"], r["accuracy_std"]) for f, r in rows.items()}
        else:
            want = {}
            for f, v in metrics["peers"][name].items():
                if isinstance(v, dict):
                    want[float(f)] = (v["accuracy_mean"], v.get("accuracy_std"))
                else:
                    want[float(f)] = (v, None)
        for f, cell in zip(fractions, cells):
            match = [w for k, w in want.items() if abs(k - f) < 1e-12]
            if not match:
                assert cell == "–", (name, f, cell)
                continue
            mean, std = match[0]
            got_mean, got_std = _pct(cell)
            assert got_mean == _shown(100 * mean, 2), (name, f, cell)
            assert got_std == (None if std is None else _shown(100 * std, 2)), (name, f, cell)
            n_cells += 1
        assert len(cells) == len(fractions)
    assert n_cells == sum(len(v) for k, v in metrics.items() if k in OWN.values()) + sum(
        len(v) for v in metrics.get("peers", {}).values()
    )
    # ------------------------------------------------ results and settings
    results = dict(page.tables["results"])
    probe = metrics["linear_probe"]
    text = results["linear probe, all training labels"]
    m = re.fullmatch(rf"accuracy ({NUMBER}) %, macro-F1 ({NUMBER}) %", text)
    assert m and [float(x) for x in m.groups()] == [
        _shown(100 * probe["accuracy"], 2),
        _shown(100 * probe["macro_f1"], 2),
    ], text
    c = metrics["prototype_clusters_test"]
    m = re.fullmatch(
        rf"NMI ({NUMBER}), ARI ({NUMBER})", results["prototype clusters vs activities (test)"]
    )
    assert m and [float(x) for x in m.groups()] == [_shown(c["nmi"], 3), _shown(c["ari"], 3)]
    for label, key in (
        ("pretraining time", "pretrain_time_s"),
        ("total time (pretraining + evaluation)", "wall_time_s"),
    ):
        seconds = float(re.match(NUMBER, results[label])[0])
        assert seconds == _shown(metrics[key], 0), label
    settings = dict(page.tables["settings"])
    counts = [int(x) for x in re.findall(r"\d+", settings["labelled windows"])]
    assert counts == [metrics["n_train_windows"], metrics["n_test_windows"]]
    rate, length = metrics["rate_hz"], metrics["window_length"]
    assert settings["windows"] == f"{length} samples at {rate:g} Hz ({length / rate:g} s)"
    assert settings["channels"] == ", ".join(metrics["channel_names"])
    # ------------------------------------------------ images inside the file, one reading each
    assert len(page.images) == len(figures) == len(page.captions)
    for src, (name, fig) in zip(page.images, figures.items()):
        prefix = "data:image/png;base64,"
        assert src.startswith(prefix), src[:40]
        assert base64.b64decode(src[len(prefix) :]) == fig.read_bytes(), name
    for caption, name in zip(page.captions, figures):
        assert caption.startswith(FIGURES[name][0] + ".") and caption.count(". ") >= 1
    assert not {"script", "link", "iframe"} & page.tags  # nothing fetched when opened
    return page


def _png(path: Path, shade: int) -> Path:
    """A valid 2x2 grey PNG (no plotting library needed)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    raw = b"".join(b"\x00" + bytes([shade, shade]) for _ in range(2))
    ihdr = struct.pack(">IIBBBBB", 2, 2, 8, 0, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw))
    path.write_bytes(data + chunk(b"IEND", b""))
    return path


def _rows(base: float) -> list[dict]:
    return [
        {
            "fraction": f,
            "n_runs": 3,
            "n_labelled": n,
            "accuracy_mean": base + d,
            "accuracy_std": 0.004567 * (1 + d),
            "macro_f1_mean": base - 0.01,
            "macro_f1_std": 0.002,
        }
        for f, n, d in ((0.01, 71.3333, 0.00123), (0.1, 714.0, 0.03456), (1.0, 7143.0, 0.05789))
    ]


def small_metrics() -> dict:
    return {
        "config": {"encoder": {"name": "cnn3", "kwargs": {"widths": [8, 16]}}},
        "pretrain_time_s": 412.34,
        "wall_time_s": 533.87,
        "n_train_windows": 7143,
        "n_test_windows": 2874,
        "linear_probe": {"accuracy": 0.958123, "macro_f1": 0.951267},
        "label_fractions": _rows(0.9),
        "prototype_scores_label_fractions": _rows(0.88),
        "random_init_label_fractions": _rows(0.7),
        "prototype_clusters_test": {"nmi": 0.61234, "ari": 0.45678},
        "channel_names": ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"],
        "rate_hz": 50.0,
        "window_length": 128,
        "seeds": [0, 1, 2],
        "embedding_map": "pca",
        "peers": {
            "MiniRocket": {"0.01": 0.912345, "1.0": {"accuracy_mean": 0.95, "accuracy_std": 0.011}},
        },
    }


def test_report_shows_the_metrics_and_embeds_the_figures(tmp_path):
    metrics = small_metrics()
    figures = {
        "loss_curve.png": _png(tmp_path / "loss_curve.png", 10),
        "confusion_matrix.png": _png(tmp_path / "confusion_matrix.png", 200),
    }
    path = write_report(metrics, tmp_path)  # finds the figures in the folder
    assert path == tmp_path / REPORT_NAME
    page = check_report(path, metrics, figures)
    assert "MiniRocket" in [r[0] for r in page.tables["accuracy"]]
    commands = page.code[0]
    model = tmp_path / "model.safetensors"
    assert f"swav-ts embed --model {model} --input hapt --window-s 2.56 --stride-s 1.28" in commands
    assert f"swav-ts export --model {model} --out {tmp_path / 'model.onnx'}" in commands


def test_report_without_peers_or_figures(tmp_path):
    metrics = small_metrics()
    del metrics["peers"], metrics["prototype_scores_label_fractions"]
    check_report(write_report(metrics, tmp_path), metrics, {})
    assert "No figures were drawn" in (tmp_path / REPORT_NAME).read_text()


@pytest.mark.parametrize(
    "peers, match",
    [
        ({"X": [0.9]}, r'metrics\["peers"\]\[\'X\'\] must be \{label fraction'),
        ({"X": {"0.1": 91.2}}, r"in \[0, 1\] \(not percent\)"),
        ({"X": {"all": 0.9}}, r"entry 'all'"),
        ({"X": {"0.1": {"mean": 0.9}}}, r"accuracy_mean"),
    ],
)
def test_a_malformed_peer_entry_is_refused_naming_it(tmp_path, peers, match):
    metrics = {**small_metrics(), "peers": peers}
    with pytest.raises(ValueError, match=match):
        write_report(metrics, tmp_path)
    assert not (tmp_path / REPORT_NAME).exists()
