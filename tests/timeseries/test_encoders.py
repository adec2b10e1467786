"""Contract tests run over every registered time-series encoder."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from swav_ts.timeseries.encoders import (
    POOLINGS,
    TCNEncoder,
    create_encoder,
    list_encoders,
    register_encoder,
)

C = 6
# Small widths keep the contract tests fast; the defaults are checked separately below.
SMALL_KWARGS = {
    "resnet1d": {"widths": (16, 24, 24)},
    "tcn": {"hidden": 16, "depth": 4, "output_dim": 24},
    "cnn3": {"widths": (8, 16, 24)},
    "tcn_stride4": {"hidden": 16, "depth": 4, "output_dim": 24, "stride": 4},
}
# Every registered encoder, plus variants whose layers differ (case name -> encoder name).
VARIANTS = {"tcn_stride4": "tcn"}
CASES = list_encoders() + sorted(VARIANTS)


def _build(case: str, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return create_encoder(VARIANTS.get(case, case), C, **SMALL_KWARGS.get(case, {}))


def test_builtin_encoders_registered():
    assert {"resnet1d", "tcn", "cnn3"} <= set(list_encoders())
    assert list_encoders() == sorted(list_encoders())


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="unknown encoder 'nope'") as info:
        create_encoder("nope", C)
    for name in list_encoders():
        assert name in str(info.value)


def test_duplicate_registration_rejected():
    with pytest.raises(ValueError, match="already registered"):
        register_encoder("cnn3")(TCNEncoder)


@pytest.mark.parametrize("name", list_encoders())
def test_bad_constructor_arguments(name):
    with pytest.raises(ValueError, match="in_channels"):
        create_encoder(name, 0)


@pytest.mark.parametrize("name", CASES)
def test_encoder_contract(name):
    enc = _build(name)
    enc.train()
    D = enc.num_features
    assert isinstance(D, int) and D > 0
    assert isinstance(enc.min_length, int) and enc.min_length >= 1

    # Gradients reach every parameter; no NaN; output width = num_features.
    x = torch.randn(4, C, 64)  # (B, C, T)
    out = enc(x)  # (B, D)
    assert out.shape == (4, D)
    assert torch.isfinite(out).all()
    (out**2).mean().backward()
    for pname, p in enc.named_parameters():
        assert p.grad is not None, f"{name}: no gradient for {pname}"
        assert torch.isfinite(p.grad).all(), f"{name}: non-finite gradient for {pname}"
        assert p.grad.abs().sum() > 0, f"{name}: zero gradient for {pname}"

    # The same model handles two different lengths, including the min_length boundary.
    enc.eval()
    with torch.no_grad():
        for T in (37, 128, enc.min_length):
            y = enc(torch.randn(3, C, T))
            assert y.shape == (3, D), (name, T)
            assert torch.isfinite(y).all()

    with pytest.raises(ValueError, match=rf"min_length={enc.min_length}.*\(3, {C}, "):
        enc(torch.randn(3, C, enc.min_length - 1))
    with pytest.raises(ValueError, match=rf"{C} channels.*\(3, {C + 1}, 64\)"):
        enc(torch.randn(3, C + 1, 64))
    with pytest.raises(ValueError, match=r"\(B, C, T\).*\(64,\)"):
        enc(torch.randn(64))
    with pytest.raises(TypeError):
        enc(torch.zeros(3, C, 64, dtype=torch.long))


@pytest.mark.parametrize("name", CASES)
def test_encoder_deterministic_under_seed(name):
    x = torch.randn(5, C, 50)
    outs = []
    for _ in range(2):
        enc = _build(name, seed=123)
        enc.train()
        torch.manual_seed(7)  # dropout masks, if any
        outs.append(enc(x).detach())
    torch.testing.assert_close(outs[0], outs[1], rtol=0, atol=0)
    other = _build(name, seed=124)
    other.train()
    torch.manual_seed(7)
    assert not torch.equal(other(x).detach(), outs[0])


@pytest.mark.parametrize("name", CASES)
def test_eval_output_independent_of_batch_composition(name):
    enc = _build(name).eval()
    x = torch.randn(6, C, 40)
    with torch.no_grad():
        full = enc(x)
        part = enc(x[:2])
    torch.testing.assert_close(full[:2], part, rtol=1e-5, atol=1e-5)


def test_default_architectures():
    resnet = create_encoder("resnet1d", C)
    assert resnet.num_features == 128 and resnet.min_length == 8
    kernels = [m.kernel_size[0] for m in resnet.modules() if isinstance(m, nn.Conv1d)]
    assert kernels.count(8) == 3 and kernels.count(5) == 3 and kernels.count(3) == 3

    tcn = create_encoder("tcn", C)
    assert tcn.num_features == 320 and tcn.min_length == 3
    dilations = sorted({m.dilation[0] for m in tcn.modules() if isinstance(m, nn.Conv1d)})
    assert dilations == [2**i for i in range(11)]
    assert tcn.receptive_field == 1 + 4 * (2**11 - 1)

    cnn = create_encoder("cnn3", C)
    assert cnn.num_features == 128 and cnn.min_length == 8
    widths = [m.out_channels for m in cnn.modules() if isinstance(m, nn.Conv1d)]
    assert widths == [32, 64, 128]

    x = torch.randn(2, C, 128)
    for enc in (resnet, tcn, cnn):
        with torch.no_grad():
            assert enc.eval()(x).shape == (2, enc.num_features)


def test_custom_widths_and_depth():
    enc = create_encoder("resnet1d", 3, widths=(8, 16), kernel_sizes=(7, 5, 3))
    assert enc.num_features == 16 and enc.min_length == 7
    tcn = create_encoder("tcn", 3, hidden=8, depth=2, output_dim=12, kernel_size=5)
    assert tcn.num_features == 12 and tcn.receptive_field == 1 + 8 * (1 + 2 + 4)
    with torch.no_grad():
        assert tcn.eval()(torch.randn(2, 3, 5)).shape == (2, 12)


@pytest.mark.parametrize("name", ["cnn3", "resnet1d", "tcn"])
def test_pooling_options_pool_the_sequence(name):
    kw = {"tcn": {"hidden": 8, "depth": 2, "output_dim": 16}}.get(name, {"widths": (8, 16)})
    torch.manual_seed(0)
    encoders = {p: create_encoder(name, C, pooling=p, **kw).eval() for p in POOLINGS}
    for enc in encoders.values():
        enc.load_state_dict(encoders["avg"].state_dict())
    x = torch.randn(3, C, 40)
    with torch.no_grad():
        seq = encoders["avg"].forward_sequence(x)  # (B, W, T')
        assert seq.shape[:2] == (3, encoders["avg"].width)
        torch.testing.assert_close(encoders["avg"](x), seq.mean(dim=-1))
        torch.testing.assert_close(encoders["max"](x), seq.amax(dim=-1))
        both = encoders["avgmax"](x)
        torch.testing.assert_close(both, torch.cat([seq.mean(dim=-1), seq.amax(dim=-1)], dim=1))
    assert encoders["avgmax"].num_features == 2 * encoders["avg"].num_features == both.shape[1]
    with pytest.raises(ValueError, match=r"pooling must be one of \('avg', 'max', 'avgmax'\)"):
        create_encoder(name, C, pooling="sum", **kw)


def test_time_stride_maps_sequence_steps_to_input_steps():
    # cnn3 pools 2x three times; a spike at input step t shows up near output step t / 8
    enc = create_encoder("cnn3", 1, widths=(4, 4, 4), kernel_size=1, dropout=0.0).eval()
    assert enc.time_stride == 8
    with torch.no_grad():
        for conv in (m for m in enc.modules() if isinstance(m, torch.nn.Conv1d)):
            conv.weight.fill_(1.0)
        x = torch.zeros(1, 1, 64)
        x[0, 0, 40] = 10.0
        h = enc.forward_sequence(x)[0].sum(dim=0)  # (T',)
    assert abs(int(h.argmax()) - 40 // enc.time_stride) <= 1
    assert create_encoder("tcn", 1).time_stride == 1


def test_tcn_receptive_field_is_real():
    # Perturbing one input step changes exactly the outputs within the receptive field.
    torch.manual_seed(0)
    enc = TCNEncoder(2, hidden=4, depth=2, output_dim=4).eval()
    T = 40
    x = torch.randn(1, 2, T)
    x2 = x.clone()
    x2[0, :, 20] += 1.0
    with torch.no_grad():
        h1 = enc.blocks(enc.input_fc(x.transpose(1, 2)).transpose(1, 2))  # (1, D, T)
        h2 = enc.blocks(enc.input_fc(x2.transpose(1, 2)).transpose(1, 2))
    changed = (h1 - h2).abs().amax(dim=1)[0] > 0  # (T,)
    idx = torch.nonzero(changed).flatten()
    half = (enc.receptive_field - 1) // 2
    assert idx.min().item() == 20 - half and idx.max().item() == 20 + half


@pytest.mark.parametrize("stride", [2, 4, 5])
def test_strided_tcn_positions_and_receptive_field_are_real(stride):
    # T // stride positions (even strides), and output position j depends on exactly
    # receptive_field input steps: perturb every input step once and count.
    torch.manual_seed(0)
    enc = TCNEncoder(2, hidden=4, depth=2, output_dim=4, stride=stride).double().eval()
    assert enc.time_stride == stride and enc.min_length == max(3, 2 * stride)
    T = 320
    x = torch.randn(1, 2, T, dtype=torch.float64)
    perturbed = x.repeat(T, 1, 1)  # (T, 2, T): copy t has step t changed
    perturbed[torch.arange(T), :, torch.arange(T)] += 1.0
    with torch.no_grad():
        base = enc.forward_sequence(x)  # (1, D, N)
        h = enc.forward_sequence(perturbed)  # (T, D, N)
    n = base.shape[-1]
    if stride % 2 == 0:
        assert n == T // stride
    j = n // 2
    change = (h[:, :, j] - base[:, :, j]).abs().amax(dim=1)  # (T,)
    influenced = (change > 1e-12).nonzero().flatten()  # float64: rounding is far below this
    assert len(influenced) == enc.receptive_field
    assert influenced.max() - influenced.min() + 1 == enc.receptive_field  # one contiguous span
    centre = (influenced.min() + influenced.max()).item() / 2
    assert abs(centre - j * stride - (stride - 1) / 2) <= stride / 2  # near j * time_stride


@pytest.mark.parametrize("kernel_size", [1, 2, 3, 4, 8])
@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_same_padding_preserves_length(kernel_size, dilation):
    from swav_ts.timeseries.encoders import _SamePadConv

    conv = _SamePadConv(2, 3, kernel_size, dilation)
    for T in (kernel_size, 17, 32):
        assert conv(torch.randn(1, 2, T)).shape == (1, 3, T)


def test_even_kernel_tcn_runs():
    enc = create_encoder("tcn", C, hidden=8, depth=3, output_dim=8, kernel_size=4).eval()
    with torch.no_grad():
        assert enc(torch.randn(2, C, 4)).shape == (2, 8)
