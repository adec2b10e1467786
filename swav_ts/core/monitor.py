"""Run monitoring: NaN guard, collapse detection and the metrics file."""

from __future__ import annotations

import csv
import json
import logging
import math
import warnings
from pathlib import Path
from typing import Any

import torch

logger = logging.getLogger(__name__)


class NonFiniteLossError(FloatingPointError):
    """The loss became NaN or inf; the message names the iteration."""


class CollapseWarning(UserWarning):
    """Training looks collapsed (loss stuck near ln K, or one prototype takes nearly all)."""


class NaNGuard:
    """Remembers, on the device, the first iteration with a non-finite loss.

    ``update`` costs no host sync; ``check`` (called at logging points and before a
    checkpoint) reads the flag and raises :class:`NonFiniteLossError` naming the iteration.
    """

    def __init__(self, device: torch.device):
        self.first_bad = torch.full((), -1, dtype=torch.long, device=device)

    def update(self, loss: torch.Tensor, iteration: int) -> None:
        bad = ~torch.isfinite(loss.detach()) & (self.first_bad < 0)
        self.first_bad = torch.where(
            bad, torch.full_like(self.first_bad, iteration), self.first_bad
        )

    def check(self) -> None:
        it = int(self.first_bad)
        if it >= 0:
            raise NonFiniteLossError(
                f"loss became NaN/inf at iteration {it}; stopping. Lower the learning rate, "
                "check the input data for NaN/inf, or use fp32 (see docs/troubleshooting.md)"
            )


class CollapseMonitor:
    """Warns when the loss stays near ln K or one prototype wins nearly every sample.

    Parameters
    ----------
    n_prototypes : int
        K of the first prototype head.
    patience_iters : int
        How many consecutive iterations the symptom must last.
    loss_tolerance : float
        Relative distance to ln K counted as "near".
    max_share : float
        Share of samples whose top prototype is the same one counted as "nearly all".
    """

    def __init__(
        self, n_prototypes: int, patience_iters: int, loss_tolerance: float, max_share: float
    ):
        self.ln_k = math.log(n_prototypes)
        self.patience, self.tol, self.max_share = patience_iters, loss_tolerance, max_share
        self.stuck_iters, self.warned = 0, False
        self.last_share = 0.0

    @staticmethod
    def top_share(scores: torch.Tensor) -> torch.Tensor:
        """Share of rows whose argmax is the most frequent prototype (device scalar)."""
        counts = torch.bincount(scores.argmax(dim=1), minlength=scores.shape[1])  # (K,)
        return counts.max().float() / scores.shape[0]

    def observe(self, mean_loss: float, share: float, n_iters: int) -> bool:
        """Feed the mean loss and top share over the last ``n_iters``; True when it warns."""
        self.last_share = share
        near_ln_k = abs(mean_loss - self.ln_k) <= self.tol * self.ln_k
        if near_ln_k or share >= self.max_share:
            self.stuck_iters += n_iters
        else:
            self.stuck_iters = 0
        if self.stuck_iters >= self.patience and not self.warned:
            self.warned = True
            msg = (
                f"training looks collapsed: for {self.stuck_iters} iterations the loss was "
                f"{mean_loss:.4f} (ln K = {self.ln_k:.4f}) and {share:.0%} of samples chose "
                "the same prototype. See docs/troubleshooting.md (lower epsilon, more "
                "prototypes, a queue, a longer prototype freeze, stronger augmentations)."
            )
            logger.warning(msg)
            warnings.warn(msg, CollapseWarning, stacklevel=2)
            return True
        return False


class MetricsWriter:
    """Appends one row per call to ``metrics.jsonl`` or ``metrics.csv`` in the run folder."""

    def __init__(self, run_dir: Path, fmt: str = "jsonl", enabled: bool = True):
        self.enabled = enabled
        self.path = Path(run_dir) / f"metrics.{fmt}"
        self.fmt = fmt
        self._fields: list[str] | None = None

    def write(self, row: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self.fmt == "jsonl":
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps(row) + "\n")
            return
        new = not self.path.exists()
        if self._fields is None:
            if not new:
                with self.path.open(encoding="utf-8") as f:
                    self._fields = next(csv.reader(f), None)
            self._fields = self._fields or list(row)
        with self.path.open("a", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=self._fields, extrasaction="ignore")
            if new:
                w.writeheader()
            w.writerow(row)


def read_metrics(path: str | Path) -> list[dict[str, Any]]:
    """Read a metrics.jsonl file back into a list of rows."""
    with Path(path).open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


class LossWindow:
    """Running sums of loss, dense loss and top-prototype share over a window of steps (no
    host synchronisation until they are read)."""

    def __init__(self, device: torch.device) -> None:
        self.loss = torch.zeros((), device=device)
        self.dense = torch.zeros((), device=device)
        self.share = torch.zeros((), device=device)
        self.n = 0
        self.n_dense = 0

    def add(self, out) -> None:
        """Add a :class:`~swav_ts.core.step.StepOutput`."""
        self.loss += out.loss
        self.share += out.top_share
        if out.dense_loss is not None:
            self.dense += out.dense_loss
            self.n_dense += 1
        self.n += 1

    def means(self) -> dict[str, float]:
        """``loss``, ``top_prototype_share`` and (when there was one) ``dense_loss``."""
        out = {"loss": float(self.loss) / self.n, "top_prototype_share": float(self.share) / self.n}
        if self.n_dense:
            out["dense_loss"] = float(self.dense) / self.n_dense
        return out

    def reset(self) -> None:
        self.loss.zero_()
        self.dense.zero_()
        self.share.zero_()
        self.n = 0
        self.n_dense = 0
