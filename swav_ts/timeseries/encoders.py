"""Time-series encoders: ``(B, C, T)`` windows in, ``(B, D)`` pooled features out.

Every encoder registered here obeys one contract, which the evaluation code and the SwAV
trainer rely on:

* input: a float tensor ``(B, C, T)`` with ``C == in_channels`` and ``T >= min_length``;
  any such ``T`` works with the same model (pooling over time removes the length);
* ``forward_sequence(x)``: per-time-step features ``(B, width, T')``, where output step ``j``
  is centred near input step ``j * time_stride`` (``time_stride`` is 1 for encoders that keep
  the length, 8 for ``cnn3``'s three 2x poolings);
* ``forward(x)``: the pooled features ``(B, D)`` with ``D == num_features``; ``pooling`` picks
  global ``"avg"``, ``"max"`` or ``"avgmax"`` (both, concatenated: ``D = 2 * width``);
* attributes ``in_channels``, ``width``, ``num_features``, ``min_length``, ``time_stride``;
* a wrong rank, a wrong channel count or a too-short input raises ``ValueError`` naming the
  shapes.

Encoders are built by name through :func:`create_encoder`; :func:`list_encoders` lists the
names and :func:`register_encoder` adds new ones.

(About 470 lines: the encoder base class, the registry and the three registered encoders,
which share the pooling and input-check code of the base class.)
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import TypeVar

import torch
from torch import nn

__all__ = [
    "CNN3Encoder",
    "ResNet1DEncoder",
    "TCNEncoder",
    "TimeSeriesEncoder",
    "create_encoder",
    "encoder_arguments",
    "fast_tcn",
    "list_encoders",
    "register_encoder",
]

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}

_E = TypeVar("_E", bound=Callable[..., nn.Module])


def register_encoder(name: str) -> Callable[[_E], _E]:
    """Register an encoder class (or factory) under ``name``.

    Parameters
    ----------
    name : str
        Registry key used by :func:`create_encoder`. Must be a non-empty string not yet used.

    Returns
    -------
    Callable
        A decorator that registers its argument and returns it unchanged. The decorated
        callable is called as ``factory(in_channels, **kwargs)``.

    Raises
    ------
    ValueError
        If ``name`` is empty or already registered.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"encoder name must be a non-empty string, got {name!r}")

    def decorator(factory: _E) -> _E:
        if name in _REGISTRY:
            raise ValueError(
                f"encoder name {name!r} is already registered (to {_REGISTRY[name]!r})"
            )
        _REGISTRY[name] = factory
        return factory

    return decorator


def list_encoders() -> list[str]:
    """Return the sorted names of all registered encoders."""
    return sorted(_REGISTRY)


def encoder_arguments(name: str) -> list[str]:
    """The keyword arguments a registered encoder takes besides ``in_channels``.

    Parameters
    ----------
    name : str
        A name from :func:`list_encoders`.

    Returns
    -------
    list of str
        Argument names in declaration order (``stride`` among them for encoders with a strided
        input convolution, which :func:`swav_ts.timeseries.adapt.adapt_to_data` fits to the data).
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown encoder {name!r}; valid names: {', '.join(list_encoders())}")
    params = inspect.signature(_REGISTRY[name]).parameters.values()
    keyword = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return [p.name for p in params if p.kind in keyword and p.name not in ("self", "in_channels")]


def create_encoder(name: str, in_channels: int, **kwargs) -> nn.Module:
    """Build a registered encoder.

    Parameters
    ----------
    name : str
        A name from :func:`list_encoders`.
    in_channels : int
        Number of input channels ``C``.
    **kwargs
        Encoder-specific options (widths, depth, kernel sizes...).

    Returns
    -------
    torch.nn.Module
        An encoder mapping ``(B, C, T)`` to ``(B, num_features)``.

    Raises
    ------
    ValueError
        If ``name`` is not registered (the message lists the valid names) or ``in_channels``
        is not a positive integer.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown encoder {name!r}; valid names: {', '.join(list_encoders())}")
    return _REGISTRY[name](in_channels, **kwargs)


