"""EfficientNet (Tan & Le, "EfficientNet: Rethinking Model Scaling for Convolutional Neural
Networks", ICML 2019): one searched network, scaled up in depth, width and resolution together.

**The baseline, B0** (Table 1 of the paper) was found by the MnasNet search, optimising
accuracy and FLOPS. Its block, MBConv, is MobileNetV2's inverted residual
(:class:`~cnnlib.models.mobilenet_v2.InvertedResidual`) with a squeeze-and-excitation gate after
the depth-wise conv, swish activations (``x * sigmoid(x)``, ``nn.SiLU``) and a linear 1x1
projection. "MBConv6, k5x5" means expansion t = 6 and a 5x5 depth-wise filter. The SE gate
squeezes to a quarter of the block's *input* channels C (not of the expanded tC).

**Compound scaling** (section 3.3, equation 3): to spend 2^phi times the FLOPS, scale
depth by alpha^phi, width by beta^phi and resolution by gamma^phi, with
alpha * beta^2 * gamma^2 ~= 2 (FLOPS grow linearly with depth and quadratically with width and
resolution). A grid search on B0 gave alpha = 1.2, beta = 1.1, gamma = 1.15
(:func:`compound_scaling`).

**The released B1 ... B7 do not follow the formula exactly.** Their (width, depth, resolution)
coefficients, published with the code (``efficientnet_builder.py`` in tensorflow/tpu) and
transcribed in :data:`COEFFICIENTS`, are rounded, hand-set values: B1 scales depth by 1.1
(alpha^1 = 1.2) and keeps the width; B7's (2.0, 3.1, 600) would need phi ~= 6.2 for the
depth, 7.3 for the width and 7.0 for the resolution. The test file compares the two.

Applying the multipliers follows the released code: channels ``make_divisible(c * width, 8)``
(rounded to a multiple of 8, never more than 10% down), layers per stage ``ceil(depth * L)``.
Stochastic depth ("drop connect") is left out: it is a training regulariser and an identity
at inference, which is what cnnlib counts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from cnnlib.models.layers import ConvBNAct, SqueezeExcitation, make_divisible
from cnnlib.models.mobilenet_v2 import InvertedResidual
from cnnlib.published import Published
from cnnlib.registry import register_model


@dataclass(frozen=True)
class Stage:
    """One MBConv row (stages 2 to 8) of Table 1."""

    t: int       # operator "MBConv t": expansion ratio
    R: int       # operator "k R x R": depth-wise filter
    H: int       # "Resolution": the stage's input is H x H (at B0's 224 x 224)
    M: int       # "#Channels": output channels
    L: int       # "#Layers"
    stride: int  # of the stage's first layer (Table 1 shows it as the next row's resolution)


# Table 1 of the paper: the EfficientNet-B0 baseline network.
STEM = 32        # stage 1: Conv3x3, 224 x 224, 32 channels, 1 layer (stride 2)
TABLE_1 = [
    #     t  R  res  #ch  #L  s
    Stage(1, 3, 112, 16, 1, 1),    # stage 2: MBConv1, k3x3
    Stage(6, 3, 112, 24, 2, 2),    # stage 3: MBConv6, k3x3
    Stage(6, 5, 56, 40, 2, 2),     # stage 4: MBConv6, k5x5
    Stage(6, 3, 28, 80, 3, 2),     # stage 5: MBConv6, k3x3
    Stage(6, 5, 14, 112, 3, 1),    # stage 6: MBConv6, k5x5
    Stage(6, 5, 14, 192, 4, 2),    # stage 7: MBConv6, k5x5
    Stage(6, 3, 7, 320, 1, 1),     # stage 8: MBConv6, k3x3
]
HEAD = 1280      # stage 9: Conv1x1 & Pooling & FC, 7 x 7, 1280 channels
SE_RATIO = 0.25  # squeeze to a quarter of the block's input channels

# (width, depth, resolution, dropout) of the released models: efficientnet_params() in
# tensorflow/tpu models/official/efficientnet/efficientnet_builder.py (torchvision uses the same).
COEFFICIENTS: dict[str, tuple[float, float, int, float]] = {
    "efficientnet_b0": (1.0, 1.0, 224, 0.2),
    "efficientnet_b1": (1.0, 1.1, 240, 0.2),
    "efficientnet_b2": (1.1, 1.2, 260, 0.3),
    "efficientnet_b3": (1.2, 1.4, 300, 0.3),
    "efficientnet_b4": (1.4, 1.8, 380, 0.4),
    "efficientnet_b5": (1.6, 2.2, 456, 0.4),
    "efficientnet_b6": (1.8, 2.6, 528, 0.5),
    "efficientnet_b7": (2.0, 3.1, 600, 0.5),
}


def compound_scaling(phi: float, alpha: float = 1.2, beta: float = 1.1,
                     gamma: float = 1.15) -> tuple[float, float, float]:
    """Equation 3 of the paper: (depth, width, resolution) multipliers for coefficient phi.

    ``d = alpha^phi, w = beta^phi, r = gamma^phi``. FLOPS scale by ``d * w^2 * r^2 =
    (alpha * beta^2 * gamma^2)^phi``, about ``2^phi`` with the paper's alpha, beta, gamma.
    """
    return alpha**phi, beta**phi, gamma**phi


def scaled_channels(c: int, width_mult: float) -> int:
    """Channels under the width multiplier, as the released code rounds them (``round_filters``)."""
    return make_divisible(c * width_mult, 8)


def scaled_layers(L: int, depth_mult: float) -> int:
    """Layers of a stage under the depth multiplier, rounded up (``round_repeats``)."""
    return math.ceil(depth_mult * L)


class EfficientNet(nn.Module):
    """Table 1, scaled: a 3x3 conv, seven stages of MBConv blocks, a 1x1 conv, pooling, FC."""

    def __init__(self, width_mult: float = 1.0, depth_mult: float = 1.0, dropout: float = 0.2,
                 num_classes: int = 1000):
        super().__init__()
        C = scaled_channels(STEM, width_mult)
        layers: list[nn.Module] = [ConvBNAct(3, C, 3, 2, act=nn.SiLU)]
        for stage in TABLE_1:
            M = scaled_channels(stage.M, width_mult)
            blocks: list[nn.Module] = []
            for i in range(scaled_layers(stage.L, depth_mult)):
                E = C * stage.t
                se = SqueezeExcitation(E, max(1, int(C * SE_RATIO)), act=nn.SiLU, gate=nn.Sigmoid)
                blocks.append(InvertedResidual(C, E, M, stage.R, stage.stride if i == 0 else 1,
                                               act=nn.SiLU, se=se))
                C = M
            layers.append(nn.Sequential(*blocks))
        head = scaled_channels(HEAD, width_mult)
        layers.append(ConvBNAct(C, head, 1, act=nn.SiLU))
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(head, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                 # (N, 1280 w, H/32, W/32)
        x = torch.flatten(self.pool(x), 1)   # (N, 1280 w)
        return self.classifier(x)            # (N, 1000)


def efficientnet(*, width_mult: float = 1.0, depth_mult: float = 1.0, dropout: float = 0.2,
                 num_classes: int = 1000) -> EfficientNet:
    """EfficientNet: the B0 network of Table 1 scaled by a width and a depth multiplier."""
    return EfficientNet(width_mult, depth_mult, dropout, num_classes)



_PAPER = "tan2019efficientnet"

# Table 2 of the paper: #Params and #FLOPS. The "FLOPS" are multiply-adds (MACs): B0 counts
# 0.386G MACs, and torchvision's "GFLOPS" of the same network are the same number.
TABLE_2: dict[str, tuple[str, str]] = {
    "efficientnet_b0": ("5.3M", "0.39B"),
    "efficientnet_b1": ("7.8M", "0.70B"),
    "efficientnet_b2": ("9.2M", "1.0B"),
    "efficientnet_b3": ("12M", "1.8B"),
    "efficientnet_b4": ("19M", "4.2B"),
    "efficientnet_b5": ("30M", "9.9B"),
    "efficientnet_b6": ("43M", "19B"),
    "efficientnet_b7": ("66M", "37B"),
}
# torchvision's documentation: num_params, GFLOPS (MACs, 3 decimals in the weights' "_ops")
# and the crop size its weights (and its GFLOPS) use: 288 for B2, not the paper's 260.
TORCHVISION: dict[str, tuple[str, str, int]] = {
    "efficientnet_b0": ("5,288,548", "0.386G", 224),
    "efficientnet_b1": ("7,794,184", "0.687G", 240),
    "efficientnet_b2": ("9,109,994", "1.088G", 288),
    "efficientnet_b3": ("12,233,232", "1.827G", 300),
    "efficientnet_b4": ("19,341,616", "4.394G", 380),
    "efficientnet_b5": ("30,389,784", "10.266G", 456),
    "efficientnet_b6": ("43,040,704", "19.068G", 528),
    "efficientnet_b7": ("66,347,960", "37.746G", 600),
}
# Figures of Table 2 that the released networks do not reproduce:
# (name, metric): (smallest tolerance that passes, what we count, how far the paper is off).
NOT_REPRODUCED: dict[tuple[str, str], tuple[float, str, str]] = {
    ("efficientnet_b1", "macs"): (0.0189, "0.687G", "the paper is 1.9% higher"),
    ("efficientnet_b2", "params"): (0.0098, "9.11M", "the paper is 1.0% higher"),
    ("efficientnet_b4", "macs"): (0.0462, "4.39G", "the paper is 4.4% lower"),
    ("efficientnet_b5", "macs"): (0.0371, "10.27G", "the paper is 3.6% lower"),
    ("efficientnet_b7", "macs"): (0.0202, "37.75G", "the paper is 2.0% lower (or truncates)"),
}
_UNEXPLAINED = ("counted {counted}, as torchvision does for the same network (whose parameter "
                "counts cnnlib reproduces exactly); {diff}. The differences of B1, B2, B4, B5 and "
                "B7 go both ways, so no counting convention (SE scaling, activations, BN: they "
                "only add) explains them; left unexplained")


def _published(name: str) -> list[Published]:
    figures = []
    for metric, value in zip(("params", "macs"), TABLE_2[name], strict=True):
        rel_tol, note = None, ("parameters with BN's scales and shifts, as TF counts them"
                               if metric == "params" else "FLOPS here are multiply-adds")
        if (name, metric) in NOT_REPRODUCED:
            rel_tol, counted, diff = NOT_REPRODUCED[name, metric]
            note = _UNEXPLAINED.format(counted=counted, diff=diff)
        figures.append(Published(metric, value, _PAPER, "Table 2", rel_tol=rel_tol, note=note))
    params, macs, crop = TORCHVISION[name]
    at_crop = crop != COEFFICIENTS[name][2]
    figures += [
        Published("params", params, "torchvision", "model documentation"),
        Published("macs", macs, "torchvision", "weights meta '_ops' (docs: GFLOPS)",
                  input_size=(3, crop, crop) if at_crop else None,
                  note="torchvision's 'GFLOPS' are MACs"
                       + (f", at its {crop} x {crop} crop" if at_crop else "")),
    ]
    return figures


for _name, (_width, _depth, _resolution, _dropout) in COEFFICIENTS.items():
    register_model(
        _name, builder=efficientnet, paper=_PAPER,
        table="Table 1 (B0), scaled by the coefficients of efficientnet_builder.py",
        input_size=(3, _resolution, _resolution), published=_published(_name),
        kwargs={"width_mult": _width, "depth_mult": _depth, "dropout": _dropout},
        summary=(f"EfficientNet-{_name[-2:].upper()}: B0 with width x{_width} and depth "
                 f"x{_depth}, at {_resolution} x {_resolution}."),
    )
