"""Every benchmark's output paths (``--json``, ``--out``, ``--work-dir``, ``--cache-dir``): a
missing folder is created with its parents before the benchmark runs; a file where a folder is
needed, or a folder where a file is needed, is an error naming the option and the path, also
before the run. The benchmarks themselves are replaced by a stub that stops at once."""

from __future__ import annotations

import functools
import importlib
import json

import pytest

from swav_ts.bench.common import output_file, output_folder, write_json
from swav_ts.cli import main as cli_main


class Ran(Exception):
    """Raised by a stubbed benchmark: the run started (after the option checks)."""


def _stub(module, name: str, monkeypatch) -> None:
    """Replace ``module.name`` by a function with its signature that raises :class:`Ran`."""
    original = getattr(module, name)

    @functools.wraps(original)  # add_options reads the signature and the type hints
    def stopped(*args, **kwargs):
        raise Ran(name)

    monkeypatch.setattr(module, name, stopped)


# ------------------------------------------------------------------------- the helpers
def test_output_folder_creates_parents_and_refuses_a_file_in_the_way(tmp_path):
    deep = tmp_path / "a" / "b" / "c"
    assert output_folder(deep, "--work-dir") == deep and deep.is_dir()
    assert output_folder(deep) == deep  # an existing folder is fine
    (tmp_path / "f.txt").write_text("x")
    for path in (tmp_path / "f.txt", tmp_path / "f.txt" / "sub" / "deeper"):
        with pytest.raises(ValueError, match=r"^--work-dir .*: .*f\.txt is a file, not a folder"):
            output_folder(path, "--work-dir")


def test_output_file_creates_its_folder_and_refuses_folders_and_files_in_the_way(tmp_path):
    assert output_file(None, "--json") is None and output_file("", "--json") is None
    path = tmp_path / "x" / "y" / "r.json"
    assert output_file(path, "--json") == path and path.parent.is_dir() and not path.exists()
    with pytest.raises(ValueError, match=r"^--json .* is a folder; give a file name, e\.g\."):
        output_file(tmp_path / "x", "--json")
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"^--json .*r\.json: .*f\.txt is a file, not a folder"):
        output_file(tmp_path / "f.txt" / "r.json", "--json")


def test_write_json_makes_parents_and_names_the_option(tmp_path):
    path = tmp_path / "new" / "deeper" / "r.json"
    write_json({"a": 1}, path)
    assert json.loads(path.read_text()) == {"a": 1}
    write_json({"a": 1}, None)  # no file asked for: nothing
    with pytest.raises(ValueError, match=r"^--out .* is a folder"):
        write_json({"a": 1}, tmp_path / "new", "--out")


# --------------------------------------------------------- --json / --out of every benchmark
# (module, arguments before the option, function the command line runs, option)
JSON_OPTIONS = [
    ("swav_ts.bench.sinkhorn", [], "run_sinkhorn_benchmark", "--json"),
    ("swav_ts.bench.augment", [], "run_augment_benchmark", "--json"),
    ("swav_ts.bench.memory", [], "run_memory_benchmark", "--json"),
    ("swav_ts.bench.train", [], "run_train_benchmark", "--json"),
    ("swav_ts.bench.ddp", [], "run_ddp_benchmark", "--json"),
    ("swav_ts.bench.gpu", [], "run_gpu_benchmark", "--json"),
    ("swav_ts.bench.encoders", [], "run_encoder_benchmark", "--json"),
    ("swav_ts.bench.int8", ["--model", "m.safetensors"], "run_int8_study", "--json"),
    ("swav_ts.bench.export", ["--model", "m.safetensors"], "run_export_benchmark", "--json"),
    ("swav_ts.bench.image", ["cifar"], "cifar_small_scale", "--out"),
    ("swav_ts.bench.image", ["throughput"], "gpu_throughput", "--out"),
    ("swav_ts.bench.uea", [], "run_uea_benchmark", "--json"),
    ("swav_ts.bench.outputs", ["--runs", "r.json"], "run_outputs_study", "--json"),
    ("swav_ts.bench.hapt", [], "run_hapt_benchmark", "--json"),
    ("swav_ts.bench.panel", [], "run_panel", "--json"),
]
IDS = [run for _, _, run, _ in JSON_OPTIONS]


