"""Checkpoints in the original SwAV format: load, convert, export, download.

The original (facebookresearch/swav) saves the DistributedDataParallel state dict, so every key
carries a ``module.`` prefix: backbone keys as in torchvision (``module.conv1.weight``,
``module.layer1.0.bn1.running_mean`` ...), ``module.projection_head.{0,1,3}.*`` (Linear, BN,
Linear; a single Linear is ``module.projection_head.*``), and ``module.prototypes.weight``
(``module.prototypes.prototypes{i}.weight`` for several heads). Training checkpoints nest this
under ``"state_dict"``. Our :class:`~swav_ts.core.model.SwAVModel` names them ``backbone.*``,
``projection_head.mlp.*`` and ``prototypes.heads.{i}.weight``.

Every load uses ``torch.load(weights_only=True)``: a file holding pickled objects is refused.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from swav_ts.core.checkpoint import CheckpointError, safe_load
from swav_ts.core.config import SwAVConfig, from_dict
from swav_ts.core.model import SwAVModel
from swav_ts.image.models import ARCHS, ModelConfig, ResNetBackbone

logger = logging.getLogger(__name__)

_BASE = "https://dl.fbaipublicfiles.com/deepcluster/"
#: Released SwAV checkpoints (facebookresearch/swav README) and their paper top-1 (linear, %).
RELEASED: dict[str, dict[str, Any]] = {
    "swav_800ep": {"file": "swav_800ep_pretrain.pth.tar", "arch": "resnet50", "top1": 75.3},
    "swav_400ep": {"file": "swav_400ep_pretrain.pth.tar", "arch": "resnet50", "top1": 74.6},
    "swav_200ep": {"file": "swav_200ep_pretrain.pth.tar", "arch": "resnet50", "top1": 73.9},
    "swav_100ep": {"file": "swav_100ep_pretrain.pth.tar", "arch": "resnet50", "top1": 72.1},
    "swav_200ep_bs256": {
        "file": "swav_200ep_bs256_pretrain.pth.tar",
        "arch": "resnet50",
        "top1": 72.7,
    },
    "swav_400ep_bs256": {
        "file": "swav_400ep_bs256_pretrain.pth.tar",
        "arch": "resnet50",
        "top1": 74.3,
    },
    "swav_400ep_2x224": {
        "file": "swav_400ep_2x224_pretrain.pth.tar",
        "arch": "resnet50",
        "top1": 70.1,
    },
    "swav_RN50w2_400ep": {
        "file": "swav_RN50w2_400ep_pretrain.pth.tar",
        "arch": "resnet50w2",
        "top1": 77.3,
    },
    "swav_RN50w4_400ep": {
        "file": "swav_RN50w4_400ep_pretrain.pth.tar",
        "arch": "resnet50w4",
        "top1": 77.9,
    },
    "swav_RN50w5_400ep": {
        "file": "swav_RN50w5_400ep_pretrain.pth.tar",
        "arch": "resnet50w5",
        "top1": 78.5,
    },
}


class CheckpointKeyError(CheckpointError):
    """A state dict does not fit the model: lists missing, unexpected and mis-shaped keys."""


def released_url(name: str) -> str:
    """Download URL of a released checkpoint (see :data:`RELEASED`)."""
    if name not in RELEASED:
        raise ValueError(f"unknown released checkpoint {name!r}; choose one of {sorted(RELEASED)}")
    return _BASE + RELEASED[name]["file"]


def read_state_dict(source: str | Path | Mapping[str, Any]) -> dict[str, torch.Tensor]:
    """A flat tensor state dict from a file (``weights_only=True``) or a mapping.

    Accepts the original's released files (a state dict), its training checkpoints
    (``{"state_dict": ..., "epoch": ...}``) and this project's training checkpoints
    (``{"model": ..., "format": "swav_ts.train/1"}``).
    """
    where = "<mapping>"
    if isinstance(source, (str, Path)):
        where = str(source)
        obj = safe_load(source)
    else:
        obj = source
    if not isinstance(obj, Mapping):
        raise CheckpointError(f"{where} holds a {type(obj).__name__}, not a state dict")
    for key in ("state_dict", "model"):
        if key in obj and isinstance(obj[key], Mapping):
            obj = obj[key]
            break
    bad = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"{where}: entries {bad[:5]} are not tensors; not a state dict")
    return dict(obj)


def strip_prefix(state_dict: Mapping[str, torch.Tensor], prefix: str = "module.") -> dict:
    """Remove a leading ``prefix`` from every key that has it."""
    return {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in state_dict.items()}


_PROTO_MULTI = re.compile(r"^prototypes\.prototypes(\d+)\.weight$")


def original_to_ours(state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an original-format state dict (with or without ``module.``) to our key names.

    Keys that fit no known part (e.g. a torchvision ``fc.*``) are kept as they are, so that a
    strict load reports them as unexpected.
    """
    out = {}
    for key, value in strip_prefix(state_dict).items():
        m = _PROTO_MULTI.match(key)
        if key.startswith(("conv1.", "bn1.", "layer1.", "layer2.", "layer3.", "layer4.")):
            new = "backbone." + key
        elif key.startswith("projection_head."):
            new = "projection_head.mlp." + key[len("projection_head.") :]
        elif key == "prototypes.weight":
            new = "prototypes.heads.0.weight"
        elif m:
            new = f"prototypes.heads.{m.group(1)}.weight"
        else:
            new = key
        out[new] = value
    return out