def _positive_int(value: int, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{what} must be a positive integer, got {value!r}")
    return value


POOLINGS = ("avg", "max", "avgmax")


def pool_sequence(h: torch.Tensor, pooling: str) -> torch.Tensor:
    """Global pooling of per-time-step features ``(B, W, T')`` -> ``(B, D)``."""
    if pooling == "avg":
        return h.mean(dim=-1)  # (B, W)
    if pooling == "max":
        return h.amax(dim=-1)  # (B, W)
    if pooling == "avgmax":
        return torch.cat([h.mean(dim=-1), h.amax(dim=-1)], dim=1)  # (B, 2W)
    raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")


def _positive_ints(values: Sequence[int], what: str) -> tuple[int, ...]:
    values = tuple(values)
    if not values:
        raise ValueError(f"{what} must not be empty")
    return tuple(_positive_int(v, f"each entry of {what}") for v in values)


class TimeSeriesEncoder(nn.Module):
    """Base class: input validation shared by all encoders.

    Subclasses set ``in_channels``, ``num_features`` and ``min_length`` and implement
    :meth:`forward_features`, which receives an already validated ``(B, C, T)`` tensor.
    """

    in_channels: int
    width: int
    num_features: int
    min_length: int
    time_stride: int = 1
    pooling: str = "avg"

    def _set_pooling(self, pooling: str, width: int) -> None:
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.pooling = pooling
        self.width = int(width)
        self.num_features = self.width * (2 if pooling == "avgmax" else 1)

    def check_input(self, x: torch.Tensor) -> None:
        """Raise ``TypeError``/``ValueError`` if ``x`` is not a valid ``(B, C, T)`` batch."""
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{type(self).__name__} expects a torch.Tensor, got {type(x)!r}")
        if x.ndim != 3:
            raise ValueError(
                f"{type(self).__name__} expects input of shape (B, C, T) = "
                f"(batch, {self.in_channels}, >= {self.min_length}); got shape {tuple(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(
                f"{type(self).__name__} was built for {self.in_channels} channels but the input "
                f"has shape {tuple(x.shape)} ({x.shape[1]} channels)"
            )
        if x.shape[2] < self.min_length:
            raise ValueError(
                f"{type(self).__name__} needs at least min_length={self.min_length} time points "
                f"but the input has shape {tuple(x.shape)} (T={x.shape[2]})"
            )
        if not torch.is_floating_point(x):
            raise TypeError(f"{type(self).__name__} expects a floating tensor, got {x.dtype}")

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover
        """Per-time-step features ``(B, width, T')`` of a validated batch."""
        raise NotImplementedError

    def sequential_layers(self) -> nn.Sequential | None:
        """The layers when :meth:`forward_sequence` is exactly one ``nn.Sequential`` applied
        to the input (``None`` otherwise); the export rewrites such stacks (docs/deploy.md)."""
        return None

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled features ``(B, num_features)`` of a validated batch."""
        return pool_sequence(self.forward_sequence(x), self.pooling)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Map ``x`` of shape ``(B, C, T)`` to pooled features ``(B, D)``."""
        self.check_input(x)
        return self.forward_features(x)


# ---------------------------------------------------------------------------------------------
# resnet1d: Wang, Yan & Oates (2017), "Time series classification from scratch with deep
# neural networks: a strong baseline" - three residual blocks of three convolutions each.
# ---------------------------------------------------------------------------------------------


class _SamePadConv(nn.Module):
    """(Dilated) 1-D convolution whose output has the input length, for any kernel size."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, dilation: int = 1, bias: bool = True
    ) -> None:
        super().__init__()
        span = (kernel_size - 1) * dilation  # receptive field of this conv minus one
        self.conv = nn.Conv1d(
            in_ch, out_ch, kernel_size, dilation=dilation, padding=(span + 1) // 2, bias=bias
        )
        self.trim = span % 2  # an odd span pads one step too many in total: drop the last

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)  # (B, C_out, T + trim)
        return y[..., : y.shape[-1] - self.trim] if self.trim else y  # (B, C_out, T)


class _ResidualBlock1D(nn.Module):
    """Conv-BN-ReLU stack with 'same' padding plus a (projected) shortcut, then ReLU."""

    def __init__(self, in_ch: int, out_ch: int, kernel_sizes: Sequence[int]) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        ch = in_ch
        for i, k in enumerate(kernel_sizes):
            layers.append(_SamePadConv(ch, out_ch, k, bias=False))
            layers.append(nn.BatchNorm1d(out_ch))
            if i < len(kernel_sizes) - 1:
                layers.append(nn.ReLU(inplace=True))
            ch = out_ch
        self.body = nn.Sequential(*layers)
        if in_ch != out_ch:
            self.shortcut: nn.Module = nn.Sequential(
                nn.Conv1d(in_ch, out_ch, 1, bias=False), nn.BatchNorm1d(out_ch)
            )
        else:
            self.shortcut = nn.BatchNorm1d(out_ch)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.act(self.body(x) + self.shortcut(x))  # (B, C_out, T)


@register_encoder("resnet1d")
class ResNet1DEncoder(TimeSeriesEncoder):
    """1-D ResNet of Wang et al. (2017) with global average pooling over time.

    Each residual block applies convolutions with kernel sizes ``kernel_sizes`` (default
    8, 5, 3), batch norm and ReLU, with "same" padding so the length is preserved, and adds a
    shortcut (1x1 convolution + batch norm when the width changes, batch norm otherwise).

    Parameters
    ----------
    in_channels : int
        Input channels ``C``.
    widths : sequence of int, default (64, 128, 128)
        Output width of each residual block; its length is the number of blocks.
    kernel_sizes : sequence of int, default (8, 5, 3)
        Kernel sizes of the convolutions inside every block.
    pooling : {"avg", "max", "avgmax"}, default "avg"
        Global pooling over time.

    Attributes
    ----------
    num_features : int
        ``widths[-1]``.
    min_length : int
        ``max(kernel_sizes)``: the shortest input on which the widest kernel fits once
        without relying on padding only.

    Notes
    -----
    Default pooling: global average over time (as in the original paper).
    """

    def __init__(
        self,
        in_channels: int,
        widths: Sequence[int] = (64, 128, 128),
        kernel_sizes: Sequence[int] = (8, 5, 3),
        pooling: str = "avg",
    ) -> None:
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        widths = _positive_ints(widths, "widths")
        kernel_sizes = _positive_ints(kernel_sizes, "kernel_sizes")
        blocks = []
        ch = self.in_channels
        for w in widths:
            blocks.append(_ResidualBlock1D(ch, w, kernel_sizes))
            ch = w
        self.blocks = nn.Sequential(*blocks)
        self._set_pooling(pooling, widths[-1])
        self.min_length = max(kernel_sizes)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        return self.blocks(x)  # (B, W, T)


# ---------------------------------------------------------------------------------------------
# tcn: dilated convolutional encoder in the style of TS2Vec (Yue et al., 2022).
# ---------------------------------------------------------------------------------------------


class _DilatedResidualBlock(nn.Module):
    """GELU -> dilated conv -> GELU -> dilated conv, plus a (1x1-projected) shortcut."""

    def __init__(
        self, in_ch: int, out_ch: int, kernel_size: int, dilation: int, project: bool
    ) -> None:
        super().__init__()
        self.conv1 = _SamePadConv(in_ch, out_ch, kernel_size, dilation)
        self.conv2 = _SamePadConv(out_ch, out_ch, kernel_size, dilation)
        self.act = nn.GELU()
        self.projector = nn.Conv1d(in_ch, out_ch, 1) if (project or in_ch != out_ch) else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = x if self.projector is None else self.projector(x)  # (B, C_out, T)
        h = self.conv1(self.act(x))  # (B, C_out, T)
        h = self.conv2(self.act(h))  # (B, C_out, T)
        return h + residual


@register_encoder("tcn")
class TCNEncoder(TimeSeriesEncoder):
    """Dilated temporal convolution network (TS2Vec-like) with global max pooling.

    A per-time-step linear projection ``C -> hidden`` is followed by ``depth`` residual
    blocks of width ``hidden`` and one final block of width ``output_dim``; block ``i`` uses
    dilation ``2**i``, so the receptive field grows exponentially with depth
    (``receptive_field`` attribute). Activations are GELU, there is no normalisation layer.

    With ``stride`` s > 1 the input projection is a convolution of kernel 2s and stride s
    (each position summarises 2s input steps, overlapping its neighbours by half), so every
    block runs on ``T // s`` positions: about s times less compute, which is what makes the
    network trainable on a CPU (docs/results.md).

    Parameters
    ----------
    in_channels : int
        Input channels ``C``.
    hidden : int, default 64
        Width of the input projection and the hidden blocks.
    depth : int, default 10
        Number of hidden residual blocks (the output block comes on top).
    output_dim : int, default 320
        Output width ``D``.
    kernel_size : int, default 3
        Kernel size of every dilated convolution.
    pooling : {"avg", "max", "avgmax"}, default "max"
        Global pooling over time.
    stride : int, default 1
        Input steps per output position (1: TS2Vec's per-step network).

    Attributes
    ----------
    num_features : int
        ``output_dim``.
    min_length : int
        ``kernel_size``, or ``max(kernel_size, 2 * stride)`` with a stride (at least two
        positions).
    time_stride : int
        ``stride``.
    receptive_field : int
        Number of input time steps that influence one output position before pooling.

    Notes
    -----
    Default pooling: global max over time, as TS2Vec does for instance-level representations.
    """

    def __init__(
        self,
        in_channels: int,
        hidden: int = 64,
        depth: int = 10,
        output_dim: int = 320,
        kernel_size: int = 3,
        pooling: str = "max",
        stride: int = 1,
    ) -> None:
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        hidden = _positive_int(hidden, "hidden")
        depth = _positive_int(depth, "depth")
        output_dim = _positive_int(output_dim, "output_dim")
        kernel_size = _positive_int(kernel_size, "kernel_size")
        self.time_stride = _positive_int(stride, "stride")
        if stride == 1:
            self.input_fc: nn.Module = nn.Linear(self.in_channels, hidden)
        else:  # kernel 2s, stride s, padding s // 2: T // s positions for even s
            self.input_fc = nn.Conv1d(
                self.in_channels, hidden, 2 * stride, stride=stride, padding=stride // 2
            )
        widths = [hidden] * depth + [output_dim]
        blocks = []
        ch = hidden
        for i, w in enumerate(widths):
            blocks.append(
                _DilatedResidualBlock(ch, w, kernel_size, 2**i, project=i == len(widths) - 1)
            )
            ch = w
        self.blocks = nn.Sequential(*blocks)
        self._set_pooling(pooling, output_dim)
        blocks_field = 1 + sum(2 * (kernel_size - 1) * 2**i for i in range(len(widths)))
        if stride == 1:
            self.min_length = kernel_size
            self.receptive_field = blocks_field
        else:
            self.min_length = max(kernel_size, 2 * stride)
            self.receptive_field = (blocks_field - 1) * stride + 2 * stride

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        if self.time_stride == 1:
            h = self.input_fc(x.transpose(1, 2)).transpose(1, 2)  # (B, hidden, T)
        else:
            h = self.input_fc(x)  # (B, hidden, T // stride)
        return self.blocks(h)  # (B, W, T')


@register_encoder("fast_tcn")
def fast_tcn(
    in_channels: int,
    hidden: int = 96,
    depth: int = 5,
    output_dim: int = 128,
    stride: int = 4,
    **kwargs,
) -> TCNEncoder:
    """The estimator's default encoder: a :class:`TCNEncoder` with the HAPT recipe's shape —
    5 hidden blocks of 96, 128 outputs, a stride-4 input convolution (the small-data rules of
    :func:`swav_ts.timeseries.adapt.adapt_to_data` lower the stride for short series). Chosen
    on the development panel (``docs/results.md``); any argument of :class:`TCNEncoder` can be
    given."""
    return TCNEncoder(
        in_channels, hidden=hidden, depth=depth, output_dim=output_dim, stride=stride, **kwargs
    )


# ---------------------------------------------------------------------------------------------
# cnn3: the three-block CNN used as TS-TCC's encoder (Eldele et al., 2021).
# ---------------------------------------------------------------------------------------------


@register_encoder("cnn3")
class CNN3Encoder(TimeSeriesEncoder):
    """Small three-block CNN (TS-TCC-like) with global average (or max) pooling.

    Each block is Conv1d(kernel ``kernel_size``, padding ``kernel_size // 2``) - BatchNorm -
    ReLU - MaxPool(2, stride 2, padding 1); dropout follows the first block, as in TS-TCC.

    Parameters
    ----------
    in_channels : int
        Input channels ``C``.
    widths : sequence of int, default (32, 64, 128)
        Width of each block; its length is the number of blocks.
    kernel_size : int, default 8
        Kernel size of every convolution.
    dropout : float, default 0.35
        Dropout probability after the first block (active in training mode only).
    pooling : {"avg", "max", "avgmax"}, default "avg"
        Global pooling over the remaining time steps.

    Attributes
    ----------
    num_features : int
        ``widths[-1]``.
    min_length : int
        ``kernel_size``.

    Notes
    -----
    Pooling: global average (or max) over the remaining time steps (TS-TCC flattens instead,
    which would tie the model to one input length).
    """

    def __init__(
        self,
        in_channels: int,
        widths: Sequence[int] = (32, 64, 128),
        kernel_size: int = 8,
        dropout: float = 0.35,
        pooling: str = "avg",
    ) -> None:
        super().__init__()
        self.in_channels = _positive_int(in_channels, "in_channels")
        widths = _positive_ints(widths, "widths")
        kernel_size = _positive_int(kernel_size, "kernel_size")
        if not 0.0 <= float(dropout) < 1.0:
            raise ValueError(f"dropout must be in [0, 1), got {dropout!r}")
        layers: list[nn.Module] = []
        ch = self.in_channels
        for i, w in enumerate(widths):
            layers += [
                nn.Conv1d(ch, w, kernel_size, padding=kernel_size // 2, bias=False),
                nn.BatchNorm1d(w),
                nn.ReLU(inplace=True),
                nn.MaxPool1d(kernel_size=2, stride=2, padding=1),
            ]
            if i == 0 and dropout > 0:
                layers.append(nn.Dropout(float(dropout)))
            ch = w
        self.features = nn.Sequential(*layers)
        self._set_pooling(pooling, widths[-1])
        self.min_length = kernel_size
        self.time_stride = 2 ** len(widths)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(x)  # (B, W, T')

    def sequential_layers(self) -> nn.Sequential:
        return self.features
