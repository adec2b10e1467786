"""Untrusted files: no public loader runs code from a file, config or checkpoint.

A pickle payload that creates a marker file when unpickled is fed to every public loader; each
must raise a clear error and the marker must not exist afterwards.
"""

import ast
import pickle
from pathlib import Path

import pytest
import torch

from swav_ts import TimeSeriesSwAV
from swav_ts.core.checkpoint import CheckpointError
from swav_ts.core.config import ConfigError, RunConfig, load_config
from swav_ts.core.trainer import CHECKPOINT_NAME, load_training_checkpoint, train
from swav_ts.image.checkpoints import load_backbone, load_original_checkpoint, read_state_dict
from swav_ts.timeseries.config import TimeSeriesConfig
from tests.core.helpers import SignalDataset, noisy_views, tiny_config, tiny_model
from tests.reliability.helpers import MarkerPayload, write_torch_payload

PACKAGE = Path(__file__).resolve().parents[2] / "swav_ts"
DEBUG = str(Path(__file__).resolve().parents[2] / "configs" / "timeseries" / "debug.yaml")


@pytest.fixture(params=["zip", "legacy"])
def payload(request, tmp_path):
    marker = tmp_path / "PWNED"
    path = write_torch_payload(tmp_path / "evil.pt", marker, legacy=request.param == "legacy")
    return path, marker


def test_payload_really_runs_code_when_unpickled(tmp_path):
    """The payload is live: an unsafe loader would create the marker (so the tests can fail)."""
    marker = tmp_path / "PWNED"
    pickle.loads(pickle.dumps(MarkerPayload(marker)))
    assert marker.exists()
    marker.unlink()
    path = write_torch_payload(tmp_path / "evil.pt", marker)
    torch.load(path, weights_only=False)
    assert marker.exists()


def test_training_checkpoint_loader_refuses_payload(payload):
    path, marker = payload
    with pytest.raises(CheckpointError, match="refusing to load|cannot be read"):
        load_training_checkpoint(path)
    assert not marker.exists()


def test_train_resume_refuses_poisoned_run_dir(payload, tmp_path):
    path, marker = payload
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    path.replace(run_dir / CHECKPOINT_NAME)
    with pytest.raises(CheckpointError, match=CHECKPOINT_NAME):
        train(tiny_model(), SignalDataset(), tiny_config(), run_dir, make_views=noisy_views)
    assert not marker.exists()


@pytest.mark.parametrize("loader", ["read_state_dict", "load_original_checkpoint", "load_backbone"])
def test_image_checkpoint_import_refuses_payload(payload, loader):
    path, marker = payload
    with pytest.raises(CheckpointError, match="refusing to load|cannot be read"):
        if loader == "read_state_dict":
            read_state_dict(path)
        elif loader == "load_original_checkpoint":
            load_original_checkpoint(tiny_model(), path)
        else:
            load_backbone(path)
    assert not marker.exists()


def test_estimator_load_refuses_pickle_renamed_safetensors(payload, tmp_path):
    path, marker = payload
    renamed = tmp_path / "model.safetensors"
    path.replace(renamed)
    with pytest.raises(ValueError, match="not a TimeSeriesSwAV model file"):
        TimeSeriesSwAV.load(renamed)
    assert not marker.exists()


def test_estimator_load_reads_metadata_as_json_only(tmp_path):
    """Metadata strings that YAML or eval would turn into objects stay inert text."""
    from safetensors.torch import save_file

    marker = tmp_path / "PWNED"
    evil = f"!!python/object/apply:os.system ['touch {marker}']"
    path = tmp_path / "m.safetensors"
    meta = {"format": "swav_ts.TimeSeriesSwAV/2", "swav_ts_version": "0.0", "config": evil}
    save_file({"w": torch.zeros(1)}, str(path), metadata=meta)
    with pytest.raises(ValueError, match="written by swav_ts 0.0"):
        TimeSeriesSwAV.load(path)
    import swav_ts

    meta["swav_ts_version"] = swav_ts.__version__
    meta["params"] = f'__import__("os").system("touch {marker}")'
    save_file({"w": torch.zeros(1)}, str(path), metadata=meta)
    with pytest.raises(ValueError):  # json.loads: "Expecting value"
        TimeSeriesSwAV.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("cls", [RunConfig, TimeSeriesConfig])