def ours_to_original(model: SwAVModel) -> dict[str, torch.Tensor]:
    """Our model's state dict in the original's key format (``module.`` prefixed)."""
    out = {}
    n_heads = model.prototypes.n_heads
    for key, value in model.state_dict().items():
        if key.startswith("backbone."):
            new = key[len("backbone.") :]
        elif key.startswith("projection_head.mlp."):
            new = "projection_head." + key[len("projection_head.mlp.") :]
        elif key.startswith("prototypes.heads."):
            idx = int(key.split(".")[2])
            new = "prototypes.weight" if n_heads == 1 else f"prototypes.prototypes{idx}.weight"
        else:
            new = key
        out["module." + new] = value.detach().clone()
    return out


def check_keys(
    model: nn.Module, state_dict: Mapping[str, torch.Tensor], what: str = "checkpoint"
) -> None:
    """Raise :class:`CheckpointKeyError` unless ``state_dict`` matches ``model`` key for key."""
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state_dict))
    unexpected = sorted(set(state_dict) - set(expected))
    mis_shaped = sorted(
        f"{k}: checkpoint {tuple(state_dict[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state_dict and tuple(state_dict[k].shape) != tuple(v.shape)
    )
    if missing or unexpected or mis_shaped:

        def fmt(keys: list[str]) -> str:
            shown = ", ".join(keys[:20])
            return shown + (f", ... ({len(keys) - 20} more)" if len(keys) > 20 else "")

        parts = []
        if missing:
            parts.append(f"{len(missing)} missing key(s): {fmt(missing)}")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected key(s): {fmt(unexpected)}")
        if mis_shaped:
            parts.append(f"{len(mis_shaped)} shape mismatch(es): {fmt(mis_shaped)}")
        raise CheckpointKeyError(f"{what} does not fit the model: " + "; ".join(parts))


