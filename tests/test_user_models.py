"""Models written the way users write them: every MAC is counted, or a warning says which is not.

The reference is ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs / 2) with the multi-head
attention fast path off, on the same model with real weights on the CPU. Where it has no
formula (CPU scaled dot-product attention, CPU recurrent kernels) the reference is the formula
cnnlib states (:func:`cnnlib.costs.attention_macs`, :func:`cnnlib.costs.rnn_macs`), and
``FlopCounterMode`` on the meta device, where those layers run as plain matrix products.
"""

from __future__ import annotations

import copy
import re
import warnings

import pytest
import torch
import torch.nn.functional as F
import torch.nn.utils.prune
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import cnnlib
from cnnlib import accel
from cnnlib.costs import DEFAULT_COUNTED, attention_macs, rnn_macs


# -- the corpus ------------------------------------------------------------------------------
class FunctionalNet(nn.Module):
    """F.conv2d and F.linear on the module's own parameters: no layer objects at all."""

    def __init__(self):
        super().__init__()
        self.w1 = nn.Parameter(torch.randn(16, 3, 3, 3))
        self.w2 = nn.Parameter(torch.randn(10, 16))
        self.b2 = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        x = F.relu(F.conv2d(x, self.w1, padding=1))
        return F.linear(x.mean((2, 3)), self.w2, self.b2)


class ConvPlusExtra(nn.Module):
    """A Conv2d child and one extra F.conv2d with a weight of the parent's."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.extra = nn.Parameter(torch.randn(32, 16, 3, 3))

    def forward(self, x):
        return F.conv2d(self.conv(x), self.extra, stride=2)


class ConvThenTranspose(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.up = nn.ConvTranspose2d(8, 4, 4, stride=2, padding=1)

    def forward(self, x):
        return self.up(self.conv(x))


class MatmulAfterConv(nn.Module):
    """``@``, torch.matmul and einsum, on a parameter and on activations."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.proj = nn.Parameter(torch.randn(8, 12))

    def forward(self, x):
        y = self.conv(x).flatten(2).transpose(1, 2)      # (N, HW, 8)
        y = y @ self.proj                                  # (N, HW, 12)
        gram = torch.matmul(y.transpose(1, 2), y)         # (N, 12, 12)
        return torch.einsum("nij,njk->nik", gram, gram)


class AttentionBlock(nn.Module):
    """A conv stem, then nn.MultiheadAttention over the positions (attention weights returned)."""

    def __init__(self, E=32, heads=4):
        super().__init__()
        self.stem = nn.Conv2d(3, E, 4, stride=4)
        self.attn = nn.MultiheadAttention(E, heads, batch_first=True)
        self.head = nn.Linear(E, 10)

    def forward(self, x):
        t = self.stem(x).flatten(2).transpose(1, 2)       # (N, L, E)
        y, _ = self.attn(t, t, t)
        return self.head(y.mean(1))


class Conv1dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv1d(8, 16, 5, padding=2)
        self.c2 = nn.Conv1d(16, 16, 3, stride=2, groups=4)
        self.dw = nn.Conv1d(16, 16, 3, groups=16)

    def forward(self, x):
        return self.dw(self.c2(F.relu(self.c1(x))))


class Conv3dNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.c = nn.Conv3d(3, 8, (3, 3, 3), padding=1, groups=1)
        self.g = nn.Conv3d(8, 8, 3, stride=2, groups=2)

    def forward(self, x):
        return self.g(self.c(x))


class Products(nn.Module):
    """bmm, baddbmm and addmm, called directly."""

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.randn(6, 5))
        self.bias = nn.Parameter(torch.zeros(5))

    def forward(self, x):
        a = x.flatten(2)                                   # (N, C, HW)
        g = torch.bmm(a, a.transpose(1, 2))                # (N, C, C)
        g = torch.baddbmm(g, g, g)
        return torch.addmm(self.bias, g.flatten(0, 1)[:, :6], self.w)


