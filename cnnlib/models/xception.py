"""Xception (François Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions",
CVPR 2017).

"Extreme Inception": an inception module first maps cross-channel correlations with 1x1
convolutions, then spatial correlations with 3x3 filters over a few groups of channels. Taken to
the extreme, there is one group per channel: a *depth-wise separable convolution*, i.e. a
depth-wise 3x3 conv (G = C: each filter sees one channel, 9 C weights) followed by a point-wise
1x1 conv (C M weights), instead of a full 3x3 conv (9 C M weights). Unlike MobileNet, Xception
puts no batch norm and no ReLU between the depth-wise and the point-wise conv (section 4.7 of
the paper found the network learns better without that activation).

The network (Figure 5 of the paper, transcribed below as data) is a linear stack of such
convolutions with ResNet-style short cuts: an entry flow that takes a 299x299 input down to
19x19x728, a middle flow repeated 8 times at 19x19x728, and an exit flow down to 10x10x2048,
global average pooling and one FC layer. Where a block halves the grid (a 3x3 stride-2 max pool),
its short cut is a strided 1x1 conv with batch norm, so that the shapes of the two summands
agree; elsewhere it is the identity. Every separable conv is followed by batch norm.

The layer details (padding, which blocks start with a ReLU) follow the Keras implementation that
the paper's author wrote, whose trainable parameter count is the paper's Table 3 figure exactly.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn

from cnnlib.models.layers import ConvBNAct
from cnnlib.published import Published
from cnnlib.registry import register_model

BN_EPS = 1e-3  # Keras's batch norm epsilon


class SeparableConvBN(nn.Sequential):
    """Depth-wise 3x3 conv, point-wise 1x1 conv, batch norm; no activation in between.

    Weights: 9 C (depth-wise, G = C) + C M (point-wise), against 9 C M for a full 3x3 conv.
    """

    def __init__(self, C: int, M: int, R: int = 3):
        super().__init__(OrderedDict(
            conv_dw=nn.Conv2d(C, C, R, padding=(R - 1) // 2, groups=C, bias=False),  # dw
            conv_pw=nn.Conv2d(C, M, 1, bias=False),                                  # pw
            bn=nn.BatchNorm2d(M, eps=BN_EPS),
        ))


class BlockRow(NamedTuple):
    """One residual block of Figure 5."""

    name: str
    widths: tuple[int, ...]  # filters M of each separable conv in the block
    stride: int              # 2: a 3x3/2 max pool ends the block, and the short cut is a 1x1/2 conv
    relu_first: bool         # a ReLU before the first separable conv (not after the stem's ReLU)


# Figure 5 of the paper. The middle flow's block is repeated 8 times.
MIDDLE_REPEATS = 8
BLOCKS = [
    #        name          widths (M)          stride relu_first    output at 299x299
    BlockRow("entry1", (128, 128), 2, False),  # 147x147x64 -> 74x74x128
    BlockRow("entry2", (256, 256), 2, True),   # -> 37x37x256
    BlockRow("entry3", (728, 728), 2, True),   # -> 19x19x728
    *[BlockRow(f"middle{i + 1}", (728, 728, 728), 1, True) for i in range(MIDDLE_REPEATS)],
    BlockRow("exit1", (728, 1024), 2, True),   # -> 10x10x1024
]
# The exit flow's tail: separable convs each followed by BN and ReLU, no short cut.
EXIT_CONVS = [1536, 2048]  # -> 10x10x1536 -> 10x10x2048


class XceptionBlock(nn.Module):
    """(ReLU, separable conv + BN) x len(widths), [3x3/2 max pool], plus a short cut."""

    def __init__(self, C: int, row: BlockRow):
        super().__init__()
        layers: list[nn.Module] = []
        C_in = C
        for i, M in enumerate(row.widths):
            if i > 0 or row.relu_first:
                # Not in place: the block's input must survive for the identity short cut.
                layers.append(nn.ReLU(inplace=i > 0))
            layers.append(SeparableConvBN(C_in, M))
            C_in = M
        if row.stride > 1:
            layers.append(nn.MaxPool2d(3, stride=row.stride, padding=1))
        self.body = nn.Sequential(*layers)
        self.M = C_in
        if row.stride == 1 and C == self.M:
            self.shortcut: nn.Module = nn.Identity()
        else:  # match the body's output shape: M channels, H/2 x W/2
            self.shortcut = ConvBNAct(C, self.M, 1, row.stride, padding=0, act=None, bn_eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x) + self.shortcut(x)


class Xception(nn.Module):
    def __init__(self, num_classes: int = 1000):
        super().__init__()
        # Entry flow stem: two full 3x3 convs without padding.
        self.stem = nn.Sequential(
            ConvBNAct(3, 32, 3, stride=2, padding=0, bn_eps=BN_EPS),  # 299x299x3 -> 149x149x32
            ConvBNAct(32, 64, 3, padding=0, bn_eps=BN_EPS),           # -> 147x147x64
        )
        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        C = 64
        for row in BLOCKS:
            block = XceptionBlock(C, row)
            blocks[row.name] = block
            C = block.M
        self.blocks = nn.Sequential(blocks)
        tail: list[nn.Module] = []
        for M in EXIT_CONVS:
            tail += [SeparableConvBN(C, M), nn.ReLU(inplace=True)]
            C = M
        self.exit_convs = nn.Sequential(*tail)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(C, num_classes)  # 2048 -> 1000

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)                        # (N, 64, 147, 147) at 299x299
        x = self.blocks(x)                      # (N, 1024, 10, 10)
        x = self.exit_convs(x)                  # (N, 2048, 10, 10)
        return self.fc(torch.flatten(self.avgpool(x), 1))


@register_model(paper="chollet2017xception", table="Figure 5", input_size=(3, 299, 299), published=[
    Published("params", "22,855,952", "chollet2017xception", "Table 3"),
    Published("params", "22.9M", "keras", "Keras Applications table",
              note="Keras's total (22,910,480) also counts BN's 54,528 moving means and variances, "
                   "which are buffers in PyTorch; its trainable count is exactly ours"),
])
def xception(*, num_classes: int = 1000) -> Xception:
    """Xception: depth-wise separable convolutions with residual short cuts, 299x299 input."""
    return Xception(num_classes=num_classes)
