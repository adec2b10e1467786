"""Small models and data for core tests (no modality code)."""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.data import Dataset

from swav_ts.core import SwAVModel
from swav_ts.core.config import OptimConfig, RunConfig, SwAVConfig, TrainConfig


class TinyBackbone(nn.Module):
    """(B, C, T) -> (B, F): conv, BN, ReLU, global average pool."""

    def __init__(self, in_channels: int = 3, width: int = 16, batch_norm: bool = True):
        super().__init__()
        self.conv = nn.Conv1d(in_channels, width, 5, padding=2)
        self.bn = nn.BatchNorm1d(width) if batch_norm else nn.Identity()
        self.num_features = width

    def forward(self, x):
        return torch.relu(self.bn(self.conv(x))).mean(-1)  # (B, F)


class SignalDataset(Dataset):
    """Deterministic random-walk signals (C, T) from a seed."""

    def __init__(self, n: int = 64, channels: int = 3, length: int = 32, seed: int = 0):
        g = torch.Generator().manual_seed(seed)
        self.x = torch.randn(n, channels, length, generator=g).cumsum(-1) / 4

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i]


def noisy_views(batch, generator, device, n_views=4, sigma=0.1):
    """Two full-length and n_views - 2 half-length noisy views (random crops of the batch)."""
    x = batch.to(device)
    b, c, t = x.shape
    views = []
    for v in range(n_views):
        length = t if v < 2 else t // 2
        start = int(torch.randint(0, t - length + 1, (1,), generator=generator))
        noise = torch.randn(b, c, length, generator=generator, device=device) * sigma
        views.append(x[..., start : start + length] + noise)
    return views


def deterministic_views(batch, generator, device):
    """Views that depend only on the samples (for DDP-vs-single-process equality)."""
    x = batch.to(device)
    return [x, x.flip(-1), x[..., ::2].contiguous(), x[..., 1::2].contiguous()]


def tiny_model(n_prototypes=10, batch_norm=True, hidden_mlp=32, seed=0):
    torch.manual_seed(seed)
    return SwAVModel(
        TinyBackbone(batch_norm=batch_norm),
        hidden_mlp=hidden_mlp,
        feat_dim=8,
        n_prototypes=n_prototypes,
    )


def tiny_config(**train_kw) -> RunConfig:
    swav = SwAVConfig(
        n_prototypes=10, feat_dim=8, hidden_mlp=32, freeze_prototypes_iters=2, queue_length=0
    )
    optim = OptimConfig(
        name="lars",
        base_lr=0.5,
        final_lr=0.005,
        warmup_epochs=1,
        start_warmup_lr=0.05,
        weight_decay=1e-6,
    )
    kw = dict(epochs=3, batch_size=16, seed=7, device="cpu", progress=False, log_every_iters=2)
    kw.update(train_kw)
    return RunConfig(swav=swav, optim=optim, train=TrainConfig(**kw))