class SDPA(nn.Module):
    def forward(self, x):
        q = x.flatten(2).transpose(1, 2).reshape(x.shape[0], -1, 2, 4).transpose(1, 2)
        return F.scaled_dot_product_attention(q, q, q)


class Tied(nn.Module):
    """Two Linears that share one weight matrix (weight tying)."""

    def __init__(self):
        super().__init__()
        self.a = nn.Linear(16, 16)
        self.b = nn.Linear(16, 16)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(torch.relu(self.a(x.flatten(1))))


class ChannelsLastLinear(nn.Module):
    """A Linear applied to an (N, H, W, C) tensor, as ConvNeXt and ViT-style code do."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.fc = nn.Linear(16, 64)

    def forward(self, x):
        return self.fc(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """ConvNeXt's block: 7x7 depth-wise conv, LayerNorm, 4x MLP by Linears on channels-last."""

    def __init__(self, C=32):
        super().__init__()
        self.dw = nn.Conv2d(C, C, 7, padding=3, groups=C)
        self.norm = nn.LayerNorm(C)
        self.pw1 = nn.Linear(C, 4 * C)
        self.act = nn.GELU()
        self.pw2 = nn.Linear(4 * C, C)
        self.gamma = nn.Parameter(torch.ones(C))

    def forward(self, x):
        y = self.dw(x).permute(0, 2, 3, 1)
        y = self.gamma * self.pw2(self.act(self.pw1(self.norm(y))))
        return x + y.permute(0, 3, 1, 2)


def _lstm():
    return nn.LSTM(12, 20, num_layers=2)


#: name -> (model maker, input shape). Images are (N, C, H, W); sequences are tensors.
CORPUS = {
    "functional": (FunctionalNet, (2, 3, 16, 16)),
    "conv_plus_extra_conv": (ConvPlusExtra, (1, 3, 16, 16)),
    "conv_transpose": (ConvThenTranspose, (1, 3, 16, 16)),
    "matmul_einsum": (MatmulAfterConv, (2, 3, 8, 8)),
    "multihead_attention": (AttentionBlock, (2, 3, 32, 32)),
    "transformer_encoder_layer": (lambda: nn.TransformerEncoderLayer(64, 4, 256, batch_first=True),
                                  torch.empty(2, 50, 64)),
    "conv1d": (Conv1dNet, torch.empty(2, 8, 100)),
    "conv3d": (Conv3dNet, torch.empty(1, 3, 8, 16, 16)),
    "bmm_baddbmm_addmm": (Products, (2, 6, 4, 4)),
    "sdpa": (SDPA, (2, 8, 4, 4)),
    "lstm": (_lstm, torch.empty(7, 3, 12)),
    "gru_bidirectional": (lambda: nn.GRU(12, 20, batch_first=True, bidirectional=True),
                          torch.empty(3, 7, 12)),
    "rnn": (lambda: nn.RNN(12, 20, num_layers=3, nonlinearity="relu"), torch.empty(7, 3, 12)),
    "weight_tying": (Tied, (2, 1, 4, 4)),
    "channels_last_linear": (ChannelsLastLinear, (1, 3, 16, 16)),
    "convnext_block": (ConvNeXtBlock, (1, 32, 14, 14)),
}

#: Models whose CPU kernels FlopCounterMode has no formula for, and cnnlib's stated formula.
STATED = {
    "sdpa": lambda: attention_macs((2, 2, 16, 4), (2, 2, 16, 4), (2, 2, 16, 4)),
    "transformer_encoder_layer": lambda: (
        2 * 50 * (3 * 64 * 64 + 64 * 64 + 2 * 64 * 256)              # projections and FFN
        + attention_macs((2, 4, 50, 16), (2, 4, 50, 16), (2, 4, 50, 16))),
    "lstm": lambda: rnn_macs(T=7, N=3, input_size=12, hidden_size=20, gates=4, layers=2),
    "gru_bidirectional": lambda: rnn_macs(T=7, N=3, input_size=12, hidden_size=20, gates=3,
                                          directions=2),
    "rnn": lambda: rnn_macs(T=7, N=3, input_size=12, hidden_size=20, gates=1, layers=3),
}