def load_original_checkpoint(
    model: SwAVModel,
    source: str | Path | Mapping[str, Any],
    backbone_only: bool = False,
) -> SwAVModel:
    """Load an original-format SwAV checkpoint into ``model``, strictly.

    Parameters
    ----------
    model : SwAVModel
        Built with the checkpoint's architecture (see :func:`infer_model_config`).
    source : path or mapping
        A ``.pth.tar`` file of the original (released or training checkpoint) or its state dict.
    backbone_only : bool, default False
        Load (and check) only the backbone; head and prototypes keep their values.

    Raises
    ------
    CheckpointKeyError
        Listing missing, unexpected and mis-shaped keys.
    CheckpointError
        For files that are not plain tensor data (pickled objects are refused).
    """
    state = original_to_ours(read_state_dict(source))
    what = f"checkpoint {source}" if isinstance(source, (str, Path)) else "state dict"
    if backbone_only:
        state = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
        check_keys(model.backbone, state, what)
        model.backbone.load_state_dict(state, strict=True)
    else:
        check_keys(model, state, what)
        model.load_state_dict(state, strict=True)
    return model


def infer_model_config(state_dict: Mapping[str, torch.Tensor]) -> tuple[ModelConfig, dict]:
    """Architecture and head sizes from a state dict in our or the original's key format.

    Returns
    -------
    model_cfg : ModelConfig
    head : dict with ``hidden_mlp``, ``feat_dim``, ``n_prototypes`` (None where absent)
    """
    sd = original_to_ours(state_dict)
    if "backbone.conv1.weight" not in sd:
        raise CheckpointKeyError(
            "cannot infer the architecture: no conv1.weight / backbone.conv1.weight key "
            f"(first keys: {sorted(sd)[:5]})"
        )
    conv1 = sd["backbone.conv1.weight"]  # (C0, 3, k, k)
    stem, kernel = int(conv1.shape[0]), int(conv1.shape[-1])
    bottleneck = any(k.startswith("backbone.layer1.0.conv3.") for k in sd)
    blocks = []
    for layer in range(1, 5):
        idx = {int(k.split(".")[2]) for k in sd if k.startswith(f"backbone.layer{layer}.")}
        blocks.append(len(idx))
    candidates = [
        (name, widen)
        for name, (block, layers, widen) in ARCHS.items()
        if layers == blocks and (block.expansion == 4) == bottleneck
    ]
    if not candidates:
        raise CheckpointKeyError(f"no known ResNet has {blocks} blocks per stage")
    exact = [(n, w) for n, w in candidates if 64 * w == stem]
    arch, widen = exact[0] if exact else min(candidates, key=lambda c: c[1])
    model_cfg = ModelConfig(arch=arch, cifar_stem=kernel == 3, width_multiplier=stem / (64 * widen))
    head: dict[str, Any] = {"hidden_mlp": None, "feat_dim": None, "n_prototypes": None}
    if "projection_head.mlp.0.weight" in sd:
        head["hidden_mlp"] = int(sd["projection_head.mlp.0.weight"].shape[0])
        head["feat_dim"] = int(sd["projection_head.mlp.3.weight"].shape[0])
    elif "projection_head.mlp.weight" in sd:
        head["hidden_mlp"] = 0
        head["feat_dim"] = int(sd["projection_head.mlp.weight"].shape[0])
    protos = sorted(
        (int(k.split(".")[2]), int(v.shape[0]))
        for k, v in sd.items()
        if k.startswith("prototypes.heads.")
    )
    if protos:
        sizes = [k for _, k in protos]
        head["n_prototypes"] = sizes[0] if len(sizes) == 1 else sizes
    return model_cfg, head


def model_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> SwAVModel:
    """Build a SwAV model shaped like ``state_dict`` (ours or original format) and load it."""
    model_cfg, head = infer_model_config(state_dict)
    if head["feat_dim"] is None or head["n_prototypes"] is None:
        raise CheckpointKeyError(
            "state dict has no projection head / prototypes; use load_backbone() for a backbone"
        )
    model = SwAVModel(
        ResNetBackbone(
            model_cfg.arch,
            cifar_stem=model_cfg.cifar_stem,
            width_multiplier=model_cfg.width_multiplier,
        ),
        hidden_mlp=head["hidden_mlp"],
        feat_dim=head["feat_dim"],
        n_prototypes=head["n_prototypes"],
    )
    return load_original_checkpoint(model, state_dict)


