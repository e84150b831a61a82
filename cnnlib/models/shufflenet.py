"""ShuffleNet v1 (Zhang, Zhou, Lin & Sun, CVPR 2018) and ShuffleNet v2 (Ma, Zhang, Zheng & Sun, ECCV 2018).

ShuffleNet v1 is the lecture's example of grouped convolutions. In a ResNet bottleneck most of
the MACs sit in the two 1x1 convolutions; ShuffleNet makes them *group* convolutions (G groups,
each filter sees C/G channels, so G times fewer weights and MACs), and makes the 3x3 conv
depth-wise (G = C). Stacked group convs would keep each group's channels isolated from the
others, so between the first 1x1 group conv and the depth-wise conv a *channel shuffle*
interleaves the groups: the next group conv then sees channels from every group. The shuffle
moves data and does no arithmetic. Code: ``shufflenet_v1`` transcribes Table 1 of the paper.

ShuffleNet v2 drops the group convolutions again: the paper measures speed, not FLOPs, and finds
that group convs and element-wise adds cost memory traffic that FLOPs do not show. Its unit
*splits* the channels in two halves, leaves one half untouched, runs the other through
1x1 conv -> 3x3 depth-wise conv -> 1x1 conv (all with C = M), concatenates the halves and
shuffles them with G = 2. Code: ``shufflenet_v2_x*`` transcribe Table 5 of the v2 paper.

Both papers write "FLOPs" for "the number of floating-point multiplication-adds" (v1, Table 1),
i.e. what cnnlib calls MACs. Two bookkeeping details the published figures reveal: Table 1 of
v1 counts the conv layers but not the FC layer, and Table 5 of v2 counts the authors' code, whose
first stride-2 unit differs slightly from torchvision's (see ``ShuffleV2Unit``).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from cnnlib.models.layers import ChannelShuffle, ConvBNAct
from cnnlib.published import Published
from cnnlib.registry import register_model

# ----------------------------------------------------------------------------------------------
# ShuffleNet v1
# ----------------------------------------------------------------------------------------------

# Table 1 of the v1 paper. Conv1 (24 3x3 filters, stride 2) and a 3x3 max pool with stride 2
# come first; each stage starts with one stride-2 unit followed by (units - 1) stride-1 units.
# (stage, units, output channels for g = 1, 2, 3, 4, 8 groups at width 1x)
V1_GROUPS = (1, 2, 3, 4, 8)
V1_STAGES = [
    #  name    units   g=1  g=2  g=3  g=4   g=8
    ("stage2", 4, (144, 200, 240, 272, 384)),    # 28 x 28
    ("stage3", 8, (288, 400, 480, 544, 768)),    # 14 x 14
    ("stage4", 4, (576, 800, 960, 1088, 1536)),  # 7 x 7
]
# Conv1 filters of "ShuffleNet s x" in the authors' code (megvii-model/ShuffleNet-Series): not
# quite 24 s, since their 1.5x models keep 24. Rounded up to a multiple of G (16 at 0.5x, g = 8).
V1_CONV1 = {0.5: 12, 1.0: 24, 1.5: 24, 2.0: 48}


def v1_channels(groups: int, width_mult: float) -> tuple[int, list[int]]:
    """Conv1 filters and stage widths of "ShuffleNet s x" with G groups.

    Section 3.3: "ShuffleNet s x" scales the number of filters of ShuffleNet 1x by s. A stage
    width must be a multiple of 4G (its bottleneck, a quarter of it, is split into G groups), so
    a scaled width rounds up to one; the authors' code has the same widths for g = 3 and 8 at
    0.5x, 1.5x and 2x. Conv1 follows the authors' code (``V1_CONV1``), else 24 s rounded up.
    """
    if groups not in V1_GROUPS:
        raise ValueError(f"ShuffleNet v1 has groups in {V1_GROUPS} (Table 1), got {groups!r}")
    if width_mult <= 0:
        raise ValueError(f"width_mult must be positive, got {width_mult!r}")
    col = V1_GROUPS.index(groups)
    unit = 4 * groups
    widths = [math.ceil(c[col] * width_mult / unit) * unit for _, _, c in V1_STAGES]
    conv1 = V1_CONV1.get(width_mult, 24 * width_mult)
    return math.ceil(conv1 / groups) * groups, widths


class ShuffleV1Unit(nn.Module):
    """Figure 2(b, c): 1x1 GConv, shuffle, 3x3 DWConv, 1x1 GConv; add (stride 1) or concat (stride 2).

    The bottleneck has M/4 channels, M being the unit's output channels. A stride-2 unit halves
    H and W on both paths: the short cut becomes a 3x3 average pool, and since the two paths are
    concatenated rather than added, its conv path only has to produce M - C channels.
    """

    def __init__(self, C: int, M: int, G: int, stride: int, group_first_conv: bool = True):
        super().__init__()
        self.stride = stride
        mid = M // 4
        M_conv = M - C if stride == 2 else M
        # "we do not apply group convolution on the first pointwise layer [of Stage 2] because the
        # number of input channels is relatively small" (24): G1 = 1 there.
        G1 = G if group_first_conv else 1
        self.conv_pw1 = ConvBNAct(C, mid, 1, groups=G1)                       # 1x1 GConv, BN, ReLU
        self.shuffle = ChannelShuffle(G)  # (a no-op for mixing after the ungrouped first conv)
        self.conv_dw = ConvBNAct(mid, mid, 3, stride, groups=mid, act=None)   # 3x3 DWConv, BN
        self.conv_pw2 = ConvBNAct(mid, M_conv, 1, groups=G, act=None)         # 1x1 GConv, BN
        if stride == 2:
            self.shortcut = nn.AvgPool2d(3, stride=2, padding=1)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_pw2(self.conv_dw(self.shuffle(self.conv_pw1(x))))
        if self.stride == 2:
            return self.act(torch.cat([self.shortcut(x), y], 1))  # (N, C + (M - C), H/2, W/2)
        return self.act(y + x)                            # (N, M, H, W)


class ShuffleNetV1(nn.Module):
    stage2: nn.Sequential   # the three stages, added by name in __init__
    stage3: nn.Sequential
    stage4: nn.Sequential

    def __init__(self, groups: int = 3, width_mult: float = 1.0, num_classes: int = 1000):
        super().__init__()
        C, widths = v1_channels(groups, width_mult)
        self.conv1 = ConvBNAct(3, C, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        for i, ((name, units, _), M) in enumerate(zip(V1_STAGES, widths, strict=True)):
            blocks = []
            for j in range(units):
                blocks.append(ShuffleV1Unit(C, M, groups, stride=2 if j == 0 else 1,
                                            group_first_conv=(i, j) != (0, 0)))
                C = M
            setattr(self, name, nn.Sequential(*blocks))
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))           # (N, 24, 56, 56) at 224x224, 1x
        x = self.stage4(self.stage3(self.stage2(x)))  # (N, 960, 7, 7) for g = 3
        return self.fc(torch.flatten(self.pool(x), 1))


# ----------------------------------------------------------------------------------------------
# ShuffleNet v2
# ----------------------------------------------------------------------------------------------

# Table 5 of the v2 paper: output channels of conv1, stages 2-4 and conv5 for each width.
# Stage i has one stride-2 unit and (units - 1) stride-1 units, as in v1.
V2_STAGE_UNITS = (4, 8, 4)
V2_WIDTHS: dict[float, tuple[int, int, int, int, int]] = {
    # s:   conv1 stage2 stage3 stage4 conv5
    0.5: (24, 48, 96, 192, 1024),
    1.0: (24, 116, 232, 464, 1024),
    1.5: (24, 176, 352, 704, 1024),
    2.0: (24, 244, 488, 976, 2048),
}


class ShuffleV2Unit(nn.Module):
    """Figure 3(c, d): channel split, 1x1 conv -> 3x3 DWConv -> 1x1 conv on one half, concat, shuffle.

    Stride 1 (c): the C input channels are split in two halves; the left one passes unchanged,
    the right one goes through the three convs (all C/2 -> C/2). Stride 2 (d): no split; both
    branches see all C input channels and halve H and W. The left branch (3x3 DWConv, 1x1 conv)
    makes ``C_left`` channels, the right one (1x1 conv, 3x3 DWConv, 1x1 conv, bottleneck M/2)
    makes the other M - C_left. The authors' code keeps C_left = C; torchvision uses M/2. They only
    differ in the first unit of Stage 2, the one unit whose input (24 channels) is not M/2.
    """

    def __init__(self, C: int, M: int, stride: int, C_left: int | None = None):
        super().__init__()
        self.stride = stride
        mid = M // 2
        if stride == 1:
            if C != M:
                raise ValueError(f"a stride-1 unit keeps its channels, got C={C}, M={M}")
            C_in, C_left = mid, mid
        else:
            C_in, C_left = C, C if C_left is None else C_left
            self.branch_left = nn.Sequential(
                ConvBNAct(C, C, 3, stride, groups=C, act=None),    # dw, stride 2
                ConvBNAct(C, C_left, 1),                           # pw
            )
        self.branch_right = nn.Sequential(
            ConvBNAct(C_in, mid, 1),                               # pw
            ConvBNAct(mid, mid, 3, stride, groups=mid, act=None),  # dw
            ConvBNAct(mid, M - C_left, 1),                         # pw
        )
        self.shuffle = ChannelShuffle(2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            x_left, x_right = x.chunk(2, dim=1)                              # channel split
            out = torch.cat([x_left, self.branch_right(x_right)], 1)        # (N, M, H, W)
        else:
            out = torch.cat([self.branch_left(x), self.branch_right(x)], 1)  # (N, M, H/2, W/2)
        return self.shuffle(out)


class ShuffleNetV2(nn.Module):
    stage2: nn.Sequential   # the three stages, added by name in __init__
    stage3: nn.Sequential
    stage4: nn.Sequential

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000, even_branches: bool = False):
        super().__init__()
        if width_mult not in V2_WIDTHS:
            raise ValueError(f"ShuffleNet v2 has widths {sorted(V2_WIDTHS)} (Table 5), got {width_mult!r}")
        C, *stages, M5 = V2_WIDTHS[width_mult]
        self.conv1 = ConvBNAct(3, C, 3, stride=2)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        for i, (units, M) in enumerate(zip(V2_STAGE_UNITS, stages, strict=True)):
            blocks = [ShuffleV2Unit(C, M, 2, C_left=M // 2 if even_branches else C)]
            blocks += [ShuffleV2Unit(M, M, 1) for _ in range(units - 1)]
            setattr(self, f"stage{i + 2}", nn.Sequential(*blocks))
            C = M
        self.conv5 = ConvBNAct(C, M5, 1)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(M5, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.conv1(x))                # (N, 24, 56, 56) at 224x224
        x = self.stage4(self.stage3(self.stage2(x)))   # (N, 464, 7, 7) at 1x
        x = self.conv5(x)                              # (N, 1024, 7, 7)
        return self.fc(torch.flatten(self.pool(x), 1))


# ----------------------------------------------------------------------------------------------
# Registered models and the figures they reproduce
# ----------------------------------------------------------------------------------------------

_OFFICIAL = "megvii2019shufflenetseries"  # the authors' code
_MEGVII = "ShuffleNetV1/README.md"
_TABLE1 = ("Table 1's complexities are the conv layers alone: counting the 1000-way FC too "
           "(+0.6M to +1.5M MACs) would make g = 2, 4, 8 come out at 141M, 134M, 138M")
_BUDGET = ("the paper's tables label each width by its budget: 1x models are '~140 MFLOPs' "
           "(Section 3.3) though Table 1 gives 137M for g = 3 (137.5M with the FC)")
_QUARTER = ("the paper gives no 0.25x widths and labels the 0.25x row by its ~13 MFLOPs budget; "
            "0.25 x Table 1 (conv1 8, stages 96, 192, 384) gives 12.4M")
_NO_FC_BIAS = ("the official code's FC has no bias: 5,449,776 rounds to 5.4M; cnnlib's FC has one "
               "(+1000), and 5,450,776 rounds to 5.5M")


@register_model(paper="zhang2018shufflenet", table="Table 1", published=[
    Published("conv_macs", "143M", "zhang2018shufflenet", "Table 1", kwargs={"groups": 1}, note=_TABLE1),
    Published("conv_macs", "140M", "zhang2018shufflenet", "Table 1", kwargs={"groups": 2}, note=_TABLE1),
    Published("conv_macs", "137M", "zhang2018shufflenet", "Table 1", kwargs={"groups": 3}, note=_TABLE1),
    Published("conv_macs", "133M", "zhang2018shufflenet", "Table 1", kwargs={"groups": 4}, note=_TABLE1),
    Published("conv_macs", "137M", "zhang2018shufflenet", "Table 1", kwargs={"groups": 8}, note=_TABLE1),
    Published("macs", "140M", "zhang2018shufflenet", "Tables 2 and 8 (1x, g = 3)", note=_BUDGET,
              rel_tol=0.02),
    Published("macs", "524M", "zhang2018shufflenet", "Tables 5, 6 and 8 (2x, g = 3)",
              kwargs={"width_mult": 2.0}),
    Published("macs", "292M", "zhang2018shufflenet", "Table 5 (1.5x, g = 3)",
              kwargs={"width_mult": 1.5}),
    Published("macs", "38M", "zhang2018shufflenet", "Table 8 (0.5x, g = 3)", kwargs={"width_mult": 0.5}),
    Published("macs", "38M", "zhang2018shufflenet", "Tables 4, 5 and 6 (0.5x, g = 4)",
              kwargs={"width_mult": 0.5, "groups": 4}),
    Published("macs", "13M", "zhang2018shufflenet", "Table 4 (0.25x, g = 8)",
              kwargs={"width_mult": 0.25, "groups": 8}, note=_QUARTER, rel_tol=0.05),
    Published("params", "1.87M", "mmpretrain2023", "ShuffleNetV1 1.0x (group=3) model card"),
    Published("params", "1.9M", _OFFICIAL, _MEGVII),
    Published("params", "2.4M", _OFFICIAL, _MEGVII, kwargs={"groups": 8}),
    Published("params", "3.4M", _OFFICIAL, _MEGVII, kwargs={"width_mult": 1.5}),
    Published("params", "5.4M", _OFFICIAL, _MEGVII, kwargs={"width_mult": 2.0}, note=_NO_FC_BIAS,
              rel_tol=0.01),
    Published("params", "1.0M", _OFFICIAL, _MEGVII, kwargs={"width_mult": 0.5, "groups": 8}),
    Published("macs", "40M", _OFFICIAL, _MEGVII, kwargs={"width_mult": 0.5, "groups": 8}),
    Published("macs", "290M", _OFFICIAL, _MEGVII, kwargs={"width_mult": 1.5, "groups": 8}),
    Published("macs", "522M", _OFFICIAL, _MEGVII, kwargs={"width_mult": 2.0, "groups": 8}),
])
def shufflenet_v1(*, groups: int = 3, width_mult: float = 1.0, num_classes: int = 1000) -> ShuffleNetV1:
    """ShuffleNet v1 (g groups, width s x): 1x1 group convs, channel shuffle, 3x3 depth-wise convs."""
    return ShuffleNetV1(groups, width_mult, num_classes)


def shufflenet_v2(*, width_mult: float = 1.0, even_branches: bool = False,
                  num_classes: int = 1000) -> ShuffleNetV2:
    """ShuffleNet v2: channel split, 1x1 / 3x3 depth-wise / 1x1 convs on one half, shuffle with G = 2."""
    return ShuffleNetV2(width_mult, num_classes, even_branches=even_branches)


_TV = "torchvision model documentation"
_TV_NOTE = "torchvision's stride-2 units give both branches M/2 channels (even_branches=True)"
_CEIL = ("Table 5's FLOPs are the authors' model's MACs rounded up (40.48M -> 41M; likewise "
         "145.8 -> 146, 299.0 -> 299, 590.8 -> 591, which rounding to nearest also gives)")
# Table 5 of the v2 paper (FLOPs = MACs, # of weights = all parameters) and torchvision's docs.
_V2_FIGURES: dict[float, tuple[str, str, str, str, str]] = {
    # s:  paper FLOPs, paper params, torchvision params, torchvision GFLOPS, name suffix
    0.5: ("41M", "1.4M", "1,366,792", "0.04G", "x0_5"),
    1.0: ("146M", "2.3M", "2,278,604", "0.145G", "x1_0"),
    1.5: ("299M", "3.5M", "3,503,624", "0.296G", "x1_5"),
    2.0: ("591M", "7.4M", "7,393,996", "0.583G", "x2_0"),
}
_EVEN = {"even_branches": True}
for _s, (_flops, _params, _tv_params, _tv_ops, _name) in _V2_FIGURES.items():
    register_model(
        f"shufflenet_v2_{_name}", builder=shufflenet_v2, kwargs={"width_mult": _s},
        paper="ma2018shufflenetv2", table=f"Table 5, column {_s}x",
        summary=f"ShuffleNet v2 {_s}x: channel split, depth-wise separable branch, shuffle with G = 2.",
        published=[
            Published("macs", _flops, "ma2018shufflenetv2", "Table 5",
                      note=_CEIL if _s == 0.5 else "", rel_tol=0.013 if _s == 0.5 else None),
            Published("params", _params, "ma2018shufflenetv2", "Table 5 ('# of Weights')"),
            Published("params", _tv_params, "torchvision", _TV, kwargs=_EVEN, note=_TV_NOTE),
            Published("macs", _tv_ops, "torchvision", _TV, kwargs=_EVEN, note=_TV_NOTE),
        ])
