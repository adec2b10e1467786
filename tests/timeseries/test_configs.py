"""configs/timeseries/*.yaml load strictly; hapt.yaml mirrors every TimeSeriesConfig key."""

from pathlib import Path

import pytest

from swav_ts.core.config import ConfigError, load_config, read_yaml, to_dict
from swav_ts.timeseries.config import TimeSeriesConfig, hapt_recipe

CONFIGS = Path(__file__).resolve().parents[2] / "configs" / "timeseries"


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("*.yaml")), ids=lambda p: p.name)
def test_config_loads(path):
    cfg = load_config(TimeSeriesConfig, path)
    assert cfg.modality == "timeseries"


def _keys(d, prefix=""):
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict) and k != "kwargs":
            out |= _keys(v, prefix + k + ".")
    return out


def test_hapt_yaml_mirrors_dataclass_and_the_packaged_recipe():
    yaml_keys = _keys(read_yaml(CONFIGS / "hapt.yaml"))
    dataclass_keys = _keys(to_dict(TimeSeriesConfig()))
    assert yaml_keys == dataclass_keys
    # the demo's packaged recipe (wheel installs have no configs/ folder) is the same
    assert to_dict(load_config(TimeSeriesConfig, CONFIGS / "hapt.yaml")) == to_dict(hapt_recipe())


def test_cross_field_validation():
    with pytest.raises(
        ConfigError, match="crops.local_length=300 is longer than data.context_length=256"
    ):
        load_config(TimeSeriesConfig, None, ["crops.local_length=300"])
    with pytest.raises(ConfigError, match=r"crops_for_assign=\[0, 5\] names crop 5"):
        load_config(TimeSeriesConfig, None, ["swav.crops_for_assign=[0, 5]", "crops.n_local=2"])
    with pytest.raises(ConfigError, match="augment.rotation"):
        load_config(TimeSeriesConfig, None, ["augment.rotation.p=1.5"])
