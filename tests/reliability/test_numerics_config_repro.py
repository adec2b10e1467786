"""Numerical robustness (low precision, extreme logits), start-up validation of the config, and
CPU reproducibility."""

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swav_ts import TimeSeriesSwAV
from swav_ts.cli import main as cli_main
from swav_ts.core.config import ConfigError, SwAVConfig, from_dict, load_config
from swav_ts.core.loss import swav_loss
from swav_ts.core.sinkhorn import sinkhorn
from swav_ts.core.trainer import check_assignment_pool, train
from swav_ts.image.config import ImageConfig
from swav_ts.timeseries.config import TimeSeriesConfig
from tests.core.helpers import SignalDataset, noisy_views, tiny_config, tiny_model
from tests.reliability.helpers import TINY, random_walk

CONFIGS = __import__("pathlib").Path(__file__).resolve().parents[2] / "configs"
PROPS = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)


# ------------------------------------------------------------------ numerics
@PROPS
@given(
    b=st.integers(2, 64),
    k=st.integers(2, 300),
    magnitude=st.sampled_from([1.0, 30.0, 1e2, 1e3, 1e4]),
    dtype=st.sampled_from([torch.float32, torch.bfloat16, torch.float16]),
    epsilon=st.sampled_from([0.01, 0.05, 0.5]),
    seed=st.integers(0, 2**31),
)
def test_sinkhorn_finite_rows_sum_to_one_any_precision(b, k, magnitude, dtype, epsilon, seed):
    g = torch.Generator().manual_seed(seed)
    scores = ((torch.rand(b, k, generator=g) * 2 - 1) * magnitude).to(dtype)
    q = sinkhorn(scores, epsilon=epsilon, n_iters=3, distributed=False)
    assert q.shape == (b, k) and torch.isfinite(q).all()
    # computed in float32 whatever the input dtype, each row normalised exactly: its sum
    # (taken in float64) is 1 up to a few float32 roundings (measured: at most 4.3 * 2**-24
    # over 3,000 random draws of these parameters), never to bf16/fp16 precision
    torch.testing.assert_close(q.double().sum(1), torch.ones(b).double(), rtol=0, atol=16 * 2**-24)
    assert (q >= 0).all()


@PROPS
@given(
    b=st.integers(2, 16),
    k=st.integers(2, 64),
    magnitude=st.sampled_from([1.0, 1e2, 1e4]),
    mode=st.sampled_from(["bf16_autocast", "fp16_scores", "bf16_scores"]),
    seed=st.integers(0, 2**31),
)
def test_loss_finite_with_gradients_in_low_precision(b, k, magnitude, mode, seed):
    g = torch.Generator().manual_seed(seed)
    n_crops = 4
    raw = (torch.rand(n_crops * b, k, generator=g) * 2 - 1) * magnitude
    if mode == "bf16_autocast":
        scores = raw.clone().requires_grad_(True)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            loss = swav_loss(scores @ torch.eye(k), n_crops, distributed=False)
    else:
        dtype = torch.float16 if mode == "fp16_scores" else torch.bfloat16
        scores = raw.to(dtype).requires_grad_(True)
        loss = swav_loss(scores, n_crops, distributed=False)
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.isfinite(scores.grad.float()).all()


# ------------------------------------------------------------------ config validation
@pytest.mark.parametrize(
    "data,message",
    [
        ({"crops": {"global_length": 300}}, r"crops.global_length=300 is longer than data"),
        ({"crops": {"local_length": 300}}, r"crops.local_length=300 is longer than data"),
        ({"crops": {"n_global": 1, "n_local": 0}}, r"needs at least 2 views"),
        ({"swav": {"crops_for_assign": [0, 9]}}, r"swav.crops_for_assign=\[0, 9\] names crop 9"),
        ({"swav": {"epsilon": -0.01}}, r"swav.epsilon: must be > 0"),
        ({"swav": {"temperature": 0.0}}, r"swav.temperature: must be > 0"),
        ({"data": {"context_length": 1}}, r"data.context_length: must be >= 2"),
        ({"data": {"stride": 0}}, r"data.stride: must be >= 1"),
        ({"data": {"sorce": "x.npy"}}, r"unknown config key 'data.sorce'; did you mean"),
        ({"augment": {"jitter": {"sigma": -1.0}}}, r"augment"),
        ({"augment": {"jiter": {}}}, r"jiter"),
        ({"encoder": {"name": 3}}, r"encoder.name: expected a string"),
        ({"train": {"batch_size": "64"}}, r"train.batch_size: expected an integer"),
        ({"train": {"dist_timeout_s": 0}}, r"train.dist_timeout_s: must be > 0"),
        ({"modality": "image"}, r"modality: 'image' is not one of"),
    ],
)
def test_timeseries_config_rejects_with_key_named(data, message):
    with pytest.raises(ConfigError, match=message):
        from_dict(TimeSeriesConfig, data)


