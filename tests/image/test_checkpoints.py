"""Original-format SwAV checkpoints: strict loading, key errors, unsafe files, export."""

from __future__ import annotations

import pickle

import pytest
import torch
import torchvision
from torch import nn

from swav_ts.core.checkpoint import CheckpointError
from swav_ts.image.checkpoints import (
    CheckpointKeyError,
    export_torchvision_backbone,
    infer_model_config,
    load_backbone,
    load_original_checkpoint,
    model_from_state_dict,
    ours_to_original,
    released_url,
)
from swav_ts.image.config import ImageConfig
from swav_ts.image.models import build_image_model


def original_format_state_dict(seed: int = 0) -> tuple[dict, nn.Module]:
    """A checkpoint laid out like facebookresearch/swav's, built from torchvision parts."""
    torch.manual_seed(seed)
    tv = torchvision.models.resnet50()
    tv.fc = nn.Identity()
    # give BatchNorm non-trivial running statistics so that eval-mode features depend on them
    for m in tv.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    head = nn.Sequential(
        nn.Linear(2048, 2048), nn.BatchNorm1d(2048), nn.ReLU(inplace=True), nn.Linear(2048, 128)
    )
    prototypes = nn.Linear(128, 3000, bias=False)
    sd = {f"module.{k}": v for k, v in tv.state_dict().items()}
    sd.update({f"module.projection_head.{k}": v for k, v in head.state_dict().items()})
    sd["module.prototypes.weight"] = prototypes.weight.detach().clone()
    return sd, tv.eval()


@pytest.fixture(scope="module")
def original_ckpt(tmp_path_factory):
    sd, tv = original_format_state_dict()
    path = tmp_path_factory.mktemp("ckpt") / "swav_800ep_pretrain.pth.tar"
    torch.save(sd, path)
    return path, sd, tv


def test_load_original_reproduces_torchvision_features(original_ckpt):
    path, sd, tv = original_ckpt
    model = build_image_model(ImageConfig())
    load_original_checkpoint(model, path)
    model.eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        ours, ref = model.backbone(x), tv(x)
    assert ours.shape == (2, 2048)
    torch.testing.assert_close(ours, ref, rtol=1e-5, atol=1e-5)
    w = model.prototypes.heads[0].weight
    assert torch.equal(w, sd["module.prototypes.weight"])
    assert torch.equal(model.projection_head.mlp[3].bias, sd["module.projection_head.3.bias"])


def test_nested_state_dict_and_round_trip(original_ckpt):
    _, sd, _ = original_ckpt
    model = build_image_model(ImageConfig())
    load_original_checkpoint(model, {"state_dict": sd, "epoch": 800})
    back = ours_to_original(model)
    assert set(back) == set(sd)
    assert all(torch.equal(back[k], sd[k]) for k in sd)


def test_missing_and_unexpected_keys_are_listed(original_ckpt):
    _, sd, _ = original_ckpt
    bad = dict(sd)
    del bad["module.layer4.2.bn3.weight"]
    bad["module.fc.weight"] = torch.zeros(1000, 2048)
    model = build_image_model(ImageConfig())
    with pytest.raises(CheckpointKeyError) as err:
        load_original_checkpoint(model, bad)
    msg = str(err.value)
    assert "1 missing key(s): backbone.layer4.2.bn3.weight" in msg
    assert "1 unexpected key(s): fc.weight" in msg


def test_shape_mismatch_is_reported(original_ckpt):
    _, sd, _ = original_ckpt
    bad = dict(sd)
    bad["module.prototypes.weight"] = torch.zeros(100, 128)
    with pytest.raises(
        CheckpointKeyError, match=r"prototypes.heads.0.weight: checkpoint \(100, 128\)"
    ):
        load_original_checkpoint(build_image_model(ImageConfig()), bad)


class _Payload:
    def __reduce__(self):
        return (print, ("this would run",))


def test_pickle_payload_is_refused(tmp_path):
    path = tmp_path / "evil.pth.tar"
    with open(path, "wb") as f:
        torch.save({"state_dict": _Payload()}, f, pickle_module=pickle)
    with pytest.raises(CheckpointError, match="refusing to load"):
        load_original_checkpoint(build_image_model(ImageConfig()), path)


def test_infer_and_build_from_state_dict(original_ckpt):
    _, sd, tv = original_ckpt
    model_cfg, head = infer_model_config(sd)
    assert model_cfg.arch == "resnet50" and not model_cfg.cifar_stem
    assert model_cfg.width_multiplier == 1.0
    assert head == {"hidden_mlp": 2048, "feat_dim": 128, "n_prototypes": 3000}
    model = model_from_state_dict(sd).eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model.backbone(x), tv(x), rtol=1e-5, atol=1e-5)


def test_export_is_a_plain_torchvision_state_dict(original_ckpt, tmp_path):
    path, _, tv = original_ckpt
    model = build_image_model(ImageConfig())
    load_original_checkpoint(model, path)
    out = tmp_path / "resnet50_swav.pth"
    export_torchvision_backbone(model, out)
    fresh = torchvision.models.resnet50()
    fresh.fc = nn.Identity()
    fresh.load_state_dict(torch.load(out, weights_only=True), strict=True)
    fresh.eval()
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(fresh(x), tv(x))
    # and load_backbone accepts the exported file, the original file and the plain dict
    for src in (out, path):
        bb = load_backbone(src).eval()
        with torch.no_grad():
            torch.testing.assert_close(bb(x), tv(x), rtol=1e-5, atol=1e-5)


def test_released_urls():
    assert released_url("swav_800ep") == (
        "https://dl.fbaipublicfiles.com/deepcluster/swav_800ep_pretrain.pth.tar"
    )
    with pytest.raises(ValueError, match="unknown released checkpoint"):
        released_url("swav_9000ep")