def load_backbone(source: str | Path | Mapping[str, Any]) -> ResNetBackbone:
    """A pretrained :class:`ResNetBackbone` from any supported checkpoint.

    ``source``: this project's training checkpoint (the run's saved config gives the model),
    an original-format checkpoint, or a plain torchvision ResNet state dict (``fc.*`` ignored).
    """
    raw = safe_load(source) if isinstance(source, (str, Path)) else source
    if isinstance(raw, Mapping) and "format" in raw and "config" in raw and "model" in raw:
        cfg = json.loads(raw["config"]) if isinstance(raw["config"], str) else raw["config"]
        model_cfg = from_dict(ModelConfig, cfg["model"], prefix="model")
        model_cfg.channels_last = False
        backbone = ResNetBackbone(
            model_cfg.arch,
            cifar_stem=model_cfg.cifar_stem,
            zero_init_residual=False,
            width_multiplier=model_cfg.width_multiplier,
        )
        state = {
            k[len("backbone.") :]: v for k, v in raw["model"].items() if k.startswith("backbone.")
        }
        check_keys(backbone, state, f"backbone of {source}")
        backbone.load_state_dict(state)
        return backbone
    state = original_to_ours(read_state_dict(raw))
    state = {k: v for k, v in state.items() if not k.startswith("fc.")}
    model_cfg, _ = infer_model_config(state)
    backbone = ResNetBackbone(
        model_cfg.arch, cifar_stem=model_cfg.cifar_stem, width_multiplier=model_cfg.width_multiplier
    )
    bb = {k[len("backbone.") :]: v for k, v in state.items() if k.startswith("backbone.")}
    check_keys(
        backbone, bb, f"backbone of {source if isinstance(source, (str, Path)) else 'state dict'}"
    )
    backbone.load_state_dict(bb)
    return backbone


def export_torchvision_backbone(
    model: SwAVModel | ResNetBackbone, path: str | Path | None = None
) -> dict[str, torch.Tensor]:
    """The backbone as a plain torchvision ResNet state dict (no ``fc``; no prefixes).

    Load it with ``torchvision.models.resnet50()`` after ``model.fc = nn.Identity()`` (strict),
    or with ``strict=False`` to keep a fresh ``fc``. Saved with ``torch.save`` when ``path``
    is given.
    """
    backbone = model.backbone if isinstance(model, SwAVModel) else model
    state = {k: v.detach().clone().contiguous() for k, v in backbone.state_dict().items()}
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        torch.save(state, path)
    return state


def load_released(
    name: str = "swav_800ep",
    model: SwAVModel | None = None,
    map_location: str | torch.device = "cpu",
    progress: bool = True,
    model_dir: str | Path | None = None,
) -> SwAVModel:
    """Download a released checkpoint (internet needed) and load it strictly.

    Parameters
    ----------
    name : str
        A key of :data:`RELEASED` (default ``swav_800ep``: 75.3 % linear top-1).
    model : SwAVModel, optional
        Target model; built from the checkpoint's shapes when omitted.
    map_location, progress, model_dir
        Passed to ``torch.hub.load_state_dict_from_url`` (``weights_only=True``).
    """
    url = released_url(name)
    state = torch.hub.load_state_dict_from_url(
        url,
        model_dir=None if model_dir is None else str(model_dir),
        map_location=map_location,
        progress=progress,
        weights_only=True,
    )
    if model is None:
        return model_from_state_dict(state)
    return load_original_checkpoint(model, state)


def default_swav_config_for(state_dict: Mapping[str, torch.Tensor]) -> SwAVConfig:
    """A :class:`SwAVConfig` whose head sizes match ``state_dict`` (other fields default)."""
    _, head = infer_model_config(state_dict)
    kwargs = {k: v for k, v in head.items() if v is not None}
    return SwAVConfig(**kwargs)
