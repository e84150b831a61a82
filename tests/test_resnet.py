"""ResNet, Wide ResNet, ResNeXt, SE-ResNet and DenseNet: where the stride sits, what a block
costs by hand, and the structures each paper's table describes."""

from __future__ import annotations

import pytest
import torch

import cnnlib
from cnnlib.costs import formulas as f
from cnnlib.errors import BadModelArgumentError
from cnnlib.models.densenet import OTHER_DEPTHS, densenet


def rows(report: cnnlib.CostReport, prefix: str) -> dict[str, cnnlib.LayerCost]:
    """The rows of one block (or stage), keyed by their name below ``prefix``."""
    return {r.name[len(prefix):]: r for r in report.layers if r.name.startswith(prefix)}


# -- where the stride sits ------------------------------------------------------------------
FIRST_BLOCKS = ("conv3_x.0.", "conv4_x.0.", "conv5_x.0.")


def test_v1_puts_the_stride_on_the_first_1x1():
    r = cnnlib.count_costs("resnet50")
    for block in FIRST_BLOCKS:
        b = rows(r, block)
        assert (b["conv_reduce.conv"].stride, b["conv_3x3.conv"].stride) == (2, 1)
        assert b["shortcut.conv"].stride == 2


def test_v1_5_puts_the_stride_on_the_3x3():
    r = cnnlib.count_costs("resnet50", variant="v1.5")
    for block in FIRST_BLOCKS:
        b = rows(r, block)
        assert (b["conv_reduce.conv"].stride, b["conv_3x3.conv"].stride) == (1, 2)
        assert b["shortcut.conv"].stride == 2


def test_conv2_x_has_no_stride_because_the_max_pool_already_halved_the_map():
    r = cnnlib.count_costs("resnet50")
    assert all(x.stride == 1 for x in r.conv_layers if x.name.startswith("conv2_x"))
    assert rows(r, "")["pool1"].output_shape == (1, 64, 56, 56)


def test_basic_blocks_stride_their_first_3x3():
    r = cnnlib.count_costs("resnet18")
    for block in FIRST_BLOCKS:
        b = rows(r, block)
        assert (b["conv_3x3a.conv"].stride, b["conv_3x3b.conv"].stride) == (2, 1)


@pytest.mark.parametrize(("name", "default"), [
    ("resnet50", "v1"), ("resnet101", "v1"), ("resnet152", "v1"), ("se_resnet50", "v1"),
    ("wide_resnet50_2", "v1.5"), ("resnext50_32x4d", "v1.5"),
])
def test_each_model_defaults_to_its_own_papers_stride(name, default):
    b = rows(cnnlib.count_costs(name), "conv3_x.0.")
    strided = "conv_reduce.conv" if default == "v1" else "conv_3x3.conv"
    assert b[strided].stride == 2


@pytest.mark.parametrize("name", ["resnet50", "resnet101", "resnet152", "wide_resnet50_2",
                                  "resnext50_32x4d", "se_resnet50"])
def test_v1_and_v1_5_have_the_same_weights_but_v1_5_costs_more_macs(name):
    v1, v15 = cnnlib.count_costs(name, variant="v1"), cnnlib.count_costs(name, variant="v1.5")
    assert (v1.params, v1.weights) == (v15.params, v15.weights)
    assert v15.macs > v1.macs