def build(name):
    torch.manual_seed(0)
    make, size = CORPUS[name]
    return make().eval(), size


def real_input(size):
    return torch.randn(size.shape) if isinstance(size, torch.Tensor) else torch.randn(size)


def flop_counter_macs(model, x):
    """FlopCounterMode's MACs, with the multi-head attention fast path off."""
    was = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model(x)
    finally:
        torch.backends.mha.set_fastpath_enabled(was)
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_default_macs_equal_flop_counter_mode_or_the_stated_formula(name):
    model, size = build(name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # nothing in the corpus is left uncounted
        report = cnnlib.count_costs(model, size)
    x = real_input(size)
    on_meta = flop_counter_macs(copy.deepcopy(model).to("meta"), x.to("meta"))
    assert report.macs == on_meta
    if name in STATED:
        assert report.macs == STATED[name]()
    else:
        assert report.macs == flop_counter_macs(model, x)
    assert report.macs == sum(r.macs for r in report.layers)
    assert report.params == sum(p.numel() for p in model.parameters())
    assert sum(r.params for r in report.layers) == report.params, "some parameters belong to no row"
    assert report.weights <= report.params


@pytest.mark.parametrize(("name", "kinds"), [
    ("functional", {"conv", "fc"}),
    ("conv_plus_extra_conv", {"conv"}),
    ("conv_transpose", {"conv", "tconv"}),
    ("matmul_einsum", {"conv", "fc", "matmul"}),
    ("multihead_attention", {"conv", "fc", "attention"}),
    ("conv1d", {"conv", "gconv", "dwconv"}),
    ("conv3d", {"conv3d"}),
    ("sdpa", {"matmul"}),
    ("lstm", {"rnn"}),
    ("convnext_block", {"dwconv", "fc"}),
])
def test_each_operation_gets_a_row_of_an_honest_kind(name, kinds):
    model, size = build(name)
    report = cnnlib.count_costs(model, size)
    assert {r.kind for r in report.layers if r.macs} == kinds


def test_an_extra_functional_conv_is_attributed_to_the_module_that_ran_it():
    report = cnnlib.count_costs(ConvPlusExtra(), (1, 3, 16, 16))
    child, extra = report.layers
    assert (child.name, child.macs) == ("conv", 16 * 16 * 16 * 27)
    assert (extra.name, extra.module, extra.R, extra.C, extra.M, extra.stride) == (
        "convolution", "ConvPlusExtra", 3, 16, 32, 2)
    assert extra.macs == 7 * 7 * 32 * 16 * 9 and extra.weights == 32 * 16 * 9


def test_functional_layers_on_own_parameters_have_the_lecture_letters():
    report = cnnlib.count_costs(FunctionalNet(), (2, 3, 16, 16))
    conv, fc = report.layers
    assert (conv.kind, conv.R, conv.S, conv.C, conv.M, conv.weights) == ("conv", 3, 3, 3, 16, 432)
    assert (fc.kind, fc.C, fc.M, fc.weights, fc.macs) == ("fc", 16, 10, 160, 2 * 160)
    assert report.weights == 432 + 160 and report.params == 432 + 160 + 10


def test_a_recurrent_layer_has_one_row_per_weight_matrix():
    report = cnnlib.count_costs(nn.Sequential(_lstm()), torch.empty(7, 3, 12))
    # per layer, the hidden products (K = H = 20) and the input products (K = 12, then 20),
    # each 7 time steps (one after the other) of a batch of 3; 4 gates of 20 outputs
    assert [(r.name, r.kind, r.C, r.M, r.input_shape) for r in report.layers] == [
        ("0", "rnn", 20, 80, (7, 3, 20)), ("0", "rnn", 12, 80, (7, 3, 12)),
        ("0", "rnn", 20, 80, (7, 3, 20)), ("0", "rnn", 20, 80, (7, 3, 20))]
    assert report.weights == 4 * 20 * (12 + 20 + 20 + 20)


def test_tied_weights_count_once():
    report = cnnlib.count_costs(Tied(), (2, 1, 4, 4))
    assert report.params == 16 * 16 + 16 + 16
    assert report.weights == 16 * 16 <= report.params
    assert [r.weights for r in report.layers] == [256, 0]


def test_a_costly_operation_without_a_formula_warns_with_its_name_and_module():
    class Spectral(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return torch.fft.rfft2(self.conv(x)).abs()

    model = nn.Sequential(Spectral())
    with pytest.warns(UserWarning, match=r"aten\._fft_r2c in module '0' \(Spectral\) has no MAC formula"):
        report = cnnlib.count_costs(model, (1, 3, 8, 8))
    assert report.macs == 4 * 27 * 36   # what can be counted still is


def test_counting_a_model_twice_warns_each_time_and_changes_nothing():
    model, size = build("transformer_encoder_layer")
    first, second = cnnlib.count_costs(model, size), cnnlib.count_costs(model, size)
    assert first == second
    assert not any(k in m.__dict__ for m in model.modules() for k in ("forward", "_compiled_call_impl"))
    assert model.training is False


def test_only_the_counted_kinds_are_in_macs():
    model, size = build("multihead_attention")
    everything = cnnlib.count_costs(model, size)
    convs = cnnlib.count_costs(model, size, count="conv")
    assert convs.macs == everything.conv_macs < everything.macs
    assert everything.counted_kinds == DEFAULT_COUNTED


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_accel_reads_every_row_with_the_reports_macs(name):
    model, size = build(name)
    report = cnnlib.count_costs(model, size)
    layers = accel.layers_of(report)
    assert [layer.macs for layer in layers] == [r.ops if layer.on_array else 0
                                                for r, layer in zip(report.layers, layers, strict=True)]
    assert sum(layer.macs for layer in layers) == report.macs
    estimate = accel.estimate(report, "systolic32")
    assert sum(e.layer.macs for e in estimate.layers) == report.macs


def test_a_channels_last_linear_is_an_fc_layer_to_accel():
    report = cnnlib.count_costs(ChannelsLastLinear(), (1, 3, 16, 16))
    fc = accel.layers_of(report)[1]
    assert (fc.kind, fc.N, fc.C, fc.M) == ("fc", 256, 16, 64)
    assert fc.macs == report.layers[1].macs == 256 * 16 * 64


ZOO = cnnlib.list_models()
#: LeNet-5's C3 connects each filter to some of S2's maps only; the array runs it dense.
DENSE_ON_THE_ARRAY = {"lenet5": "C3 is sparse in the report and dense on the array"}


@pytest.mark.parametrize("name", ZOO)
def test_accel_estimate_adds_up_to_the_report_on_every_zoo_model(name, reports):
    report = reports(name)
    estimate = accel.estimate(report, "systolic32")
    macs = sum(e.layer.macs for e in estimate.layers)
    if name in DENSE_ON_THE_ARRAY:
        assert macs > report.macs, DENSE_ON_THE_ARRAY[name]
    else:
        assert macs == report.macs


def test_a_subclass_that_changes_forward_is_counted_by_its_operations():
    class PaddedConv(nn.Conv2d):
        def forward(self, x):
            x = F.pad(x, (1, 1, 1, 1))
            return F.conv2d(torch.cat([x, x], 1)[:, : self.in_channels], self.weight) + \
                F.conv2d(x, self.weight)

    model = nn.Sequential(PaddedConv(3, 8, 3))
    report = cnnlib.count_costs(model, (1, 3, 8, 8))
    assert report.macs == flop_counter_macs(model, torch.randn(1, 3, 8, 8)) == 2 * 8 * 27 * 64
    assert [(r.kind, r.weights) for r in report.layers] == [("conv", 8 * 27), ("conv", 0), ("eltwise", 0)]


# -- a layer rule counts only what its layer ran ------------------------------------------------
class LoRA(nn.Module):
    """A LoRA-style parametrization: the weight W becomes W + B @ A."""

    def __init__(self, out_features, in_features, rank=4):
        super().__init__()
        self.A = nn.Parameter(torch.randn(rank, in_features))
        self.B = nn.Parameter(torch.randn(out_features, rank))

    def forward(self, W):
        return W + self.B @ self.A


def _lora_linear():
    layer = nn.Linear(256, 256)
    torch.nn.utils.parametrize.register_parametrization(layer, "weight", LoRA(256, 256))
    return nn.Sequential(layer)


def _twice():
    conv = nn.Conv2d(3, 3, 3, padding=1)
    own = conv.forward
    conv.forward = lambda x: own(own(x))   # a forward replaced on the instance: runs twice
    return nn.Sequential(conv)


class ConvForwardTwice(nn.Conv2d):
    """A subclass that keeps ``forward`` but runs ``_conv_forward`` (which forward calls) twice."""

    def _conv_forward(self, x, weight, bias):
        return super()._conv_forward(super()._conv_forward(x, weight, bias), weight, bias)


class ProjectingHook(nn.Module):
    """A conv whose forward hook changes the work: the output goes through one more product."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.proj = nn.Parameter(torch.randn(8, 8))
        self.conv.register_forward_hook(lambda m, args, y: torch.einsum("nchw,dc->ndhw", y, self.proj))

    def forward(self, x):
        return self.conv(x)


def _pruned():
    conv = nn.Conv2d(3, 8, 3)
    torch.nn.utils.prune.l1_unstructured(conv, "weight", amount=0.5)
    return nn.Sequential(conv)


def _old_weight_norm():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)   # deprecated, still used
        return nn.Sequential(nn.utils.weight_norm(nn.Conv2d(3, 8, 3)))


#: name -> (model maker, input): each layer here does other work than its class's rule says.
NOT_BY_THE_BOOK = {
    "lora_linear": (_lora_linear, (4, 256)),
    "orthogonal_linear": (lambda: nn.Sequential(nn.utils.parametrizations.orthogonal(nn.Linear(64, 64))),
                          (4, 64)),
    "forward_replaced_on_the_instance": (_twice, (1, 3, 8, 8)),
    "subclass_changing_conv_forward": (lambda: nn.Sequential(ConvForwardTwice(3, 3, 3, padding=1)),
                                       (1, 3, 8, 8)),
    "forward_hook_adding_a_product": (ProjectingHook, (1, 3, 8, 8)),
    "pruned_conv": (_pruned, (1, 3, 8, 8)),
    "old_style_weight_norm": (_old_weight_norm, (1, 3, 8, 8)),
    "weight_norm_parametrization": (lambda: nn.Sequential(nn.utils.parametrizations.weight_norm(
        nn.Linear(16, 32))), (2, 16)),
    "spectral_norm": (lambda: nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(3, 8, 3))), (1, 3, 8, 8)),
}
#: What FlopCounterMode has no formula for, and cnnlib counts or warns about.
NOT_BY_THE_BOOK_EXTRA = {
    # sigma = u . (W v): one matrix-vector product of the 8 x 27 weight, one dot product of 8
    "spectral_norm": 8 * 27 + 8,
}
NOT_BY_THE_BOOK_WARNS = {"orthogonal_linear": r"aten\.linalg_matrix_exp in module '0\.parametrizations"}


@pytest.mark.parametrize("name", sorted(NOT_BY_THE_BOOK))
def test_a_layer_that_does_other_work_than_its_rule_is_counted_by_its_operations(name):
    torch.manual_seed(0)
    make, size = NOT_BY_THE_BOOK[name]
    model = make().eval()
    x = torch.randn(size)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report = cnnlib.count_costs(model, x)
    messages = [str(w.message) for w in caught if "cnnlib" in str(w.message)]
    if name in NOT_BY_THE_BOOK_WARNS:
        assert len(messages) == 1 and re.search(NOT_BY_THE_BOOK_WARNS[name], messages[0]), messages
    else:
        assert not messages
    assert report.macs == flop_counter_macs(model, x) + NOT_BY_THE_BOOK_EXTRA.get(name, 0)
    assert report.params == sum(p.numel() for p in model.parameters())


def test_the_lora_linear_counts_its_update_and_its_product():
    report = cnnlib.count_costs(_lora_linear(), torch.empty(4, 256))
    # B @ A (256 x 4 x 256, two parameters: an fc row) makes the weight, then the layer's
    # product with that computed weight (4 rows): a matmul row, not the Linear's rule
    assert report.macs == 256 * 4 * 256 + 4 * 256 * 256
    assert [(r.name, r.kind) for r in report.layers if r.macs] == [
        ("0.parametrizations.weight.0", "fc"), ("0:addmm", "matmul")]


# -- a count leaves the model as it found it ----------------------------------------------------
class CachesFromInput(nn.Module):
    """Builds a table on its first call, on the input's device (a rotary-embedding cache)."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.cos = None

    def forward(self, x):
        if self.cos is None:
            self.cos = torch.cos(torch.arange(8.0, device=x.device))
        return self.fc(x) * self.cos


class FailsMidway(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.fc = nn.Linear(8, 2)

    def forward(self, x):
        y = self.conv(x)
        self.seen = y.shape              # an attribute set before the failure
        raise RuntimeError("my model fails here")


def _lazy_never_run():
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.LazyLinear(3))


def _spectral():
    return nn.Sequential(nn.utils.spectral_norm(nn.Conv2d(3, 8, 3)), nn.Flatten(), nn.LazyLinear(2))


#: name -> (model maker, input, what the count does: None when it succeeds, else the error)
UNCHANGED = {
    "cache_built_from_the_input": (CachesFromInput, (2, 8), None),
    "lazy_layer_never_run": (_lazy_never_run, (2, 4), cnnlib.CnnlibError),
    "exception_mid_forward": (FailsMidway, (1, 3, 8, 8), RuntimeError),
    "pruned_conv": (_pruned, (1, 3, 8, 8), None),
    "old_style_weight_norm": (_old_weight_norm, (1, 3, 8, 8), None),
    "spectral_norm_then_lazy": (_spectral, (1, 3, 8, 8), cnnlib.CnnlibError),
    "lora_linear": (_lora_linear, (4, 256), None),
    "forward_replaced_on_the_instance": (_twice, (1, 3, 8, 8), None),
    "forward_hook": (ProjectingHook, (1, 3, 8, 8), None),
    "batch_norm_training": (lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU()),
                            (2, 3, 8, 8), None),
    "input_too_small": (lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.MaxPool2d(8)), (1, 3, 8, 8),
                        cnnlib.CnnlibError),
}