def test_shipped_configs_load_and_fit_their_assignment_pool():
    for path in sorted((CONFIGS / "timeseries").glob("*.yaml")):
        cfg = load_config(TimeSeriesConfig, path)
        check_assignment_pool(cfg.swav, cfg.train.batch_size, 1)
    # the original ImageNet recipes: K=3000 with 64 per GPU
    bs256 = load_config(ImageConfig, CONFIGS / "image" / "swav_200ep_bs256.yaml")
    assert (bs256.swav.n_prototypes, bs256.swav.queue_length) == (3000, 3840)
    check_assignment_pool(bs256.swav, bs256.train.batch_size, 4)  # 64 x 4 + 3840 = 4096
    check_assignment_pool(bs256.swav, bs256.train.batch_size, 1)  # 64 + 3840 = 3904
    bs4096 = load_config(ImageConfig, CONFIGS / "image" / "swav_800ep_bs4096.yaml")
    check_assignment_pool(bs4096.swav, bs4096.train.batch_size, 64)  # 64 x 64 = 4096
    with pytest.raises(ValueError, match=r"swav.n_prototypes=3000 is more than the 64 samples"):
        check_assignment_pool(bs4096.swav, bs4096.train.batch_size, 1)  # 1 GPU: 64 < 3000


def test_more_prototypes_than_assignment_pool_fails_at_start(tmp_path):
    cfg = tiny_config(batch_size=8)
    cfg.swav = SwAVConfig(n_prototypes=[5, 9], feat_dim=8, hidden_mlp=32, queue_length=0)
    with pytest.raises(
        ValueError,
        match=r"swav.n_prototypes=\[5, 9\] is more than the 8 samples .*train.batch_size=8 x 1 "
        r"process\(es\) \+ swav.queue_length=0",
    ):
        train(tiny_model(n_prototypes=[5, 9]), SignalDataset(), cfg, tmp_path, noisy_views)
    assert not (tmp_path / "checkpoint.pt").exists() and not (tmp_path / "metrics.jsonl").exists()
    # a queue makes room: 8 + 16 >= 9
    cfg.swav.queue_length = 16
    check_assignment_pool(cfg.swav, 8, 1)


def test_too_few_cases_for_prototypes_is_fitted_and_said_the_same_in_api_and_cli(tmp_path, caplog):
    X = random_walk(6, 2, 30)
    with caplog.at_level("WARNING", logger="swav_ts.timeseries.adapt"):
        est = TimeSeriesSwAV(random_state=0, **{**TINY, "n_prototypes": 10}).fit(X)
    assert est.config_.swav.n_prototypes == 6
    assert "swav.n_prototypes: 10 -> 6 (at most the 6 samples assigned at once)" in caplog.text
    assert caplog.text.count("settings fitted to the data") == 1  # logged once
    np.save(tmp_path / "X.npy", X)
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        "encoder: {name: cnn3, kwargs: {widths: [4, 8, 8]}}\n"
        "swav: {n_prototypes: 10, feat_dim: 4, hidden_mlp: 8}\n"
        "train: {epochs: 1, batch_size: 8, device: cpu}\n"
        "crops: {global_length: 24, local_length: 12, n_local: 1}\n"
        f"data: {{source: {tmp_path / 'X.npy'}}}\n"
    )
    caplog.clear()
    with caplog.at_level("WARNING", logger="swav_ts.timeseries.adapt"):
        assert cli_main(["pretrain", "--config", str(cfg), "--out", str(tmp_path / "run")]) == 0
    assert "swav.n_prototypes: 10 -> 6 (at most the 6 samples assigned at once)" in caplog.text


# ------------------------------------------------------------------ reproducibility
def test_same_seed_same_embeddings_cpu():
    X = random_walk(24, 6, 32, seed=1)
    a = TimeSeriesSwAV(random_state=3, **{**TINY, "epochs": 2}).fit(X)
    b = TimeSeriesSwAV(random_state=3, **{**TINY, "epochs": 2}).fit(X)
    c = TimeSeriesSwAV(random_state=4, **{**TINY, "epochs": 2}).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))
    assert not np.array_equal(a.transform(X), c.transform(X))


def test_same_seed_same_checkpoint_bytes_of_state(tmp_path):
    runs = []
    for name in ("a", "b"):
        model = tiny_model()
        train(model, SignalDataset(), tiny_config(epochs=2), tmp_path / name, noisy_views)
        runs.append(model.state_dict())
    for key in runs[0]:
        assert torch.equal(runs[0][key], runs[1][key]), key
