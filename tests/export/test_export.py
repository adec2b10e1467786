"""ONNX / TorchScript export: parity with the torch model, lengths, metadata, bad input."""

from __future__ import annotations

import json
import sys

import numpy as np
import onnx
import pytest
import torch
from sklearn.exceptions import NotFittedError

from swav_ts import TimeSeriesSwAV, __version__
from swav_ts.export import (
    EXPORT_FORMAT,
    ExportGraph,
    ExportSpec,
    _MaxPool1dAs2d,
    export_model,
    load_exported,
    quantize_onnx,
    weighted_layers,
)
from swav_ts.export.format import RESERVED_KEYS
from swav_ts.export.graph import planar_encoder, planar_layers
from swav_ts.export.quantize import even_batch_size
from swav_ts.timeseries.encoders import create_encoder

from .conftest import DEBUG


def rel_err(a: np.ndarray, ref: np.ndarray) -> float:
    """Largest difference relative to the largest reference value."""
    return float(np.abs(a - ref).max() / np.abs(ref).max())


@pytest.mark.parametrize("kind", ["onnx", "torchscript"])
def test_embeddings_and_scores_equal_the_torch_model(est, exports, hapt_tiny, kind):
    X = hapt_tiny["X_test"]  # (60, 6, 128) real windows in sensor units
    model = load_exported(exports[kind], threads=1)
    assert model.backend == kind
    assert model.output_names == ["embedding", "prototype_scores"]
    out = model.run(X)
    assert out["embedding"].shape == (60, est.n_features_out_)
    assert rel_err(out["embedding"], est.transform(X)) <= 1e-5
    assert rel_err(out["prototype_scores"], est.prototype_scores(X)) <= 1e-5
    assert rel_err(model(X[:1]), est.transform(X[:1])) <= 1e-5  # batch 1


def test_onnx_length_is_dynamic_and_checked_against_the_minimum(est, exports, hapt_tiny):
    model = load_exported(exports["onnx"], threads=1)
    X = hapt_tiny["X_test"][:5]
    long = np.concatenate([X, X], axis=2)  # (5, 6, 256)
    for windows in (X[..., :96], X, long, X[..., : est.min_length_]):
        assert rel_err(model(windows), est.transform(windows)) <= 1e-5
    dims = onnx.load(str(exports["onnx"])).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param != "" for d in dims] == [True, False, True]  # batch, channels, time
    with pytest.raises(ValueError, match="minimum of 8"):
        model(X[..., :7])


def test_fixed_length_export_takes_only_the_window_length(est, exports, hapt_tiny):
    model = load_exported(exports["onnx_fixed"], threads=1)
    assert not model.dynamic_length and model.output_names == ["embedding"]
    X = hapt_tiny["X_test"][:4, :, :96]
    assert rel_err(model(X), est.transform(X)) <= 1e-5
    dims = onnx.load(str(exports["onnx_fixed"])).graph.input[0].type.tensor_type.shape.dim
    assert dims[2].dim_value == 96
    with pytest.raises(ValueError, match="fixed length of 96"):
        model(hapt_tiny["X_test"][:4])


@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("conv_bias", [True, False])
def test_planar_rewrite_equals_the_1d_stack(affine, conv_bias):
    """Conv1d-BN-ReLU-MaxPool-Dropout as 2-D ops with the batch norm folded: same outputs."""
    torch.manual_seed(0)
    bn = torch.nn.BatchNorm1d(5, affine=affine)
    stack = torch.nn.Sequential(
        torch.nn.Conv1d(3, 5, 4, padding=2, dilation=2, bias=conv_bias),
        bn,
        torch.nn.ReLU(),
        torch.nn.MaxPool1d(2, 2, padding=1),
        torch.nn.Dropout(0.3),
        torch.nn.Conv1d(5, 4, 3, stride=2, padding="valid"),
    )
    with torch.no_grad():  # statistics and affine terms far from the identity
        bn.running_mean.uniform_(-2, 2)
        bn.running_var.uniform_(0.1, 3)
        if affine:
            bn.weight.uniform_(-2, 2)
            bn.bias.uniform_(-1, 1)
    stack.eval()
    planar = planar_layers(stack)
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in planar)
    for length in (9, 64, 131):
        x = torch.randn(2, 3, length)
        with torch.no_grad():
            ref, got = stack(x), planar(x.unsqueeze(2)).squeeze(2)
        assert got.shape == ref.shape
        assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())


