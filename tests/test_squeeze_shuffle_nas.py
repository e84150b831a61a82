"""SqueezeNet, ShuffleNet v1 / v2 and NASNet-A: their blocks cost what the papers say, by hand."""

from __future__ import annotations

import pytest
import torch

import cnnlib
from cnnlib.models.layers import ChannelShuffle
from cnnlib.models.nasnet import NORMAL_CELL, REDUCTION_CELL, SepConvStack
from cnnlib.models.shufflenet import ShuffleV1Unit, ShuffleV2Unit, v1_channels
from cnnlib.models.squeezenet import Fire


def rows(report: cnnlib.CostReport, prefix: str) -> list[cnnlib.LayerCost]:
    return [r for r in report.layers if r.name.startswith(prefix)]


# -- SqueezeNet ---------------------------------------------------------------------------------

# Table 1 of the SqueezeNet paper, "# parameter before pruning" (filter weights and biases).
TABLE1_PARAMS = {
    "conv1": 14_208, "fire2": 11_920, "fire3": 12_432, "fire4": 45_344, "fire5": 49_440,
    "fire6": 104_880, "fire7": 111_024, "fire8": 188_992, "fire9": 197_184, "conv10": 513_000,
}


def test_squeezenet_parameters_per_layer_match_table_1():
    report = cnnlib.count_costs("squeezenet1_0")
    per_layer: dict[str, int] = {}
    for r in report.layers:
        layer = r.name.split(".")[1]  # features.fire2.squeeze -> fire2
        per_layer[layer] = per_layer.get(layer, 0) + r.params
    assert {k: v for k, v in per_layer.items() if v} == TABLE1_PARAMS
    assert sum(TABLE1_PARAMS.values()) == report.params == 1_248_424


def test_fire_module_counts_by_hand():
    # fire2: 96 channels in, squeeze to s1x1 = 16, expand to e1x1 = e3x3 = 64, at 55 x 55
    report = cnnlib.count_costs(Fire(96, 16, 64, 64), (1, 96, 55, 55))
    squeeze, expand1x1, expand3x3 = 96 * 16, 16 * 64, 3 * 3 * 16 * 64
    assert report.weights == squeeze + expand1x1 + expand3x3 == 11_776
    assert report.biases == 16 + 64 + 64
    assert report.macs == 55 * 55 * (squeeze + expand1x1 + expand3x3) == 35_622_400
    assert report.output_shape == (1, 128, 55, 55)  # e1x1 + e3x3 channels, concatenated


def test_squeezenet_classifies_with_a_conv_and_global_pooling_not_an_fc_layer():
    report = cnnlib.count_costs("squeezenet1_0")
    assert report.fc_layers == ()
    (conv10,) = rows(report, "classifier.conv10")
    assert (conv10.kind, conv10.R, conv10.C, conv10.M) == ("conv", 1, 512, 1000)
    assert conv10.output_shape == (1, 1000, 13, 13)  # one 13x13 map per class, then averaged


def test_squeezenet_has_fifty_times_fewer_parameters_than_alexnet():
    ratio = cnnlib.count_costs("alexnet").params / cnnlib.count_costs("squeezenet1_0").params
    assert 48 < ratio < 50  # "50x" in the title: Table 2 compares 240MB with 4.8MB
    megabytes = cnnlib.count_costs("squeezenet1_0").params * 4 / 2**20  # 32-bit floats
    assert round(megabytes, 1) == 4.8


def test_caffe_conv10_padding_adds_border_maps_of_bias_only():
    plain = cnnlib.count_costs("squeezenet1_0")
    padded = cnnlib.count_costs("squeezenet1_0", conv10_padding=1)
    assert padded.params == plain.params
    assert padded.macs - plain.macs == (15 * 15 - 13 * 13) * 512 * 1000
    assert padded.flops == 1_722_679_872  # the authors' "1.72 GFLOPS"


def test_squeezenet1_1_needs_2_2x_fewer_macs_than_1_0():
    v10 = cnnlib.count_costs("squeezenet1_0", conv10_padding=1).macs
    v11 = cnnlib.count_costs("squeezenet1_1").macs
    assert round(v10 / v11, 1) == 2.2
    assert cnnlib.count_costs("squeezenet1_1").params < cnnlib.count_costs("squeezenet1_0").params


