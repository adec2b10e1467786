import pytest
import yaml

from swav_ts.core.config import (
    ConfigError,
    OptimConfig,
    RunConfig,
    SwAVConfig,
    TrainConfig,
    apply_overrides,
    from_dict,
    load_config,
    save_config,
    to_dict,
)


def test_defaults_round_trip(tmp_path):
    cfg = RunConfig()
    save_config(cfg, tmp_path / "c.yaml")
    again = load_config(RunConfig, tmp_path / "c.yaml")
    assert again == cfg
    assert to_dict(again)["swav"]["epsilon"] == 0.05


def test_unknown_key_names_closest(tmp_path):
    (tmp_path / "c.yaml").write_text("swav:\n  epsilom: 0.03\n")
    with pytest.raises(
        ConfigError,
        match=r"unknown config key 'swav.epsilom'; did you mean "
        r"'swav.epsilon'\?.*in .*c.yaml",
    ):
        load_config(RunConfig, tmp_path / "c.yaml")
    with pytest.raises(ConfigError, match="unknown config key 'optimizer'; did you mean 'optim'"):
        from_dict(RunConfig, {"optimizer": {}})


@pytest.mark.parametrize(
    "data,message",
    [
        ({"swav": {"epsilon": 0}}, r"swav.epsilon: must be > 0, got 0"),
        ({"swav": {"temperature": -0.1}}, r"swav.temperature: must be > 0"),
        ({"swav": {"sinkhorn_iters": 0}}, r"swav.sinkhorn_iters: must be >= 1"),
        ({"swav": {"n_prototypes": "many"}}, r"swav.n_prototypes: 'many' matches none"),
        ({"train": {"epochs": 1.5}}, r"train.epochs: expected an integer, got 1.5"),
        ({"train": {"precision": "bf17"}}, r"train.precision: 'bf17' is not one of .*bf16"),
        ({"optim": {"name": "adam"}}, r"optim.name: 'adam' is not one of"),
        ({"train": {"progress": "yes"}}, r"train.progress: expected true/false"),
        ({"swav": {"crops_for_assign": [0, 0]}}, r"swav.crops_for_assign: must be distinct"),
        ({"train": {"device": "tpu"}}, r"train.device: must be auto, cpu"),
        ({"swav": 3}, r"swav: expected a mapping"),
    ],
)
def test_invalid_values_name_the_key(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(RunConfig, data)


def test_overrides(tmp_path):
    (tmp_path / "c.yaml").write_text(yaml.safe_dump({"optim": {"base_lr": 1.0}}))
    cfg = load_config(
        RunConfig,
        tmp_path / "c.yaml",
        ["optim.base_lr=0.3", "swav.n_prototypes=[10, 20]", "train.progress=false"],
    )
    assert cfg.optim.base_lr == 0.3 and cfg.swav.n_prototypes == [10, 20]
    assert cfg.train.progress is False
    with pytest.raises(ConfigError, match="must look like section.key=value"):
        apply_overrides({}, ["optim.base_lr"])
    with pytest.raises(ConfigError, match="unknown config key 'optim.lr'; did you mean"):
        load_config(RunConfig, None, ["optim.lr=0.3"])


def test_int_accepted_for_float_and_yaml_errors(tmp_path):
    assert from_dict(OptimConfig, {"base_lr": 1}).base_lr == 1.0
    assert from_dict(SwAVConfig, {"n_prototypes": [5, 6]}).n_prototypes == [5, 6]
    (tmp_path / "bad.yaml").write_text("swav: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(RunConfig, tmp_path / "bad.yaml")
    (tmp_path / "list.yaml").write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        load_config(RunConfig, tmp_path / "list.yaml")
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(RunConfig, tmp_path / "nope.yaml")


def test_yaml_is_safe_loaded(tmp_path):
    (tmp_path / "evil.yaml").write_text("swav: !!python/object/apply:os.system ['touch x']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(RunConfig, tmp_path / "evil.yaml")


def test_partial_sections_keep_modality_defaults(tmp_path):
    from swav_ts.timeseries.config import TimeSeriesConfig

    default = TimeSeriesConfig()
    cfg = load_config(TimeSeriesConfig, None, ["train.epochs=3", "swav.epsilon=0.03"])
    assert cfg.train.epochs == 3 and cfg.swav.epsilon == 0.03
    # the other keys keep TimeSeriesConfig's values, not the core sections' defaults
    assert cfg.train.progress == default.train.progress != TrainConfig().progress
    assert cfg.swav.n_prototypes == default.swav.n_prototypes != SwAVConfig().n_prototypes
    assert cfg.swav.hidden_mlp == default.swav.hidden_mlp
    (tmp_path / "p.yaml").write_text("augment:\n  jitter:\n    sigma: 0.2\n")
    cfg = load_config(TimeSeriesConfig, tmp_path / "p.yaml")
    assert cfg.augment.jitter.sigma == 0.2
    assert cfg.augment.jitter.p == default.augment.jitter.p
    assert cfg.augment.rotation == default.augment.rotation