def test_config_yaml_object_tags_refused(tmp_path, cls):
    marker = tmp_path / "PWNED"
    for text in (
        f"swav: !!python/object/apply:os.system ['touch {marker}']\n",
        "train: !!python/object:argparse.Namespace {epochs: 1}\n",
        f"data:\n  source: !!python/name:os.system\n# {marker}\n",
    ):
        (tmp_path / "evil.yaml").write_text(text)
        with pytest.raises(ConfigError, match="not valid YAML"):
            load_config(cls, tmp_path / "evil.yaml")
    assert not marker.exists()


def test_cli_override_object_tag_refused_with_message(tmp_path, capsys):
    from swav_ts.cli import main

    marker = tmp_path / "PWNED"
    argv = ["pretrain", "--config", DEBUG, "--out", str(tmp_path / "run"), "--set"]
    try:
        rc = main([*argv, f"train.seed=!!python/object/apply:os.system ['touch {marker}']"])
    finally:
        assert not marker.exists()  # safe_load: the tag is never constructed
    assert rc == 2
    assert "train.seed" in capsys.readouterr().err


def _dangerous_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        f = node.func
        kwargs = {k.arg: k.value for k in node.keywords}
        name = f.id if isinstance(f, ast.Name) else None
        attr = f.attr if isinstance(f, ast.Attribute) else None
        owner = f.value.id if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name) else ""
        if name in ("eval", "exec", "compile", "__import__"):
            found.append(f"{name}() at line {node.lineno}")
        if owner in ("pickle", "cPickle", "dill", "marshal", "shelve", "joblib") and attr in (
            "load",
            "loads",
            "open",
        ):
            found.append(f"{owner}.{attr}() at line {node.lineno}")
        if owner == "yaml" and attr in ("load", "unsafe_load", "full_load", "load_all"):
            found.append(f"yaml.{attr}() at line {node.lineno}")
        if owner == "torch" and attr == "load":
            wo = kwargs.get("weights_only")
            if not (isinstance(wo, ast.Constant) and wo.value is True):
                found.append(f"torch.load() without weights_only=True at line {node.lineno}")
        if attr == "load_state_dict_from_url":
            wo = kwargs.get("weights_only")
            if not (isinstance(wo, ast.Constant) and wo.value is True):
                found.append(f"load_state_dict_from_url without weights_only at {node.lineno}")
        if owner == "np" and attr == "load":
            ap = kwargs.get("allow_pickle")
            if ap is not None and not (isinstance(ap, ast.Constant) and ap.value is False):
                found.append(f"np.load(allow_pickle=...) at line {node.lineno}")
        if owner == "pd" and attr == "read_pickle":
            found.append(f"pd.read_pickle() at line {node.lineno}")
    return found


def test_package_has_no_eval_exec_or_unsafe_loads():
    files = sorted(PACKAGE.rglob("*.py"))
    assert len(files) > 30
    problems = {}
    for path in files:
        calls = _dangerous_calls(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        if calls:
            problems[str(path.relative_to(PACKAGE.parent))] = calls
    assert problems == {}


def test_dangerous_call_scanner_finds_planted_calls():
    planted = (
        "eval('1')\nexec('x=1')\nimport pickle\npickle.load(f)\nyaml.load(s)\n"
        "torch.load(p)\ntorch.load(p, weights_only=False)\nnp.load(p, allow_pickle=True)\n"
        "torch.load(p, weights_only=True)\nnp.load(p)\nyaml.safe_load(s)\n"
    )
    found = _dangerous_calls(ast.parse(planted))
    assert len(found) == 7, found
