from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def hapt_recordings():
    from swav_ts.data.hapt import load_hapt_recordings

    return load_hapt_recordings("all")
