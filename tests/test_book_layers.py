"""cnnlib.book.layers and cnnlib.text: the computations and number formats the chapters cite."""

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib.book.layers import factorised_pairs, output_sizes, self_attention_macs, torch_macs
from cnnlib.models.layers import ConvBNAct
from cnnlib.text import percent, times


def test_output_sizes_follow_a_chain_of_unpadded_layers():
    # AlexNet: conv1 (11x11, stride 4), then three 3x3 poolings of stride 2
    assert output_sizes(227, [(11, 4), (3, 2), (3, 2), (3, 2)]) == [55, 27, 13, 6]
    assert output_sizes(224, [(11, 4), (3, 2), (3, 2), (3, 2)]) == [54, 26, 12, 5]
    assert output_sizes(8, []) == []


def test_output_sizes_round_up_with_ceil_mode_as_caffe_pools():
    # GoogLeNet's four stride-2 max pools from 112: Table 1 (Caffe) and PyTorch's default
    assert output_sizes(112, [(3, 2)] * 4, ceil_mode=True) == [56, 28, 14, 7]
    assert output_sizes(112, [(3, 2)] * 4) == [55, 27, 13, 6]


class _Branches(nn.Module):
    """Two branches named as Inception v3's: <branch>.<i>.conv."""

    def __init__(self):
        super().__init__()
        self.branch7x7 = nn.Sequential(ConvBNAct(8, 8, 1), ConvBNAct(8, 8, (1, 7)), ConvBNAct(8, 8, (7, 1)),
                                       ConvBNAct(8, 8, (1, 7)))
        self.other = nn.Sequential(ConvBNAct(8, 8, (7, 1)))   # transposed, but in another branch

    def forward(self, x):
        return self.branch7x7(x) + self.other(x)


def test_a_factorised_pair_is_a_row_then_a_column_filter_in_one_branch():
    pairs = factorised_pairs(cnnlib.count_costs(_Branches(), (1, 8, 9, 9)))
    assert [(a.name, b.name) for a, b in pairs] == [("branch7x7.1.conv", "branch7x7.2.conv")]
    # the last 1x7 would pair with other.0's 7x1, but that layer is in another branch


def test_inception_v3_has_thirteen_factorised_pairs_all_seven_wide():
    pairs = factorised_pairs(cnnlib.count_costs("inception_v3"))
    assert len(pairs) == 13
    assert all({(a.R, a.S), (b.R, b.S)} == {(1, 7), (7, 1)} for a, b in pairs)
    assert not factorised_pairs(cnnlib.count_costs("resnet50"))   # square filters only


def test_torch_macs_is_half_of_flop_counter_modes_flops():
    conv = nn.Conv2d(4, 6, 3, padding=1, bias=False)
    assert torch_macs(conv, (1, 4, 5, 5)) == 5 * 5 * 6 * 4 * 9 == cnnlib.count_costs(conv, (1, 4, 5, 5)).macs


class _SelfAttention(nn.Module):
    def __init__(self, C):
        super().__init__()
        self.qkv = nn.Linear(C, 3 * C, bias=False)
        self.out = nn.Linear(C, C, bias=False)

    def forward(self, x):
        N, C, H, W = x.shape
        tokens = x.flatten(2).transpose(1, 2)
        q, k, v = self.qkv(tokens).chunk(3, dim=-1)
        return self.out((q @ k.transpose(1, 2)).softmax(dim=-1) @ v)


@pytest.mark.parametrize(("C", "H"), [(8, 2), (16, 5), (32, 7)])
def test_the_self_attention_formula_is_what_torch_counts(C, H):
    assert self_attention_macs(C, H) == torch_macs(_SelfAttention(C), (1, C, H, H))


@pytest.mark.parametrize(("share", "digits", "text"), [
    (0.724, None, "72%"), (0.0341, None, "3.4%"), (0.00042, None, "0.042%"), (0.1, None, "10%"),
    (0.0, None, "0.0%"), (0.0341, 0, "3%"), (0.9826, 1, "98.3%"), (1.5, 0, "150%"),
])
def test_percent_keeps_the_first_digits_of_a_small_share(share, digits, text):
    assert percent(share, digits) == text


def test_times_writes_a_ratio_as_a_factor():
    assert times(3.14) == "3.1x" and times(49.6, 0) == "50x" and times(1.054, 2) == "1.05x"


def test_a_layer_without_filters_has_no_channels_per_filter():
    r = cnnlib.count_costs("alexnet", count="all")
    conv2 = r.conv_layers[1]
    assert (conv2.C, conv2.G, conv2.channels_per_filter) == (96, 2, 48)
    dw = cnnlib.count_costs("mobilenet_v1").of_kind("dwconv")[0]
    assert dw.channels_per_filter == 1
    relu = next(row for row in r.layers if row.kind == "act")
    with pytest.raises(ValueError, match="has no filters"):
        relu.channels_per_filter  # noqa: B018


def test_the_lecture_lists_strides_that_differ_per_axis():
    """A CONV layer whose stride differs per axis has a (height, width) stride: the structure
    rows list it beside the others instead of failing to sort."""
    from cnnlib.lecture import structure

    model = nn.Sequential(nn.Conv2d(3, 8, 3, stride=(1, 2)), nn.Conv2d(8, 8, 3, stride=2))
    assert structure(cnnlib.count_costs(model, (3, 32, 32)))["Stride"] == "(1, 2), 2"
    assert torch.is_tensor(model(torch.zeros(1, 3, 32, 32)))
