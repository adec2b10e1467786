"""ResNet backbones and the SwAV image model: parameter counts and shapes vs the original."""

from __future__ import annotations

import pytest
import torch
import torchvision

from swav_ts.core.config import SwAVConfig
from swav_ts.image.config import ImageConfig
from swav_ts.image.models import ModelConfig, ResNetBackbone, build_image_model


def bottleneck_resnet50_params(w: int = 1) -> int:
    """Parameters of a ResNet-50 trunk with every width times ``w``, counted by hand.

    conv k x k from a to b: k*k*a*b weights (no bias); BatchNorm(c): 2c parameters.
    """
    conv = lambda k, a, b: k * k * a * b  # noqa: E731
    bn = lambda c: 2 * c  # noqa: E731
    total = conv(7, 3, 64 * w) + bn(64 * w)
    inp = 64 * w
    for planes, blocks in [(64 * w, 3), (128 * w, 4), (256 * w, 6), (512 * w, 3)]:
        for b in range(blocks):
            total += conv(1, inp, planes) + bn(planes)
            total += conv(3, planes, planes) + bn(planes)
            total += conv(1, planes, 4 * planes) + bn(4 * planes)
            if b == 0:  # projection shortcut
                total += conv(1, inp, 4 * planes) + bn(4 * planes)
            inp = 4 * planes
    return total


def n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def test_resnet50_backbone_matches_torchvision_and_hand_count():
    ours = ResNetBackbone("resnet50")
    tv = torchvision.models.resnet50()
    expected = bottleneck_resnet50_params(1)
    assert expected == 23_508_032
    assert n_params(ours) == expected == n_params(tv) - n_params(tv.fc)
    assert set(tv.state_dict()) - set(ours.state_dict()) == {"fc.weight", "fc.bias"}
    assert set(ours.state_dict()) <= set(tv.state_dict())
    assert ours.num_features == 2048


@pytest.mark.parametrize(
    "arch, w, paper_m", [("resnet50w2", 2, 94), ("resnet50w4", 4, 375), ("resnet50w5", 5, 586)]
)
def test_wide_variants_match_paper_sizes(arch, w, paper_m):
    with torch.device("meta"):  # no memory for 586M parameters
        net = ResNetBackbone(arch)
    assert n_params(net) == bottleneck_resnet50_params(w)
    assert round(n_params(net) / 1e6) == paper_m
    assert net.num_features == 2048 * w


def test_swav_resnet50_model_counts_and_shapes():
    torch.manual_seed(0)
    model = build_image_model(ImageConfig())
    backbone = bottleneck_resnet50_params(1)
    head = (2048 * 2048 + 2048) + 2 * 2048 + (2048 * 128 + 128)  # Linear, BN, Linear
    prototypes = 3000 * 128
    assert n_params(model.backbone) == backbone
    assert n_params(model.projection_head) == head
    assert n_params(model.prototypes) == prototypes
    assert n_params(model) == backbone + head + prototypes == 28_354_752
    model.eval()
    crops = [torch.randn(2, 3, 224, 224)] * 2 + [torch.randn(2, 3, 96, 96)] * 6
    with torch.no_grad():
        z, scores = model(crops)
    assert z.shape == (16, 128)
    assert torch.allclose(z.norm(dim=1), torch.ones(16), atol=1e-5)
    assert len(scores) == 1 and scores[0].shape == (16, 3000)
    assert model.embed(crops[0]).shape == (2, 2048)


def test_cifar_stem_and_channels_last():
    cfg = ImageConfig(
        swav=SwAVConfig(n_prototypes=10, feat_dim=8, hidden_mlp=16),
        model=ModelConfig(
            arch="resnet18", cifar_stem=True, channels_last=True, width_multiplier=0.25
        ),
    )
    model = build_image_model(cfg)
    bb = model.backbone
    assert bb.conv1.kernel_size == (3, 3) and bb.conv1.stride == (1, 1)
    assert isinstance(bb.maxpool, torch.nn.Identity)
    assert bb.conv1.weight.is_contiguous(memory_format=torch.channels_last)
    maps = bb.forward_maps(torch.randn(2, 3, 32, 32))
    assert maps.shape == (2, 128, 4, 4)  # 32 px -> stride 8 overall without the stem downsampling
    z, scores = model(
        [torch.randn(2, 3, 32, 32), torch.randn(2, 3, 32, 32), torch.randn(2, 3, 16, 16)]
    )
    assert z.shape == (6, 8) and scores[0].shape == (6, 10)


def test_bad_input_and_arch_errors():
    with pytest.raises(ValueError, match="unknown arch"):
        ResNetBackbone("resnet51")
    bb = ResNetBackbone("resnet18", cifar_stem=True, width_multiplier=0.125)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        bb(torch.randn(2, 1, 32, 32))