def fingerprint(model):
    """Everything a count must leave as it was: per module its class, every attribute (by
    identity), parameters, buffers and children (by identity, with their devices), hooks,
    training flag; and every tensor's device, shape and values."""
    out = []
    for name, m in model.named_modules(remove_duplicate=False):
        tensors = {k: (id(v), v.device.type, tuple(v.shape), v.detach().clone())
                   for k, v in [*m._parameters.items(), *m._buffers.items()]
                   if v is not None and not isinstance(v, nn.parameter.UninitializedTensorMixin)}
        out.append((name, type(m), m.training, {k: id(v) for k, v in m.__dict__.items()},
                    list(m._parameters), list(m._buffers), list(m._modules),
                    [tuple(getattr(m, h)) for h in ("_forward_hooks", "_forward_pre_hooks",
                                                    "_backward_hooks", "_state_dict_hooks")],
                    tensors))
    return out


def same(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert x[:8] == y[:8], x[0]
        assert x[8].keys() == y[8].keys(), x[0]
        for k, (i, dev, shape, value) in x[8].items():
            j, dev2, shape2, value2 = y[8][k]
            assert (i, dev, shape) == (j, dev2, shape2) and torch.equal(value, value2), (x[0], k)


@pytest.mark.parametrize("name", sorted(UNCHANGED))
def test_a_count_leaves_the_model_as_it_found_it(name):
    torch.manual_seed(0)
    make, size, outcome = UNCHANGED[name]
    model = make()
    model.train() if name == "batch_norm_training" else model.eval()
    if name == "pruned_conv":
        model(torch.randn(size))   # the pruning hook has made .weight once
    before = fingerprint(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if outcome is None:
            cnnlib.count_costs(model, torch.empty(size))
        else:
            with pytest.raises(outcome):
                cnnlib.count_costs(model, torch.empty(size))
    same(before, fingerprint(model))
    for m in model.modules():   # no wrapper, meta tensor or stand-in left as an attribute
        assert not any(isinstance(v, torch.Tensor) and v.is_meta for v in m.__dict__.values())
    if outcome is None or name == "lazy_layer_never_run":
        with torch.no_grad():
            y = model(torch.randn(size))   # runs on real data right after
        assert not y.is_meta


def test_a_cache_built_during_a_count_is_not_left_behind():
    model = CachesFromInput()
    cnnlib.count_costs(model, torch.empty(2, 8))
    assert model.cos is None
    model(torch.randn(2, 8))
    assert model.cos.device.type == "cpu"


def test_a_weight_norm_hook_leaves_weight_on_the_cpu():
    model = _old_weight_norm()
    model(torch.randn(1, 3, 8, 8))
    cnnlib.count_costs(model, (1, 3, 8, 8))
    assert model[0].weight.device.type == "cpu"


# -- valid calls work ---------------------------------------------------------------------------
class KeywordInput(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3)
        self.bn = nn.BatchNorm2d(8)

    def forward(self, x):
        return self.bn(input=self.conv(input=x))


class TwoInputs(nn.Module):
    def __init__(self):
        super().__init__()
        self.image = nn.Conv2d(3, 8, 3, padding=1)
        self.text = nn.Linear(12, 8)

    def forward(self, x, tokens, scale=1.0):
        return self.image(x).mean((2, 3)) + self.text(tokens).mean(1) * scale


def test_an_unbatched_image_is_counted_like_a_batch_of_one():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 4, 3, groups=4),
                          nn.AdaptiveAvgPool2d(1))
    unbatched = cnnlib.count_costs(model, torch.empty(3, 16, 16))
    batched = cnnlib.count_costs(model, (1, 3, 16, 16))
    assert unbatched.macs == batched.macs == flop_counter_macs(model, torch.randn(3, 16, 16))
    assert [r.kind for r in unbatched.layers] == [r.kind for r in batched.layers]
    assert unbatched.layers[0].output_shape == (8, 14, 14)


