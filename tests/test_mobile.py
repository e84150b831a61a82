"""MobileNet v1/v2/v3 and EfficientNet: the tables, the blocks, the scaling rules, counted by hand.

The registry-wide tests (tests/test_models.py) check every published figure; these check the
ideas of the four papers: the depth-wise separable saving, where MobileNet's MACs and weights
sit (Table 2 of the MobileNet paper), inverted residuals, the tables' own consistency, and
EfficientNet's compound scaling and rounding.
"""

from __future__ import annotations

import math
import time

import pytest
import torch
from torch import nn

import cnnlib
from cnnlib.costs import formulas
from cnnlib.models.efficientnet import (
    COEFFICIENTS,
    TABLE_1,
    compound_scaling,
    efficientnet,
    scaled_channels,
    scaled_layers,
)
from cnnlib.models.layers import SqueezeExcitation, make_divisible
from cnnlib.models.mobilenet_v2 import InvertedResidual
from cnnlib.models.mobilenet_v3 import LARGE, SMALL


def rows_of(report: cnnlib.CostReport, prefix: str) -> list[cnnlib.LayerCost]:
    return [r for r in report.layers if r.name.startswith(prefix)]


def block_inputs(model: nn.Module, blocks: list[nn.Module], size: tuple[int, ...]) -> list[tuple]:
    """The (C, H, W) each block receives in a forward pass on the meta device."""
    seen: list[tuple] = []
    handles = [b.register_forward_pre_hook(lambda m, x: seen.append(tuple(x[0].shape[1:])))
               for b in blocks]
    with torch.no_grad():
        model.eval()(torch.empty(1, *size, device="meta"))
    for h in handles:
        h.remove()
    return seen


# -- MobileNet v1 ---------------------------------------------------------------------------

def test_depthwise_separable_pair_saves_rsm_over_rs_plus_m():
    """The lecture's RSM / (RS + M), against one counted pair and the full conv replacing it."""
    sep = cnnlib.count_costs("mobilenet_v1")
    full = cnnlib.count_costs("conv_mobilenet_v1")
    # features.7 is the second of the five 14 x 14 x 512 -> 512 layers of Table 1.
    dw, pw = rows_of(sep, "features.7.")[0], rows_of(sep, "features.7.")[3]
    conv = rows_of(full, "features.7.")[0]
    assert (dw.kind, dw.R, dw.G, pw.kind, pw.R) == ("dwconv", 3, 512, "conv", 1)
    assert (conv.kind, conv.R, conv.C, conv.M) == ("conv", 3, 512, 512)
    # By hand: 14*14*512*9 = 903,168 and 14*14*512*512 = 51,380,224 vs 14*14*512*9*512.
    assert (dw.macs, pw.macs, conv.macs) == (903_168, 51_380_224, 462_422_016)
    assert conv.macs / (dw.macs + pw.macs) == pytest.approx(formulas.depthwise_separable_ratio(3, 3, 512))
    assert formulas.depthwise_separable_ratio(3, 3, 512) == pytest.approx(8.85, abs=0.01)


def test_strided_pair_keeps_the_ratio():
    """With stride 2 both sides shrink to the same P x Q output, so the ratio is unchanged."""
    sep = cnnlib.count_costs("mobilenet_v1")
    full = cnnlib.count_costs("conv_mobilenet_v1")
    dw, pw = rows_of(sep, "features.2.")[0], rows_of(sep, "features.2.")[3]   # 112x112x64 s2
    conv = rows_of(full, "features.2.")[0]
    assert dw.stride == conv.stride == 2 and dw.output_shape[2:] == (56, 56)
    assert conv.macs / (dw.macs + pw.macs) == pytest.approx(formulas.depthwise_separable_ratio(3, 3, 128))


# Table 2 of the MobileNet paper: (share of Mult-Adds, share of parameters), in percent.
TABLE_2 = {
    "conv 1x1": (94.86, 74.59),
    "conv dw 3x3": (3.06, 1.06),
    "conv 3x3": (1.91, 0.02),   # the paper prints 1.19% (digits swapped: its column sums to 99.29%)
    "fully connected": (0.18, 24.33),
}