def test_planar_rewrite_declines_other_layers_and_cnn3_uses_it(est):
    assert planar_layers(torch.nn.Sequential(torch.nn.Conv1d(2, 2, 3), torch.nn.GELU())) is None
    assert planar_layers(torch.nn.Sequential(torch.nn.BatchNorm1d(2))) is None  # no conv before
    graph = ExportGraph(est.model_)
    assert graph.planar is not None and graph.encoder is None


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kernel_size": 3},  # TS2Vec's network: a linear input projection
        {"kernel_size": 3, "stride": 4},  # the HAPT recipe's strided input convolution
        {"kernel_size": 4, "stride": 3},  # even kernels: 'same' padding drops one step
    ],
)
def test_planar_tcn_equals_the_1d_tcn(kwargs):
    torch.manual_seed(0)
    enc = create_encoder("tcn", 3, hidden=6, depth=3, output_dim=5, **kwargs).eval()
    planar = planar_encoder(enc)
    assert not any(isinstance(m, (torch.nn.Conv1d, torch.nn.Linear)) for m in planar.modules())
    for length in (enc.min_length, 37, 128):
        x = torch.randn(2, 3, length)
        with torch.no_grad():
            ref, got = enc.forward_sequence(x), planar(x.unsqueeze(2)).squeeze(2)
        assert got.shape == ref.shape
        assert torch.allclose(got, ref, rtol=1e-5, atol=1e-5 * ref.abs().max().item())
    assert planar_encoder(create_encoder("resnet1d", 3, widths=(4,))) is None  # stays 1-D


def test_maxpool_rewrite_is_exact():
    torch.manual_seed(0)
    pool = torch.nn.MaxPool1d(2, 2, padding=1)
    for length in (7, 8, 96, 129):
        x = torch.randn(3, 4, length)
        assert torch.equal(_MaxPool1dAs2d(pool)(x), pool(x))


@pytest.mark.parametrize("kind", ["onnx", "torchscript"])
def test_metadata_travels_in_the_file(est, exports, kind):
    model = load_exported(exports[kind])
    assert model.contract == est.contract_
    meta = model.metadata
    assert meta["swav_ts.format"] == EXPORT_FORMAT
    assert meta["swav_ts.version"] == __version__
    assert json.loads(meta["swav_ts.channel_names"]) == est.channel_names_
    assert json.loads(meta["swav_ts.rate_hz"]) == 50.0
    assert int(meta["swav_ts.window_length"]) == 96 and int(meta["swav_ts.min_length"]) == 8
    assert json.loads(meta["swav_ts.plausible_low"]) == est.contract_.low
    assert json.loads(meta["swav_ts.outputs"]) == ["embedding", "prototype_scores"]
    if kind == "onnx":  # readable without swav_ts
        props = {p.key: p.value for p in onnx.load(str(exports[kind])).metadata_props}
        assert props == meta


