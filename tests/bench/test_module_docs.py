"""Every benchmark module says at its top what it measures and where its figures are: the
second paragraph of its docstring is ``Figures: docs/<file>.md, "<section heading>"`` (one or
more pairs), and each named section exists."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from swav_ts.cli import BENCHMARKS

DOCS = Path(__file__).resolve().parents[2] / "docs"
MODULES = [
    "augment",
    "ddp",
    "encoders",
    "pretrained",
    "crossdata",
    "export",
    "gpu",
    "hapt",
    "image",
    "int8",
    "memory",
    "outputs",
    "panel",
    "sinkhorn",
    "train",
    "uea",
]
PAIR = re.compile(r'(docs/[\w.-]+\.md), "([^"]+)"')


def _headings(doc: Path) -> set[str]:
    lines = doc.read_text(encoding="utf-8").splitlines()
    return {m.group(1).strip() for line in lines if (m := re.match(r"#+\s+(.*)", line))}


def figures(docstring: str) -> list[tuple[str, str]]:
    """The (doc, section) pairs of a docstring's ``Figures:`` paragraph (its second)."""
    paragraphs = [" ".join(p.split()) for p in docstring.strip().split("\n\n")]
    if len(paragraphs) < 2 or not paragraphs[1].startswith("Figures: "):
        return []
    return PAIR.findall(paragraphs[1])


def test_figures_reads_every_pair():
    doc = 'Measures x.\n\nFigures: docs/a.md, "One: `x`" (cli); docs/b.md,\n"Two".\n\nMore.'
    assert figures(doc) == [("docs/a.md", "One: `x`"), ("docs/b.md", "Two")]
    assert figures('Measures x.\n\nRun it.\n\nFigures: docs/a.md, "One".') == []


@pytest.mark.parametrize("name", MODULES)
def test_docstring_names_existing_sections(name):
    module = importlib.import_module(f"swav_ts.bench.{name}")
    pairs = figures(module.__doc__ or "")
    assert pairs, f"swav_ts/bench/{name}.py: no 'Figures: docs/X.md, \"Section\"' paragraph"
    for doc, section in pairs:
        path = DOCS.parent / doc
        assert path.is_file(), f"{name}: {doc} does not exist"
        assert section in _headings(path), f"{name}: no section {section!r} in {doc}"


def test_every_benchmark_is_checked():
    modules = {target.split()[0].rsplit(".", 1)[1] for target in BENCHMARKS.values()}
    assert modules <= set(MODULES)
