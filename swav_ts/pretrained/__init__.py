"""Models shipped inside the package: names, files and how each was built.

``TimeSeriesSwAV.pretrained(name)`` loads one (no download); ``swav-ts embed --model NAME``
takes the name where a path would go. The model cards are in ``docs/pretrained.md``;
:mod:`swav_ts.pretrained.build` rebuilds a model from its recipe.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

__all__ = ["MODELS", "PretrainedModel", "list_models", "model_file", "model_path"]


@dataclass(frozen=True)
class PretrainedModel:
    """One shipped model: its file (beside this module), what it was trained on and how."""

    file: str
    data: str
    recipe: str
    licence: str


MODELS: dict[str, PretrainedModel] = {
    "motion-50hz": PretrainedModel(
        file="motion-50hz.safetensors",
        data="HAPT: the continuous smartphone recordings of the 21 UCI-HAR training subjects "
        "(acc_x..z in g, gyro_x..z in rad/s, 50 Hz); never the 9 test subjects",
        recipe="hapt",
        licence="weights derived from UCI HAPT (CC BY 4.0): cite Reyes-Ortiz et al., 2016",
    ),
}


def list_models() -> list[str]:
    """The names :func:`model_path` knows."""
    return sorted(MODELS)


def model_path(name: str) -> Path:
    """The file of a shipped model.

    Raises
    ------
    ValueError
        An unknown name (listing the known ones), or a known one whose file is missing from
        this installation (naming the command that rebuilds it).
    """
    if name not in MODELS:
        raise ValueError(f"no shipped model {name!r}; the shipped models: {list_models()}")
    path = Path(__file__).resolve().parent / MODELS[name].file
    if not path.is_file():
        raise ValueError(
            f"the shipped model {name!r} is missing from this installation ({path}); rebuild "
            f"it with: python -m swav_ts.pretrained.build {name}"
        )
    return path


def model_file(path_or_name: str | Path) -> Path:
    """``path_or_name`` as a model file: a shipped model's name (where no file of that name
    exists) becomes its file (:func:`model_path`), anything else is taken as a path."""
    if str(path_or_name) in MODELS and not Path(path_or_name).exists():
        return model_path(str(path_or_name))
    return Path(path_or_name)
