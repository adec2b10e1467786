"""StreamingEmbedder: the same windows, times and embeddings as embed_recording, for any
chunking; bad chunks refused without touching the stream; bounded memory."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swav_ts.data import Recording
from swav_ts.streaming import StreamingEmbedder

WINDOW_S, STRIDE_S = 1.92, 0.5  # 96 and 25 samples at 50 Hz


def stream(emb: StreamingEmbedder, signals: np.ndarray, sizes, times=None):
    """Push ``signals`` (C, T) in chunks of ``sizes`` (cycled); return (times, embeddings)."""
    out, pos, k = [], 0, 0
    while pos < signals.shape[1]:
        n = sizes[k % len(sizes)]
        ts = None if times is None else times[pos : pos + n]
        out += emb.push(signals[:, pos : pos + n], ts)
        pos, k = pos + n, k + 1
    if not out:
        return np.zeros(0), np.zeros((0, 0))
    return np.array([t for t, _ in out]), np.stack([z for _, z in out])


def assert_same(got, ref, rtol=1e-5):
    (t, z), (t_ref, z_ref) = got, ref
    assert len(t) == len(t_ref) > 0
    np.testing.assert_allclose(t, t_ref, rtol=0, atol=1e-9)
    assert np.abs(z - z_ref).max() <= rtol * np.abs(z_ref).max()


def embed_recording(est, recording, window_s, stride_s):
    """``est.embed_recording`` as (start times, embeddings)."""
    z, t = est.embed_recording(recording, window_s, stride_s)
    return t, z


@pytest.fixture(scope="module")
def reference(est, recording):
    return embed_recording(est, recording, WINDOW_S, STRIDE_S)  # 8 NaN windows dropped


@pytest.mark.parametrize("size", [1, 7, 128])
@pytest.mark.parametrize("timestamps", [False, True])
def test_stream_equals_embed_recording(est, recording, reference, size, timestamps):
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S, start_time=recording.start_time)
    t = 12.5 + np.arange(recording.n_samples) / 50.0 if timestamps else None
    got = stream(emb, recording.signals, [size], t)
    if timestamps:  # the reported time is the first sample's timestamp
        np.testing.assert_array_equal(got[0], t[np.round((got[0] - 12.5) * 50).astype(int)])
    else:  # the same arithmetic as embed_recording: start_time + start / rate
        np.testing.assert_array_equal(got[0], reference[0])
    assert_same(got, reference)
    assert emb.n_skipped_nan == 8 and emb.n_windows == len(reference[0]) == 49


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(0, 300), min_size=1, max_size=12).filter(lambda s: sum(s) > 0),
    timestamps=st.booleans(),
)
def test_stream_equals_embed_recording_for_random_chunks(
    est, recording, reference, sizes, timestamps
):
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S, start_time=12.5, batch_size=5)
    t = 12.5 + np.arange(recording.n_samples) / 50.0 if timestamps else None
    assert_same(stream(emb, recording.signals, sizes, t), reference)


def test_onnx_and_torchscript_backends(est, exports, recording, reference):
    for model in (exports["onnx"], exports["torchscript"]):
        emb = StreamingEmbedder(model, WINDOW_S, STRIDE_S, start_time=12.5)
        assert_same(stream(emb, recording.signals, [7]), reference)
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S, backend="onnx", start_time=12.5)
    assert emb.backend == "onnx"
    assert_same(stream(emb, recording.signals, [50]), reference)


def test_stride_longer_than_the_window(est, recording):
    ref = embed_recording(est, recording, 0.5, 1.3)  # 25-sample windows every 65 samples
    emb = StreamingEmbedder(est, 0.5, 1.3, start_time=12.5)
    assert_same(stream(emb, recording.signals, [9, 1, 40]), ref)


def test_default_window_is_the_models(est, recording):
    emb = StreamingEmbedder(est)
    assert emb.window_length == emb.stride == est.contract_.window_length == 96
    ref = embed_recording(est, recording, 96 / 50, 96 / 50)
    assert_same(stream(emb, recording.signals, [33], 12.5 + np.arange(1500) / 50), ref)


def test_channels_are_matched_by_name(est, recording, reference):
    names = [*reversed(recording.channel_names), "temperature"]
    signals = np.concatenate([recording.signals[::-1], np.ones((1, 1500), np.float32)])
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S, channel_names=names, start_time=12.5)
    assert_same(stream(emb, signals, [64]), reference)
    with pytest.raises(ValueError, match=r"lack \['gyro_z'\].*needs \['acc_x'"):
        StreamingEmbedder(est, channel_names=recording.channel_names[:5])


def test_an_export_for_other_channels_is_refused(exports):
    stream_channels = ["ax", "ay", "az", "gx", "gy", "gz"]
    with pytest.raises(ValueError) as info:
        StreamingEmbedder(exports["onnx"], channel_names=stream_channels)
    assert "'ax'" in str(info.value) and "'acc_x'" in str(info.value)


def test_the_rate_must_be_the_models(est):
    with pytest.raises(ValueError, match=r"100 Hz but the model at 50 Hz.*not resampled"):
        StreamingEmbedder(est, rate_hz=100)
    StreamingEmbedder(est, rate_hz=50.2)  # within 1 %


def test_bad_windows_are_refused(est, exports):
    with pytest.raises(ValueError, match="minimum of 8"):
        StreamingEmbedder(est, window_s=0.1)
    with pytest.raises(ValueError, match="exactly 96 samples"):
        StreamingEmbedder(exports["onnx_fixed"], window_s=2.56)
    with pytest.raises(ValueError, match="torchscript export"):
        StreamingEmbedder(exports["torchscript"], backend="onnx")


def _bad_chunks(recording):
    sig = recording.signals
    absurd = sig[:, :10].copy()
    absurd[3, 4] = 1e30
    inf = sig[:, :10].copy()
    inf[1, 2] = np.inf
    return [
        (sig[:5, :10], None, r"chunk 3 has shape \(5, 10\); expected .* \(6, n\)"),
        (sig[:, :10].T, None, r"chunk 3 has shape \(10, 6\)"),
        (absurd, None, r"chunk 3: value 1e\+30 at sample 4 of channel 'gyro_x'"),
        (inf, None, r"chunk 3: infinite value at sample 2 of channel 'acc_y'"),
    ]


@pytest.mark.parametrize("case", range(4))
def test_a_bad_chunk_leaves_the_stream_unchanged(est, recording, reference, case):
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S, start_time=12.5)
    sig, out = recording.signals, []
    for k, (a, b) in enumerate([(0, 100), (100, 101), (101, 250)]):
        out += emb.push(sig[:, a:b])
        assert emb.n_chunks == k + 1
    chunk, ts, message = _bad_chunks(recording)[case]
    with pytest.raises(ValueError, match=message):
        emb.push(chunk, ts)
    out += emb.push(sig[:, 250:])  # continues as if the bad chunk never came
    got = (np.array([t for t, _ in out]), np.stack([z for _, z in out]))
    assert_same(got, reference)


def test_decreasing_timestamps_leave_the_stream_unchanged(est, recording, reference):
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S)
    sig, t = recording.signals, 12.5 + np.arange(1500) / 50
    out = emb.push(sig[:, :300], t[:300]) + emb.push(sig[:, 300:600], t[300:600])
    bad = t[600:700].copy()
    bad[10] = bad[8]  # goes back in time inside the chunk
    with pytest.raises(ValueError, match=r"chunk 2: timestamps must increase; sample 10"):
        emb.push(sig[:, 600:700], bad)
    with pytest.raises(ValueError, match=r"chunk 3: timestamps must increase; sample 0 is at"):
        emb.push(sig[:, 600:700], t[500:600])  # before the last sample pushed
    with pytest.raises(ValueError, match=r"chunk 4: timestamps have shape \(99,\); expected"):
        emb.push(sig[:, 600:700], t[600:699])
    with pytest.raises(ValueError, match=r"chunk 5: timestamps step by 0\.01 s.*declared at 50"):
        emb.push(sig[:, 600:700], t[599] + 0.01 * np.arange(1, 101))
    out += emb.push(sig[:, 600:], t[600:])
    got = (np.array([ts for ts, _ in out]), np.stack([z for _, z in out]))
    assert_same(got, reference)


def test_a_timestamp_gap_restarts_the_windows(est, recording):
    """A gap > max_gap_s cuts the stream as the readers' gap_policy="split" cuts a recording."""
    sig = recording.signals
    t = np.concatenate([12.5 + np.arange(700) / 50, 40.0 + np.arange(800) / 50])
    parts = [
        Recording(sig[:, :700], None, 50.0, recording.channel_names, start_time=12.5),
        Recording(sig[:, 700:], None, 50.0, recording.channel_names, start_time=40.0),
    ]
    refs = [embed_recording(est, r, WINDOW_S, STRIDE_S) for r in parts]
    ref = (np.concatenate([r[0] for r in refs]), np.concatenate([r[1] for r in refs]))
    for sizes in ([700, 800], [650, 100, 750], [1]):
        emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S)
        t_got, z_got = stream(emb, sig, sizes, t)
        assert_same((t_got, z_got), ref)
        assert emb.n_gaps == 1


def test_memory_is_bounded(est):
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S, batch_size=8)
    nbytes = emb.buffer_nbytes
    assert nbytes == 6 * (96 + 25) * 4 + (96 + 25) * 8
    rng = np.random.default_rng(0)
    n_out = 0
    for n in rng.integers(0, 2000, size=40):
        n_out += len(emb.push(rng.standard_normal((6, int(n))).astype(np.float32)))
        assert emb.buffer_nbytes == nbytes and emb._n < 96
    assert n_out == (emb.n_samples - 96) // 25 + 1


def test_empty_chunks_and_reset(est, recording, reference):
    emb = StreamingEmbedder(est, WINDOW_S, STRIDE_S, start_time=99.0)
    assert emb.push(np.zeros((6, 0), np.float32)) == []
    emb.push(recording.signals[:, :500])
    emb.reset(start_time=12.5)
    assert emb.n_samples == 0
    assert_same(stream(emb, recording.signals, [100]), reference)
