"""Multi-window crops: lengths, positions inside the context, scale ranges, errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from swav_ts.timeseries.crops import MultiCropConfig, MultiCropper


def ramp_batch(batch: int, n_timepoints: int, n_channels: int = 2) -> torch.Tensor:
    """Every channel holds its time index (+ 1000 * channel) so views reveal their positions."""
    t = torch.arange(n_timepoints, dtype=torch.float64)
    offsets = 1000.0 * torch.arange(n_channels, dtype=torch.float64)[:, None]
    return (t + offsets).expand(batch, n_channels, n_timepoints).clone()


def test_native_rate_views_are_contiguous_windows_inside_context():
    cfg = MultiCropConfig(n_global=2, global_length=96, n_local=4, local_length=32)
    x = ramp_batch(300, 128)
    views = MultiCropper(cfg)(x, torch.Generator().manual_seed(0))
    assert [v.shape for v in views] == [(300, 2, 96)] * 2 + [(300, 2, 32)] * 4
    starts = []
    for v in views:
        assert v.dtype == x.dtype
        torch.testing.assert_close(v[:, 1] - v[:, 0], torch.full_like(v[:, 0], 1000.0))
        assert bool((v[:, 0].diff(dim=1) == 1).all())
        assert float(v[:, 0].min()) >= 0 and float(v[:, 0].max()) <= 127
        starts.append(v[:, 0, 0])
    starts = torch.stack(starts)  # (V, B)
    # positions drawn independently per sample and per view, covering all valid starts
    assert len(torch.unique(starts[0])) == 33  # 0..32
    assert len(torch.unique(starts[2:])) == 97  # 0..96 over the 4 local views
    assert float((starts[0] != starts[1]).float().mean()) > 0.9
    assert float(starts[0].float().std()) > 5


def test_resample_views_respect_scale_range():
    cfg = MultiCropConfig(
        n_global=2, global_length=64, n_local=3, local_length=16,
        global_scale=(0.5, 0.9), local_scale=(0.1, 0.3), resample=True,
    )  # fmt: skip
    n_t = 200
    views = MultiCropper(cfg)(ramp_batch(400, n_t), torch.Generator().manual_seed(1))
    for k, v in enumerate(views):
        lo, hi = cfg.global_scale if k < 2 else cfg.local_scale
        src = v[:, 0]  # source times (linear interpolation of a ramp is exact)
        assert float(src.min()) >= -1e-9 and float(src.max()) <= n_t - 1 + 1e-9
        steps = src.diff(dim=1)
        torch.testing.assert_close(steps, steps[:, :1].expand_as(steps))  # evenly spaced
        scale = (src[:, -1] - src[:, 0] + 1) / n_t
        assert float(scale.min()) >= lo - 1e-9 and float(scale.max()) <= hi + 1e-9
        assert float(scale.max() - scale.min()) > 0.8 * (hi - lo)  # range actually used


def test_context_equal_to_global_length_gives_full_window():
    cfg = MultiCropConfig(global_length=50, local_length=20)
    x = ramp_batch(8, 50)
    views = MultiCropper(cfg)(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(views[0], x)
    torch.testing.assert_close(views[1], x)


def test_seeded_repeat_and_float32():
    cropper = MultiCropper(MultiCropConfig(global_length=40, local_length=20))
    x = torch.randn(16, 6, 64)
    a = cropper(x, torch.Generator().manual_seed(4))
    b = cropper(x, torch.Generator().manual_seed(4))
    assert all(torch.equal(u, v) for u, v in zip(a, b))
    assert all(v.dtype == torch.float32 for v in a)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_global": 0}, r"MultiCropConfig\.n_global must be >= 1"),
        ({"n_local": -1}, r"MultiCropConfig\.n_local must be >= 0"),
        ({"global_length": 1}, r"MultiCropConfig\.global_length must be >= 2"),
        ({"local_length": 0}, r"MultiCropConfig\.local_length must be >= 2"),
        ({"global_scale": (0.0, 1.0)}, r"MultiCropConfig\.global_scale"),
        ({"local_scale": (0.5, 0.2)}, r"MultiCropConfig\.local_scale"),
        ({"local_scale": (0.5, 1.2)}, r"MultiCropConfig\.local_scale"),
        ({"local_scale": (0.5,)}, r"MultiCropConfig\.local_scale must be a \(lo, hi\) pair"),
    ],
)
def test_config_value_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        MultiCropConfig(**kwargs)


def test_config_type_errors():
    with pytest.raises(TypeError, match=r"MultiCropConfig\.global_length must be an int"):
        MultiCropConfig(global_length=64.0)
    with pytest.raises(TypeError, match=r"MultiCropConfig\.resample must be a bool"):
        MultiCropConfig(resample="yes")
    with pytest.raises(TypeError, match="MultiCropConfig"):
        MultiCropper({"n_global": 2})


def test_call_errors():
    gen = torch.Generator()
    cropper = MultiCropper(MultiCropConfig(global_length=128, local_length=64))
    with pytest.raises(
        ValueError, match="global view length 128 is longer than the context length 100"
    ):
        cropper(torch.randn(2, 6, 100), gen)
    short_local = MultiCropper(MultiCropConfig(global_length=32, local_length=48))
    with pytest.raises(
        ValueError, match="local view length 48 is longer than the context length 40"
    ):
        short_local(torch.randn(2, 6, 40), gen)
    tiny = MultiCropper(
        MultiCropConfig(global_length=8, local_length=4, local_scale=(0.05, 0.2), resample=True)
    )
    with pytest.raises(ValueError, match=r"local_scale lower bound 0\.05 .* 20 spans fewer than 2"):
        tiny(torch.randn(2, 6, 20), gen)
    with pytest.raises(ValueError, match=r"3-D.*shape \(6, 200\)"):
        cropper(torch.randn(6, 200), gen)
    with pytest.raises(TypeError, match=r"torch\.Tensor"):
        cropper(np.zeros((2, 6, 200)), gen)
    with pytest.raises(TypeError, match=r"torch\.Generator"):
        cropper(torch.randn(2, 6, 200), 0)


@pytest.mark.requires_cuda
def test_cuda_views():
    cropper = MultiCropper(MultiCropConfig(global_length=64, local_length=32, resample=True))
    x = torch.randn(8, 6, 128, device="cuda")
    views = cropper(x, torch.Generator().manual_seed(0))
    cpu_views = cropper(x.cpu(), torch.Generator().manual_seed(0))
    for v, w in zip(views, cpu_views):
        assert v.device.type == "cuda"
        torch.testing.assert_close(v.cpu(), w)