def test_a_layer_called_with_its_argument_by_name_is_counted():
    report = cnnlib.count_costs(KeywordInput(), (1, 3, 8, 8))
    assert [r.kind for r in report.layers] == ["conv", "norm"]
    assert report.macs == 8 * 27 * 36


@pytest.mark.parametrize("inputs", [
    (torch.randn(2, 3, 8, 8), torch.randn(2, 5, 12)),
    [torch.randn(2, 3, 8, 8), torch.randn(2, 5, 12)],
    {"x": torch.randn(2, 3, 8, 8), "tokens": torch.randn(2, 5, 12), "scale": 0.5},
], ids=["tuple", "list", "dict"])
def test_several_example_inputs_are_passed_as_torchinfo_passes_them(inputs):
    model = TwoInputs()
    report = cnnlib.count_costs(model, inputs)
    args, kwargs = (inputs, {}) if not isinstance(inputs, dict) else ((), inputs)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(*args, **kwargs)
    assert report.macs == counter.get_total_flops() // 2 == 2 * 64 * 8 * 27 + 2 * 5 * 12 * 8
    assert report.input_size == (2, 3, 8, 8)
    assert {r.kind for r in report.layers} == {"conv", "fc", "eltwise"}


def test_a_traced_model_is_refused_with_what_to_do():
    traced = torch.jit.trace(nn.Sequential(nn.Conv2d(3, 4, 3)), torch.randn(1, 3, 8, 8))
    with pytest.raises(cnnlib.CnnlibError, match="not TorchScript.*torch.jit.trace.*count the module"):
        cnnlib.count_costs(traced, (1, 3, 8, 8))
    inside = nn.Sequential(nn.ReLU(), traced)
    with pytest.raises(cnnlib.CnnlibError, match="layer '1'"):
        cnnlib.count_costs(inside, (1, 3, 8, 8))