def test_mobilenet_v1_resource_shares_reproduce_table_2():
    """94.86% of the MACs are in 1x1 convs; a quarter of the weights are in the FC layer."""
    r = cnnlib.count_costs("mobilenet_v1")
    groups = {
        "conv 1x1": [x for x in r.conv_layers if x.kind == "conv" and x.R == 1],
        "conv dw 3x3": list(r.of_kind("dwconv")),
        "conv 3x3": [x for x in r.conv_layers if x.kind == "conv" and x.R == 3],
        "fully connected": list(r.fc_layers),
    }
    assert sum(len(v) for v in groups.values()) == len(r.conv_layers) + len(r.fc_layers)
    for name, (macs_share, weights_share) in TABLE_2.items():
        assert round(100 * sum(x.macs for x in groups[name]) / r.macs, 2) == macs_share, name
        assert round(100 * sum(x.weights for x in groups[name]) / r.weights, 2) == weights_share, name


def test_width_multiplier_cuts_macs_and_weights_by_about_alpha_squared():
    base = cnnlib.count_costs("mobilenet_v1")
    for alpha in (0.75, 0.5, 0.25):
        r = cnnlib.count_costs("mobilenet_v1", width_mult=alpha)
        assert r.macs / base.macs == pytest.approx(alpha**2, rel=0.2)  # 0.25: 7.2%, not 6.25%
        conv_weights = r.conv_weights / base.conv_weights  # the FC layer scales by alpha only
        assert conv_weights == pytest.approx(alpha**2, rel=0.05)


def test_resolution_multiplier_changes_macs_not_weights():
    base = cnnlib.count_costs("mobilenet_v1")
    for H in (192, 160, 128):
        r = cnnlib.count_costs("mobilenet_v1", (3, H, H))
        assert r.weights == base.weights
        assert r.conv_macs / base.conv_macs == pytest.approx((H / 224) ** 2, rel=0.01)


def test_mobilenet_v1_follows_table_1():
    """28 conv layers (1 + 13 x 2) and one FC; the last maps are 7 x 7 x 1024."""
    r = cnnlib.count_costs("mobilenet_v1")
    assert len(r.conv_layers) == 27 and len(r.fc_layers) == 1
    assert len(r.of_kind("dwconv")) == 13
    assert r.conv_layers[-1].output_shape == (1, 1024, 7, 7)
    assert [x.stride for x in r.of_kind("dwconv")] == [1, 2, 1, 2, 1, 2, 1, 1, 1, 1, 1, 2, 1]


def test_conv_mobilenet_replaces_each_pair_by_one_full_conv():
    sep = cnnlib.count_costs("mobilenet_v1")
    full = cnnlib.count_costs("conv_mobilenet_v1")
    assert len(full.conv_layers) == 14 and not full.of_kind("dwconv")
    assert [x.M for x in full.conv_layers] == [x.M for x in sep.conv_layers if x.kind == "conv"]
    assert full.fc_weights == sep.fc_weights == 1024 * 1000


# -- MobileNet v2 ---------------------------------------------------------------------------

def test_inverted_residual_counted_by_hand():
    """First block of Table 2's "6, 24, 2, 2" row: 112x112x16 -> expand to 96 -> 56x56x24."""
    block = InvertedResidual(C=16, E=96, M=24, R=3, stride=2).to("meta")
    r = cnnlib.count_costs(block, (16, 112, 112))
    assert [(x.kind, x.macs) for x in r.layers if x.macs] == [
        ("conv", 112 * 112 * 16 * 96),     # conv_pw, 19,267,584
        ("dwconv", 56 * 56 * 96 * 9),      # conv_dw, 2,709,504
        ("conv", 56 * 56 * 96 * 24),       # conv_pwl, 7,225,344
    ]
    assert r.weights == 16 * 96 + 96 * 9 + 96 * 24 == 4704
    assert r.params == 4704 + 2 * (96 + 96 + 24)  # BN: a scale and a shift per channel
    assert not r.of_kind("eltwise"), "stride 2: no residual add"


def test_linear_bottleneck_has_no_activation_and_residual_joins_thin_maps():
    block = InvertedResidual(C=24, E=144, M=24).to("meta")
    r = cnnlib.count_costs(block, (24, 56, 56))
    kinds = [x.kind for x in r.layers]
    # expand, BN, ReLU6, depth-wise, BN, ReLU6, project, BN (no activation), add
    assert kinds == ["conv", "norm", "act", "dwconv", "norm", "act", "conv", "norm", "eltwise"]
    assert r.layers[-1].output_shape == (1, 24, 56, 56)


