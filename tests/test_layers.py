"""The layering rule: core holds no modality code; timeseries and image never import each
other; data does not import the modalities; and no module of swav_ts imports itself through
others (no import circle, counting deferred and TYPE_CHECKING imports)."""

import ast
import itertools
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


# ------------------------------------------------------------------------------- import circles
ROOT = "swav_ts"


def module_name(path: Path) -> str:
    """``swav_ts/export/writer.py`` -> ``swav_ts.export.writer``; a package's ``__init__.py``
    -> the package."""
    parts = path.relative_to(PKG.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def internal_imports(path: Path, modules: set[str]) -> dict[str, int]:
    """The swav_ts modules that ``path`` imports, with the line of the first such import.

    Every import statement counts, wherever it is: at module level, inside a function
    (deferred imports run too, only later) and under ``if TYPE_CHECKING:`` (a circle that
    only type checkers walk today becomes a real one as soon as someone moves the import
    out; the rule is zero circles, so they count). ``from pkg import name`` points at the
    submodule ``pkg.name`` where there is one, else at ``pkg`` (its ``__init__``); relative
    imports are resolved. Not seen: ``importlib.import_module`` with a computed name (the
    benchmark table of ``cli``).
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        if target in modules and target != name:
            found.setdefault(target, line)

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                add(sub if sub in modules else base, node.lineno)
    return found


def import_graph() -> dict[str, dict[str, int]]:
    """``{module: {imported module: line}}`` over every module inside swav_ts/.

    Edges into the root package ``swav_ts`` are left out: Python runs a package's
    ``__init__`` before any module below it, so every module depends on the root anyway,
    and the root imports nothing at module level (checked below); its lazy ``__getattr__``
    (``swav_ts.TimeSeriesSwAV``) is the facade at the top of the graph. For the same reason
    the implicit import of a module's parent packages is not an edge; an explicit import of
    a package (``from swav_ts.export import export_model``) is, to its ``__init__``.
    """
    files = sorted(PKG.rglob("*.py"))
    modules = {module_name(f) for f in files}
    graph = {}
    for f in files:
        edges = internal_imports(f, modules)
        edges.pop(ROOT, None)
        graph[module_name(f)] = edges
    return graph


def find_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """One circle ``[a, b, ..., a]`` per strongly connected group of modules (Tarjan),
    the shortest through the group's first module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(v: str) -> None:  # recursion depth <= number of modules (~150)
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cycles = []
    for group in groups:
        members, start = set(group), group[0]
        previous: dict[str, str] = {}
        frontier = [start]
        while frontier and start not in previous:  # breadth first, back to start
            nxt = []
            for v in frontier:
                for w in sorted(graph[v]):
                    if w in members and w not in previous:
                        previous[w] = v
                        nxt.append(w)
            frontier = nxt
        path = [start]
        while True:
            path.append(previous[path[-1]])
            if path[-1] == start:
                break
        cycles.append(path[::-1])
    return cycles


def describe_cycle(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    steps = [f"{a} imports {b} (line {graph[a][b]})" for a, b in itertools.pairwise(cycle)]
    return " -> ".join(cycle) + "\n    " + "\n    ".join(steps)


def test_no_import_circles():
    graph = import_graph()
    assert len(graph) > 50 and graph["swav_ts.cli"], "the graph was not built"
    cycles = find_cycles(graph)
    assert not cycles, "import circles (make each dependency run one way):\n" + "\n".join(
        describe_cycle(c, graph) for c in cycles
    )


def test_the_root_package_imports_nothing_at_module_level():
    """What makes leaving out the edges into ``swav_ts`` safe (see :func:`import_graph`)."""
    tree = ast.parse((PKG / "__init__.py").read_text(encoding="utf-8"))
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert all(isinstance(n, ast.ImportFrom) and n.module == "__future__" for n in top)


def test_find_cycles_reports_a_circle_and_its_lines():
    graph = {"a": {"b": 3}, "b": {"c": 7}, "c": {"a": 1, "d": 2}, "d": {}}
    assert find_cycles(graph) == [["a", "b", "c", "a"]]
    assert "c imports a (line 1)" in describe_cycle(["a", "b", "c", "a"], graph)
    assert find_cycles({"a": {"b": 1}, "b": {}}) == []
