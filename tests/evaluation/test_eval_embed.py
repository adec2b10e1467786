from __future__ import annotations

import numpy as np
import pytest
import torch

from swav_ts.evaluation.embed import embed
from swav_ts.timeseries.encoders import create_encoder


@pytest.fixture
def encoder():
    torch.manual_seed(0)
    return create_encoder("cnn3", 6, widths=(8, 16, 24))


def test_embed_shape_dtype_and_eval_mode(encoder, tiny):
    encoder.train()
    z = embed(encoder, tiny["X_train"], batch_size=7)
    assert z.shape == (60, 24) and z.dtype == np.float32
    assert encoder.training  # mode restored
    encoder.eval()
    with torch.no_grad():
        direct = encoder(torch.from_numpy(tiny["X_train"])).numpy()
    np.testing.assert_allclose(z, direct, rtol=1e-5, atol=1e-6)
    assert not encoder.training


def test_embed_independent_of_batch_size_and_input_type(encoder, tiny):
    a = embed(encoder, tiny["X_test"], batch_size=60)
    b = embed(encoder, torch.from_numpy(tiny["X_test"]).double(), batch_size=1)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # eval mode uses running statistics: batch-norm state is not updated by embedding
    before = {k: v.clone() for k, v in encoder.state_dict().items()}
    embed(encoder, tiny["X_test"])
    for k, v in encoder.state_dict().items():
        assert torch.equal(v, before[k]), k


def test_embed_input_errors(encoder):
    with pytest.raises(ValueError, match=r"\(n_cases, n_channels, n_timepoints\), got \(6, 50\)"):
        embed(encoder, np.zeros((6, 50), dtype=np.float32))
    with pytest.raises(ValueError, match="6 channels"):
        embed(encoder, np.zeros((2, 5, 50), dtype=np.float32))
    bad = np.zeros((2, 6, 50), dtype=np.float32)
    bad[1, 2, 3] = np.inf
    with pytest.raises(ValueError, match="1 non-finite"):
        embed(encoder, bad)
    with pytest.raises(TypeError, match=r"numpy array or torch\.Tensor"):
        embed(encoder, [[[0.0]]])
