"""MobileNetV2 (Sandler, Howard, Zhu, Zhmoginov & Chen, CVPR 2018): inverted residuals.

MobileNet's depth-wise separable conv becomes a *bottleneck* block turned inside out:

* ``conv_pw``: a 1x1 conv *expands* the C input channels t times (t = 6), to E = tC;
* ``conv_dw``: a 3x3 depth-wise conv filters those E channels (G = E), cheaply, because a
  depth-wise conv costs only 9 MACs per value, however wide the map is;
* ``conv_pwl``: a 1x1 conv *projects* back to a thin M-channel map, with **no** activation
  (the "linear bottleneck": a ReLU on a thin map would destroy information);
* a residual add joins the thin maps when the shape allows (stride 1 and C = M).

A ResNet bottleneck is wide -> thin -> wide with the shortcut between wide maps; this one is
thin -> wide -> thin with the shortcut between thin maps, hence "inverted residual". The code
transcribes Table 2 of the paper, whose rows are ``[t, c, n, s]``: expansion t, output channels
c, n repeats, stride s of the first repeat. The activation is ReLU6 (min(max(x, 0), 6)).

:class:`InvertedResidual` is also the block of MobileNetV3 and of EfficientNet (there called
MBConv), which add a squeeze-and-excitation gate after the depth-wise conv: it takes one.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib.models.layers import ActLayer, ConvBNAct, make_divisible
from cnnlib.published import Published
from cnnlib.registry import register_model

# Table 2 of the paper. Each row is a stage of n bottleneck blocks; only the first has stride s.
TABLE_2: list[tuple[int, int, int, int]] = [
    # t, c,   n, s       input of the stage at 224 x 224
    (1, 16, 1, 1),    # 112 x 112 x 32
    (6, 24, 2, 2),    # 112 x 112 x 16
    (6, 32, 3, 2),    # 56 x 56 x 24
    (6, 64, 4, 2),    # 28 x 28 x 32
    (6, 96, 3, 1),    # 14 x 14 x 64
    (6, 160, 3, 2),   # 14 x 14 x 96
    (6, 320, 1, 1),   # 7 x 7 x 160
]
STEM = 32     # "conv2d, 32, stride 2" on the 224 x 224 x 3 input
HEAD = 1280   # "conv2d 1x1, 1280" on 7 x 7 x 320, then "avgpool 7x7" and "conv2d 1x1, k" (the FC)


class InvertedResidual(nn.Module):
    """Expand (1x1, C -> E), filter (R x R depth-wise on E), [gate (SE)], project (1x1, E -> M).

    The expansion is left out when E = C (MobileNetV2's t = 1 stage). ``se`` is an optional
    squeeze-and-excitation module on the E expanded channels (MobileNetV3, EfficientNet).
    The residual add is there when the block keeps the shape (stride 1 and C = M).
    """

    def __init__(self, C: int, E: int, M: int, R: int = 3, stride: int = 1,
                 act: ActLayer = nn.ReLU6, se: nn.Module | None = None):
        super().__init__()
        self.conv_pw = ConvBNAct(C, E, 1, act=act) if E != C else nn.Identity()  # expand
        self.conv_dw = ConvBNAct(E, E, R, stride, groups=E, act=act)             # depth-wise
        self.se = se if se is not None else nn.Identity()
        self.conv_pwl = ConvBNAct(E, M, 1, act=None)                             # linear
        self.residual = stride == 1 and C == M

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv_pw(x)        # (N, E, H, W)
        y = self.conv_dw(y)        # (N, E, H/s, W/s)
        y = self.se(y)
        y = self.conv_pwl(y)       # (N, M, H/s, W/s)
        return y + x if self.residual else y


class MobileNetV2(nn.Module):
    """Table 2: a 3x3 conv, 17 inverted residual blocks, a 1x1 conv, pooling and an FC layer.

    ``width_mult`` scales every channel count, rounded to a multiple of 8 (:func:`make_divisible`);
    the last 1x1 conv keeps its 1280 channels when the width shrinks (the paper's choice).
    """

    def __init__(self, width_mult: float = 1.0, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        C = make_divisible(STEM * width_mult, 8)
        layers: list[nn.Module] = [ConvBNAct(3, C, 3, 2, act=nn.ReLU6)]
        for t, c, n, s in TABLE_2:
            M = make_divisible(c * width_mult, 8)
            for i in range(n):
                layers.append(InvertedResidual(C, round(C * t), M, 3, s if i == 0 else 1))
                C = M
        last = make_divisible(HEAD * max(1.0, width_mult), 8)
        layers.append(ConvBNAct(C, last, 1, act=nn.ReLU6))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)           # (N, 1280, H/32, W/32)
        x = torch.flatten(self.pool(x), 1)
        return self.classifier(x)      # (N, 1000)


_PAPER = "sandler2018mobilenetv2"


@register_model(paper=_PAPER, table="Table 2", published=[
    Published("macs", "300M", _PAPER, "Table 4", rel_tol=0.0026,
              note="counted 300.77M (torchvision: 0.301 G); the paper drops the fraction, as it "
                   "does for the 3.47M weights"),
    Published("weights", "3.4M", _PAPER, "Table 4", rel_tol=0.021,
              note="counted 3.47M filter and FC weights (TF-Slim's README of the released "
                   "checkpoint: 3.47M; 3.50M parameters with BN and the FC bias); the paper "
                   "truncates 3.47M to 3.4M"),
    Published("params", "3,504,872", "torchvision", "model documentation"),
    Published("macs", "0.301G", "torchvision", "weights meta '_ops' (docs: 0.30 GFLOPS)",
              note="torchvision's 'GFLOPS' are MACs"),
])
def mobilenet_v2(*, width_mult: float = 1.0, num_classes: int = 1000) -> MobileNetV2:
    """MobileNetV2: inverted residual blocks with linear bottlenecks (width alpha)."""
    return MobileNetV2(width_mult, num_classes)