# -- the accelerator maps what the report counted ----------------------------------------------
def _array(model, x, hardware="systolic32"):
    estimate = accel.estimate(cnnlib.count_costs(model, x), hardware)
    return [e for e in estimate.layers if e.layer.on_array]


@pytest.mark.parametrize("hardware", ["systolic32", "eyeriss"])
def test_a_depthwise_conv3d_costs_what_the_same_depthwise_conv2d_costs(hardware):
    (c3,) = _array(nn.Conv3d(32, 32, (1, 3, 3), padding=(0, 1, 1), groups=32), torch.empty(1, 32, 1, 28, 28),
                   hardware)
    (c2,) = _array(nn.Conv2d(32, 32, 3, padding=1, groups=32), torch.empty(1, 32, 28, 28), hardware)
    assert c3.layer.macs == c2.layer.macs
    assert c3.compute_cycles == c2.compute_cycles
    assert c3.layer.gemm() == c2.layer.gemm() and c3.layer.G == c2.layer.G == 32


def test_a_grouped_conv1d_and_conv3d_map_their_groups():
    (c1,) = _array(nn.Conv1d(32, 64, 3, groups=4), torch.empty(1, 32, 50))
    (c2,) = _array(nn.Conv2d(32, 64, (1, 3), groups=4), torch.empty(1, 32, 1, 50))
    assert (c1.layer.G, c1.compute_cycles) == (4, c2.compute_cycles)
    (c3,) = _array(nn.Conv3d(32, 64, 3, groups=4), torch.empty(1, 32, 6, 10, 10))
    assert c3.layer.G == 4 and c3.layer.gemm() == (27 * 8, 16, 4 * 8 * 8)
    assert c3.layer.macs == 4 * 8 * 8 * 64 * 8 * 27
    assert c3.layer.inputs == 32 * 6 * 10 * 10 and c3.layer.outputs == 64 * 4 * 8 * 8


