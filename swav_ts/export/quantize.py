"""Static int8 quantisation (QDQ) of an ONNX export, calibrated on sensor windows."""

from __future__ import annotations

import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from swav_ts.data.contract import InputContract, check_windows
from swav_ts.export.format import INPUT, _require, _save_onnx


def calibration_windows(
    spec: np.ndarray | str | Path,
    contract: InputContract,
    n: int = 300,
    seed: int = 0,
    fixed_length: bool = False,
) -> np.ndarray:
    """Calibration windows ``(n, C, T)`` float32 in sensor units for int8 quantisation.

    Parameters
    ----------
    spec : ndarray (m, C, T), "hapt" or path to a ``.npy`` file
        ``"hapt"``: the HAPT training windows (the model's channels must be HAPT's).
    contract : InputContract
        The model's; the windows are checked against it (channel count, minimum length).
    n : int
        At most this many windows, drawn without replacement (seeded).
    fixed_length : bool
        Crop (or refuse shorter) windows to the model's window length.
    """
    if isinstance(spec, str) and spec == "hapt":
        from swav_ts.data.hapt import load_hapt, load_hapt_recordings

        hapt_channels = load_hapt_recordings("train")[0].channel_names
        if contract.named and list(contract.channel_names) != list(hapt_channels):
            raise ValueError(
                f"calibration 'hapt' has channels {hapt_channels}; the model needs "
                f"{contract.channel_names}: pass windows of the model's own data"
            )
        X, _, _ = load_hapt("train")
    elif isinstance(spec, (str, Path)):
        p = Path(spec)
        if p.suffix != ".npy" or not p.is_file():
            raise ValueError(f"calibration {spec!r}: expected 'hapt' or an existing .npy file")
        X = np.load(p, allow_pickle=False)
    else:
        X = np.asarray(spec)
    if X.ndim != 3:
        raise ValueError(f"calibration windows must be (n, C, T), got shape {X.shape}")
    X = np.asarray(X, dtype=np.float32)
    if fixed_length:
        if X.shape[2] < contract.window_length:
            raise ValueError(
                f"calibration windows have {X.shape[2]} samples; the fixed-length export "
                f"needs {contract.window_length}"
            )
        X = X[..., : contract.window_length]
    check_windows(X, contract, name="calibration windows")
    X = X[np.isfinite(X).all(axis=(1, 2))]
    if len(X) == 0:
        raise ValueError("calibration: no window without NaN/inf")
    if len(X) > n:
        X = X[np.sort(np.random.default_rng(seed).choice(len(X), n, replace=False))]
    return np.ascontiguousarray(X, dtype=np.float32)


