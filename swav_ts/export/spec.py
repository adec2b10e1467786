"""What is exported, described without the model class that made it: :class:`ExportSpec`.

:func:`~swav_ts.export.writer.export_model` writes any fitted model that can say four things:
the torch module to trace (sensor-unit windows in, outputs out), its input contract, the names
and widths of its outputs, and the metadata that should travel with the file. The export code
therefore imports no estimator; each estimator builds its own spec
(:meth:`swav_ts.TimeSeriesSwAV.export_spec`: ``{"embedding": D}`` and, with scores,
``"prototype_scores": K``). A fine-tuned classifier passes, e.g., ``nn.Sequential(
ExportGraph(its_model), its_head)`` with ``outputs={"logits": n_classes}``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from torch import nn

from swav_ts.data.contract import InputContract
from swav_ts.export.format import INPUT, RESERVED_KEYS

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class ExportSpec:
    """A fitted model, as :func:`~swav_ts.export.export_model` needs it.

    Attributes
    ----------
    module : nn.Module
        Windows in sensor units ``(B, C, T)`` float32 -> one tensor ``(B, width)`` (one
        output) or a tuple of them, in the order of ``outputs``. Traced as given: put it in
        eval mode on the CPU, in float32 (:class:`~swav_ts.export.graph.ExportGraph` does so
        for the encoder of a SwAV model, the channel standardisation its first operation).
    contract : InputContract
        The model's input contract; it travels in the file and the loader checks every input
        against it.
    outputs : dict of str to int
        Output name -> width, in the module's output order (``{"embedding": 128}``;
        ``{"logits": 6}``). Names are identifiers other than ``"windows"`` (the input).
    channel_mean, channel_std : sequence of float, length C
        Typical value and spread of each channel in sensor units (the training statistics):
        the example windows that trace and verify the module are drawn from
        ``N(channel_mean, channel_std)`` with a fixed seed.
    dynamic_length : bool, default True
        The module takes any window length >= ``contract.min_length`` (its operations keep
        the length symbolic, e.g. ``ExportGraph(..., dynamic_length=True)``); False fixes the
        input at ``contract.window_length``.
    metadata : dict of str to str
        Further key/value strings written into the file about the model, e.g.
        ``{"swav_ts.model": "TimeSeriesSwAV", "swav_ts.encoder": "tcn"}``. The keys that
        :func:`~swav_ts.export.export_model` writes itself (format, version, contract,
        outputs, ...) are refused.

    Raises
    ------
    TypeError, ValueError
        From the constructor, naming the attribute and what it must be.
    """

    module: nn.Module
    contract: InputContract
    outputs: dict[str, int]
    channel_mean: Sequence[float]
    channel_std: Sequence[float]
    dynamic_length: bool = True
    metadata: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.module, nn.Module):
            raise TypeError(f"ExportSpec.module must be a torch nn.Module, got {self.module!r}")
        if not isinstance(self.contract, InputContract):
            raise TypeError(
                f"ExportSpec.contract must be an InputContract, got {type(self.contract).__name__}"
            )
        if not isinstance(self.outputs, dict) or not self.outputs:
            raise ValueError(
                f"ExportSpec.outputs must be a non-empty dict name -> width, got {self.outputs!r}"
            )
        for name, width in self.outputs.items():
            if not isinstance(name, str) or not _NAME.fullmatch(name) or name == INPUT:
                raise ValueError(
                    f"ExportSpec.outputs: output name {name!r} must be an identifier other "
                    f"than {INPUT!r} (the input's name)"
                )
            if isinstance(width, bool) or not isinstance(width, (int, np.integer)) or width < 1:
                raise ValueError(
                    f"ExportSpec.outputs[{name!r}] must be a width >= 1, got {width!r}"
                )
        self.outputs = {k: int(v) for k, v in self.outputs.items()}
        n = self.contract.n_channels
        for attr in ("channel_mean", "channel_std"):
            values = np.asarray(getattr(self, attr), dtype=np.float64)
            if values.shape != (n,) or not np.isfinite(values).all():
                raise ValueError(
                    f"ExportSpec.{attr} must hold {n} finite values (one per channel of the "
                    f"contract), got shape {values.shape}"
                )
            setattr(self, attr, [float(v) for v in values])
        if min(self.channel_std) <= 0:
            raise ValueError(f"ExportSpec.channel_std must be > 0, got {self.channel_std}")
        bad = {
            k: v
            for k, v in self.metadata.items()
            if not (isinstance(k, str) and isinstance(v, str))
        }
        if bad:
            raise ValueError(f"ExportSpec.metadata must map str to str; not so: {bad!r}")
        taken = sorted(set(self.metadata) & RESERVED_KEYS)
        if taken:
            raise ValueError(
                f"ExportSpec.metadata: {taken} are written by export_model itself; use other keys"
            )
