"""Every config key is read by something: a key nothing reads is a setting that silently does
nothing (``data.normalize`` and ``train.drop_last`` once were).

The test records, on every config dataclass, which fields are read by code other than the
config machinery itself (validation in ``__post_init__``, ``to_dict``/``from_dict``,
``dataclasses.replace``, equality) while real runs go through: ``swav-ts pretrain`` on the
time-series and image debug configs, the estimator on arrays, and the three optimizers. Then
it walks the dataclasses and fails for any field that was never read.
"""

from __future__ import annotations

import dataclasses
import sys
import typing
from pathlib import Path

import numpy as np
import pytest
import yaml

from swav_ts.cli import main
from swav_ts.core.config import OptimConfig, load_config
from swav_ts.image.config import ImageConfig
from swav_ts.timeseries.config import TimeSeriesConfig

ROOT = Path(__file__).resolve().parents[1]
MACHINERY = {
    "__post_init__",
    "plain",
    "to_dict",
    "from_dict",
    "_convert",
    "replace",
    "__eq__",
    "__repr__",
    "_replace",
    "fields",
    "asdict",
    "_asdict_inner",
    "deepcopy",
    "_deepcopy_dict",
    "_reconstruct",
    "__deepcopy__",
}


def config_classes(root, seen=None):
    seen = set() if seen is None else seen
    if root in seen:
        return seen
    seen.add(root)
    for tp in typing.get_type_hints(root).values():
        for inner in (tp, *_items(tp)):  # a section, or the items of a list of sections
            if dataclasses.is_dataclass(inner):
                config_classes(inner, seen)
    return seen


def _items(tp):
    """Dataclass item types of ``list[X] | None`` annotations."""
    for arg in typing.get_args(tp):
        if typing.get_origin(arg) is list:
            yield from (t for t in typing.get_args(arg) if dataclasses.is_dataclass(t))


def leaf_keys(cls, prefix=""):
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        key = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(hints[f.name]):
            yield from leaf_keys(hints[f.name], key + ".")
        else:
            yield key, cls, f.name
            for item in _items(hints[f.name]):  # data.sources[].source, ...
                yield from leaf_keys(item, key + "[].")


class ReadRecorder:
    """Patches ``__getattribute__`` of config classes to record reads from outside the config
    machinery."""

    def __init__(self, classes):
        self.classes = classes
        self.read: set[tuple[type, str]] = set()
        self._saved = {}

    def __enter__(self):
        for cls in self.classes:
            names = {f.name for f in dataclasses.fields(cls)}
            original = cls.__getattribute__
            self._saved[cls] = original

            def getter(obj, name, _cls=cls, _names=names, _orig=original, _rec=self):
                if name in _names:
                    caller = sys._getframe(1).f_code
                    if caller.co_name not in MACHINERY and not caller.co_filename.endswith(
                        ("core/config.py", "dataclasses.py", "copy.py")
                    ):
                        _rec.read.add((_cls, name))
                return _orig(obj, name)

            cls.__getattribute__ = getter
        return self

    def __exit__(self, *exc):
        for cls, original in self._saved.items():
            cls.__getattribute__ = original


@pytest.fixture(scope="module")
def reads(tmp_path_factory):
    from swav_ts import TimeSeriesSwAV
    from swav_ts.core.optim import build_optimizer
    from swav_ts.timeseries.adapt import adapt_to_data
    from swav_ts.timeseries.model import build_model

    classes = config_classes(TimeSeriesConfig) | config_classes(ImageConfig) | {OptimConfig}
    tmp = tmp_path_factory.mktemp("keys")
    with ReadRecorder(classes) as rec:
        ts_debug = ROOT / "configs" / "timeseries" / "debug.yaml"
        assert main(["pretrain", "--config", str(ts_debug), "--out", str(tmp / "ts")]) == 0
        mixed = yaml.safe_load(ts_debug.read_text())  # several sources, every key given once
        del mixed["data"]["source"]
        mixed["data"]["weighting"] = "sqrt"
        mixed["data"]["sources"] = [
            {
                "name": "a",
                "source": "hapt",
                "split": "train",
                "time_col": "t",
                "time_unit": "s",
                "rate_hz": 50,
                "channels": ["acc_x", "acc_y", "acc_z"],
                "units": {"acc": "g"},
            },
            {"source": "hapt"},
        ]
        (tmp / "mixed.yaml").write_text(yaml.safe_dump(mixed))
        assert (
            main(["pretrain", "--config", str(tmp / "mixed.yaml"), "--out", str(tmp / "mix")]) == 0
        )
        image_debug = ROOT / "configs" / "image" / "debug.yaml"
        root = ROOT / "tests" / "fixtures" / "cifar10" / "train.zip"
        assert (
            main(
                [
                    "pretrain",
                    "--config",
                    str(image_debug),
                    "--out",
                    str(tmp / "img"),
                    "--set",
                    f"data.root={root}",
                    "--set",
                    "crops.blur_prob=0.5",
                ]
            )
            == 0
        )
        X = np.random.default_rng(0).standard_normal((40, 3, 64)).astype(np.float32)
        TimeSeriesSwAV(
            epochs=2,
            batch_size=16,
            queue_length=32,
            encoder="cnn3",
            encoder_kwargs={"widths": [4, 8]},
            augment={"permutation": {"p": 0.5}},
            config={"swav": {"queue_start_epoch": 1, "dense_prototypes": 4}},
            device="cpu",
            random_state=0,
        ).fit(X)
        cfg = load_config(TimeSeriesConfig, ts_debug)
        adapt_to_data(TimeSeriesConfig(), 40, 100)  # the small-data rules, on defaults
        model = build_model(cfg, 6)
        for name in ("lars", "sgd", "adamw"):
            for exclude in (False, True):
                build_optimizer(model, OptimConfig(name=name, lars_exclude_bias_bn=exclude))
    return rec.read


KEYS = sorted(
    {
        (key, cls, name)
        for root in (TimeSeriesConfig, ImageConfig)
        for key, cls, name in leaf_keys(root)
    },
    key=lambda t: t[0],
)
# Keys read only where the test machine cannot go (CUDA, several processes, downloads), or from
# the YAML mapping before a dataclass exists: the reader (checked to mention the key) and why.
ELSEWHERE = {
    "train.sync_bn": ("core/trainer.py", "tcfg.sync_bn", "several CUDA processes"),
    "train.dist_timeout_s": ("core/trainer.py", "tcfg.dist_timeout_s", "torchrun"),
    "data.split": ("image/data.py", "cfg.split", "torchvision data sets (download)"),
    "data.download": ("image/data.py", "cfg.download", "torchvision data sets (download)"),
    "modality": ("cli.py", 'get("modality"', "read from the YAML mapping to pick the backend"),
}


@pytest.mark.parametrize("key,cls,name", KEYS, ids=[f"{c.__name__}.{n}" for _, c, n in KEYS])
def test_every_config_key_is_read(reads, key, cls, name):
    if key in ELSEWHERE and (cls, name) not in reads:
        module, text, _why = ELSEWHERE[key]
        assert text in (ROOT / "swav_ts" / module).read_text(), (key, module)
        return
    assert (cls, name) in reads, f"config key {key!r} ({cls.__name__}.{name}) is read by no code"


def test_the_recorder_sees_reads_and_ignores_validation():
    @dataclasses.dataclass
    class Probe:
        used: int = 1
        unused: int = 2

        def __post_init__(self):
            assert self.unused >= 0  # validation is not a use

    with ReadRecorder({Probe}) as rec:
        p = Probe()
        _ = p.used
    assert rec.read == {(Probe, "used")}
