"""Embeddings on the device: a fitted model exported to ONNX or TorchScript, and loaded back.

:func:`export_model` writes an :class:`ExportSpec`: a torch module (sensor-unit windows in,
named outputs out), the model's :class:`~swav_ts.data.contract.InputContract`, the outputs'
names and widths, and the model's own metadata. It knows no estimator class: each fitted
model builds its spec (:meth:`swav_ts.TimeSeriesSwAV.export_spec`), and its ``export`` method
calls :func:`export_model` with it.

A SwAV model's exported graph (:class:`ExportGraph`) is the estimator's ``transform`` without
Python around it: raw windows in **sensor units** ``(batch, channels, time)`` in, the
encoder's pooled features ``(batch, D)`` out (optionally also the prototype scores
``(batch, K)`` as a second output). The channel
standardisation is the graph's first operation (the training mean and standard deviation are
constants inside it), so the device feeds the sensor's values as they come. The batch size is
dynamic; the window length is dynamic (any length >= the encoder's minimum) or fixed at the
model's window length.

The model's input contract (channel names and order, sampling rate, window length, minimum
length, plausible range, units) travels inside the file with the swav_ts version and the output
names: ONNX ``metadata_props``, TorchScript ``_extra_files``. :func:`load_exported` reads it
back and checks every input against it, as :meth:`TimeSeriesSwAV.transform` does.

``onnx``, ``onnxscript`` (the exporter) and ``onnxruntime`` (the loader, quantisation) are
optional: ``pip install "swav-ts[export]"``. They are imported inside the functions that need
them; TorchScript needs only torch.

Modules: :mod:`~swav_ts.export.format` (names, metadata, optional imports),
:mod:`~swav_ts.export.spec` (:class:`ExportSpec`), :mod:`~swav_ts.export.graph` (the SwAV
model's graph), :mod:`~swav_ts.export.writer` (:func:`export_model`),
:mod:`~swav_ts.export.quantize` (int8), :mod:`~swav_ts.export.loaded` (:func:`load_exported`,
:class:`ExportedModel`).
"""

from swav_ts.export.format import EMBEDDING, EXPORT_FORMAT, INPUT, SCORES
from swav_ts.export.graph import ExportGraph, _MaxPool1dAs2d
from swav_ts.export.loaded import ExportedModel, absurd_bounds, file_size_mib, load_exported
from swav_ts.export.quantize import calibration_windows, quantize_onnx, weighted_layers
from swav_ts.export.spec import ExportSpec
from swav_ts.export.writer import export_model

__all__ = [
    "EMBEDDING",
    "EXPORT_FORMAT",
    "INPUT",
    "SCORES",
    "ExportGraph",
    "ExportSpec",
    "ExportedModel",
    "_MaxPool1dAs2d",
    "absurd_bounds",
    "calibration_windows",
    "export_model",
    "file_size_mib",
    "load_exported",
    "quantize_onnx",
    "weighted_layers",
]
