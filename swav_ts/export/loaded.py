"""An export loaded back (ONNX Runtime or TorchScript), checking its input like ``transform``."""

from __future__ import annotations

import json
import os
import warnings
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

from swav_ts.data.contract import ABSURD_FACTOR, InputContract, check_windows
from swav_ts.export.format import (
    EMBEDDING,
    INPUT,
    SCORES,
    TORCHSCRIPT_META,
    _contract_from,
    _require,
)


class ExportedModel:
    """An exported model, loaded: ``model(X) -> its first output`` (the embeddings of a
    SwAV model's export), ``model.run(X) -> every output by name``.

    Attributes
    ----------
    backend : {"onnx", "torchscript"}
    contract : InputContract
        Read from the file's metadata.
    metadata : dict of str
        Every ``swav_ts.*`` key of the file.
    output_names : list of str
        In the graph's order; a SwAV model's export: ``["embedding"]`` or ``["embedding",
        "prototype_scores"]``.
    output_widths : dict of str to int
        Width of each output (exports written before the widths were recorded: only the
        embedding's).
    embedding_dim : int or None
        Width of the ``embedding`` output (None when the export has none, e.g. a
        classifier's).
    dynamic_length : bool
        Whether windows of any length >= ``contract.min_length`` are accepted (else exactly
        ``contract.window_length``).
    path : Path
    """

    def __init__(self, path: Path, backend: str, runner: Any, metadata: dict[str, str]):
        self.path = path
        self.backend = backend
        self._runner = runner
        self.metadata = metadata
        self.contract = _contract_from(metadata, str(path))
        self.output_names = list(json.loads(metadata.get("swav_ts.outputs", '["embedding"]')))
        widths = json.loads(metadata.get("swav_ts.output_widths", "{}"))
        if "swav_ts.embedding_dim" in metadata:  # written by TimeSeriesSwAV.export_spec
            widths.setdefault(EMBEDDING, int(metadata["swav_ts.embedding_dim"]))
        self.output_widths: dict[str, int] = {k: int(v) for k, v in widths.items()}
        self.embedding_dim = self.output_widths.get(EMBEDDING)
        self.dynamic_length = bool(json.loads(metadata.get("swav_ts.dynamic_length", "false")))

    def __repr__(self) -> str:
        return (
            f"ExportedModel({str(self.path)!r}, backend={self.backend!r}, "
            f"outputs={self.output_names}, {self.contract.describe()})"
        )

    def check(self, X: Any, name: str = "X") -> np.ndarray:
        """``X`` as float32 ``(n, C, T)`` checked against the contract.

        Raises
        ------
        ValueError
            Not 3-D, empty, a wrong channel count, a wrong (or too short) length, NaN or
            infinite values, values far beyond the plausible range (all naming the
            expectation).
        """
        if isinstance(X, torch.Tensor):
            X = X.detach().cpu().numpy()
        X = np.asarray(X)
        if X.dtype == object or not np.issubdtype(X.dtype, np.number):
            raise TypeError(f"{name} must hold real numbers, got dtype {X.dtype}")
        if X.ndim != 3 or X.shape[0] == 0:
            raise ValueError(
                f"{name} must have shape (n, {self.contract.n_channels}, time) with n >= 1; got "
                f"shape {X.shape}"
            )
        if not self.dynamic_length and X.shape[2] != self.contract.window_length:
            raise ValueError(
                f"{name} has windows of {X.shape[2]} samples; this export has a fixed length of "
                f"{self.contract.window_length} (export with dynamic_length=True for others)"
            )
        X = np.ascontiguousarray(X, dtype=np.float32)
        n_bad = int((~np.isfinite(X)).sum())
        if n_bad:
            raise ValueError(
                f"{name} holds {n_bad} NaN/infinite values (shape {X.shape}); the exported model "
                "takes complete windows"
            )
        check_windows(X, self.contract, name=name)
        return X

    def run(self, X: Any, batch_size: int = 512) -> dict[str, np.ndarray]:
        """Every output of the model for the checked windows ``X`` ``(n, C, T)``."""
        X = self.check(X)
        parts: dict[str, list[np.ndarray]] = {k: [] for k in self.output_names}
        for start in range(0, len(X), batch_size):
            for k, v in zip(self.output_names, self._forward(X[start : start + batch_size])):
                parts[k].append(v)
        return {k: np.concatenate(v) for k, v in parts.items()}

    def __call__(self, X: Any, batch_size: int = 512) -> np.ndarray:
        """The first output ``(n, width)`` float32 of windows ``X`` ``(n, C, T)`` in sensor
        units: the embeddings of a SwAV model's export."""
        return self.run(X, batch_size)[self.output_names[0]]

    def prototype_scores(self, X: Any, batch_size: int = 512) -> np.ndarray:
        """Prototype scores ``(n, K)`` (exports made with ``scores=True`` only)."""
        if SCORES not in self.output_names:
            raise ValueError(f"{self.path} was exported without scores (export with scores=True)")
        return self.run(X, batch_size)[SCORES]

    def _forward(self, X: np.ndarray) -> list[np.ndarray]:
        """Raw outputs of checked windows ``(B, C, T)``, in ``output_names`` order."""
        if self.backend == "onnx":
            return self._runner.run(self.output_names, {INPUT: X})
        with torch.inference_mode():
            out = self._runner(torch.from_numpy(X))
        out = (out,) if isinstance(out, torch.Tensor) else out
        return [o.numpy() for o in out]

    def embed_unchecked(self, X: np.ndarray) -> np.ndarray:
        """The first output (embeddings) of windows already checked (float32 contiguous
        ``(B, C, T)``)."""
        return self._forward(X)[0]


