"""The python blocks of docs/data.md run as written (from the repository root)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_docs_data_md_runs(monkeypatch, capsys):
    text = (REPO / "docs" / "data.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, re.S)
    assert len(blocks) >= 5
    monkeypatch.chdir(REPO)
    namespace: dict = {}
    exec(compile("\n".join(blocks), "docs/data.md", "exec"), namespace)
    out = capsys.readouterr().out
    # the output shown in the docs is what the example prints
    for line in (
        "2950 rows -> 2 recording(s), 2898 samples at 50 Hz; rows_reordered=2949; "
        "duplicates_merged=50; nan_filled=3; gaps_found=1; gaps_split=1",
        "my_log_seg0 (6, 1499) start 0.001 s",
        "my_log_seg1 (6, 1399) start 32.000 s",
    ):
        assert line in out and line in text
