"""Stopping a run cleanly on SIGINT / SIGTERM: at the next step boundary, with a checkpoint."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from typing import Any

__all__ = ["StopOnSignal", "TrainingInterrupted"]

logger = logging.getLogger(__name__)


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT/SIGTERM at a step boundary, after saving a checkpoint."""

    def __init__(self, signum: int, iteration: int, checkpoint: Path) -> None:
        self.signum, self.iteration, self.checkpoint = signum, iteration, checkpoint
        name = signal.Signals(signum).name
        super().__init__(
            f"{name}: checkpoint at iteration {iteration} kept in {checkpoint}; rerun the same "
            "command to resume"
        )


class StopOnSignal:
    """Turn the first SIGINT/SIGTERM into a request to stop at the next step boundary (a
    second one interrupts at once). Only in the main thread of a single-process run: several
    processes would stop at different iterations and leave their collectives waiting."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.signal: int | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum, frame) -> None:
        if self.signal is not None:  # the second signal: stop now
            raise KeyboardInterrupt
        self.signal = signum
        logger.warning("%s: stopping after this step", signal.Signals(signum).name)

    def __enter__(self) -> StopOnSignal:
        if self.enabled:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)