def test_v1_5_quadruples_only_the_first_1x1_of_each_downsampling_block():
    v1, v15 = cnnlib.count_costs("resnet50"), cnnlib.count_costs("resnet50", variant="v1.5")
    extra = 0
    for block, (C, width, H) in zip(FIRST_BLOCKS, [(256, 128, 56), (512, 256, 28), (1024, 512, 14)],
                                    strict=True):
        a, b = rows(v1, block), rows(v15, block)
        # the 1x1 reduce runs at H x H in v1.5 and at H/2 x H/2 in v1
        assert a["conv_reduce.conv"].macs == f.conv2d_macs(1, C, width, H // 2, H // 2, 1, 1)
        assert b["conv_reduce.conv"].macs == f.conv2d_macs(1, C, width, H, H, 1, 1)
        # the 3x3 writes an H/2 x H/2 map either way: same MACs
        assert a["conv_3x3.conv"].macs == b["conv_3x3.conv"].macs
        extra += 3 * a["conv_reduce.conv"].macs
    assert v15.macs - v1.macs == extra == 231_211_008  # 3 x 77,070,336: 3.858G -> 4.089G


# -- one block by hand ----------------------------------------------------------------------
def test_hand_counted_bottleneck_block():
    """conv3_2 of ResNet-50: 512 -> [1x1, 128] -> [3x3, 128] -> [1x1, 512] on a 28x28 map."""
    r50 = cnnlib.count_costs("resnet50")
    b = rows(r50, "conv3_x.1.")
    reduce_w, conv_w, expand_w = 512 * 128, 3 * 3 * 128 * 128, 128 * 512
    assert (reduce_w, conv_w, expand_w) == (65_536, 147_456, 65_536)
    assert b["conv_reduce.conv"].weights == f.conv2d_weights(512, 128, 1, 1) == reduce_w
    assert b["conv_3x3.conv"].weights == f.conv2d_weights(128, 128, 3, 3) == conv_w
    assert b["conv_expand.conv"].weights == f.conv2d_weights(128, 512, 1, 1) == expand_w
    weights = sum(x.weights for x in b.values())
    macs = sum(x.macs for x in b.values())
    assert weights == 278_528                      # no projection: the short cut is the identity
    assert macs == 28 * 28 * weights == 218_365_952
    assert sum(x.params for x in b.values()) == weights + 2 * (128 + 128 + 512)  # BN scale, shift
    add = rows(r50, "conv3_x.1")[":add"]   # the block's own operation: named block:op
    assert add.kind == "eltwise" and add.ops == 512 * 28 * 28 and add.activations_in == 2 * add.ops


def test_hand_counted_downsampling_block_with_projection():
    """conv3_1 (v1): the 1x1 reduce and the projection both read 56x56 with stride 2."""
    b = rows(cnnlib.count_costs("resnet50"), "conv3_x.0.")
    assert b["shortcut.conv"].weights == 256 * 512 and b["shortcut.conv"].R == 1
    weights = 256 * 128 + 3 * 3 * 128 * 128 + 128 * 512 + 256 * 512
    assert sum(x.weights for x in b.values()) == weights == 376_832
    assert sum(x.macs for x in b.values()) == 28 * 28 * weights == 295_436_288


def test_resnet50_has_49_convs_on_the_main_path_and_4_projections():
    r = cnnlib.count_costs("resnet50")
    shortcuts = [x for x in r.conv_layers if ".shortcut." in x.name]
    assert len(r.conv_layers) == 53 and len(shortcuts) == 4
    assert len(r.conv_layers) - len(shortcuts) + len(r.fc_layers) == 50


@pytest.mark.parametrize(("name", "depth"), [("resnet18", 18), ("resnet34", 34), ("resnet50", 50),
                                             ("resnet101", 101), ("resnet152", 152)])
def test_depth_counts_the_weight_layers_on_the_main_path(name, depth):
    r = cnnlib.count_costs(name)
    main_path = [x for x in r.conv_layers if ".shortcut." not in x.name]
    assert len(main_path) + len(r.fc_layers) == depth


# -- Wide ResNet, ResNeXt ---------------------------------------------------------------------
def test_wide_resnet_doubles_the_bottleneck_width_but_not_the_outputs():
    wide, base = rows(cnnlib.count_costs("wide_resnet50_2"), "conv2_x.0."), \
        rows(cnnlib.count_costs("resnet50"), "conv2_x.0.")
    assert (wide["conv_reduce.conv"].M, wide["conv_3x3.conv"].M) == (128, 128)
    assert (base["conv_reduce.conv"].M, base["conv_3x3.conv"].M) == (64, 64)
    assert wide["conv_expand.conv"].M == base["conv_expand.conv"].M == 256


def test_resnext_grouped_convs_are_gconv_rows_with_32_groups():
    r = cnnlib.count_costs("resnext50_32x4d")
    grouped = r.of_kind("gconv")
    assert len(grouped) == 16 and all(x.name.endswith("conv_3x3.conv") for x in grouped)
    assert {x.G for x in grouped} == {32} and {x.R for x in grouped} == {3}
    # Table 1 of Xie et al.: 3x3 widths 128, 256, 512, 1024, i.e. d = 4, 8, 16, 32 per group
    assert sorted({(x.C, x.C // x.G) for x in grouped}) == [(128, 4), (256, 8), (512, 16), (1024, 32)]
    first = rows(r, "conv2_x.0.")["conv_3x3.conv"]
    assert first.weights == f.conv2d_weights(128, 128, 3, 3, G=32) == 128 * 4 * 9
    assert first.filter_shape == "3x3x128/32 -> 128"


# -- squeeze and excitation -----------------------------------------------------------------
def test_se_adds_two_fc_rows_and_an_elementwise_mul_per_block():
    se, base = cnnlib.count_costs("se_resnet50"), cnnlib.count_costs("resnet50")
    se_fcs = [x for x in se.fc_layers if ".se." in x.name]
    muls = [x for x in se.of_kind("eltwise") if x.name.endswith(".se:mul")]
    assert len(se_fcs) == 2 * 16 and len(muls) == 16
    assert len(se.conv_layers) == len(base.conv_layers)
    b = rows(se, "conv2_x.0.se.")
    assert (b["fc1"].C, b["fc1"].M, b["fc2"].C, b["fc2"].M) == (256, 16, 16, 256)  # r = 16
    assert rows(se, "conv2_x.0.")["se:mul"].output_shape == (1, 256, 56, 56)


def test_se_sits_after_the_last_bn_and_before_the_add():
    names = [r.name.removeprefix("conv4_x.2") for r in cnnlib.count_costs("se_resnet50").layers]
    assert names.index(".conv_expand.bn") < names.index(".se.pool") < names.index(".se:mul") \
        < names.index(":add")


def test_se_parameters_follow_the_papers_formula():
    """Hu et al.: (2/r) sum_s N_s C_s^2 extra weights ("~2.5 million"), plus the FC biases."""
    se, base = cnnlib.count_costs("se_resnet50"), cnnlib.count_costs("resnet50")
    stages = [(3, 256), (4, 512), (6, 1024), (3, 2048)]  # (blocks N_s, channels C_s)
    extra_weights = sum(2 * n * C * C // 16 for n, C in stages)
    extra_biases = sum(n * (C + C // 16) for n, C in stages)
    assert se.weights - base.weights == extra_weights == 2_514_944
    assert se.params - base.params == extra_weights + extra_biases == 2_530_992
    assert se.params == 28_088_024                      # 28.1M, as timm documents it
    assert se.macs - base.macs == extra_weights         # SE adds 0.07% MACs, 10% parameters


@pytest.mark.parametrize(("name", "printed"), [
    ("resnet50", "3.86G"), ("resnet101", "7.58G"), ("resnet152", "11.30G"), ("se_resnet50", "3.87G"),
])
def test_se_paper_figures_count_macs_plus_elementwise_ops(name, printed):
    """Table 2 of Hu et al. counts one op per element of each residual add (and SE scale)."""
    r = cnnlib.count_costs(name)
    eltwise = sum(x.ops for x in r.of_kind("eltwise"))
    assert cnnlib.Published("macs", printed, "hu2018senet").matches(r.macs + eltwise)


# -- DenseNet -------------------------------------------------------------------------------
def test_dense_layers_read_the_concatenation_of_all_earlier_layers():
    r = cnnlib.count_costs("densenet121")
    k = 32
    for block, (C0, n) in enumerate([(64, 6), (128, 12), (256, 24), (512, 16)], start=1):
        b = rows(r, f"features.dense{block}.layers.")
        assert [b[f"{i}.conv_1x1.conv"].C for i in range(n)] == [C0 + i * k for i in range(n)]
        assert {b[f"{i}.conv_3x3.conv"].C for i in range(n)} == {4 * k}   # the bottleneck: 4k
        assert {b[f"{i}.conv_3x3.conv"].M for i in range(n)} == {k}       # growth rate
    transitions = [rows(r, f"features.transition{i}.")["conv_1x1.conv"] for i in (1, 2, 3)]
    assert [(t.C, t.M) for t in transitions] == [(256, 128), (512, 256), (1024, 512)]  # theta = 0.5
    assert r.fc_layers[0].C == 1024


def test_transitions_halve_the_feature_map():
    r = rows(cnnlib.count_costs("densenet121"), "features.")
    assert [r[f"transition{i}.pool"].output_shape[2] for i in (1, 2, 3)] == [28, 14, 7]


def test_densenet121_has_121_weight_layers():
    r = cnnlib.count_costs("densenet121")
    assert len(r.conv_layers) == 1 + 2 * 58 + 3 and len(r.fc_layers) == 1


def test_hand_counted_dense_layer():
    """First layer of dense block 1: BN-ReLU-1x1 (64 -> 128), BN-ReLU-3x3 (128 -> 32) at 56x56."""
    b = rows(cnnlib.count_costs("densenet121"), "features.dense1.layers.0.")
    weights = 64 * 128 + 3 * 3 * 128 * 32
    assert sum(x.weights for x in b.values()) == weights == 45_056
    assert sum(x.macs for x in b.values()) == 56 * 56 * weights == 141_295_616
    assert sum(x.params for x in b.values()) == weights + 2 * (64 + 128)  # BN before each conv


@pytest.mark.parametrize(("depth", "params"), [(121, 7_978_856), (169, 14_149_480), (201, 20_013_928)])
def test_densenet_columns_of_table_1(depth, params):
    with torch.device("meta"):
        model = densenet(depth=depth)
    assert cnnlib.count_costs(model).params == params


@pytest.mark.parametrize("p", OTHER_DEPTHS, ids=lambda p: f"{p.metric}-{p.kwargs['depth']}")
def test_densenet_figures_published_for_other_depths(p):
    with torch.device("meta"):
        model = densenet(**p.kwargs)
    assert p.matches(cnnlib.count_costs(model).metric(p.metric)), p.describe()


def test_a_registered_name_keeps_the_depth_it_names():
    with pytest.raises(BadModelArgumentError, match="densenet121 is built with depth=121"):
        cnnlib.count_costs("densenet121", depth=169)


# -- arguments ----------------------------------------------------------------------------
def test_unknown_variant_or_depth_is_refused():
    with pytest.raises(BadModelArgumentError, match="variant"):
        cnnlib.create_model("resnet50", variant="v2", device="meta")
    with pytest.raises(BadModelArgumentError, match="depth"):
        cnnlib.create_model("densenet121", depth=122, device="meta")
