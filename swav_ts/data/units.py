"""Physical units of motion sensors: declared or detected, checked, converted to one convention.

Phones and watches export accelerometers in g, m/s² or mg and gyroscopes in rad/s or deg/s. A
model trained in one convention embeds data in another as if the wearer moved 9.8 (or 57)
times harder, without any error. This module recognises the sensor of a channel from its name
(``acc_x``, ``accel.y``, ``gyroZ``, ...), **detects** its unit from the data where the physics
allows (gravity makes an accelerometer's magnitude about 1 g at rest and on average; a human
wrist or waist rarely turns faster than 8 rad/s, nor slower than 25 deg/s at its 99th
percentile while moving), **checks** a declared unit against that, and **converts** every
recognised sensor to the canonical units: g and rad/s. Channels of other sensors are left as
they are.

Every conversion is reported in one line; a declared unit the data contradicts is an error
naming the channels, the evidence and the fix.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

import numpy as np

from swav_ts.data.recording import Recording

__all__ = [
    "CANONICAL_UNITS",
    "UNIT_FACTORS",
    "conform_units",
    "detect_unit",
    "in_canonical_units",
    "sensor_kind",
    "to_model_units",
]

logger = logging.getLogger(__name__)

#: The unit every recognised sensor is converted to.
CANONICAL_UNITS = {"acc": "g", "gyro": "rad/s"}

#: Multiply a value in the unit by the factor to get the canonical unit.
UNIT_FACTORS: dict[str, dict[str, float]] = {
    "acc": {"g": 1.0, "m/s^2": 1 / 9.80665, "m/s2": 1 / 9.80665, "mg": 1e-3},
    "gyro": {"rad/s": 1.0, "deg/s": math.pi / 180, "dps": math.pi / 180},
}

_KIND = re.compile(  # kind, optional "_location" words, then the axis
    r"^(?P<kind>acc(el(erometer)?)?|gyr(o(scope)?)?)(?:[ _.-][a-z0-9]+)*?[ _.-]?[xyz]$",
    re.IGNORECASE,
)

# Detection fences (what the data must show for a unit to be recognised).
_ACC_MAGNITUDE = {"g": (0.5, 2.0), "m/s^2": (5.0, 20.0), "mg": (500.0, 2000.0)}
_GYRO_RAD_MAX, _GYRO_DEG_MIN = 8.0, 25.0  # 99th percentile of |omega|
_MIN_SAMPLES = 100  # fewer samples: no detection


def sensor_kind(channel_name: str) -> str | None:
    """``"acc"`` or ``"gyro"`` for an axis channel of an accelerometer or gyroscope, recognised
    from its name (``acc_x``, ``Accel.Y``, ``accelerometer z``, ``gyro_x``, ``gyrZ``, with an
    optional location between: ``acc_wrist_x``); None for any other channel."""
    m = _KIND.match(str(channel_name).strip())
    if not m:
        return None
    return "acc" if m.group("kind").lower().startswith("acc") else "gyro"


def detect_unit(kind: str, signals: np.ndarray) -> tuple[str | None, str]:
    """The unit a sensor's signals ``(n_axes, T)`` are in, and the evidence in words.

    Accelerometers (three axes): the median of the vector magnitude (gravity) — about 1 in g,
    9.8 in m/s², 1000 in mg. Gyroscopes: the 99th percentile of the absolute rate — below 8 in
    rad/s, above 25 in deg/s. Returns ``(None, evidence)`` when the data does not decide (too
    few samples, a single accelerometer axis, values between the fences).
    """
    values = np.asarray(signals, dtype=np.float64)
    finite = values[:, np.isfinite(values).all(axis=0)]
    if finite.shape[1] < _MIN_SAMPLES:
        return None, f"{finite.shape[1]} samples (at least {_MIN_SAMPLES} needed)"
    if kind == "acc":
        if finite.shape[0] != 3:
            return None, "a single axis (gravity needs all three)"
        magnitude = float(np.median(np.linalg.norm(finite, axis=0)))
        evidence = f"median magnitude {magnitude:.3g}"
        for unit, (low, high) in _ACC_MAGNITUDE.items():
            if low <= magnitude <= high:
                return unit, evidence
        return None, evidence
    if kind == "gyro":
        p99 = float(np.percentile(np.abs(finite), 99))
        evidence = f"99th percentile of |rate| {p99:.3g}"
        if p99 <= _GYRO_RAD_MAX:
            return "rad/s", evidence
        if p99 >= _GYRO_DEG_MIN:
            return "deg/s", evidence
        return None, evidence
    raise ValueError(f"kind must be one of {sorted(UNIT_FACTORS)}, got {kind!r}")


def _declared(kind: str, names: Sequence[str], declared: Mapping[str, str]) -> str | None:
    """The unit declared for a sensor: by kind (``{"acc": "m/s^2"}``) or for its channels."""
    given = {declared[n] for n in names if n in declared}
    if kind in declared:
        given.add(declared[kind])
    if len(given) > 1:
        raise ValueError(f"channels {list(names)} are declared in several units: {sorted(given)}")
    unit = given.pop() if given else None
    if unit is not None and unit not in UNIT_FACTORS[kind]:
        raise ValueError(
            f"unit {unit!r} declared for {list(names)} is not an {kind} unit; known: "
            f"{sorted(UNIT_FACTORS[kind])}"
        )
    return unit


def conform_units(
    signals: np.ndarray,
    channel_names: Sequence[str],
    declared: Mapping[str, str] | None = None,
    where: str = "the data",
) -> tuple[np.ndarray, dict[str, str], list[str]]:
    """Convert the recognised sensors of ``signals`` ``(C, T)`` to g and rad/s.

    Parameters
    ----------
    signals : ndarray (C, T)
    channel_names : sequence of str, length C
    declared : mapping, optional
        Units by sensor kind (``{"acc": "m/s^2", "gyro": "deg/s"}``) or by channel name;
        undeclared sensors are detected from the data (left as they are when it cannot tell).
    where : str
        What the signals are, for the messages (a file or recording name).

    Returns
    -------
    signals : ndarray (C, T) float32
        The converted signals (a copy when anything was converted).
    units : dict
        Channel -> unit after conversion, for every recognised channel whose unit is known.
    messages : list of str
        One line per conversion or undecided sensor.

    Raises
    ------
    ValueError
        A declared unit that the data contradicts (naming the channels, the evidence and what
        to declare), an unknown unit, or a channel declared that the data does not have.
    """
    declared = dict(declared or {})
    names = [str(c) for c in channel_names]
    unknown = sorted(set(declared) - set(names) - set(UNIT_FACTORS))
    if unknown:
        raise ValueError(
            f"units are declared for {unknown}, which {where} does not have; its channels are "
            f"{names} (declare by channel name or by sensor kind: {sorted(UNIT_FACTORS)})"
        )
    groups: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        kind = sensor_kind(name)
        if kind is not None:
            groups.setdefault(kind, []).append(i)
    out = np.asarray(signals, dtype=np.float32)
    units: dict[str, str] = {}
    messages: list[str] = []
    for kind, idx in groups.items():
        chans = [names[i] for i in idx]
        unit = _declared(kind, chans, declared)
        found, evidence = detect_unit(kind, out[idx])
        label = f"{where}: {', '.join(chans)}"
        if unit is not None and found is not None and unit != found:
            fix = f"units={{'{kind}': '{found}'}}"
            raise ValueError(
                f"{label} are declared in {unit} but the data says {found} ({evidence}); "
                f"declare {fix} (it is then converted to {CANONICAL_UNITS[kind]}) or check "
                "the file"
            )
        unit = unit or found
        if unit is None:
            messages.append(f"{label}: unit unknown ({evidence}), left as they are")
            continue
        factor = UNIT_FACTORS[kind][unit]
        if factor != 1.0:
            out = out.copy() if out is signals else out
            out[idx] = out[idx] * np.float32(factor)
            how = "declared" if unit != found else f"detected: {evidence}"
            messages.append(f"{label}: {unit} ({how}) converted to {CANONICAL_UNITS[kind]}")
        units.update({c: CANONICAL_UNITS[kind] for c in chans})
    return out, units, messages


def to_model_units(
    signals: np.ndarray,
    channel_names: Sequence[str],
    model_units: Mapping[str, str] | None,
    where: str = "the data",
) -> tuple[np.ndarray, list[str]]:
    """Signals ``(C, T)`` for a model whose channels are in ``model_units`` (g, rad/s): the
    sensors the data shows to be in another unit are converted; channels the model has no
    unit for are left alone. Returns the signals and one line per conversion."""
    if not model_units:
        return signals, []
    # only the channels whose unit the model knows take part (others keep their names hidden)
    names = [c if c in model_units else f"#{i}" for i, c in enumerate(channel_names)]
    converted, _, messages = conform_units(signals, names, where=where)
    return converted, [m for m in messages if "converted" in m]


def in_canonical_units(
    recordings: Iterable[Recording], declared: Mapping[str, str] | None, where: str = ""
) -> Iterator[Recording]:
    """The recordings with their accelerometers and gyroscopes in g and rad/s (declared units
    checked against the data, undeclared ones detected), one at a time: a warning the first
    time a sensor is converted, the other recordings' lines at INFO level.

    ``where`` prefixes the recording ids in the messages (a source's name).
    """
    warned: set[str] = set()
    for rec in recordings:
        signals, _, messages = conform_units(
            rec.signals, rec.channel_names, declared, where=where + rec.recording_id
        )
        for line in messages:
            what = line.split(": ", 1)[1]  # the line without the recording's name
            logger.log(logging.INFO if what in warned else logging.WARNING, "%s", line)
            warned.add(what)
        yield dataclasses.replace(rec, signals=signals)