def test_a_transposed_conv_maps_its_groups():
    x = torch.empty(1, 32, 8, 8)
    (grouped,) = _array(nn.ConvTranspose2d(32, 32, 4, stride=2, padding=1, groups=32), x)
    (dense,) = _array(nn.ConvTranspose2d(32, 32, 4, stride=2, padding=1), x)
    # per group: each input position scatters its C/G values through (M/G) * 16 weights
    assert grouped.layer.G == 32 and grouped.layer.gemm() == (1, 16, 64)
    assert dense.layer.G == 1 and dense.layer.gemm() == (32, 32 * 16, 64)
    assert grouped.layer.macs * 32 == dense.layer.macs
    assert grouped.compute_cycles > dense.compute_cycles / 32   # a depth-wise layer fills little
    assert grouped.layer.outputs == 32 * 16 * 16


def test_a_recurrent_layer_runs_one_step_per_time_step():
    T, N = 50, 1
    rows = _array(nn.LSTM(64, 128), torch.empty(T, N, 64))
    assert [e.layer.steps for e in rows] == [T, T]
    one = accel.Layer(kind="rnn", N=N, C=128, M=512)
    hidden = next(e for e in rows if e.layer.C == 128)
    assert hidden.compute_cycles == T * accel.systolic(one, hardware=accel.hardware("systolic32")).cycles
    stacked = accel.Layer(kind="rnn", N=T * N, C=128, M=512)   # the steps as one product
    assert hidden.compute_cycles > 10 * accel.systolic(stacked, hardware=accel.hardware("systolic32")).cycles