# -- ShuffleNet v1 ------------------------------------------------------------------------------

def test_shufflenet_unit_costs_the_papers_formula():
    # Section 3.2: a ShuffleNet unit with c input channels and bottleneck m costs hw(2cm/g + 9m)
    c, m, g, h, w = 480, 120, 3, 14, 14
    report = cnnlib.count_costs(ShuffleV1Unit(c, c, g, stride=1), (1, c, h, w))
    assert report.weights == 2 * c * m // g + 9 * m == 39_480
    assert report.macs == h * w * (2 * c * m // g + 9 * m) == 7_738_080
    resnet = h * w * (2 * c * m + 9 * m * m)  # the ResNet bottleneck: hw(2cm + 9m^2)
    assert resnet / report.macs > 6
    assert [r.kind for r in report.layers if r.weights] == ["gconv", "dwconv", "gconv"]
    assert [r.kind for r in report.layers].count("eltwise") == 1  # the residual add


def test_first_pointwise_conv_of_stage_2_is_not_grouped():
    report = cnnlib.count_costs("shufflenet_v1")
    (first,) = rows(report, "stage2.0.conv_pw1.conv")
    (second,) = rows(report, "stage2.1.conv_pw1.conv")
    assert (first.kind, first.G, first.C) == ("conv", 1, 24)
    assert (second.kind, second.G) == ("gconv", 3)


def test_stride_2_unit_concatenates_an_average_pooled_shortcut():
    report = cnnlib.count_costs("shufflenet_v1")
    (conv,) = rows(report, "stage2.0.conv_pw2.conv")
    (shortcut,) = rows(report, "stage2.0.shortcut")
    assert conv.M == 240 - 24  # the conv path only makes M - C channels
    assert shortcut.kind == "pool" and shortcut.output_shape == (1, 24, 28, 28)
    assert rows(report, "stage2.0.act")[0].output_shape == (1, 240, 28, 28)


def test_channel_shuffle_gives_each_group_a_channel_of_every_group():
    x = torch.arange(9.0).view(1, 9, 1, 1)  # G = 3 groups: {0, 1, 2}, {3, 4, 5}, {6, 7, 8}
    y = ChannelShuffle(3)(x).flatten().tolist()
    assert y == [0, 3, 6, 1, 4, 7, 2, 5, 8]
    next_groups = [set(y[i:i + 3]) for i in (0, 3, 6)]
    assert all({c // 3 for c in group} == {0, 1, 2} for group in next_groups)


def test_table_1_keeps_complexity_near_140m_for_every_group_count():
    for g in (1, 2, 3, 4, 8):
        assert cnnlib.count_costs("shufflenet_v1", groups=g).conv_macs == pytest.approx(140e6, rel=0.05)


def test_width_scaling_matches_the_authors_code():
    assert v1_channels(3, 1.0) == (24, [240, 480, 960])
    assert v1_channels(3, 0.5) == (12, [120, 240, 480])
    assert v1_channels(8, 0.5) == (16, [192, 384, 768])
    assert v1_channels(3, 1.5) == (24, [360, 720, 1440])
    assert v1_channels(3, 2.0) == (48, [480, 960, 1920])
    with pytest.raises(cnnlib.CnnlibError):
        cnnlib.count_costs("shufflenet_v1", groups=5)


# -- ShuffleNet v2 ------------------------------------------------------------------------------

def test_shufflenet_v2_unit_convolves_only_half_the_channels():
    # a stride-1 unit of stage 3 at 1x: 232 channels, split into two halves of 116, at 14 x 14
    report = cnnlib.count_costs(ShuffleV2Unit(232, 232, stride=1), (1, 232, 14, 14))
    half = 116
    assert report.weights == 2 * half * half + 9 * half == 27_956
    assert report.macs == 14 * 14 * report.weights == 5_479_376
    assert all(r.C == half for r in report.layers if r.weights)
    assert report.output_shape == (1, 232, 14, 14)


def test_shufflenet_v2_has_no_group_convolutions():
    kinds = {r.kind for r in cnnlib.count_costs("shufflenet_v2_x1_0").layers}
    assert "gconv" not in kinds and {"conv", "dwconv"} <= kinds


def test_torchvision_variant_differs_only_in_the_first_unit_of_stage_2():
    official = cnnlib.count_costs("shufflenet_v2_x1_0")
    torchvision = cnnlib.count_costs("shufflenet_v2_x1_0", even_branches=True)
    differ = {a.name for a, b in zip(official.layers, torchvision.layers, strict=True)
              if (a.weights, a.macs, a.output_shape) != (b.weights, b.macs, b.output_shape)}
    assert differ and all(name.startswith("stage2.0.") for name in differ)
    (left,) = rows(official, "stage2.0.branch_left.1.conv")
    assert left.M == 24  # the authors' left branch keeps its 24 input channels; 116 - 24 on the right


# -- NASNet-A -----------------------------------------------------------------------------------

def test_separable_operation_counts_by_hand():
    # "separable 5x5" of a first-stack cell: F = 44 channels, applied twice, at 28 x 28
    report = cnnlib.count_costs(SepConvStack(44, 44, 5, stride=1), (1, 44, 28, 28))
    assert report.weights == 2 * (5 * 5 * 44 + 44 * 44) == 6_072
    assert report.macs == 28 * 28 * report.weights == 4_760_448
    assert report.params == report.weights + 2 * 2 * 44  # two BNs, a scale and a shift each


def test_nasnet_cells_and_their_outputs_follow_figure_2():
    model = cnnlib.create_model("nasnet_a_mobile", device="meta").eval()
    shapes: dict[str, tuple[int, ...]] = {}
    for name, cell in model.cells.items():
        cell.register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape[1:])))
    with torch.no_grad():
        model(torch.empty(1, 3, 224, 224, device="meta"))
    F = 44
    expected = {"cell_stem_0": (4 * F // 4, 56, 56), "cell_stem_1": (4 * F // 2, 28, 28)}
    expected |= {f"cell_{i}": (6 * F, 28, 28) for i in range(4)}
    expected |= {"reduction_cell_0": (4 * 2 * F, 14, 14)}
    expected |= {f"cell_{i}": (6 * 2 * F, 14, 14) for i in range(4, 8)}
    expected |= {"reduction_cell_1": (4 * 4 * F, 7, 7)}
    expected |= {f"cell_{i}": (6 * 4 * F, 7, 7) for i in range(8, 12)}
    assert shapes == expected
    assert list(shapes) == list(expected)  # in this order
    assert shapes["cell_11"][0] == 1056  # "4 @ 1056"


def test_cells_combine_five_pairs_and_reduce_only_their_inputs():
    for spec in (NORMAL_CELL, REDUCTION_CELL):
        assert len(spec.combinations) == 5
        for k, (_, left, _, right) in enumerate(spec.combinations):
            assert left < 2 + k and right < 2 + k  # a combination uses earlier states only
    report = cnnlib.count_costs("nasnet_a_mobile")
    # in the first reduction cell, the ops on h_i and h_{i-1} have stride 2, those on states 2, 3 not
    strides = {r.name.rsplit(".", 1)[0]: r.stride for r in rows(report, "cells.reduction_cell_0.comb")
               if r.name.endswith(("conv_dw1", "pool"))}
    assert strides["cells.reduction_cell_0.comb.0.left"] == 2
    assert strides["cells.reduction_cell_0.comb.3.right"] == 1  # avg pool of combination 0
    assert strides["cells.reduction_cell_0.comb.4.left"] == 1   # sep 3x3 of combination 0


def test_keras_parameter_count_adds_the_batch_norm_statistics():
    model = cnnlib.create_model("nasnet_a_mobile", device="meta")
    statistics = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("mean", "var")))
    params = cnnlib.count_costs("nasnet_a_mobile").params
    assert params == 5_289_978                  # Keras NASNetMobile: trainable params
    assert params + statistics == 5_326_716     # Keras NASNetMobile: total params (its docs' table)
