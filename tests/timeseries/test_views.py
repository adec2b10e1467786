"""ViewMaker: crops + augmentation with both engines."""

from __future__ import annotations

import pytest
import torch

from swav_ts.timeseries.augment import AugmentConfig
from swav_ts.timeseries.crops import MultiCropConfig
from swav_ts.timeseries.views import ViewMaker

CROPS = MultiCropConfig(n_global=2, global_length=48, n_local=3, local_length=24)


@pytest.mark.parametrize("engine", ["torch", "tsaug"])
def test_views_shapes_dtype_and_seeded_repeat(engine):
    maker = ViewMaker(CROPS, AugmentConfig(), engine=engine)
    x = torch.randn(10, 6, 64)
    views = maker(x, torch.Generator().manual_seed(0))
    again = maker(x, torch.Generator().manual_seed(0))
    other = maker(x, torch.Generator().manual_seed(1))
    assert [tuple(v.shape) for v in views] == [(10, 6, 48)] * 2 + [(10, 6, 24)] * 3
    assert all(v.dtype == x.dtype and v.device == x.device for v in views)
    assert all(torch.equal(a, b) for a, b in zip(views, again))
    assert not all(torch.equal(a, b) for a, b in zip(views, other))


@pytest.mark.parametrize("engine", ["torch", "tsaug"])
def test_views_of_one_sample_differ(engine):
    """Even with the crop covering the whole context, each view gets its own augmentation."""
    crops = MultiCropConfig(n_global=2, global_length=64, n_local=2, local_length=64)
    augment = AugmentConfig.disabled(jitter={"p": 1.0}, scaling={"p": 1.0})
    maker = ViewMaker(crops, augment, engine=engine)
    x = torch.randn(5, 6, 64)
    views = maker(x, torch.Generator().manual_seed(3))
    for i in range(4):
        for j in range(i + 1, 4):
            assert not torch.allclose(views[i], views[j])
    torch.testing.assert_close(views[0], x, atol=0.6, rtol=0.5)  # close to the input


def test_no_augmentation_returns_the_crops():
    maker = ViewMaker(CROPS, AugmentConfig.disabled())
    x = torch.arange(64.0).expand(3, 6, 64).clone()
    views = maker(x, torch.Generator().manual_seed(0))
    for v in views:
        assert bool((v.diff(dim=2) == 1).all())


def test_errors():
    with pytest.raises(ValueError, match="engine must be one of"):
        ViewMaker(CROPS, AugmentConfig(), engine="numpy")
    maker = ViewMaker(CROPS, AugmentConfig())
    with pytest.raises(TypeError, match="floating-point"):
        maker(torch.zeros(2, 6, 64, dtype=torch.int64), torch.Generator())
    with pytest.raises(
        ValueError, match="global view length 48 is longer than the context length 30"
    ):
        maker(torch.randn(2, 6, 30), torch.Generator())
    six = AugmentConfig(rotation={"triplets": [[0, 1, 2], [3, 4, 5]]})
    with pytest.raises(ValueError, match="need 6 channels, input has 3"):
        ViewMaker(CROPS, six)(torch.randn(2, 3, 64), torch.Generator())
    named = AugmentConfig(rotation={"triplets": [["acc_x", "acc_y", "acc_z"]]})
    with pytest.raises(ValueError, match=r"names channel 'acc_x'.*channels are \['a', 'b', 'c'\]"):
        ViewMaker(CROPS, named, channel_names=["a", "b", "c"])


@pytest.mark.requires_cuda
@pytest.mark.parametrize("engine", ["torch", "tsaug"])
def test_cuda_views(engine):
    maker = ViewMaker(CROPS, AugmentConfig(), engine=engine)
    x = torch.randn(4, 6, 64, device="cuda")
    views = maker(x, torch.Generator().manual_seed(0))
    assert all(v.device.type == "cuda" and v.dtype == torch.float32 for v in views)


@pytest.mark.parametrize("engine", ["torch", "tsaug"])
def test_default_views_on_real_hapt_windows(engine, hapt_tiny):
    """Default settings on real 50 Hz acc+gyro windows: finite views, gravity norm kept."""
    x = torch.from_numpy(hapt_tiny["X_train"])
    names = ["acc_x", "acc_y", "acc_z", "gyro_x", "gyro_y", "gyro_z"]
    flat = x.transpose(0, 1).reshape(6, -1).double()
    stats = {"channel_names": names, "center": flat.mean(1).tolist(), "scale": flat.std(1).tolist()}
    crops = MultiCropConfig()  # 2 x 128 + 6 x 64 from 128-sample windows
    rotate_only = AugmentConfig.disabled(rotation={"p": 1.0, "max_angle_deg": 180.0})
    maker = ViewMaker(crops, rotate_only, engine=engine, **stats)
    assert maker.rotated == [("acc_x", "acc_y", "acc_z"), ("gyro_x", "gyro_y", "gyro_z")]
    views = maker(x, torch.Generator().manual_seed(0))
    acc_norm = x[:, 0:3].norm(dim=1)  # (B, T), about 1 g
    torch.testing.assert_close(views[0][:, 0:3].norm(dim=1), acc_norm, rtol=1e-5, atol=1e-5)
    assert not torch.allclose(views[0], x)
    full = ViewMaker(crops, AugmentConfig(), engine=engine, **stats)(
        x, torch.Generator().manual_seed(0)
    )
    assert [tuple(v.shape) for v in full] == [(60, 6, 128)] * 2 + [(60, 6, 64)] * 6
    assert all(bool(torch.isfinite(v).all()) for v in full)
    ratio = full[0].std() / x.std()
    assert 0.7 < float(ratio) < 1.3  # default augmentations keep the signal's scale