def quantize_onnx(
    fp32_path: str | Path,
    out_path: str | Path,
    calibration: np.ndarray,
    *,
    per_channel: bool = True,
    method: Literal["minmax", "percentile", "entropy"] = "minmax",
    batch_size: int = 32,
    float_input_layer: bool = True,
    float_layers: Sequence[str] = (),
) -> Path:
    """Static int8 quantisation (QDQ format) of an exported fp32 ONNX file.

    Weights are quantised to int8 (per output channel), activations to uint8 with ranges
    calibrated on ``calibration`` windows (ONNX Runtime's ``quantize_static``; dynamic
    quantisation leaves the convolutions in float). The metadata is carried over, with
    ``swav_ts.quantization`` describing the scheme.

    By default the input layer (the first convolution or matrix product, reading the
    standardised windows) stays in float. Activations are quantised per tensor, so one
    uint8 scale covers every input channel, set by the largest excursion of any of them
    (about 0.1 standard deviation per step on HAPT, 0.04 g on the accelerometer), coarse
    next to the static differences that tell postures apart. On the HAPT demo model, every
    layer in int8 cost 0.65 points of a validation-subject linear probe; the input layer in
    float, nothing (docs/deploy.md).

    Parameters
    ----------
    fp32_path, out_path : path
    calibration : ndarray (n, C, T) float32
        Windows in sensor units (see :func:`calibration_windows`).
    per_channel : bool, default True
    method : {"minmax", "percentile", "entropy"}
        Calibration method.
    batch_size : int
        Most calibration windows per inference. The batches are made equal in size (the
        largest divisor of the window count not above ``batch_size``): ONNX Runtime's
        histogram calibrators (percentile, entropy) stack the activations of all batches and
        fail on a shorter last batch.
    float_input_layer : bool, default True
        Keep the input layer in float (above); False quantises every layer.
    float_layers : sequence of str
        Further layers to keep in float, by ONNX node name (:func:`weighted_layers`).
    """
    _require("onnxruntime", "int8 quantisation")
    onnx = _require("onnx", "int8 quantisation")
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    fp32_path, out_path = Path(fp32_path), Path(out_path)
    meta = {
        p.key: p.value for p in onnx.load(str(fp32_path), load_external_data=False).metadata_props
    }
    methods = {
        "minmax": CalibrationMethod.MinMax,
        "percentile": CalibrationMethod.Percentile,
        "entropy": CalibrationMethod.Entropy,
    }
    if method not in methods:
        raise ValueError(f"method must be one of {sorted(methods)}, got {method!r}")
    calibration = np.ascontiguousarray(calibration, dtype=np.float32)
    batch_size = even_batch_size(len(calibration), batch_size)

    class _Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self._it = iter(range(0, len(calibration), batch_size))

        def get_next(self) -> dict[str, np.ndarray] | None:
            start = next(self._it, None)
            if start is None:
                return None
            return {INPUT: calibration[start : start + batch_size]}  # (b, C, T)

    with tempfile.TemporaryDirectory(prefix="swav_ts_quant_") as tmp:
        pre = Path(tmp) / "pre.onnx"
        # ONNX's own shape inference suffices; ONNX Runtime's symbolic one crashes on the
        # prototype-score head (an Expand of the L2 normalisation) and, where it runs, gives
        # the same quantised model.
        quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
        layers = weighted_layers(pre)
        unknown = sorted(set(float_layers) - set(layers))
        if unknown:
            raise ValueError(f"float_layers {unknown} are not layers of {fp32_path}: {layers}")
        first = layers[:1] if float_input_layer else []
        keep = list(dict.fromkeys([*first, *float_layers]))  # (in order, once)
        q = Path(tmp) / "int8.onnx"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            quantize_static(
                str(pre),
                str(q),
                _Reader(),
                quant_format=QuantFormat.QDQ,
                per_channel=per_channel,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=methods[method],
                nodes_to_exclude=keep,
                extra_options={"CalibTensorRangeSymmetric": False},
            )
        model = onnx.load(str(q))
        meta["swav_ts.quantization"] = (
            f"int8 static QDQ (onnxruntime {_ort_version()}): weights int8 "
            f"{'per channel' if per_channel else 'per tensor'}, activations uint8, "
            f"{method} calibration on {len(calibration)} windows"
            + (", input layer kept in float" if float_input_layer and layers else "")
            + (f", layers kept in float: {list(float_layers)}" if float_layers else "")
        )
        _save_onnx(model, out_path, meta)
    return out_path


def weighted_layers(path: str | Path) -> list[str]:
    """Node names of an ONNX file's Conv, MatMul and Gemm layers, input first.

    ONNX graphs list their nodes in topological order, so the first name is the input layer
    that :func:`quantize_onnx` keeps in float by default.
    """
    onnx = _require("onnx", "int8 quantisation")
    graph = onnx.load(str(path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type in ("Conv", "MatMul", "Gemm")]


def even_batch_size(n: int, most: int) -> int:
    """The largest divisor of ``n`` that is at most ``most`` (batches of one size)."""
    if n < 1 or most < 1:
        raise ValueError(f"need n >= 1 and most >= 1, got n={n}, most={most}")
    return max(d for d in range(1, min(n, most) + 1) if n % d == 0)


def _ort_version() -> str:
    import onnxruntime

    return onnxruntime.__version__
