"""Rebuild ``watch_windows.npy`` from the smartwatch recordings bundled in seglearn.

    pip download --no-deps seglearn==1.2.5 -d /tmp/seglearn
    unzip -o /tmp/seglearn/seglearn-1.2.5-py3-none-any.whl 'seglearn/data/*' -d /tmp/seglearn
    python datasets/watch/prepare.py /tmp/seglearn/seglearn/data/watch_dataset.npy

The source file is a pickled dict (seglearn's ``load_watch``), read here with
``allow_pickle=True``: run this only on the file from the seglearn wheel.

Each of the 140 recordings (6 x n samples at 50 Hz, acc in g, gyro in rad/s) is cut into
back-to-back windows of 128 samples (2.56 s, HAPT's window); the tail under 128 samples is
dropped. The windows are stored as float16 ``(n_windows, 6, 128)``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

WINDOW = 128  # samples: 2.56 s at 50 Hz
CHANNELS = ["ax", "ay", "az", "wx", "wy", "wz"]


def windows_of(recordings: list[np.ndarray]) -> np.ndarray:
    """Back-to-back windows ``(n, 6, WINDOW)`` of recordings ``(n_samples, 6)``."""
    out = []
    for rec in recordings:
        rec = np.asarray(rec, dtype=np.float64)
        if rec.ndim != 2 or rec.shape[1] != len(CHANNELS):
            raise ValueError(f"expected recordings of shape (n_samples, 6), got {rec.shape}")
        n = rec.shape[0] // WINDOW
        out.append(rec[: n * WINDOW].reshape(n, WINDOW, len(CHANNELS)).transpose(0, 2, 1))
    return np.concatenate(out)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("source", help="seglearn/data/watch_dataset.npy from the seglearn wheel")
    p.add_argument("--out", default=str(Path(__file__).with_name("watch_windows.npy")))
    a = p.parse_args()
    data = np.load(a.source, allow_pickle=True).item()
    if list(data["X_labels"]) != CHANNELS:
        raise ValueError(f"{a.source}: channels {data['X_labels']}, expected {CHANNELS}")
    X = windows_of(data["X"])
    if not np.isfinite(X).all():
        raise ValueError(f"{a.source}: non-finite values")
    np.save(a.out, X.astype(np.float16))
    lengths = [len(r) for r in data["X"]]
    print(
        f"{len(lengths)} recordings, {sum(lengths)} samples, {len(np.unique(data['subject']))} "
        f"subjects -> {a.out}: {X.shape} float16"
    )


if __name__ == "__main__":
    main()
