"""Shared pieces of the reliability tests: a code-running pickle payload and tiny settings."""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch

# Estimator settings that fit in well under a second on one CPU thread.
TINY = dict(
    encoder="cnn3",
    encoder_kwargs={"widths": [4, 8, 8]},
    n_prototypes=4,
    feat_dim=4,
    hidden_mlp=8,
    epochs=1,
    batch_size=8,
    global_length=24,
    local_length=12,
    n_local=1,
    device="cpu",
)


class MarkerPayload:
    """Unpickling this object calls ``open(marker, "w")``: it creates a file, i.e. runs code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def write_torch_payload(path: Path, marker: Path, legacy: bool = False) -> Path:
    """A ``torch.save`` file whose 'model' entry runs code when unpickled.

    Shaped like this project's training checkpoint so that only the pickle check can stop it.
    """
    obj = {
        "format": "swav_ts.train/1",
        "model": MarkerPayload(marker),
        "state_dict": MarkerPayload(marker),
        "optimizer": {},
        "epoch": 0,
        "iteration": 1,
        "config": "{}",
    }
    torch.save(obj, path, pickle_module=pickle, _use_new_zipfile_serialization=not legacy)
    return path


def random_walk(n: int, c: int, t: int, seed: int = 0) -> np.ndarray:
    """Smooth random signals ``(n, c, t)`` float32."""
    rng = np.random.default_rng(seed)
    return (rng.standard_normal((n, c, t)).cumsum(-1) / 4).astype(np.float32)
