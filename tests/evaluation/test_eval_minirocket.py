"""The MiniRocket peer is aeon's transform, unchanged (padding short series as aeon asks)."""

import os

import numpy as np
import pytest

from swav_ts.evaluation.minirocket import MINIROCKET_MIN_LENGTH, run_minirocket

aeon_minirocket = pytest.importorskip(
    "aeon.transformations.collection.convolution_based", reason="the bench extra (aeon)"
)


def test_minirocket_peer_is_aeons_transform(hapt_tiny):
    Xtr, Xte = hapt_tiny["X_train"][:24], hapt_tiny["X_test"][:12]
    res = run_minirocket(Xtr, embed=(Xtr, Xte), seed=3)
    ref = aeon_minirocket.MiniRocket(random_state=3).fit(Xtr)
    Ztr, Zte = res["embeddings"]
    np.testing.assert_array_equal(Zte, ref.transform(Xte).astype(np.float32))
    assert Ztr.shape == (24, res["n_features"]) and res["n_features"] > 9000
    assert res["padded_to"] is None and res["time_s"] >= res["fit_s"] > 0
    # PPV features are proportions: in [0, 1]
    assert Ztr.min() >= 0 and Ztr.max() <= 1


def test_minirocket_peer_pads_short_series_with_zeros():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(20, 2, 8)).astype(np.float32)  # PenDigits' length
    res = run_minirocket(X, embed=(X,), seed=0)
    assert res["padded_to"] == MINIROCKET_MIN_LENGTH
    padded = np.pad(X, ((0, 0), (0, 0), (0, 1)))
    ref = aeon_minirocket.MiniRocket(random_state=0).fit(padded).transform(padded)
    np.testing.assert_array_equal(res["embeddings"][0], ref.astype(np.float32))


def test_minirocket_runs_on_numba_workqueue_threads():
    """numba's OpenMP layer leaves a busy thread that slows later torch work (about 3x in
    bench crossdata): MiniRocket must run on the workqueue layer unless the user chose one."""
    import subprocess
    import sys

    code = (
        "import numpy as np, numba\n"
        "from swav_ts.evaluation.minirocket import run_minirocket\n"
        "run_minirocket(np.random.default_rng(0).normal(size=(6, 2, 20)), embed=[])\n"
        "print(numba.threading_layer())\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_THREADING_LAYER"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip().splitlines()[-1] == "workqueue"
