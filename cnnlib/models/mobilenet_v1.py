"""MobileNets (Howard, Zhu, Chen, Kalenichenko, Wang, Weyand, Andreetto & Adam, arXiv 2017).

MobileNet factorises every 3x3 convolution after the first into a *depth-wise separable*
convolution: a 3x3 depth-wise conv (G = C: one filter per input channel, so it filters but does
not mix channels) followed by a 1x1 point-wise conv (which mixes channels but does not filter).
A full R x S conv costs ``H W C R S M`` MACs; the pair costs ``H W C (R S + M)``, so it needs
``R S M / (R S + M)`` times fewer (:func:`cnnlib.costs.formulas.depthwise_separable_ratio`):
about 8 to 9 times for R = S = 3 and the M of MobileNet.

The code transcribes Table 1 of the paper (body architecture) row by row. Two knobs shrink it:
the width multiplier alpha (``width_mult``: every layer gets ``alpha * M`` filters, which cuts
MACs and weights by about alpha^2) and the resolution multiplier rho, which is simply a smaller
input (``count_costs("mobilenet_v1", (3, 160, 160))``: MACs fall by rho^2, weights do not change).

``conv_mobilenet_v1`` is the paper's "Conv MobileNet" baseline of Table 4: the same network with
every depth-wise separable pair replaced by one full 3x3 conv with the same stride and filters.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib.models.layers import ConvBNAct
from cnnlib.published import Published
from cnnlib.registry import register_model

# Table 1 of the paper, one row per layer: (type, stride, filters M).
#   "conv": full 3x3 conv;  "dw": 3x3 depth-wise conv (M = C, one filter per channel);
#   "pw": 1x1 point-wise conv. The comment is the input size the paper prints for the row.
# Every "dw" row is followed by its "pw" row: together they are one depth-wise separable conv.
TABLE_1: list[tuple[str, int, int]] = [
    ("conv", 2, 32),     # 224 x 224 x 3
    ("dw", 1, 32),       # 112 x 112 x 32
    ("pw", 1, 64),       # 112 x 112 x 32
    ("dw", 2, 64),       # 112 x 112 x 64
    ("pw", 1, 128),      # 56 x 56 x 64
    ("dw", 1, 128),      # 56 x 56 x 128
    ("pw", 1, 128),      # 56 x 56 x 128
    ("dw", 2, 128),      # 56 x 56 x 128
    ("pw", 1, 256),      # 28 x 28 x 128
    ("dw", 1, 256),      # 28 x 28 x 256
    ("pw", 1, 256),      # 28 x 28 x 256
    ("dw", 2, 256),      # 28 x 28 x 256
    ("pw", 1, 512),      # 14 x 14 x 256
    *[("dw", 1, 512), ("pw", 1, 512)] * 5,   # "5x": 14 x 14 x 512
    ("dw", 2, 512),      # 14 x 14 x 512
    ("pw", 1, 1024),     # 7 x 7 x 512
    ("dw", 1, 1024),     # 7 x 7 x 1024. The paper prints "s2" here, but its output is still
                         # 7 x 7; every released implementation uses stride 1.
    ("pw", 1, 1024),     # 7 x 7 x 1024
]
# Then "Avg Pool 7x7" (global: 7 x 7 at 224, 5 x 5 at 160, ...) and "FC 1024 x 1000".


def scaled(M: int, width_mult: float) -> int:
    """Filters of a layer under the width multiplier alpha: ``int(alpha * M)``, at least 8.

    This is the rounding of the released TF-Slim code (``max(int(d * alpha), min_depth)``);
    for the alphas of the paper (1, 0.75, 0.5, 0.25) every ``alpha * M`` is a whole number.
    """
    return max(int(M * width_mult), 8)


class DepthwiseSeparable(nn.Sequential):
    """A 3x3 depth-wise conv (G = C) then a 1x1 point-wise conv (C -> M), each with BN and ReLU.

    The stride sits on the depth-wise conv, so the point-wise conv runs on the smaller map.
    """

    def __init__(self, C: int, M: int, stride: int = 1):
        super().__init__()
        self.conv_dw = ConvBNAct(C, C, 3, stride, groups=C)  # filters each channel: 9 C weights
        self.conv_pw = ConvBNAct(C, M, 1)                    # mixes channels: C M weights


class MobileNetV1(nn.Module):
    """Table 1 of the paper: a 3x3 conv, 13 depth-wise separable convs, pooling and one FC layer.

    ``separable=False`` builds the "Conv MobileNet" baseline: each depth-wise separable pair
    becomes one full 3x3 conv (``ConvBNAct(C, M, 3, stride)``) with the pair's stride and filters.
    """

    def __init__(self, width_mult: float = 1.0, separable: bool = True, num_classes: int = 1000):
        super().__init__()
        layers: list[nn.Module] = []
        C, stride_dw = 3, 1
        for kind, stride, M in TABLE_1:
            if kind == "conv":
                M = scaled(M, width_mult)
                layers.append(ConvBNAct(C, M, 3, stride))
                C = M
            elif kind == "dw":
                stride_dw = stride  # its filter count is C; the "pw" row that follows gives M
            else:  # "pw": close the depth-wise separable pair opened by the "dw" row
                M = scaled(M, width_mult)
                layers.append(DepthwiseSeparable(C, M, stride_dw) if separable
                              else ConvBNAct(C, M, 3, stride_dw))
                C = M
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)  # the paper's "Avg Pool 7x7" at 224 x 224
        self.fc = nn.Linear(C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)       # (N, 1024 alpha, H/32, W/32)
        x = self.pool(x)           # (N, 1024 alpha, 1, 1)
        x = torch.flatten(x, 1)    # (N, 1024 alpha)
        return self.fc(x)          # (N, 1000)


_PAPER = "howard2017mobilenets"
_PARAMS_NOTE = ("the paper's 'parameters' are filter and FC weights; BN's scale and shift per "
                "channel and the FC biases would add 23k (MobileNet) or 13k (Conv MobileNet)")

_TRUNCATED = ("counted {counted}, which TF-Slim's README of the released checkpoints rounds to "
              "{slim}M; the paper drops the fraction here (elsewhere it rounds: 568.7M -> 569M)")

_V1_PUBLISHED = [
    Published("macs", "569M", _PAPER, "Table 4 (and Table 8, the lecture)"),
    Published("weights", "4.2M", _PAPER, "Table 4 (and Table 8, the lecture)", note=_PARAMS_NOTE),
    # Table 6: the width multiplier alpha.
    Published("macs", "325M", _PAPER, "Table 6", kwargs={"width_mult": 0.75}),
    Published("weights", "2.6M", _PAPER, "Table 6", kwargs={"width_mult": 0.75}),
    Published("macs", "149M", _PAPER, "Table 6", kwargs={"width_mult": 0.5}),
    Published("weights", "1.3M", _PAPER, "Table 6", kwargs={"width_mult": 0.5}),
    Published("macs", "41M", _PAPER, "Table 6", kwargs={"width_mult": 0.25}),
    Published("weights", "0.5M", _PAPER, "Table 6", kwargs={"width_mult": 0.25}),
    # Table 7: the resolution multiplier rho is a smaller input; the weights do not change.
    Published("macs", "418M", _PAPER, "Table 7", input_size=(3, 192, 192)),
    Published("macs", "290M", _PAPER, "Table 7", input_size=(3, 160, 160), rel_tol=0.0024,
              note=_TRUNCATED.format(counted="290.7M", slim="291")),
    Published("macs", "186M", _PAPER, "Table 7", input_size=(3, 128, 128)),
    # Table 9 (and the lecture): both knobs at once.
    Published("macs", "76M", _PAPER, "Table 9 (and the lecture)", kwargs={"width_mult": 0.5},
              input_size=(3, 160, 160), rel_tol=0.007,
              note=_TRUNCATED.format(counted="76.52M", slim="77")),
    Published("weights", "1.32M", _PAPER, "Table 9 (and the lecture)",
              kwargs={"width_mult": 0.5}, input_size=(3, 160, 160)),
]


@register_model(paper=_PAPER, table="Table 1", published=_V1_PUBLISHED)
def mobilenet_v1(*, width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV1:
    """MobileNet: a 3x3 conv, 13 depth-wise separable convs and one FC layer (width alpha)."""
    return MobileNetV1(width_mult, separable=True, num_classes=num_classes)


@register_model(paper=_PAPER, table="Table 1, each dw + pw pair as one 3x3 conv (Table 4)", published=[
    Published("macs", "4866M", _PAPER, "Table 4 (and the lecture)", rel_tol=2.7e-4,
              note="counted 4867.3M: 4866.3M in the convs plus 1.0M in the FC layer. The "
                   "paper's 4866M is the conv MACs alone, although its 569M for MobileNet "
                   "includes the FC layer (567.7M + 1.0M)"),
    Published("weights", "29.3M", _PAPER, "Table 4 (and the lecture)", note=_PARAMS_NOTE),
])
def conv_mobilenet_v1(*, width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV1:
    """Conv MobileNet: MobileNet with full 3x3 convs instead of depth-wise separable ones."""
    return MobileNetV1(width_mult, separable=False, num_classes=num_classes)
