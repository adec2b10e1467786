"""Compute frozen embeddings of windows with an encoder."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["as_windows", "embed"]


def as_windows(X: np.ndarray | torch.Tensor, name: str = "X") -> torch.Tensor:
    """Validate ``(n_cases, n_channels, n_timepoints)`` data and return a float32 CPU tensor."""
    if isinstance(X, torch.Tensor):
        t = X.detach().cpu()
    elif isinstance(X, np.ndarray):
        if not np.issubdtype(X.dtype, np.number) or np.issubdtype(X.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
    else:
        raise TypeError(f"{name} must be a numpy array or torch.Tensor, got {type(X)!r}")
    if t.ndim != 3:
        raise ValueError(
            f"{name} must have shape (n_cases, n_channels, n_timepoints), got {tuple(t.shape)}"
        )
    if t.shape[0] == 0:
        raise ValueError(f"{name} is empty: shape {tuple(t.shape)}")
    t = t.to(torch.float32)
    n_bad = int((~torch.isfinite(t)).sum())
    if n_bad:
        raise ValueError(f"{name} has {n_bad} non-finite values (NaN/inf) of {t.numel()}")
    return t


def _module_device(module: nn.Module) -> torch.device:
    for p in module.parameters():
        return p.device
    return torch.device("cpu")


def embed(
    encoder: nn.Module,
    X: np.ndarray | torch.Tensor,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> np.ndarray:
    """Embed windows with a frozen encoder.

    The encoder runs in eval mode (batch-norm running statistics, no dropout) without
    gradients, batch by batch; its previous train/eval mode is restored afterwards.

    Parameters
    ----------
    encoder : nn.Module
        Maps ``(B, C, T)`` to ``(B, D)``.
    X : ndarray or Tensor (n_cases, n_channels, n_timepoints)
        Windows.
    batch_size : int, default 256
        Windows per forward pass.
    device : str or torch.device, optional
        Where to run; the encoder is moved there. Default: the encoder's current device.

    Returns
    -------
    ndarray (n_cases, D) float32
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size!r}")
    x = as_windows(X)  # (n, C, T)
    dev = _module_device(encoder) if device is None else torch.device(device)
    encoder.to(dev)
    was_training = encoder.training
    encoder.eval()
    chunks = []
    try:
        with torch.no_grad():
            for start in range(0, x.shape[0], batch_size):
                z = encoder(x[start : start + batch_size].to(dev))  # (B, D)
                if z.ndim != 2 or z.shape[0] != min(batch_size, x.shape[0] - start):
                    raise ValueError(
                        f"encoder must return (B, D) features, got shape {tuple(z.shape)} "
                        f"for a batch of shape {tuple(x[start : start + batch_size].shape)}"
                    )
                chunks.append(z.float().cpu())
    finally:
        encoder.train(was_training)
    return torch.cat(chunks).numpy()