def test_mobilenet_v2_has_ten_residual_adds():
    """Table 2: every repeat after the first of a row keeps the shape: 0+1+2+3+2+2+0 = 10."""
    model = cnnlib.create_model("mobilenet_v2", device="meta")
    assert sum(isinstance(m, InvertedResidual) and m.residual for m in model.modules()) == 10
    assert sum(isinstance(m, InvertedResidual) for m in model.modules()) == 17
    assert len(cnnlib.count_costs("mobilenet_v2").of_kind("eltwise")) == 10


# -- MobileNet v3 ---------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "table"), [("mobilenet_v3_large", LARGE), ("mobilenet_v3_small", SMALL)])
def test_mobilenet_v3_blocks_see_the_inputs_their_table_lists(name, table):
    """The table's "input" column (H x W x C) is what each bneck block receives at 224 x 224."""
    model = cnnlib.create_model(name, device="meta")
    blocks = [m for m in model.modules() if isinstance(m, InvertedResidual)]
    assert block_inputs(model, blocks, (3, 224, 224)) == [(row.C, row.H, row.H) for row in table]


def test_mobilenet_v3_se_gate_uses_a_quarter_of_the_expanded_channels():
    model = cnnlib.create_model("mobilenet_v3_large", device="meta")
    ses = [m for m in model.modules() if isinstance(m, SqueezeExcitation)]
    assert len(ses) == sum(row.se for row in LARGE) == 8
    for se in ses:
        E = se.fc1.in_channels
        assert se.fc1.out_channels == make_divisible(E // 4, 8)
        assert isinstance(se.gate, nn.Hardsigmoid) and isinstance(se.act, nn.ReLU)
    # 72 expanded channels: 72 / 4 = 18, rounded to a multiple of 8 without losing 10%: 24
    assert ses[0].fc1.out_channels == 24


def test_mobilenet_v3_last_stage_pools_before_the_1280_layer():
    """The 960 -> 1280 layer runs on the pooled 1 x 1 map: 1.2M MACs instead of 60M at 7 x 7."""
    r = cnnlib.count_costs("mobilenet_v3_large")
    fc = [x for x in r.fc_layers if (x.C, x.M) == (960, 1280)]
    assert len(fc) == 1 and fc[0].macs == 960 * 1280
    assert fc[0].macs * 7 * 7 == 60_211_200


# -- EfficientNet ---------------------------------------------------------------------------

def test_compound_scaling_doubles_flops_per_unit_of_phi():
    alpha, beta, gamma = 1.2, 1.1, 1.15
    assert alpha * beta**2 * gamma**2 == pytest.approx(1.92, abs=0.005)  # "~= 2" (eq. 3)
    assert compound_scaling(0) == (1.0, 1.0, 1.0)
    assert compound_scaling(1) == pytest.approx((1.2, 1.1, 1.15))
    d, w, r = compound_scaling(2)
    assert d * w**2 * r**2 == pytest.approx(1.92**2, rel=0.01)


def compound_scaled_macs_ratio(phi: int) -> tuple[float, int]:
    """MACs of the B0 network built with eq. 3's multipliers, over B0's; and its block count."""
    d, w, r = compound_scaling(phi)
    H = round(224 * r)
    b0 = cnnlib.count_costs(efficientnet().to("meta"), (3, 224, 224)).macs
    scaled = cnnlib.count_costs(efficientnet(width_mult=w, depth_mult=d).to("meta"), (3, H, H)).macs
    return scaled / b0, sum(scaled_layers(row.L, d) for row in TABLE_1)


def test_rounding_up_layers_makes_small_phi_cost_more_than_equation_3():
    """phi = 1: eq. 3 promises 1.92x, but ceil(1.2 L) gives 1-, 2- and 3-layer stages a whole
    extra layer: 23 blocks instead of 16 x 1.2 = 19.2, and 2.57x the MACs of B0."""
    ratio, blocks = compound_scaled_macs_ratio(1)
    assert blocks == 23
    assert ratio == pytest.approx(2.57, abs=0.01) and ratio > 1.92


def test_large_phi_costs_about_1_92_to_the_phi():
    """With many layers per stage the rounding matters less: phi = 6 is within 5% of 1.92^6."""
    ratio, _ = compound_scaled_macs_ratio(6)
    assert ratio == pytest.approx(1.92**6, rel=0.05)


def test_published_coefficients_are_hand_set_not_equation_3():
    """B1 takes depth x1.1 and width x1.0, where eq. 3 with phi = 1 would give x1.2 and x1.1."""
    width, depth, resolution, _ = COEFFICIENTS["efficientnet_b1"]
    assert (width, depth, resolution) == (1.0, 1.1, 240)
    d, w, r = compound_scaling(1)
    assert (d, w) != (depth, width) and round(224 * r) == 258 != resolution
    # B7 = (2.0, 3.1, 600): each multiplier implies a different phi (6.2, 7.3, 7.0)
    width, depth, resolution, _ = COEFFICIENTS["efficientnet_b7"]
    phis = (math.log(depth, 1.2), math.log(width, 1.1), math.log(resolution / 224, 1.15))
    assert [round(phi, 1) for phi in phis] == [6.2, 7.3, 7.0]


def test_efficientnet_b0_follows_table_1():
    """Each stage's input has Table 1's resolution, and its first block its channel count."""
    model = cnnlib.create_model("efficientnet_b0", device="meta")
    stages = list(model.features)[1:-1]
    assert len(stages) == len(TABLE_1) == 7
    firsts = [stage[0] for stage in stages]
    inputs = block_inputs(model, firsts, (3, 224, 224))
    C = 32
    for (c, H, W), row in zip(inputs, TABLE_1, strict=True):
        assert (c, H, W) == (C, row.H, row.H)
        C = row.M
    assert [len(stage) for stage in stages] == [row.L for row in TABLE_1]


def test_mbconv_counted_by_hand():
    """B0 stage 2 (MBConv1, k3x3, 112x112, 32 -> 16): no expansion, SE squeezes 32 -> 8 -> 32."""
    r = cnnlib.count_costs("efficientnet_b0")
    block = [(x.name.split(".", 3)[-1], x.kind, x.macs) for x in rows_of(r, "features.1.0.") if x.macs]
    assert block == [
        ("conv_dw.conv", "dwconv", 112 * 112 * 32 * 9),   # 3,612,672
        ("se.fc1", "fc", 32 * 8),                          # a 1x1 conv on the pooled 1x1 map
        ("se.fc2", "fc", 8 * 32),
        ("conv_pwl.conv", "conv", 112 * 112 * 32 * 16),    # 6,422,528
    ]
    params = sum(x.params for x in rows_of(r, "features.1.0."))
    # dw 288 + BN 64, SE (256 + 8) + (256 + 32), project 512 + BN 32
    assert params == 288 + 64 + 264 + 288 + 512 + 32


def test_se_squeezes_the_block_input_not_the_expanded_channels():
    """B0's first MBConv6 block: 16 in, 96 expanded, SE squeeze 16 / 4 = 4 (not 96 / 4 = 24)."""
    model = cnnlib.create_model("efficientnet_b0", device="meta")
    se = model.features[2][0].se
    assert (se.fc1.in_channels, se.fc1.out_channels) == (96, 4)
    assert isinstance(se.gate, nn.Sigmoid) and isinstance(se.act, nn.SiLU)


def test_width_and_depth_rounding_follow_the_released_code():
    # B2 (width 1.1): 40 * 1.1 = 44 -> 48, 112 * 1.1 = 123.2 -> 120, 192 * 1.1 = 211.2 -> 208
    assert [scaled_channels(c, 1.1) for c in (32, 16, 24, 40, 80, 112, 192, 320, 1280)] == [
        32, 16, 24, 48, 88, 120, 208, 352, 1408]
    # B7 (depth 3.1): ceil(3.1 L) for L = 1, 2, 2, 3, 3, 4, 1 -> 55 blocks instead of 16
    assert [scaled_layers(row.L, 3.1) for row in TABLE_1] == [4, 7, 7, 10, 10, 13, 4]
    model = cnnlib.create_model("efficientnet_b7", device="meta")
    assert sum(isinstance(m, InvertedResidual) for m in model.modules()) == 55
    assert model.classifier[0].p == 0.5 and model.classifier[1].in_features == 2560


def test_efficientnet_b0_flops_in_the_paper_are_macs():
    r = cnnlib.count_costs("efficientnet_b0")
    assert round(r.macs / 1e9, 2) == 0.39       # Table 2: "0.39B FLOPS"
    assert round(r.flops / 1e9, 2) == 0.77      # what 2 x MACs would have printed


def test_scaled_models_count_fast():
    """Counting runs on the meta device: even B7 (55 blocks, 600 x 600) takes well under a second."""
    cnnlib.count_costs("efficientnet_b7")  # warm-up
    start = time.perf_counter()
    cnnlib.count_costs("efficientnet_b7")
    assert time.perf_counter() - start < 2.0
