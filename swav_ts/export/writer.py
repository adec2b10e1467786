"""Writing a fitted model (an :class:`~swav_ts.export.spec.ExportSpec`) as an ONNX or
TorchScript file, verified against its torch module."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.export.format import (
    INPUT,
    TORCHSCRIPT_META,
    ExportFormat,
    _metadata,
    _require,
    _save_onnx,
)
from swav_ts.export.loaded import ExportedModel, load_exported
from swav_ts.export.quantize import calibration_windows, quantize_onnx
from swav_ts.export.spec import ExportSpec

logger = logging.getLogger(__name__)


def _example(spec: ExportSpec, batch: int = 2) -> torch.Tensor:
    """Plausible example windows ``(batch, C, window_length)`` in sensor units (seeded)."""
    contract = spec.contract
    g = torch.Generator().manual_seed(0)
    x = torch.randn(batch, contract.n_channels, contract.window_length, generator=g)
    mean = torch.tensor(spec.channel_mean)[:, None]  # (C, 1)
    std = torch.tensor(spec.channel_std)[:, None]  # (C, 1)
    return (x * std.float() + mean.float()).contiguous()


def _run(module: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The module's outputs on ``x`` as a tuple (one tensor or several)."""
    with torch.no_grad():
        out = module(x)
    return (out,) if isinstance(out, torch.Tensor) else tuple(out)


def _check_outputs(spec: ExportSpec, example: torch.Tensor) -> None:
    """The module gives as many outputs as ``spec.outputs`` names, each ``(B, width)``."""
    got = [tuple(o.shape) for o in _run(spec.module, example)]
    want = [(example.shape[0], w) for w in spec.outputs.values()]
    if got != want:
        raise ValueError(
            f"ExportSpec.outputs declares {spec.outputs} (shapes {want} on {example.shape[0]} "
            f"windows) but the module returns shapes {got}: make them agree"
        )


def _export_onnx_proto(spec: ExportSpec, example: torch.Tensor, opset: int | None) -> Any:
    """The ONNX ModelProto of ``spec.module`` (torch's ``torch.export``-based exporter)."""
    _require("onnx", "ONNX export")
    _require("onnxscript", "ONNX export")
    from torch.export import Dim

    axes: dict[int, Any] = {0: Dim("batch")}
    if spec.dynamic_length:
        axes[2] = Dim("time", min=max(2, int(spec.contract.min_length)))
    kwargs: dict[str, Any] = {}
    if opset is not None:
        kwargs["opset_version"] = int(opset)
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")  # the exporter's deprecation and trace notices
        program = torch.onnx.export(
            spec.module,
            (example,),
            None,
            dynamo=True,
            input_names=[INPUT],
            output_names=list(spec.outputs),
            dynamic_shapes=(axes,),  # by position: any forward's argument name
            verbose=False,
            **kwargs,
        )
    return program.model_proto


def _save_torchscript(
    module: torch.nn.Module, example: torch.Tensor, path: Path, meta: dict
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit.trace is deprecated upstream (torch >= 2.10)
        traced = torch.jit.trace(module, (example,), check_trace=False)
        traced = torch.jit.freeze(traced.eval())
        tmp = path.with_name(f".{path.name}.tmp")
        torch.jit.save(traced, str(tmp), _extra_files={TORCHSCRIPT_META: json.dumps(meta)})
    tmp.replace(path)


def export_model(
    spec: ExportSpec,
    path: str | Path,
    format: ExportFormat = "onnx",
    *,
    int8: bool = False,
    calibration: np.ndarray | str | Path | None = None,
    n_calibration: int = 300,
    opset: int | None = None,
    verify: bool = True,
) -> Path:
    """Write a fitted model as a self-contained ONNX or TorchScript file.

    The file holds the traced ``spec.module`` (one input ``windows``, the outputs named as in
    ``spec.outputs``) and, as metadata, ``spec.contract``, the output names and widths, the
    swav_ts version and ``spec.metadata``. A fitted :class:`~swav_ts.TimeSeriesSwAV` builds
    its spec with ``export_spec(scores, dynamic_length)``; ``TimeSeriesSwAV.export(path,
    ...)`` does both steps.

    Parameters
    ----------
    spec : ExportSpec
        The module to export and its description (:class:`~swav_ts.export.spec.ExportSpec`).
    path : str or Path
        Output file (``.onnx`` for ONNX; ``.pt`` or ``.ts`` for TorchScript by convention);
        its folder is created.
    format : {"onnx", "torchscript"}
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
        Run the written file on seeded windows and check that it reproduces the torch module
        (fp32 exports: max difference <= 1e-4 of the largest value), else ``RuntimeError``.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    TypeError
        ``spec`` is not an :class:`ExportSpec` (an estimator: call its ``export`` method or
        pass ``est.export_spec()``).
    ImportError
        ONNX export without ``onnx``/``onnxscript`` (or int8 without ``onnxruntime``): the
        message names ``pip install "swav-ts[export]"``.
    ValueError
        Unknown format, ``int8`` with TorchScript or without calibration windows; a module
        whose outputs disagree with ``spec.outputs``.
    """
    if not isinstance(spec, ExportSpec):
        raise TypeError(
            f"export_model takes an ExportSpec, got {type(spec).__name__}; for a fitted "
            "estimator call est.export(path, ...) or export_model(est.export_spec(), path, ...)"
        )
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
    contract = spec.contract
    example = _example(spec)
    _check_outputs(spec, example)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = _metadata(contract, format, spec.outputs, spec.dynamic_length, spec.metadata)
    if format == "torchscript":
        _save_torchscript(spec.module, example, path, meta)
    else:
        proto = _export_onnx_proto(spec, example, opset)
        if not int8:
            _save_onnx(proto, path, meta)
        else:
            windows = calibration_windows(
                calibration, contract, n=n_calibration, fixed_length=not spec.dynamic_length
            )
            with tempfile.TemporaryDirectory(prefix="swav_ts_export_") as tmp:
                fp32 = Path(tmp) / "fp32.onnx"
                _save_onnx(proto, fp32, meta)
                quantize_onnx(fp32, path, windows)
    if verify and not int8:
        _verify(spec, load_exported(path, threads=1))
    logger.info(
        "exported %s (%s, outputs %s) to %s", contract.describe(), format, spec.outputs, path
    )
    return path


def _verify(spec: ExportSpec, exported: ExportedModel) -> None:
    contract = spec.contract
    x = _example(spec, batch=3)  # (3, C, L)
    lengths = [contract.window_length]
    if exported.dynamic_length:
        lengths.append(max(contract.min_length, contract.window_length // 2 + 3))
    for length in lengths:
        xl = x[..., :length] if length <= x.shape[-1] else x
        ref = _run(spec.module, xl)
        got = exported.run(xl.numpy())
        for name, r in zip(exported.output_names, ref):
            r = r.numpy()
            err = float(np.abs(got[name] - r).max()) / max(float(np.abs(r).max()), 1e-12)
            if not err <= 1e-4:
                raise RuntimeError(
                    f"the exported {exported.backend} model does not reproduce the torch model: "
                    f"output {name!r} at length {length} differs by {err:.3g} (relative)"
                )
