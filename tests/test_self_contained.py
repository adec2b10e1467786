"""The tests read nothing outside the repository.

Development machines keep a data folder beside the checkout that a user's clone does not have;
no file under ``tests/`` (this one excepted) may name it, by path or by environment variable.
The data the tests need ships in ``datasets/`` and ``tests/fixtures/``.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
OUTSIDE = "sha" + "red"  # the folder's name, spelled so that this file does not name it
FORBIDDEN = (
    re.compile(OUTSIDE + r"[/\\]+data"),  # <outside>/data/...
    re.compile("SWAV_TS_" + OUTSIDE.upper() + "_DATA"),  # the variable that pointed there
    re.compile(r"""["']""" + OUTSIDE + r"""["']\s*/"""),  # Path(...) / "<outside>" / "data"
    re.compile(r"\.\.[/\\]+" + OUTSIDE + r"\b"),  # ../<outside>
)


def offending_lines(text: str) -> list[tuple[int, str]]:
    """``(line number, line)`` for each line of ``text`` that names the outside data folder."""
    return [
        (n, line.strip())
        for n, line in enumerate(text.splitlines(), 1)
        if any(p.search(line) for p in FORBIDDEN)
    ]


def test_no_test_file_names_the_outside_data_folder():
    me = Path(__file__).resolve()
    files = [
        p
        for p in sorted(TESTS_DIR.rglob("*"))
        if p.is_file() and p.resolve() != me and "__pycache__" not in p.parts
    ]
    assert len(files) > 50  # the scan really covers the test tree
    hits = [
        f"{p.relative_to(TESTS_DIR.parent)}:{n}: {line}"
        for p in files
        for n, line in offending_lines(p.read_bytes().decode("utf-8", errors="replace"))
    ]
    assert not hits, "tests must use the repository's data only:\n" + "\n".join(hits)


def test_the_patterns_catch_the_old_spellings():
    o = OUTSIDE
    bad = [
        f'd = np.load({o}_dir / "x")  # "../{o}/data/hapt/tiny_w128.npz"',
        f'os.environ.get("SWAV_TS_{o.upper()}_DATA")',
        f'Path(__file__).resolve().parents[2] / ".." / "{o}" / "data"',
        f"REPO_ROOT.parent / '{o}' / 'data'",
        f"/work/{o}/data/uea/BasicMotions_TRAIN.ts",
        f"..\\{o}\\data",
    ]
    assert [n for n, _ in offending_lines("\n".join(bad))] == list(range(1, len(bad) + 1))
    fine = ["fixtures.UEA_DIR / 'BasicMotions_TRAIN.ts'", "shared_cifar10_dir", "shared set-up"]
    assert offending_lines("\n".join(fine)) == []