def test_int8_export(est, exports, hapt_tiny):
    model = load_exported(exports["int8"], threads=1)
    assert model.metadata["swav_ts.quantization"].startswith("int8 static QDQ")
    ops = {n.op_type for n in onnx.load(str(exports["int8"])).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear"} <= ops
    X = hapt_tiny["X_test"]
    z, ref = model(X), est.transform(X)
    cos = (z * ref).sum(1) / np.linalg.norm(z, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.98
    assert 0 < rel_err(z, ref) < 0.2  # quantised: close, not equal


@pytest.mark.parametrize("method", ["percentile", "entropy"])
def test_histogram_calibration_with_uneven_batches(est, exports, hapt_tiny, tmp_path, method):
    # 37 windows in batches of at most 32: ONNX Runtime's histogram calibrators stack the
    # batches, so a last batch of 5 used to crash the quantisation.
    calib = np.ascontiguousarray(hapt_tiny["X_train"][:37, :, :96])
    path = quantize_onnx(exports["onnx_fixed"], tmp_path / "q.onnx", calib, method=method)
    model = load_exported(path, threads=1)
    assert f"{method} calibration on 37 windows" in model.metadata["swav_ts.quantization"]
    X = np.ascontiguousarray(hapt_tiny["X_test"][:, :, :96])
    z, ref = model(X), est.transform(X)
    cos = (z * ref).sum(1) / np.linalg.norm(z, axis=1) / np.linalg.norm(ref, axis=1)
    assert cos.min() > 0.95


def test_int8_export_with_prototype_scores(est, hapt_tiny, tmp_path):
    # ONNX Runtime's symbolic shape inference used to crash on the score head's Expand.
    path = est.export(tmp_path / "s.onnx", int8=True, scores=True, calibration=hapt_tiny["X_train"])
    model = load_exported(path, threads=1)
    X = hapt_tiny["X_test"]
    scores, ref = model.prototype_scores(X), est.prototype_scores(X)
    assert scores.shape == ref.shape
    assert (scores.argmax(1) == ref.argmax(1)).mean() > 0.8
    assert 0 < rel_err(scores, ref) < 0.2


def _float_weight_convs(path) -> list[bool]:
    """Per Conv node in graph order: is its weight a float initializer (not dequantised)?"""
    graph = onnx.load(str(path)).graph
    dequantised = {o for n in graph.node if n.op_type == "DequantizeLinear" for o in n.output}
    return [n.input[1] not in dequantised for n in graph.node if n.op_type == "Conv"]


def test_int8_keeps_the_input_layer_in_float(exports, hapt_tiny, tmp_path):
    # One per-tensor uint8 scale for all input channels erases small static differences
    # (docs/deploy.md): the input convolution stays in float, every other one is int8.
    kept = _float_weight_convs(exports["int8"])
    assert len(kept) > 2 and kept[0] and not any(kept[1:])
    assert (
        "input layer kept in float"
        in load_exported(exports["int8"]).metadata["swav_ts.quantization"]
    )
    calib = np.ascontiguousarray(hapt_tiny["X_train"][:32, :, :96])
    path = quantize_onnx(exports["onnx"], tmp_path / "all.onnx", calib, float_input_layer=False)
    assert not any(_float_weight_convs(path))
    layers = weighted_layers(exports["onnx"])
    only_2nd = {"float_input_layer": False, "float_layers": layers[1:2]}
    path = quantize_onnx(exports["onnx"], tmp_path / "2nd.onnx", calib, **only_2nd)
    assert _float_weight_convs(path)[:3] == [False, True, False]
    with pytest.raises(ValueError, match=r"float_layers \['conv_x'\] are not layers"):
        quantize_onnx(exports["onnx"], tmp_path / "x.onnx", calib, float_layers=["conv_x"])


def test_even_batch_size():
    assert [even_batch_size(n, 32) for n in (300, 37, 64, 1, 31)] == [30, 1, 32, 1, 31]
    with pytest.raises(ValueError, match="n >= 1"):
        even_batch_size(0, 32)


def test_exporting_an_unfitted_model_raises(tmp_path):
    with pytest.raises(NotFittedError):
        TimeSeriesSwAV().export(tmp_path / "m.onnx")
    with pytest.raises(NotFittedError):
        export_model(TimeSeriesSwAV(config=DEBUG).export_spec(), tmp_path / "m.pt", "torchscript")
    assert list(tmp_path.iterdir()) == []


def test_bad_export_arguments(est, tmp_path):
    with pytest.raises(ValueError, match="format must be"):
        est.export(tmp_path / "m.bin", format="tflite")
    with pytest.raises(ValueError, match="format='onnx' only"):
        est.export(tmp_path / "m.pt", format="torchscript", int8=True, calibration="hapt")
    with pytest.raises(ValueError, match="calibration windows"):
        est.export(tmp_path / "m.onnx", int8=True)


def test_loaded_model_checks_its_input(exports, hapt_tiny):
    model = load_exported(exports["torchscript"])
    X = hapt_tiny["X_test"][:3].copy()
    with pytest.raises(ValueError, match=r"has 5 channels but the model was fitted on 6"):
        model(X[:, :5])
    with pytest.raises(ValueError, match=r"shape \(n, 6, time\)"):
        model(X[0])
    X[0, 1, 5] = np.nan
    with pytest.raises(ValueError, match="1 NaN/infinite"):
        model(X)
    with pytest.raises(ValueError, match="without scores"):
        load_exported(exports["onnx_fixed"]).prototype_scores(hapt_tiny["X_test"][:3, :, :96])


def test_a_foreign_onnx_file_is_refused(tmp_path):
    node = onnx.helper.make_node("Identity", ["windows"], ["embedding"])
    vi = onnx.helper.make_tensor_value_info
    graph = onnx.helper.make_graph(
        [node],
        "g",
        [vi("windows", onnx.TensorProto.FLOAT, [1, 6, 8])],
        [vi("embedding", onnx.TensorProto.FLOAT, [1, 6, 8])],
    )
    path = tmp_path / "foreign.onnx"
    onnx.save(onnx.helper.make_model(graph), str(path))
    with pytest.raises(ValueError, match="not a swav_ts export"):
        load_exported(path)
    with pytest.raises(FileNotFoundError):
        load_exported(tmp_path / "missing.onnx")


def test_without_onnxruntime_the_error_says_how_to_install(exports, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    with pytest.raises(ImportError, match=r'pip install "swav-ts\[export\]"'):
        load_exported(exports["onnx"])


def test_export_graph_does_not_change_the_estimator(est, hapt_tiny):
    before = {k: v.clone() for k, v in est.model_.state_dict().items()}
    graph = ExportGraph(est.model_, scores=True)
    assert graph.standardize is not est.model_.backbone.standardize
    assert not any(isinstance(m, torch.nn.MaxPool1d) for m in graph.modules())
    assert any(isinstance(m, torch.nn.MaxPool1d) for m in est.model_.modules())
    after = est.model_.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


@pytest.mark.slow
@pytest.mark.parametrize(
    "encoder, kwargs",
    [
        ("resnet1d", {"widths": [8, 8], "kernel_sizes": [8, 5, 3]}),
        ("tcn", {"hidden": 8, "depth": 2, "output_dim": 8}),
        ("tcn", {"hidden": 8, "depth": 2, "output_dim": 8, "stride": 4}),
    ],
)
def test_other_encoders_export_with_a_dynamic_length(encoder, kwargs, tmp_path, hapt_tiny):
    est = TimeSeriesSwAV.from_config(DEBUG, encoder=encoder, encoder_kwargs=kwargs).fit("hapt")
    model = load_exported(est.export(tmp_path / "m.onnx"), threads=1)
    X = hapt_tiny["X_test"][:4]
    for windows in (X[..., :96], X, X[..., :33]):
        assert rel_err(model(windows), est.transform(windows)) <= 1e-5


def _classifier_spec(est, **changes) -> ExportSpec:
    """Another kind of model through the same entry point: the encoder + a linear head,
    class logits out (what a fine-tuned classifier exports)."""
    torch.manual_seed(0)
    module = torch.nn.Sequential(ExportGraph(est.model_), torch.nn.Linear(est.n_features_out_, 6))
    std = est.model_.backbone.standardize
    kwargs = {
        "module": module.eval(),
        "contract": est.contract_,
        "outputs": {"logits": 6},
        "channel_mean": std.mean.numpy(),
        "channel_std": std.std.numpy(),
        "metadata": {"swav_ts.model": "TestClassifier"},
    }
    return ExportSpec(**{**kwargs, **changes})


@pytest.mark.parametrize("fmt", ["onnx", "torchscript"])
def test_any_model_exports_through_an_export_spec(est, hapt_tiny, tmp_path, fmt):
    spec = _classifier_spec(est)
    model = load_exported(export_model(spec, tmp_path / "c.onnx", fmt), threads=1)
    assert model.output_names == ["logits"] and model.output_widths == {"logits": 6}
    assert model.embedding_dim is None
    assert model.metadata["swav_ts.model"] == "TestClassifier"
    assert RESERVED_KEYS <= set(model.metadata)
    X = hapt_tiny["X_test"][:7]
    with torch.no_grad():
        ref = spec.module(torch.from_numpy(X)).numpy()
    assert model(X).shape == (7, 6) and rel_err(model(X), ref) <= 1e-5


def test_the_swav_spec_names_its_outputs_and_widths(est, exports):
    spec = est.export_spec(scores=True)
    k = est.model_.prototypes.weights()[0].shape[0]
    assert spec.outputs == {"embedding": est.n_features_out_, "prototype_scores": k}
    model = load_exported(exports["onnx"])
    assert model.output_widths == spec.outputs and model.embedding_dim == est.n_features_out_
    assert model.metadata["swav_ts.model"] == "TimeSeriesSwAV"
    assert RESERVED_KEYS <= set(model.metadata)


def test_a_bad_export_spec_is_refused_with_its_attribute_named(est, tmp_path):
    with pytest.raises(TypeError, match=r"est.export_spec\(\)"):
        export_model(est, tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"declares \{'logits': 5\}.*returns shapes \[\(2, 6\)\]"):
        export_model(_classifier_spec(est, outputs={"logits": 5}), tmp_path / "m.pt", "torchscript")
    with pytest.raises(ValueError, match="'windows'"):
        _classifier_spec(est, outputs={"windows": 6})
    with pytest.raises(ValueError, match=r"outputs\['logits'\] must be a width >= 1"):
        _classifier_spec(est, outputs={"logits": 0})
    with pytest.raises(ValueError, match="channel_mean must hold 6 finite values"):
        _classifier_spec(est, channel_mean=[0.0, 1.0])
    with pytest.raises(ValueError, match=r"\['swav_ts.outputs'\] are written by export_model"):
        _classifier_spec(est, metadata={"swav_ts.outputs": "[]"})
    with pytest.raises(TypeError, match="InputContract"):
        _classifier_spec(est, contract=est.contract_.to_dict())
    assert list(tmp_path.iterdir()) == []
