"""Writing a fitted estimator as an ONNX or TorchScript file, verified against the torch model."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from swav_ts.data.contract import InputContract
from swav_ts.export.format import (
    EMBEDDING,
    INPUT,
    SCORES,
    TORCHSCRIPT_META,
    ExportFormat,
    _metadata,
    _require,
    _save_onnx,
)
from swav_ts.export.graph import ExportGraph
from swav_ts.export.loaded import ExportedModel, load_exported
from swav_ts.export.quantize import calibration_windows, quantize_onnx

if TYPE_CHECKING:  # pragma: no cover
    from swav_ts.estimator import TimeSeriesSwAV

logger = logging.getLogger(__name__)


def _example(contract: InputContract, estimator: TimeSeriesSwAV, batch: int = 2) -> torch.Tensor:
    """Plausible example windows ``(batch, C, window_length)`` in sensor units (seeded)."""
    std = estimator.model_.backbone.standardize
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, contract.n_channels, contract.window_length, generator=g)
    return (x * std.std.float()[:, None] + std.mean.float()[:, None]).contiguous()


def _export_onnx_proto(graph: ExportGraph, example: torch.Tensor, dynamic_length: bool, opset):
    """The ONNX ModelProto of ``graph`` (torch's ``torch.export``-based exporter)."""
    _require("onnx", "ONNX export")
    _require("onnxscript", "ONNX export")
    from torch.export import Dim

    outputs = [EMBEDDING, SCORES] if graph.with_scores else [EMBEDDING]
    axes: dict[int, Any] = {0: Dim("batch")}
    if dynamic_length:
        axes[2] = Dim("time", min=max(2, int(graph.min_length)))
    kwargs: dict[str, Any] = {}
    if opset is not None:
        kwargs["opset_version"] = int(opset)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporter's deprecation and trace notices
        program = torch.onnx.export(
            graph,
            (example,),
            None,
            dynamo=True,
            input_names=[INPUT],
            output_names=outputs,
            dynamic_shapes={"windows": axes},
            verbose=False,
            **kwargs,
        )
    return program.model_proto


def _save_torchscript(graph: ExportGraph, example: torch.Tensor, path: Path, meta: dict) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace is deprecated upstream (torch >= 2.10)
        traced = torch.jit.trace(graph, (example,), check_trace=False)
        traced = torch.jit.freeze(traced.eval())
        tmp = path.with_name(f".{path.name}.tmp")
        torch.jit.save(traced, str(tmp), _extra_files={TORCHSCRIPT_META: json.dumps(meta)})
    tmp.replace(path)


def export_model(
    estimator: TimeSeriesSwAV,
    path: str | Path,
    format: ExportFormat = "onnx",
    *,
    scores: bool = False,
    dynamic_length: bool = True,
    int8: bool = False,
    calibration: np.ndarray | str | Path | None = None,
    n_calibration: int = 300,
    opset: int | None = None,
    verify: bool = True,
) -> Path:
    """Write a fitted estimator as a self-contained ONNX or TorchScript file.

    Parameters
    ----------
    estimator : TimeSeriesSwAV
        A fitted estimator.
    path : str or Path
        Output file (``.onnx`` for ONNX; ``.pt`` or ``.ts`` for TorchScript by convention).
    format : {"onnx", "torchscript"}
    scores : bool, default False
        Also output the prototype scores ``(batch, K)`` (second output ``prototype_scores``).
    dynamic_length : bool, default True
        Accept any window length >= the encoder's minimum; False fixes it at the model's
        window length (``contract_.window_length``).
    int8 : bool, default False
        ONNX only: statically quantise to int8 (QDQ) with ``calibration`` windows
        (:func:`quantize_onnx`).
    calibration : ndarray (n, C, T), "hapt" or path to a ``.npy`` file, optional
        Calibration windows in sensor units (needed with ``int8``); ``n_calibration`` of them
        are drawn (seeded).
    n_calibration : int, default 300
    opset : int, optional
        ONNX opset (default: the exporter's).
    verify : bool, default True
        Run the written file on seeded windows and check that it reproduces the torch model
        (fp32 exports: max difference <= 1e-4 of the largest value), else ``RuntimeError``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        The estimator is not fitted.
    ImportError
        ONNX export without ``onnx``/``onnxscript`` (or int8 without ``onnxruntime``): the
        message names ``pip install "swav-ts[export]"``.
    ValueError
        Unknown format, ``int8`` with TorchScript or without calibration windows.
    """
    estimator._check_fitted()
    if format not in ("onnx", "torchscript"):
        raise ValueError(f"format must be 'onnx' or 'torchscript', got {format!r}")
    if int8 and format != "onnx":
        raise ValueError("int8 quantisation is available for format='onnx' only")
    if int8 and calibration is None:
        raise ValueError(
            "int8 needs calibration windows: calibration='hapt', a .npy file or an "
            "(n, C, T) array in sensor units (a few hundred training windows)"
        )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    contract = estimator.contract_
    graph = ExportGraph(estimator.model_, scores=scores, dynamic_length=dynamic_length)
    example = _example(contract, estimator)
    outputs = [EMBEDDING, SCORES] if scores else [EMBEDDING]
    meta = _metadata(estimator, format, outputs, dynamic_length)
    if format == "torchscript":
        _save_torchscript(graph, example, path, meta)
    else:
        proto = _export_onnx_proto(graph, example, dynamic_length, opset)
        if not int8:
            _save_onnx(proto, path, meta)
        else:
            windows = calibration_windows(
                calibration, contract, n=n_calibration, fixed_length=not dynamic_length
            )
            with tempfile.TemporaryDirectory(prefix="swav_ts_export_") as tmp:
                fp32 = Path(tmp) / "fp32.onnx"
                _save_onnx(proto, fp32, meta)
                quantize_onnx(fp32, path, windows)
    if verify and not int8:
        _verify(graph, load_exported(path, threads=1), contract, estimator)
    logger.info("exported %s (%s, outputs %s) to %s", contract.describe(), format, outputs, path)
    return path


def _verify(
    graph: ExportGraph, exported: ExportedModel, contract: InputContract, est: TimeSeriesSwAV
) -> None:
    x = _example(contract, est, batch=3)  # (3, C, L)
    lengths = [contract.window_length]
    if exported.dynamic_length:
        lengths.append(max(contract.min_length, contract.window_length // 2 + 3))
    for length in lengths:
        xl = x[..., :length] if length <= x.shape[-1] else x
        with torch.no_grad():
            ref = graph(xl)
        ref = (ref,) if isinstance(ref, torch.Tensor) else ref
        got = exported.run(xl.numpy())
        for name, r in zip(exported.output_names, ref):
            r = r.numpy()
            err = float(np.abs(got[name] - r).max()) / max(float(np.abs(r).max()), 1e-12)
            if not err <= 1e-4:
                raise RuntimeError(
                    f"the exported {exported.backend} model does not reproduce the torch model: "
                    f"output {name!r} at length {length} differs by {err:.3g} (relative)"
                )
