"""Shared test set-up.

* One torch thread: the 2-core machines slow down badly when multi-threaded torch ops compete
  with other processes.
* Fixtures for the real data that ships with the repository (see ``tests/fixtures``): the tests
  read nothing outside the clone.
* The skip policy. The only allowed skip is missing hardware: mark a test that needs a GPU with
  ``@pytest.mark.requires_cuda``; without CUDA it is skipped with a reason that starts with
  :data:`CUDA_SKIP_TAG`. The terminal summary lists the number of skipped tests and their
  reasons. With ``CI=true`` in the environment, any other skip (``pytest.skip``, ``skipif``,
  ``importorskip``, a skipped module) and any xfail or xpass makes the session fail.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from tests import fixtures

torch.set_num_threads(1)

#: Every allowed skip reason starts with this tag (given by the ``requires_cuda`` marker).
CUDA_SKIP_TAG = "[requires CUDA]"
CUDA_SKIP_REASON = f"{CUDA_SKIP_TAG} no CUDA device available"


# ------------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="session")
def hapt_tiny() -> dict[str, np.ndarray]:
    """60 + 60 real HAPT windows, 10 per class (:func:`tests.fixtures.hapt_tiny`)."""
    return fixtures.hapt_tiny()


@pytest.fixture(scope="session")
def uea_dir() -> Path:
    """The repository's ``datasets/uea`` (BasicMotions and RacketSports ``.ts`` files)."""
    return fixtures.UEA_DIR


@pytest.fixture(scope="session")
def cifar_dir() -> Path:
    """``tests/fixtures/cifar10``: ``train.zip`` (10 JPEGs per class), ``test.zip`` (5)."""
    return fixtures.CIFAR10_DIR


# --------------------------------------------------------------------------- skip policy
@dataclass
class _SkipLog:
    cuda_items: set[str] = field(default_factory=set)
    skips: list[tuple[str, str, bool]] = field(default_factory=list)  # nodeid, reason, allowed
    xfails: list[tuple[str, str, str]] = field(default_factory=list)  # nodeid, outcome, reason

    def reset(self) -> None:
        self.cuda_items.clear()
        self.skips.clear()
        self.xfails.clear()


_LOG = _SkipLog()  # this session's skips (pytest loads this conftest once per session)


def _ci() -> bool:
    return os.environ.get("CI", "").strip().lower() == "true"


def pytest_configure(config: pytest.Config) -> None:
    _LOG.reset()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason=CUDA_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("requires_cuda") is not None:
            item.add_marker(skip)
            _LOG.cuda_items.add(item.nodeid)


def _skip_reason(report: pytest.CollectReport | pytest.TestReport) -> str:
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason.removeprefix("Skipped: ")


def _record_skip(report: pytest.CollectReport | pytest.TestReport, allowed_if_cuda: bool) -> None:
    log = _LOG
    if hasattr(report, "wasxfail"):
        outcome = "xfailed" if report.skipped else "xpassed"
        log.xfails.append((report.nodeid, outcome, report.wasxfail))
    elif report.skipped:
        reason = _skip_reason(report)
        allowed = (
            allowed_if_cuda
            and report.nodeid in log.cuda_items
            and reason.startswith(CUDA_SKIP_TAG)
            and not torch.cuda.is_available()
        )
        log.skips.append((report.nodeid, reason, allowed))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped or hasattr(report, "wasxfail"):
        _record_skip(report, allowed_if_cuda=True)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:  # a whole module or class skipped at collection: never hardware-only
        _record_skip(report, allowed_if_cuda=False)


def _violations(log: _SkipLog) -> list[str]:
    bad = [f"skipped: {nodeid} ({reason})" for nodeid, reason, ok in log.skips if not ok]
    bad += [f"{outcome}: {nodeid} ({reason})" for nodeid, outcome, reason in log.xfails]
    return bad


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _ci() and session.exitstatus == pytest.ExitCode.OK and _violations(_LOG):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, exitstatus: int, config: pytest.Config) -> None:
    log, tr = _LOG, terminalreporter
    tr.section("skip policy")
    tr.write_line(
        f"{len(log.skips)} test(s) skipped"
        + (f", {len(log.xfails)} xfailed/xpassed" if log.xfails else "")
    )
    for (reason, ok), n in sorted(Counter((r, ok) for _, r, ok in log.skips).items()):
        tr.write_line(f"  {n} x {reason}" + ("" if ok else "   <- not an allowed skip"))
    for nodeid, outcome, reason in log.xfails:
        tr.write_line(f"  {outcome}: {nodeid} ({reason})   <- not allowed")
    bad = _violations(log)
    if bad and _ci():
        tr.write_line(
            f"CI=true: the session fails: {len(bad)} skip(s)/xfail(s) other than missing CUDA "
            f"(mark GPU tests with @pytest.mark.requires_cuda; fix or remove the others)",
            red=True,
            bold=True,
        )
