"""One model file format for every fitted estimator: safetensors weights plus JSON metadata.

No pickle: the weights are tensors, everything else (format, version, config, input contract,
the estimator's parameters) is JSON text in the file's metadata. Writes are atomic (a
temporary file renamed into place), so an interrupted save never leaves half a model.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

import swav_ts

__all__ = ["read_model_file", "write_model_file"]


def write_model_file(path: str | Path, module: nn.Module, metadata: dict[str, str]) -> Path:
    """Write ``module``'s state and ``metadata`` (plus the swav_ts version) to ``path``
    (``.safetensors`` added when missing; parent folders created). Returns the path."""
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        path = path.with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {**metadata, "swav_ts_version": swav_ts.__version__}
    state = {k: v.detach().cpu().contiguous() for k, v in module.state_dict().items()}
    tmp = path.with_name(f".{path.name}.tmp")
    save_file(state, str(tmp), metadata=meta)
    tmp.replace(path)
    return path


def read_model_file(
    path: str | Path, expected_format: str, what: str
) -> tuple[dict[str, str], dict[str, torch.Tensor], Path]:
    """Metadata and tensors of a model file written by :func:`write_model_file`.

    Parameters
    ----------
    path : path
        The file (``.safetensors`` may be left out).
    expected_format : str
        The ``format`` metadata the caller reads (e.g. ``"swav_ts.TimeSeriesSwAV/2"``).
    what : str
        The estimator's name, for the messages.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        Not a safetensors file, another format (naming the estimator that reads it when it is
        a swav_ts file), or written by an incompatible swav_ts version.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.exists() and path.with_suffix(".safetensors").exists():
        path = path.with_suffix(".safetensors")
    if not path.is_file():
        raise FileNotFoundError(f"no saved {what} at {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
            state = {k: f.get_tensor(k) for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise ValueError(
            f"{path} is not a {what} model file (safetensors could not read it: {exc})"
        ) from None
    found = meta.get("format")
    if found != expected_format:
        name = str(found or "").split("/")[0]
        other = name.removeprefix("swav_ts.")
        hint = (
            f" (a {other}: load it with {other}.load)"
            if name.startswith("swav_ts.") and name != expected_format.split("/")[0]
            else " (a model of an older swav_ts: fit it again)"
        )
        raise ValueError(f"{path} holds format {found!r}, expected {expected_format!r}{hint}")
    saved_version = meta.get("swav_ts_version", "?")
    if saved_version.split(".")[:2] != swav_ts.__version__.split(".")[:2]:
        raise ValueError(
            f"{path} was written by swav_ts {saved_version}; this is "
            f"{swav_ts.__version__}, whose model format may differ"
        )
    return meta, state, path
