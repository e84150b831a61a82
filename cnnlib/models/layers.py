"""Building blocks shared by the model files: conv-BN-activation, squeeze-and-excitation,
channel shuffle, and the channel rounding of the mobile networks.

Residual adds and gates are written as ``x + y`` and ``x * g``: the cost collector sees them
as element-wise rows (:mod:`cnnlib.costs.ops`), so the model files need no layer for them.
"""

from __future__ import annotations

from collections import OrderedDict

import torch
from torch import nn

ActLayer = type[nn.Module]


class ChannelShuffle(nn.Module):
    """ShuffleNet's shuffle: interleave the channels of G groups so the next group conv mixes them.

    (N, G*K, H, W) -> view (N, G, K, H, W) -> transpose to (N, K, G, H, W) -> (N, K*G, H, W).
    It moves data and does no arithmetic.
    """

    def __init__(self, groups: int):
        super().__init__()
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        N, C, H, W = x.shape
        x = x.view(N, self.groups, C // self.groups, H, W)
        return x.transpose(1, 2).reshape(N, C, H, W)

    def extra_repr(self) -> str:
        return f"groups={self.groups}"


class ConvBNAct(nn.Sequential):
    """R x S convolution, batch norm, activation: the unit most modern CNNs are made of.

    ``padding`` defaults to "same" for odd filters ((R - 1) // 2). ``act=None`` leaves the
    activation out (MobileNetV2's linear bottleneck). The conv has no bias: BN's shift replaces it.
    """

    def __init__(self, C: int, M: int, R: int | tuple[int, int] = 3, stride: int = 1,
                 padding: int | tuple[int, int] | None = None, groups: int = 1,
                 act: ActLayer | None = nn.ReLU, bn_eps: float = 1e-5):
        kernel = (R, R) if isinstance(R, int) else R
        if padding is None:
            padding = ((kernel[0] - 1) // 2, (kernel[1] - 1) // 2)
        layers: list[tuple[str, nn.Module]] = [
            ("conv", nn.Conv2d(C, M, kernel, stride, padding, groups=groups, bias=False)),
            ("bn", nn.BatchNorm2d(M, eps=bn_eps)),
        ]
        if act is not None:
            layers.append(("act", act(inplace=True) if _takes_inplace(act) else act()))
        super().__init__(OrderedDict(layers))


def _takes_inplace(act: ActLayer) -> bool:
    return act in (nn.ReLU, nn.ReLU6, nn.Hardswish, nn.Hardsigmoid, nn.SiLU)


class SqueezeExcitation(nn.Module):
    """Squeeze-and-excitation (Hu et al., CVPR 2018): a per-channel gate computed from the input.

    Squeeze: global average pooling summarises each of the C channels. Excitation: two FC layers
    (C -> C/r -> C, written as 1x1 convs on a 1x1 map) and a gate (sigmoid) give one weight per
    channel, which then scales the feature map: a depth-wise 1x1 "convolution" whose weights
    depend on the input.
    """

    def __init__(self, C: int, squeeze: int, act: ActLayer = nn.ReLU,
                 gate: ActLayer = nn.Sigmoid):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(C, squeeze, 1)
        self.act = act(inplace=True) if _takes_inplace(act) else act()
        self.fc2 = nn.Conv2d(squeeze, C, 1)
        self.gate = gate()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.pool(x)                       # (N, C, 1, 1)
        s = self.gate(self.fc2(self.act(self.fc1(s))))
        return x * s                           # (N, C, H, W): each channel scaled


def make_divisible(v: float, divisor: int = 8, min_value: int | None = None) -> int:
    """Round a scaled channel count to a multiple of ``divisor`` (never more than 10% below).

    MobileNet v2/v3 and EfficientNet round widths this way so that channels map well on SIMD
    hardware; the rounding is why their parameter counts are not a simple power of the width.
    """
    min_value = min_value or divisor
    new_v = max(min_value, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v
