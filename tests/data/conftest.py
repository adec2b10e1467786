from __future__ import annotations

import os
from pathlib import Path

import pytest


def shared_data_dir() -> Path:
    env = os.environ.get("SWAV_TS_SHARED_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = shared_data_dir()
    if not d.is_dir():
        pytest.skip(f"shared real data not found at {d} (set SWAV_TS_SHARED_DATA)")
    return d


@pytest.fixture(scope="session")
def hapt_recordings():
    from swav_ts.datasets import load_hapt_recordings

    return load_hapt_recordings("all")