def _is_torchscript(path: Path) -> bool:
    return zipfile.is_zipfile(path)


def load_exported(path: str | Path, threads: int | None = None) -> ExportedModel:
    """Load an ONNX (ONNX Runtime, CPU) or TorchScript file written by
    :func:`~swav_ts.export.export_model`.

    Parameters
    ----------
    path : path
        The file; its kind is recognised from its content (TorchScript files are zip
        archives).
    threads : int, optional
        ONNX Runtime intra-op threads (default: ONNX Runtime's choice). TorchScript follows
        ``torch.set_num_threads``.

    Raises
    ------
    FileNotFoundError
    ImportError
        An ONNX file without ``onnxruntime`` installed (naming ``pip install
        "swav-ts[export]"``).
    ValueError
        Not a swav_ts export (no or another ``swav_ts.format`` in its metadata).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no exported model at {path}")
    if _is_torchscript(path):
        extra = {TORCHSCRIPT_META: ""}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
        try:
            meta = json.loads(extra[TORCHSCRIPT_META] or "{}")
        except ValueError:
            meta = {}
        return ExportedModel(path, "torchscript", module.eval(), meta)
    ort = _require("onnxruntime", "loading an ONNX export")
    opts = ort.SessionOptions()
    if threads is not None:
        opts.intra_op_num_threads = int(threads)
        opts.inter_op_num_threads = 1
    opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    try:
        session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ValueError(f"{path} is not a loadable ONNX model ({exc})") from None
    meta = dict(session.get_modelmeta().custom_metadata_map)
    return ExportedModel(path, "onnx", session, meta)


def file_size_mib(path: str | Path) -> float:
    """Size of a file in MiB."""
    return os.path.getsize(path) / 2**20


def absurd_bounds(contract: InputContract) -> tuple[np.ndarray, np.ndarray] | None:
    """Per-channel bounds ``(C,)`` beyond which a value is refused as absurd (None: no range).

    The same rule as :func:`swav_ts.data.contract.check_windows`: further than
    ``ABSURD_FACTOR`` fence widths outside the training data's plausible range.
    """
    if contract.low is None or contract.high is None:
        return None
    low = np.asarray(contract.low, dtype=np.float64)
    high = np.asarray(contract.high, dtype=np.float64)
    pad = ABSURD_FACTOR * (high - low)
    return low - pad, high + pad
