"""ResNet backbones for the image backend, wrapped in the core :class:`SwAVModel`.

The backbones are torchvision ResNets (torchvision's ``BasicBlock``/``Bottleneck`` blocks and
layer builder) whose classifier is dropped, so ``forward`` returns the average-pooled features
``(B, F)``. Parameter names match torchvision's (``conv1``, ``bn1``, ``layer1.0.conv1`` ...), so a
backbone state dict loads into a plain ``torchvision.models.resnet50`` (without ``fc``).

The wide variants follow the SwAV paper (``resnet50w2/w4/w5``): *every* convolution width is
multiplied by the factor (stem and outputs too, so F = 2048 * w), which gives the parameter counts
of the paper's table (94M, 375M, 586M). torchvision's own ``wide_resnet50_2`` only widens the inner
3x3 convolutions (F stays 2048), so it is a different network; we reuse torchvision's blocks and
layer builder with the paper's widths.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

from swav_ts.core.config import SwAVConfig
from swav_ts.core.model import SwAVModel

logger = logging.getLogger(__name__)

Arch = Literal["resnet18", "resnet34", "resnet50", "resnet50w2", "resnet50w4", "resnet50w5"]

# arch -> (block, blocks per stage, width factor)
ARCHS: dict[str, tuple[type[nn.Module], list[int], int]] = {
    "resnet18": (BasicBlock, [2, 2, 2, 2], 1),
    "resnet34": (BasicBlock, [3, 4, 6, 3], 1),
    "resnet50": (Bottleneck, [3, 4, 6, 3], 1),
    "resnet50w2": (Bottleneck, [3, 4, 6, 3], 2),
    "resnet50w4": (Bottleneck, [3, 4, 6, 3], 4),
    "resnet50w5": (Bottleneck, [3, 4, 6, 3], 5),
}


@dataclass
class ModelConfig:
    """Image backbone settings.

    ``width_multiplier`` narrows/widens any arch further (``0.5`` halves every stage of a
    ResNet-18 for CPU-sized runs); 1.0 keeps the published network.
    """

    arch: Arch = "resnet50"
    cifar_stem: bool = False
    channels_last: bool = False
    zero_init_residual: bool = False
    width_multiplier: float = 1.0

    def __post_init__(self) -> None:
        from swav_ts.core.config import ConfigError

        if not 0 < self.width_multiplier <= 8:
            raise ConfigError(f"width_multiplier: must be in (0, 8], got {self.width_multiplier}")


class ResNetBackbone(ResNet):
    """A torchvision ResNet trunk returning pooled features ``(B, F)``.

    Parameters
    ----------
    arch : str
        One of :data:`ARCHS`.
    cifar_stem : bool, default False
        Replace the 7x7/stride-2 stem and max-pool by a 3x3/stride-1 convolution (32x32 inputs).
    channels_last : bool, default False
        Convert inputs (and the caller should convert the module) to ``torch.channels_last``.
    zero_init_residual : bool, default False
        Zero the last BatchNorm of each residual branch (torchvision's option; off in SwAV).
    width_multiplier : float, default 1.0
        Extra factor on every stage width (rounded to at least 8 channels).
    """

    def __init__(
        self,
        arch: str = "resnet50",
        cifar_stem: bool = False,
        channels_last: bool = False,
        zero_init_residual: bool = False,
        width_multiplier: float = 1.0,
    ):
        if arch not in ARCHS:
            raise ValueError(f"unknown arch {arch!r}; choose one of {sorted(ARCHS)}")
        block, layers, widen = ARCHS[arch]
        # Bypass ResNet.__init__ (fixed widths, a classifier); reuse its _make_layer and forward.
        nn.Module.__init__(self)
        self.arch = arch
        self.cifar_stem = bool(cifar_stem)
        self.channels_last = bool(channels_last)
        self._norm_layer = nn.BatchNorm2d
        self.dilation = 1
        self.groups = 1
        stem = max(8, round(64 * widen * width_multiplier))
        # base_width 64: each block's inner width equals its ``planes`` (torchvision's default),
        # so the whole network is widened by ``widen`` and the parameter count by about widen**2,
        # matching the paper's table (RN50-w2 94M, w4 375M, w5 586M).
        self.base_width = 64
        self.inplanes = stem
        if cifar_stem:
            self.conv1 = nn.Conv2d(3, stem, kernel_size=3, stride=1, padding=1, bias=False)
            self.maxpool = nn.Identity()
        else:
            # padding 3 == the original's ConstantPad2d(1) followed by a padding-2 convolution
            self.conv1 = nn.Conv2d(3, stem, kernel_size=7, stride=2, padding=3, bias=False)
            self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = self._make_layer(block, stem, layers[0])
        self.layer2 = self._make_layer(block, stem * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, stem * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, stem * 8, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Identity()
        self.num_features = stem * 8 * block.expansion

        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)
        if zero_init_residual:
            for m in self.modules():
                if isinstance(m, Bottleneck):
                    nn.init.constant_(m.bn3.weight, 0)
                elif isinstance(m, BasicBlock):
                    nn.init.constant_(m.bn2.weight, 0)
        if channels_last:
            self.to(memory_format=torch.channels_last)

    def forward_maps(self, x: torch.Tensor) -> torch.Tensor:
        """Last feature maps ``(B, F, H', W')`` before pooling."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected images (B, 3, H, W); got shape {tuple(x.shape)}")
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.forward_maps(x)  # (B, F, H', W')
        return torch.flatten(self.avgpool(x), 1)  # (B, F)


def build_backbone(cfg: ModelConfig) -> ResNetBackbone:
    """Backbone from a :class:`ModelConfig`."""
    return ResNetBackbone(
        cfg.arch,
        cifar_stem=cfg.cifar_stem,
        channels_last=cfg.channels_last,
        zero_init_residual=cfg.zero_init_residual,
        width_multiplier=cfg.width_multiplier,
    )


def build_image_model(config) -> SwAVModel:
    """SwAV model (backbone + projection head + prototypes) from an image config.

    Parameters
    ----------
    config : ImageConfig or any object with ``.model: ModelConfig`` and ``.swav: SwAVConfig``

    Returns
    -------
    SwAVModel
    """
    model_cfg: ModelConfig = config.model
    swav: SwAVConfig = config.swav
    backbone = build_backbone(model_cfg)
    model = SwAVModel(
        backbone,
        hidden_mlp=swav.hidden_mlp,
        feat_dim=swav.feat_dim,
        n_prototypes=swav.n_prototypes,
    )
    if model_cfg.channels_last:
        model = model.to(memory_format=torch.channels_last)
    logger.info(
        "built %s (F=%d) with %d parameters",
        model_cfg.arch,
        backbone.num_features,
        sum(p.numel() for p in model.parameters()),
    )
    return model
