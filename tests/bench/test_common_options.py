"""`bench.common.add_options`: a benchmark's command-line options come from its signature."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

import pytest

from swav_ts.bench.common import add_options


def _bench(
    n_prototypes: Sequence[int] = (300, 3000),
    threads: int | None = 1,
    rate_s: float = 0.5,
    work_dir: str | Path | None = None,
    in_memory: bool = True,
    quick: bool = False,
    device: str = "cpu",
    exports: dict[str, str] | None = None,
) -> dict:
    return {}


def _parse(argv: list[str], **kw) -> dict:
    parser = argparse.ArgumentParser()
    kwargs = add_options(parser, _bench, skip=("exports",), **kw)
    return kwargs(parser.parse_args(argv))


def test_defaults_are_the_signature_defaults():
    assert _parse([]) == {
        "n_prototypes": [300, 3000],
        "threads": 1,
        "rate_s": 0.5,
        "work_dir": None,
        "in_memory": True,
        "quick": False,
        "device": "cpu",
    }


def test_types_names_booleans_and_sequences():
    got = _parse(
        [
            "--prototypes",
            "8",
            "16",
            "--threads",
            "2",
            "--rate-s",
            "0.25",
            "--work-dir",
            "w",
            "--no-in-memory",
            "--quick",
            "--device",
            "cuda",
        ],
        names={"n_prototypes": "prototypes"},
    )
    assert got == {
        "n_prototypes": [8, 16],
        "threads": 2,
        "rate_s": 0.25,
        "work_dir": "w",
        "in_memory": False,
        "quick": True,
        "device": "cuda",
    }


def test_bad_values_and_choices_are_refused():
    with pytest.raises(SystemExit):
        _parse(["--threads", "two"])
    with pytest.raises(SystemExit):
        _parse(["--device", "tpu"], choices={"device": ("cpu", "cuda")})


def test_a_parameter_without_an_option_type_is_an_error():
    with pytest.raises(TypeError, match="no command-line option"):
        add_options(argparse.ArgumentParser(), _bench)
