"""The tests read nothing outside the repository.

Development machines keep a data folder beside the checkout that a user's clone does not have;
no file under ``tests/`` (this one excepted) may name it, by path or by environment variable.
The data the tests need ships in ``datasets/`` and ``tests/fixtures/``.
"""

from __future__ import annotations

import re
from pathlib import Path

TESTS_DIR = Path(__file__).resolve().parent
FORBIDDEN = (
    re.compile(r"shared[/\\]+data"),  # .../shared/data/...
    re.compile(r"SWAV_TS_SHARED_DATA"),  # the environment variable that pointed there
    re.compile(r"""["']shared["']\s*/"""),  # Path(...) / "shared" / "data"
    re.compile(r"\.\.[/\\]+shared\b"),  # ../shared
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
    bad = [
        'd = np.load(shared_dir / "x")  # "../shared/data/hapt/tiny_w128.npz"',
        'os.environ.get("SWAV_TS_SHARED_DATA")',
        'Path(__file__).resolve().parents[2] / ".." / "shared" / "data"',
        "REPO_ROOT.parent / 'shared' / 'data'",
        "/work/shared/data/uea/BasicMotions_TRAIN.ts",
        r"..\shared\data",
    ]
    assert [n for n, _ in offending_lines("\n".join(bad))] == list(range(1, len(bad) + 1))
    fine = ["fixtures.UEA_DIR / 'BasicMotions_TRAIN.ts'", "shared_cifar10_dir", "shared set-up"]
    assert offending_lines("\n".join(fine)) == []