@pytest.mark.parametrize("module_name, args, run, option", JSON_OPTIONS, ids=IDS)
def test_result_file_options_are_checked_before_the_run(
    module_name, args, run, option, tmp_path, monkeypatch
):
    module = importlib.import_module(module_name)
    _stub(module, run, monkeypatch)
    missing = tmp_path / "not" / "yet" / "result.json"
    with pytest.raises(Ran):
        module.main([*args, option, str(missing)])
    assert missing.parent.is_dir()  # created before the run, parents included
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=rf"^{option} .*f\.txt is a file, not a folder"):
        module.main([*args, option, str(tmp_path / "f.txt" / "result.json")])
    with pytest.raises(ValueError, match=rf"^{option} .* is a folder; give a file name"):
        module.main([*args, option, str(tmp_path)])


def test_the_json_of_a_real_small_run_lands_in_a_new_folder(tmp_path):
    from swav_ts.bench.sinkhorn import main

    path = tmp_path / "a" / "b" / "sinkhorn.json"
    argv = ["--batch-sizes", "8", "--prototypes", "4", "--dtypes", "float32", "--repeats", "1"]
    main([*argv, "--json", str(path)])
    assert json.loads(path.read_text())["rows"]


# ------------------------------------------------------------------- working folders
def test_memory_work_dir_is_created_through_the_command_line(tmp_path, monkeypatch, capsys):
    """The issue: ``swav-ts bench memory --work-dir DIR`` with no DIR ended in a bare
    ``[Errno 2]`` naming a temporary subfolder."""
    memory = importlib.import_module("swav_ts.bench.memory")
    _stub(memory, "_write_tiled", monkeypatch)  # the first thing that needs the folder
    missing = tmp_path / "no" / "such" / "dir"
    with pytest.raises(Ran):
        cli_main(["bench", "memory", "--work-dir", str(missing)])
    assert missing.is_dir()
    (tmp_path / "f.txt").write_text("x")
    assert cli_main(["bench", "memory", "--work-dir", str(tmp_path / "f.txt")]) == 2
    err = capsys.readouterr().err
    assert "--work-dir" in err and "f.txt is a file, not a folder" in err


def test_ddp_work_dir(tmp_path, monkeypatch):
    ddp = importlib.import_module("swav_ts.bench.ddp")
    _stub(ddp, "load_hapt_contexts", monkeypatch)
    missing = tmp_path / "no" / "dir"
    with pytest.raises(Ran):
        ddp.run_ddp_benchmark(work_dir=missing)
    assert missing.is_dir()
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"^--work-dir .*f\.txt is a file"):
        ddp.run_ddp_benchmark(work_dir=tmp_path / "f.txt")


def test_export_work_dir(tmp_path):
    from swav_ts.bench.export import run_export_benchmark

    missing = tmp_path / "no" / "dir"
    with pytest.raises(FileNotFoundError):  # the folder comes first, then the model is read
        run_export_benchmark(tmp_path / "absent.safetensors", work_dir=missing)
    assert missing.is_dir()
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"^--work-dir .*f\.txt is a file"):
        run_export_benchmark(tmp_path / "absent.safetensors", work_dir=tmp_path / "f.txt")


def test_cifar_cache_dir(tmp_path, monkeypatch, cifar_dir):
    image = importlib.import_module("swav_ts.bench.image")
    _stub(image, "extract_image_zip", monkeypatch)
    missing = tmp_path / "no" / "cache"
    with pytest.raises(Ran):
        image.cifar_small_scale(data_dir=cifar_dir, cache_dir=missing)
    assert missing.is_dir()
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"^--cache-dir .*f\.txt is a file"):
        image.cifar_small_scale(data_dir=cifar_dir, cache_dir=tmp_path / "f.txt" / "c")


@pytest.mark.parametrize(
    "module_name, run",
    [("swav_ts.bench.hapt", "run_hapt_benchmark"), ("swav_ts.bench.panel", "run_panel")],
)
def test_run_folders_of_hapt_and_panel(module_name, run, tmp_path, monkeypatch):
    module = importlib.import_module(module_name)
    _stub(module, run, monkeypatch)
    missing = tmp_path / "no" / "runs"
    with pytest.raises(Ran):
        module.main(["--out", str(missing)])
    assert missing.is_dir()  # created before the (long) run starts
    (tmp_path / "f.txt").write_text("x")
    with pytest.raises(ValueError, match=r"^--out .*f\.txt is a file"):
        module.main(["--out", str(tmp_path / "f.txt")])
