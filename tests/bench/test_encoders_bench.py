"""`swav-ts bench encoders`: encoder specs, the recipe's views, ratios to the first encoder."""

import json

import pytest
import torch

from swav_ts.bench.encoders import parse_encoder, run_encoder_benchmark
from swav_ts.cli import main as cli_main

TINY = ["cnn3 {widths: [4, 8]}", "tcn {hidden: 4, depth: 1, output_dim: 4, stride: 4}"]


def test_parse_encoder():
    assert parse_encoder("tcn {depth: 5, stride: 4}") == ("tcn", {"depth": 5, "stride": 4})
    assert parse_encoder(" cnn3 ") == ("cnn3", {})
    assert parse_encoder("cnn3 {widths: [8, 16]}") == ("cnn3", {"widths": [8, 16]})
    with pytest.raises(ValueError, match=r"encoder spec 'tcn \[1, 2\]'.*YAML mapping"):
        parse_encoder("tcn [1, 2]")


def test_rows_are_ratios_to_the_first_encoder_on_the_recipe_views():
    before = torch.get_num_threads()
    res = run_encoder_benchmark(TINY, threads=1, repeats=1, batch_size=2)
    assert torch.get_num_threads() == before
    assert res["views"] == "2x128 + 6x48, batch 2, 6 channels"
    first, second = res["rows"]
    assert [first["encoder"], second["encoder"]] == TINY
    assert first["ratio_to_first"] == 1.0
    assert second["ratio_to_first"] == second["step_ms"] / first["step_ms"]
    assert second["positions"] == 128 // 4  # stride 4
    assert first["positions"] == 34  # two conv + pool(2, padding 1) blocks: 128 -> 65 -> 34
    assert second["params_k"] > 0 and first["step_ms"] > 0


def test_command_line(tmp_path, capsys):
    out = tmp_path / "e.json"
    code = cli_main(
        ["bench", "encoders", "--encoders", TINY[1], "--repeats", "1", "--batch-size", "2",
         "--threads", "1", "--json", str(out)]
    )  # fmt: skip
    assert code in (0, None)
    assert json.loads(out.read_text())["rows"][0]["encoder"] == TINY[1]
    assert "ratio_to_first" in capsys.readouterr().out
