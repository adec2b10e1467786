"""The layering rule: core holds no modality code; timeseries and image never import each
other; data does not import the modalities."""

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "swav_ts"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


FORBIDDEN = {
    "core": (
        "swav_ts.timeseries",
        "swav_ts.image",
        "swav_ts.data",
        "swav_ts.estimator",
        "swav_ts.evaluation",
        "swav_ts.cli",
        "swav_ts.demo",
    ),
    "timeseries": (
        "swav_ts.image",
        "swav_ts.estimator",
        "swav_ts.cli",
        "swav_ts.demo",
        "swav_ts.evaluation",
        "swav_ts.bench",
    ),
    "image": (
        "swav_ts.timeseries",
        "swav_ts.estimator",
        "swav_ts.cli",
        "swav_ts.demo",
        "swav_ts.evaluation",
        "swav_ts.bench",
    ),
    "data": ("swav_ts.timeseries", "swav_ts.image", "swav_ts.core", "swav_ts.estimator"),
}


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports(layer):
    files = sorted((PKG / layer).rglob("*.py"))
    assert files, layer
    bad = []
    for f in files:
        for mod in imported_modules(f):
            if any(mod == p or mod.startswith(p + ".") for p in FORBIDDEN[layer]):
                bad.append(f"{f.relative_to(PKG)} imports {mod}")
    assert not bad, "\n".join(bad)
