"""What an export file holds besides the graph: its input/output names, the metadata that
carries the model's input contract, and the optional imports (the ``export`` extra)."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, Literal

import swav_ts
from swav_ts.data.contract import InputContract

#: Format tag written into every export (``swav_ts.format`` metadata key).
EXPORT_FORMAT = "swav_ts.export/1"
#: The input name of every export; the output names of a SwAV model's export (other models
#: name their outputs in ``ExportSpec.outputs``).
INPUT = "windows"
EMBEDDING = "embedding"
SCORES = "prototype_scores"
#: The TorchScript extra file holding the metadata.
TORCHSCRIPT_META = "swav_ts.json"
INSTALL_HINT = 'pip install "swav-ts[export]"'

ExportFormat = Literal["onnx", "torchscript"]


def _require(module: str, what: str) -> Any:
    """Import an optional dependency or raise an ImportError that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{what} needs the optional package {module!r} ({exc}); install the export "
            f"extra: {INSTALL_HINT}"
        ) from None


# -------------------------------------------------------------------------- metadata
#: The metadata keys every export gets from :func:`_metadata` (a spec's own keys may not
#: replace them).
RESERVED_KEYS = frozenset(
    f"swav_ts.{k}"
    for k in (
        "format",
        "version",
        "exported_as",
        "contract",
        "channel_names",
        "rate_hz",
        "window_length",
        "min_length",
        "plausible_low",
        "plausible_high",
        "input",
        "input_layout",
        "outputs",
        "output_widths",
        "dynamic_length",
        "quantization",
    )
)


def _metadata(
    contract: InputContract,
    format: str,
    outputs: dict[str, int],
    dynamic_length: bool,
    extra: dict[str, str] | None = None,
) -> dict[str, str]:
    """The key/value strings written into an export (every value a string): the
    :data:`RESERVED_KEYS` from the contract and the outputs (name -> width, in order), then
    ``extra`` (the model's own keys)."""
    c = contract
    meta = {
        "swav_ts.format": EXPORT_FORMAT,
        "swav_ts.version": swav_ts.__version__,
        "swav_ts.exported_as": format,
        "swav_ts.contract": json.dumps(c.to_dict()),
        "swav_ts.channel_names": json.dumps(list(c.channel_names)),
        "swav_ts.rate_hz": json.dumps(c.rate_hz),
        "swav_ts.window_length": str(int(c.window_length)),
        "swav_ts.min_length": str(int(c.min_length)),
        "swav_ts.plausible_low": json.dumps(c.low),
        "swav_ts.plausible_high": json.dumps(c.high),
        "swav_ts.input": INPUT,
        "swav_ts.input_layout": "(batch, channels, time), sensor units",
        "swav_ts.outputs": json.dumps(list(outputs)),
        "swav_ts.output_widths": json.dumps({k: int(v) for k, v in outputs.items()}),
        "swav_ts.dynamic_length": json.dumps(bool(dynamic_length)),
        "swav_ts.quantization": "none",
    }
    meta.update(extra or {})
    return meta


def _contract_from(meta: dict[str, str], where: str) -> InputContract:
    if meta.get("swav_ts.format") != EXPORT_FORMAT:
        raise ValueError(
            f"{where} is not a swav_ts export: its metadata has format "
            f"{meta.get('swav_ts.format')!r}, expected {EXPORT_FORMAT!r} (export the model "
            "with TimeSeriesSwAV.export or swav-ts export)"
        )
    try:
        return InputContract.from_dict(json.loads(meta["swav_ts.contract"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{where}: the swav_ts.contract metadata is unreadable: {exc}") from None


def _save_onnx(proto: Any, path: Path, meta: dict[str, str]) -> None:
    onnx = _require("onnx", "ONNX export")
    del proto.metadata_props[:]
    onnx.helper.set_model_props(proto, meta)
    proto.producer_name = "swav_ts"
    proto.producer_version = swav_ts.__version__
    tmp = path.with_name(f".{path.name}.tmp")
    onnx.save_model(proto, str(tmp))
    tmp.replace(path)
