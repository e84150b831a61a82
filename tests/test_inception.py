"""GoogLeNet, Inception v3 and Xception: one block of each counted by hand, the per-layer
operations of GoogLeNet's Table 1, and what the lecture says about these networks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib.costs import formulas as f
from cnnlib.models.googlenet import INCEPTION_TABLE, GoogLeNet, Inception
from cnnlib.models.inception_v3 import INCEPTION_TABLE as V3_TABLE
from cnnlib.models.inception_v3 import InceptionA, InceptionV3
from cnnlib.models.xception import BLOCKS, SeparableConvBN, Xception
from cnnlib.published import Published


def printed_as(value: str, counted: int) -> bool:
    """True when ``counted`` rounds to the figure ``value`` at its printed precision."""
    return Published("macs", value, "test").matches(counted)


def module_macs(report: cnnlib.CostReport, prefix: str) -> int:
    return sum(r.macs for r in report.layers if r.name.startswith(prefix + "."))


def grid_shapes(model: nn.Module, stem: nn.Module, blocks: nn.Module, size: int) -> dict[str, tuple]:
    """Output shape (C, H, W) of every block, from a forward pass on the meta device."""
    shapes = {}
    x = stem(torch.empty(1, 3, size, size, device="meta"))
    for name, block in blocks.named_children():
        x = block(x)
        shapes[name] = tuple(x.shape[1:])
    return shapes


ROW = {row.name: row for row in INCEPTION_TABLE}


# --- GoogLeNet -------------------------------------------------------------------------------

def test_inception_3a_costs_match_a_hand_count():
    with torch.device("meta"):
        block = Inception(192, ROW["3a"])
    report = cnnlib.count_costs(block, (1, 192, 28, 28))
    weights = (192 * 64                   # branch1x1
               + 192 * 96 + 3 * 3 * 96 * 128  # branch3x3: reduce, then 3x3
               + 192 * 16 + 5 * 5 * 16 * 32   # branch5x5: reduce, then a true 5x5
               + 192 * 32)                # branch_pool: projection
    assert report.weights == weights == 163_328  # Table 1's "159K" with K = 1024 (159.5K)
    assert report.macs == weights * 28 * 28 == 128_049_152  # Table 1: 128M
    assert report.params == weights + (64 + 96 + 128 + 16 + 32 + 32)  # one bias per filter
    assert report.output_shape == (1, 256, 28, 28)  # 64 + 128 + 32 + 32 channels


# Table 1's "ops" column, which it prints for the grids of Caffe's ceil rounding (56/28/14/7).
TABLE1_OPS = {
    "conv2": "360M",  # 1x1 reduce (64) and 3x3 (192) at 56x56
    "3a": "128M", "3b": "304M", "4b": "88M", "4c": "100M", "4d": "119M", "4e": "170M", "5b": "71M",
    "linear": "1M",
}


@pytest.fixture(scope="module")
def googlenet_ceil() -> cnnlib.CostReport:
    return cnnlib.count_costs("googlenet", ceil_mode=True)


@pytest.mark.parametrize("layer", list(TABLE1_OPS))
def test_table1_ops_are_reproduced_with_ceil_rounding(googlenet_ceil, layer):
    if layer == "conv2":
        counted = module_macs(googlenet_ceil, "stem.conv2_reduce") + module_macs(googlenet_ceil, "stem.conv2")
    elif layer == "linear":
        counted = googlenet_ceil.fc_macs
    else:
        counted = module_macs(googlenet_ceil, f"blocks.inception{layer}")
    assert printed_as(TABLE1_OPS[layer], counted), f"{layer}: counted {counted:,}"


def test_table1_conv1_params_entry_is_wrong_but_its_ops_follow_from_the_filter():
    conv1 = cnnlib.count_costs("googlenet").layers[0]
    assert (conv1.R, conv1.C, conv1.M) == (7, 3, 64)
    # 7 * 7 * 3 * 64 = 9,408 weights (9.2K), not the 2.7K Table 1 prints.
    assert conv1.weights == 9_408
    assert conv1.macs == 9_408 * 112 * 112 == 118_013_952  # 118M


@pytest.mark.parametrize(("layer", "printed", "params_entry", "hw"), [
    ("4a", "73M", 364, 14 * 14),
    ("5a", "54M", 1072, 7 * 7),
])
def test_table1_ops_of_4a_and_5a_follow_its_own_misprinted_params(googlenet_ceil, layer, printed,
                                                                 params_entry, hw):
    counted = module_macs(googlenet_ceil, f"blocks.inception{layer}")
    assert not printed_as(printed, counted)  # 4a: 73.6M, 5a: 51.1M
    # Both entries are the table's params column (in K = 1024) times H x W ...
    assert printed_as(printed, params_entry * 1024 * hw)
    # ... and those params entries are off: we count 366.75K and 1018K.
    weights = sum(r.weights for r in googlenet_ceil.layers if r.name.startswith(f"blocks.inception{layer}."))
    assert weights / 1024 != params_entry
    assert weights == {"4a": 375_552, "5a": 1_042_432}[layer]


def test_pool_rounding_sets_the_grid_sizes():
    def grids(ceil_mode: bool) -> list[int]:
        with torch.device("meta"):
            model = GoogLeNet(ceil_mode=ceil_mode)
        shapes = grid_shapes(model, model.stem, model.blocks, 224)
        return [model.stem(torch.empty(1, 3, 224, 224, device="meta")).shape[-1],
                shapes["inception3b"][-1], shapes["pool3"][-1], shapes["pool4"][-1]]

    assert grids(ceil_mode=True) == [28, 28, 14, 7]   # Table 1 (Caffe rounds pooled sizes up)
    assert grids(ceil_mode=False) == [27, 27, 13, 6]  # PyTorch's default floor rounding
    # Floor rounding with one pixel of padding gives Caffe's sizes too: 112 -> 56 -> 28 -> 14 -> 7.
    sizes = [112]
    for _ in range(4):
        sizes.append(f.conv_output_size(sizes[-1], 3, stride=2, padding=1))
    assert sizes == [112, 56, 28, 14, 7]
    assert [f.conv_output_size(H, 3, 2, ceil_mode=True) for H in sizes[:-1]] == sizes[1:]


def test_lecture_summary_is_floor_rounding_and_table1_is_ceil_rounding():
    floor = cnnlib.count_costs("googlenet", ceil_mode=False)
    ceil = cnnlib.count_costs("googlenet", ceil_mode=True)
    assert floor.conv_macs == 1_430_532_352 and printed_as("1.43G", floor.conv_macs)
    assert ceil.conv_macs == 1_581_647_872 and not printed_as("1.43G", ceil.conv_macs)
    assert floor.weights == ceil.weights == 5_966_272 + 1_024_000  # weights ignore the grid


def test_lecture_summary_shape_facts():
    report = cnnlib.count_costs("googlenet")
    convs = report.conv_layers
    # "# of CONV layers: 21 (depth)": conv1, conv2 reduce, conv2, then two per module's longest
    # branch (reduce + 3x3 or 5x5). There are 57 conv layers in all.
    assert 3 + 2 * len(INCEPTION_TABLE) == 21
    assert len(convs) == 3 + 6 * len(INCEPTION_TABLE) == 57
    assert {r.R for r in convs} == {1, 3, 5, 7}
    assert {r.stride for r in convs} == {1, 2}
    assert min(r.C for r in convs) == 3 and report.fc_layers[0].C == 1024  # channels 3 - 1024
    # "# of filters 64 - 384": the largest is 384 (5b), but the 1x1 reduces go down to 16 (3a).
    assert max(r.M for r in convs) == 384 and min(r.M for r in convs) == 16
    assert len(report.fc_layers) == 1


def test_bottleneck_slide_854M_and_358M():
    """The slide "GoogLeNet: 1x1 Bottleneck" quotes CS231n (2017, lecture 9): inception 3b's
    input (28x28x256) and output filters (1x1: 128, 3x3: 192, 5x5: 96)."""
    HW, C = 28, 256

    def conv(C: int, M: int, R: int) -> int:
        return f.conv2d_macs(1, C, M, HW, HW, R, R)

    naive = conv(C, 128, 1) + conv(C, 192, 3) + conv(C, 96, 5)  # Figure 2a: no reductions
    assert naive == 854_196_224 and printed_as("854M", naive)
    # The bottleneck version as CS231n lists it: 1x1 reduces of 64 before the 3x3 and the 5x5,
    # and a 64-filter pool projection. Its own terms add up to 271M, not 358M ...
    listed = conv(C, 64, 1) + conv(C, 64, 1) + conv(C, 128, 1) + conv(64, 192, 3) + conv(64, 96, 5) \
        + conv(C, 64, 1)
    assert listed == 271_351_808
    # ... 358M is what it gives when the 3x3 conv reads 128 channels (its term counted twice).
    assert printed_as("358M", listed + conv(64, 192, 3))
    assert listed + conv(64, 192, 3) == listed - conv(64, 192, 3) + conv(128, 192, 3) == 358_055_936
    # The real module 3b (reduces of 128 and 32, Table 1) costs 304M: 2.8x less than naive.
    report = cnnlib.count_costs("googlenet")
    assert module_macs(report, "blocks.inception3b") == 304_267_264
    assert 2.8 < naive / 304_267_264 < 2.81


def test_torchvision_googlenet_params_are_ours_with_3x3_filters_and_bn():
    report = cnnlib.count_costs("googlenet")
    filters = sum(r.M for r in report.conv_layers)  # one bias each here, a BN scale and shift there
    assert report.params == report.weights + filters + 1000
    shrink = sum((25 - 9) * row.n5x5_reduce * row.n5x5 for row in INCEPTION_TABLE)  # 5x5 -> 3x3
    assert report.weights - shrink + 2 * filters + 1000 == 6_624_904  # torchvision's googlenet


def test_googlenet_has_lrn_and_no_batch_norm():
    model = cnnlib.create_model("googlenet", device="meta")
    kinds = [type(m) for m in model.modules()]
    assert kinds.count(nn.LocalResponseNorm) == 2
    assert nn.BatchNorm2d not in kinds
    assert all(m.bias is not None for m in model.modules() if isinstance(m, nn.Conv2d))


@pytest.mark.slow
def test_googlenet_aux_heads_are_extra_outputs_in_training_only():
    torch.manual_seed(0)
    model = cnnlib.create_model("googlenet", aux_logits=True)
    head = (512 * 128 + 128) + (2048 * 1024 + 1024) + (1024 * 1000 + 1000)  # on 4a (512 channels)
    head_4d = head + (528 - 512) * 128
    assert sum(p.numel() for p in model.parameters()) == 6_998_552 + head + head_4d
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        scores, aux1, aux2 = model.train()(x)
        assert scores.shape == aux1.shape == aux2.shape == (2, 1000)
        assert model.eval()(x).shape == (2, 1000)
    # Counting is inference: the aux heads' parameters are there, their MACs are not.
    assert cnnlib.count_costs("googlenet", aux_logits=True).macs == cnnlib.count_costs("googlenet").macs


# --- Inception v3 ----------------------------------------------------------------------------

def test_inception_a_costs_match_a_hand_count():
    with torch.device("meta"):
        block = InceptionA(192, V3_TABLE[0])  # Mixed_5b
    report = cnnlib.count_costs(block, (1, 192, 35, 35))
    weights = (192 * 64                                        # branch1x1
               + 192 * 48 + 5 * 5 * 48 * 64                    # branch5x5
               + 192 * 64 + 3 * 3 * 64 * 96 + 3 * 3 * 96 * 96  # branch3x3dbl: two stacked 3x3
               + 192 * 32)                                     # branch_pool projection
    assert report.weights == weights == 254_976
    assert report.macs == weights * 35 * 35
    assert report.params == weights + 2 * (64 + 48 + 64 + 64 + 96 + 96 + 32)  # BN scale and shift
    assert report.output_shape == (1, 256, 35, 35)


def test_factorizing_7x7_into_1x7_and_7x1_saves_weights():
    report = cnnlib.count_costs("inception_v3")
    branch = [r for r in report.conv_layers if r.name.startswith("blocks.Mixed_6b.branch7x7.")]
    assert [(r.R, r.S, r.C, r.M) for r in branch] == [(1, 1, 768, 128), (1, 7, 128, 128), (7, 1, 128, 192)]
    factorized = sum(r.weights for r in branch[1:])
    assert factorized == 7 * 128 * 128 + 7 * 128 * 192
    full = f.conv2d_weights(128, 192, 7, 7)  # one 7x7 conv from 128 to 192 channels
    assert full / factorized == pytest.approx(4.2)  # 49 * 192 / (7 * (128 + 192))


def test_inception_v3_grids_are_35_17_8():
    with torch.device("meta"):
        model = InceptionV3()
    shapes = grid_shapes(model, model.stem, model.blocks, 299)
    assert shapes["Mixed_5d"] == (288, 35, 35)
    assert shapes["Mixed_6e"] == (768, 17, 17)
    assert shapes["Mixed_7c"] == (2048, 8, 8)


def test_inception_v3_keras_counts_differ_only_in_batch_norm_bookkeeping():
    model = cnnlib.create_model("inception_v3", device="meta")
    bn_channels = sum(m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    params = sum(p.numel() for p in model.parameters())
    assert bn_channels == 17_216
    assert params - bn_channels == 23_817_352       # Keras: BN without scale (gamma), trainable
    assert params + bn_channels == 23_851_784       # Keras total: + moving mean and variance


@pytest.mark.slow
def test_inception_v3_aux_head_runs_in_training_only():
    torch.manual_seed(0)
    model = cnnlib.create_model("inception_v3", aux_logits=True)
    x = torch.randn(2, 3, 299, 299)
    with torch.no_grad():
        scores, aux = model.train()(x)
        assert scores.shape == aux.shape == (2, 1000)
        assert model.eval()(x).shape == (2, 1000)


def test_inception_v3_needs_75x75():
    cnnlib.count_costs("inception_v3", (3, 75, 75))
    with pytest.raises(cnnlib.CnnlibError):
        cnnlib.count_costs("inception_v3", (3, 74, 74))


# --- Xception --------------------------------------------------------------------------------

def test_separable_conv_costs_match_a_hand_count():
    with torch.device("meta"):
        layer = SeparableConvBN(728, 728)
    report = cnnlib.count_costs(layer, (1, 728, 19, 19))
    dw, pw = report.layers[0], report.layers[1]
    assert (dw.kind, dw.weights) == ("dwconv", 3 * 3 * 728)  # one 3x3 filter per channel
    assert (pw.kind, pw.weights) == ("conv", 728 * 728)      # then 1x1 across channels
    assert report.macs == (9 * 728 + 728 * 728) * 19 * 19
    full = f.conv2d_macs(1, 728, 728, 19, 19, 3, 3)
    assert full / report.macs == pytest.approx(f.depthwise_separable_ratio(3, 3, 728))  # 8.9x


def test_no_activation_between_depthwise_and_pointwise():
    model = cnnlib.create_model("xception", device="meta")
    separable = [m for m in model.modules() if isinstance(m, SeparableConvBN)]
    assert len(separable) == 2 * 3 + 3 * 8 + 2 + 2  # entry, middle, exit block, exit tail
    assert all(list(dict(m.named_children())) == ["conv_dw", "conv_pw", "bn"] for m in separable)


def test_xception_flows_and_short_cuts():
    with torch.device("meta"):
        model = Xception()
    shapes = grid_shapes(model, model.stem, model.blocks, 299)
    assert shapes["entry3"] == (728, 19, 19)
    assert all(shapes[f"middle{i}"] == (728, 19, 19) for i in range(1, 9))
    assert shapes["exit1"] == (1024, 10, 10)
    shortcuts = [type(block.shortcut).__name__ for block in model.blocks]
    assert shortcuts == ["ConvBNAct"] * 3 + ["Identity"] * 8 + ["ConvBNAct"]
    report = cnnlib.count_costs("xception")
    assert len(report.of_kind("eltwise")) == len(BLOCKS) == 12  # one residual add per block


def test_xception_keras_total_counts_bn_moving_statistics():
    model = cnnlib.create_model("xception", device="meta")
    params = sum(p.numel() for p in model.parameters())
    running = sum(b.numel() for name, b in model.named_buffers() if "running" in name)
    assert params == 22_855_952                     # the paper's Table 3 = Keras trainable
    assert running == 54_528                        # Keras's "non-trainable params"
    assert params + running == 22_910_480           # Keras's total


def test_xception_has_inception_v3_weights_and_1_5x_its_operations():
    """Lecture: "similar number of weights as Inception V3 ... 1.5x more operations"."""
    x = cnnlib.count_costs("xception")
    v3 = cnnlib.count_costs("inception_v3")
    # Measured at 299x299: 8.357G / 5.713G = 1.46x the MACs, 0.96x the weights.
    assert x.macs / v3.macs == pytest.approx(1.463, abs=0.001)
    assert 1.4 < x.macs / v3.macs < 1.6
    assert 0.95 < x.weights / v3.weights < 1.0
