"""MobileNetV3 (Howard, Sandler, Chu, Chen, Chen, Tan, Wang, Zhu, Pang, Vasudevan, Le & Adam,
"Searching for MobileNetV3", ICCV 2019).

The blocks are MobileNetV2's inverted residuals (:class:`~cnnlib.models.mobilenet_v2.InvertedResidual`),
but the network was found by a search (platform-aware NAS for the blocks, then NetAdapt to trim
each layer's filters against measured phone latency), so every block has its own kernel R (3 or
5), expansion E, output channels M, activation and squeeze-and-excitation. Two hand-made changes:

* **h-swish**, ``x * ReLU6(x + 3) / 6``, a piece-wise linear stand-in for swish ``x * sigmoid(x)``
  that is cheap on phones and easy to quantise; used only in the deeper half ("HS"), where the
  maps are small, with ReLU ("RE") in the early, large layers;
* a cheaper **last stage**: the 1x1 conv to 960 channels runs on the 7 x 7 map, then global
  pooling, then the 1x1 conv to 1280 runs on a 1 x 1 map (an FC layer, in the lecture's terms),
  which saves the 7 x 7 x 960 x 1280 MACs it would cost before pooling.

The SE gate squeezes the E expanded channels to ``make_divisible(E / 4, 8)`` with a ReLU and
gates them with a hard sigmoid (``ReLU6(x + 3) / 6``), as the released TF-Slim code and
torchvision do. The code transcribes Table 1 (Large) and Table 2 (Small) of the paper.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from cnnlib.models.layers import ActLayer, ConvBNAct, SqueezeExcitation, make_divisible
from cnnlib.models.mobilenet_v2 import InvertedResidual
from cnnlib.published import Published
from cnnlib.registry import register_model

RE, HS = nn.ReLU, nn.Hardswish  # the tables' "NL" column: ReLU or h-swish


class Bneck(NamedTuple):
    """One "bneck" row of Tables 1 and 2 (the input column split into H and C)."""

    H: int            # input: H x H x C at 224 x 224
    C: int
    R: int            # operator: bneck, R x R depth-wise
    E: int            # "exp size": expanded channels
    M: int            # "#out"
    se: bool          # "SE"
    act: ActLayer     # "NL"
    stride: int       # "s"


# Table 1 (MobileNetV3-Large). Before it: conv2d 3x3, 16, HS, s 2 on 224 x 224 x 3.
LARGE = [
    #     input     R  exp   #out  SE     NL  s
    Bneck(112, 16, 3, 16, 16, False, RE, 1),
    Bneck(112, 16, 3, 64, 24, False, RE, 2),
    Bneck(56, 24, 3, 72, 24, False, RE, 1),
    Bneck(56, 24, 5, 72, 40, True, RE, 2),
    Bneck(28, 40, 5, 120, 40, True, RE, 1),
    Bneck(28, 40, 5, 120, 40, True, RE, 1),
    Bneck(28, 40, 3, 240, 80, False, HS, 2),
    Bneck(14, 80, 3, 200, 80, False, HS, 1),
    Bneck(14, 80, 3, 184, 80, False, HS, 1),
    Bneck(14, 80, 3, 184, 80, False, HS, 1),
    Bneck(14, 80, 3, 480, 112, True, HS, 1),
    Bneck(14, 112, 3, 672, 112, True, HS, 1),
    Bneck(14, 112, 5, 672, 160, True, HS, 2),
    Bneck(7, 160, 5, 960, 160, True, HS, 1),
    Bneck(7, 160, 5, 960, 160, True, HS, 1),
]
# After it: conv2d 1x1, 960, HS; pool 7x7; conv2d 1x1 NBN, 1280, HS; conv2d 1x1 NBN, k.
LARGE_LAST = (960, 1280)

# Table 2 (MobileNetV3-Small). Before it: conv2d 3x3, 16, HS, s 2 on 224 x 224 x 3.
SMALL = [
    #     input     R  exp   #out  SE     NL  s
    Bneck(112, 16, 3, 16, 16, True, RE, 2),
    Bneck(56, 16, 3, 72, 24, False, RE, 2),
    Bneck(28, 24, 3, 88, 24, False, RE, 1),
    Bneck(28, 24, 5, 96, 40, True, HS, 2),
    Bneck(14, 40, 5, 240, 40, True, HS, 1),
    Bneck(14, 40, 5, 240, 40, True, HS, 1),
    Bneck(14, 40, 5, 120, 48, True, HS, 1),
    Bneck(14, 48, 5, 144, 48, True, HS, 1),
    Bneck(14, 48, 5, 288, 96, True, HS, 2),
    Bneck(7, 96, 5, 576, 96, True, HS, 1),
    Bneck(7, 96, 5, 576, 96, True, HS, 1),
]
# After it: conv2d 1x1, 576, HS; pool 7x7; conv2d 1x1 NBN, 1024, HS; conv2d 1x1 NBN, k.
# (Table 2 ticks "SE" on the 1x1 conv to 576; the released TF-Slim and torchvision models have
# no SE there, and the paper's 2.5M parameters are only reached without it: 2.54M vs 2.71M.)
SMALL_LAST = (576, 1024)
STEM = 16


class MobileNetV3(nn.Module):
    """A 3x3 conv, the bneck rows of the table, a 1x1 conv, pooling and two FC layers.

    ``width_mult`` scales every channel count, rounded to a multiple of 8. The two layers after
    pooling are the paper's "conv2d 1x1, NBN" (no batch norm) on a 1 x 1 map, i.e. FC layers.
    """

    def __init__(self, rows: list[Bneck], last: tuple[int, int], width_mult: float = 1.0,
                 num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()

        def ch(c: int) -> int:
            return make_divisible(c * width_mult, 8)

        C = ch(STEM)
        layers: list[nn.Module] = [ConvBNAct(3, C, 3, 2, act=HS)]
        for row in rows:
            E, M = ch(row.E), ch(row.M)
            se = SqueezeExcitation(E, make_divisible(E // 4, 8), act=nn.ReLU,
                                   gate=nn.Hardsigmoid) if row.se else None
            layers.append(InvertedResidual(C, E, M, row.R, row.stride, act=row.act, se=se))
            C = M
        conv_last, fc_last = ch(last[0]), ch(last[1])
        layers.append(ConvBNAct(C, conv_last, 1, act=HS))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(
            nn.Linear(conv_last, fc_last), HS(inplace=True), nn.Dropout(dropout),
            nn.Linear(fc_last, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                 # (N, 960, H/32, W/32) for Large
        x = torch.flatten(self.pool(x), 1)   # (N, 960)
        return self.classifier(x)            # (N, 1000)


_PAPER = "howard2019mobilenetv3"
_TV = "model documentation"


@register_model(paper=_PAPER, table="Table 1", published=[
    Published("macs", "219M", _PAPER, "Table 3", rel_tol=0.0111,
              note="counted 216.6M conv and FC MACs, the figure torchvision (0.217 G) and "
                   "TF-Slim's README of the released checkpoint (217M) give for the same network. "
                   "The paper's 219M is 2.4M (1.1%) more; no counting convention we tried lands on "
                   "it (adding pooling gives 217.2M, adding the SE scaling and residual adds "
                   "218.3M, adding all activations 222M), so it is left unexplained"),
    Published("weights", "5.4M", _PAPER, "Table 3", rel_tol=0.0096,
              note="counted 5.45M filter and FC weights (5.48M parameters with BN and biases); "
                   "the paper truncates, as TF-Slim's README shows (5.4M for the same model)"),
    Published("params", "5,483,032", "torchvision", _TV),
    Published("macs", "0.217G", "torchvision", "weights meta '_ops' (docs: 0.22 GFLOPS)",
              note="torchvision's 'GFLOPS' are MACs"),
])
def mobilenet_v3_large(*, width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV3:
    """MobileNetV3-Large: 15 searched bneck blocks, SE, h-swish and a cheap last stage."""
    return MobileNetV3(LARGE, LARGE_LAST, width_mult, num_classes)


@register_model(paper=_PAPER, table="Table 2", published=[
    Published("macs", "56M", _PAPER, "Table 3", rel_tol=0.0092,
              note="counted 56.51M (torchvision: 0.057 G); the paper drops the fraction, as the "
                   "MobileNet papers do elsewhere (MobileNetV2: 300.8M -> 300M)"),
    Published("weights", "2.5M", _PAPER, "Table 3",
              note="2.53M filter and FC weights; 2.54M parameters with BN and biases"),
    Published("params", "2,542,856", "torchvision", _TV),
    Published("macs", "0.057G", "torchvision", "weights meta '_ops' (docs: 0.06 GFLOPS)",
              note="torchvision's 'GFLOPS' are MACs"),
])
def mobilenet_v3_small(*, width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV3:
    """MobileNetV3-Small: 11 searched bneck blocks, SE, h-swish and a cheap last stage."""
    return MobileNetV3(SMALL, SMALL_LAST, width_mult, num_classes)
