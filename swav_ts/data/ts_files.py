"""Reader for the UEA/UCR ``.ts`` time-series classification format.

The format is a text header of ``@tag value`` lines followed by ``@data`` and one case per line:
dimensions separated by ``:``, values within a dimension by ``,``, and the class label as the
last ``:``-separated field when ``@classLabel true``. Missing values are written ``?``.
Only ``@timeStamps false`` files are supported.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np

__all__ = ["TsHeader", "load_ts_file"]

logger = logging.getLogger(__name__)

_BOOL_TAGS = ("timestamps", "missing", "univariate", "equallength")
_INT_TAGS = ("dimensions", "serieslength")
_KNOWN_TAGS = (
    "problemname",
    "timestamps",
    "missing",
    "univariate",
    "dimensions",
    "equallength",
    "serieslength",
    "classlabel",
    "targetlabel",
    "data",
)


@dataclass
class TsHeader:
    """Parsed ``.ts`` header.

    Attributes hold the declared values, or None where a tag is absent.
    """

    problem_name: str | None = None
    timestamps: bool | None = None
    missing: bool | None = None
    univariate: bool | None = None
    dimensions: int | None = None
    equal_length: bool | None = None
    series_length: int | None = None
    class_label: bool | None = None
    class_names: list[str] = field(default_factory=list)
    target_label: bool | None = None


def _err(path: Path, line_no: int, msg: str) -> ValueError:
    return ValueError(f"{path}: line {line_no}: {msg}")


def _parse_bool(path: Path, line_no: int, tag: str, value: str) -> bool:
    v = value.strip().lower()
    if v == "true":
        return True
    if v == "false":
        return False
    raise _err(path, line_no, f"@{tag} expects 'true' or 'false', got {value!r}")


def _parse_header_line(path: Path, line_no: int, line: str, header: TsHeader, seen: set) -> bool:
    """Parse one ``@`` line into ``header``; return True when it is ``@data``."""
    parts = line[1:].split(maxsplit=1)
    tag = parts[0].lower() if parts else ""
    value = parts[1].strip() if len(parts) > 1 else ""
    if tag not in _KNOWN_TAGS:
        raise _err(path, line_no, f"unknown header tag @{parts[0] if parts else ''!s}")
    if tag in seen:
        raise _err(path, line_no, f"header tag @{parts[0]} given twice")
    seen.add(tag)
    if tag == "data":
        if value:
            raise _err(path, line_no, f"@data takes no value, got {value!r}")
        return True
    if tag == "problemname":
        header.problem_name = value
    elif tag in _BOOL_TAGS:
        b = _parse_bool(path, line_no, parts[0], value)
        name = {"timestamps": "timestamps", "equallength": "equal_length"}.get(tag, tag)
        setattr(header, name, b)
    elif tag in _INT_TAGS:
        try:
            n = int(value)
        except ValueError:
            raise _err(path, line_no, f"@{parts[0]} expects an integer, got {value!r}") from None
        if n < 1:
            raise _err(path, line_no, f"@{parts[0]} must be >= 1, got {n}")
        setattr(header, "dimensions" if tag == "dimensions" else "series_length", n)
    elif tag == "classlabel":
        tokens = value.split()
        if not tokens:
            raise _err(path, line_no, "@classLabel expects 'true <labels...>' or 'false'")
        header.class_label = _parse_bool(path, line_no, "classLabel", tokens[0])
        header.class_names = tokens[1:]
        if header.class_label and not header.class_names:
            raise _err(path, line_no, "@classLabel true but no class labels listed")
        if not header.class_label and header.class_names:
            raise _err(path, line_no, "@classLabel false but class labels listed")
        if len(set(header.class_names)) != len(header.class_names):
            raise _err(path, line_no, "@classLabel lists a class label twice")
    elif tag == "targetlabel":
        header.target_label = _parse_bool(path, line_no, "targetLabel", value)
    return False


def _check_header(path: Path, line_no: int, header: TsHeader) -> None:
    if header.timestamps:
        raise _err(
            path,
            line_no,
            "@timeStamps true (timestamped format) is not supported; "
            "convert the file to @timeStamps false",
        )
    if header.univariate is True and header.dimensions not in (None, 1):
        raise _err(
            path,
            line_no,
            f"contradictory header: @univariate true but @dimensions {header.dimensions}",
        )
    if header.univariate is False and header.dimensions == 1:
        raise _err(path, line_no, "contradictory header: @univariate false but @dimensions 1")
    if header.equal_length is False and header.series_length is not None:
        raise _err(
            path,
            line_no,
            f"contradictory header: @equalLength false but @seriesLength {header.series_length}",
        )
    if header.class_label and header.target_label:
        raise _err(path, line_no, "contradictory header: both @classLabel and @targetLabel true")


def _parse_values(path: Path, line_no: int, dim: int, text: str) -> np.ndarray:
    tokens = text.strip().split(",")
    if tokens and tokens[-1] == "" and len(tokens) > 1:
        tokens = tokens[:-1]  # tolerate one trailing comma
    if not tokens or tokens == [""]:
        raise _err(path, line_no, f"dimension {dim} has no values")
    tokens = ["nan" if t.strip() == "?" else t for t in tokens]
    try:
        return np.array(tokens, dtype=np.float64)
    except ValueError:
        for i, t in enumerate(tokens):
            try:
                float(t)
            except ValueError:
                raise _err(
                    path, line_no, f"dimension {dim}, value {i}: {t!r} is not a number or '?'"
                ) from None
        raise


def load_ts_file(
    path: str | Path,
    return_type: Literal["auto", "array", "list"] = "auto",
    pad: bool = False,
) -> tuple:
    """Read a UEA/UCR ``.ts`` file.

    Parameters
    ----------
    path : str or Path
        The ``.ts`` file.
    return_type : {"auto", "array", "list"}
        ``"array"``: one float32 array ``(n_cases, C, T)``; requires equal lengths unless
        ``pad=True``. ``"list"``: a list of float32 ``(C, T_i)`` arrays. ``"auto"``: an array
        when every case has the same length, else a list (or a padded array with ``pad=True``).
    pad : bool
        Return a NaN-padded array ``(n_cases, C, max T_i)`` plus the lengths. With ``pad=True``
        the result is ``(X, y, lengths)``.

    Returns
    -------
    X : ndarray or list of ndarray
        float32, ``(n_cases, C, T)`` or a list of ``(C, T_i)``; missing values (``?``) are NaN.
    y : ndarray or None
        Class labels as a numpy array of str (``@classLabel true``), floats
        (``@targetLabel true``), or None when the file has no labels.
    lengths : ndarray of int64
        Only with ``pad=True``: the length of every case.

    Raises
    ------
    ValueError
        For header errors (missing ``@data``, unknown or repeated tags, contradictory tags,
        timestamped format) and data errors (wrong number of dimensions, labels not declared in
        ``@classLabel``, non-numeric values, lengths that contradict the header); the message
        names the file and line number.
    """
    if return_type not in ("auto", "array", "list"):
        raise ValueError(f"return_type must be 'auto', 'array' or 'list', got {return_type!r}")
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such .ts file")
    header = TsHeader()
    seen: set[str] = set()
    in_data = False
    cases: list[np.ndarray] = []
    labels: list[str] = []
    case_lines: list[int] = []
    n_dims: int | None = None
    has_label = False
    any_missing_line: int | None = None
    last_line = 0
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line_no, raw in enumerate(fh, start=1):
            last_line = line_no
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if not in_data:
                if not line.startswith("@"):
                    raise _err(
                        path, line_no, f"expected a @tag header line or @data, got {line[:40]!r}"
                    )
                in_data = _parse_header_line(path, line_no, line, header, seen)
                if in_data:
                    _check_header(path, line_no, header)
                    has_label = bool(header.class_label) or bool(header.target_label)
                    n_dims = header.dimensions
                    if n_dims is None and header.univariate:
                        n_dims = 1
                continue
            if line.startswith("@"):
                raise _err(path, line_no, f"header tag after @data: {line[:40]!r}")
            fields = line.split(":")
            if has_label:
                if len(fields) < 2:
                    raise _err(path, line_no, "expected dimensions followed by ':<label>'")
                label = fields[-1].strip()
                fields = fields[:-1]
                if header.class_label and label not in header.class_names:
                    raise _err(
                        path,
                        line_no,
                        f"class label {label!r} is not in @classLabel {header.class_names}",
                    )
                labels.append(label)
            if n_dims is None:
                n_dims = len(fields)
            if len(fields) != n_dims:
                raise _err(path, line_no, f"expected {n_dims} dimensions, found {len(fields)}")
            dims = [_parse_values(path, line_no, d, f) for d, f in enumerate(fields)]
            lens = {len(d) for d in dims}
            if len(lens) != 1:
                raise _err(
                    path,
                    line_no,
                    f"dimensions of one case have different lengths {[len(d) for d in dims]}",
                )
            arr = np.stack(dims).astype(np.float32)  # (C, T)
            if any_missing_line is None and np.isnan(arr).any():
                any_missing_line = line_no
            cases.append(arr)
            case_lines.append(line_no)
    if not in_data:
        raise _err(path, last_line, "missing @data line (end of file reached in the header)")
    if not cases:
        raise _err(path, last_line, "no cases after @data")
    if header.missing is False and any_missing_line is not None:
        raise _err(
            path, any_missing_line, "contradictory file: @missing false but the case has '?' values"
        )
    lengths = np.array([c.shape[1] for c in cases], dtype=np.int64)
    equal = bool((lengths == lengths[0]).all())
    if header.equal_length is True and not equal:
        bad = int(np.flatnonzero(lengths != lengths[0])[0])
        raise _err(
            path,
            case_lines[bad],
            f"@equalLength true but this case has length {lengths[bad]} != {lengths[0]}",
        )
    if header.series_length is not None:
        bad_idx = np.flatnonzero(lengths != header.series_length)
        if bad_idx.size:
            b = int(bad_idx[0])
            raise _err(
                path,
                case_lines[b],
                f"@seriesLength {header.series_length} but this case has length {lengths[b]}",
            )
    if header.class_label:
        y = np.array(labels, dtype=str)
    elif header.target_label:
        try:
            y = np.array(labels, dtype=np.float64)
        except ValueError:
            raise ValueError(f"{path}: @targetLabel true but a target is not numeric") from None
    else:
        y = None
    logger.debug("read %s: %d cases, %d dims, equal length %s", path, len(cases), n_dims, equal)

    if pad:
        if return_type == "list":
            raise ValueError(
                "pad=True returns an array; it cannot be combined with return_type='list'"
            )
        X = np.full((len(cases), n_dims, int(lengths.max())), np.nan, dtype=np.float32)
        for i, c in enumerate(cases):
            X[i, :, : c.shape[1]] = c
        return X, y, lengths
    if return_type == "list" or (return_type == "auto" and not equal):
        return cases, y
    if not equal:
        raise ValueError(
            f"{path}: cases have unequal lengths (min {lengths.min()}, max {lengths.max()}); "
            "use return_type='list' or pad=True"
        )
    return np.stack(cases), y
