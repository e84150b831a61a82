"""DenseNet (Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional Networks",
CVPR 2017), the ImageNet networks of its Table 1.

Inside a dense block every layer sees the feature maps of *all* the layers before it,
concatenated along the channels, and adds k new ones (the growth rate, k = 32 here). Layer i of
a block that starts with C channels therefore reads C + i*k channels, and the block ends with
C + n*k. ResNet adds a layer's output to its input; DenseNet keeps both, so features computed
early are reused later instead of being recomputed: fewer weights and MACs for the accuracy
(the lecture's "higher accuracy than ResNet with fewer weights and multiplications").

The ImageNet networks are "DenseNet-BC":

* B (bottleneck): each layer is BN-ReLU-1x1 conv with 4k filters, then BN-ReLU-3x3 conv with
  k filters, so the 3x3 conv reads 4k = 128 channels however wide the concatenation has grown.
* C (compression): a transition layer between blocks (BN-ReLU-1x1 conv, 2x2 average pool,
  stride 2) keeps theta = 0.5 of the channels and halves H and W.

Every conv is preceded by its BN and ReLU ("pre-activation", the order of He et al.'s
identity-mapping ResNets), except the first 7x7 conv, which is conv-BN-ReLU like ResNet's.
After the last block a final BN-ReLU, global average pooling and one FC layer classify.
"""

from __future__ import annotations

import torch
from torch import nn

from cnnlib.models.layers import ConvBNAct
from cnnlib.published import Published
from cnnlib.registry import register_model

# Table 1 of Huang et al. All four networks have growth rate k = 32.
#   layer              output    DenseNet-121 column
#   Convolution        112x112   7x7 conv, stride 2 (2k = 64 filters)
#   Pooling             56x56    3x3 max pool, stride 2
#   Dense Block (1)     56x56    [1x1 conv, 3x3 conv] x 6
#   Transition (1)      28x28    1x1 conv; 2x2 average pool, stride 2
#   Dense Block (2)     28x28    [1x1 conv, 3x3 conv] x 12
#   Transition (2)      14x14    1x1 conv; 2x2 average pool, stride 2
#   Dense Block (3)     14x14    [1x1 conv, 3x3 conv] x 24
#   Transition (3)       7x7     1x1 conv; 2x2 average pool, stride 2
#   Dense Block (4)      7x7     [1x1 conv, 3x3 conv] x 16
#   Classification       1x1     7x7 global average pool; 1000-way FC, softmax
# The depth counts conv and FC layers: 2 per dense layer + conv1 + 3 transitions + FC, so
# 2 * (6 + 12 + 24 + 16) + 5 = 121. (By this count the paper's "DenseNet-264" has 265.)
#      depth: layers per dense block (1) (2) (3) (4)
BLOCKS = {
    121: (6, 12, 24, 16),
    169: (6, 12, 32, 32),
    201: (6, 12, 48, 32),
    264: (6, 12, 64, 48),
}
GROWTH_RATE = 32   # k: feature maps each dense layer adds
BOTTLENECK = 4     # the 1x1 conv of a dense layer has 4k filters (DenseNet-B)
COMPRESSION = 0.5  # theta: a transition keeps half the channels (DenseNet-C)


class BNReLUConv(nn.Sequential):
    """Batch norm, ReLU, then an R x R convolution: DenseNet's pre-activation unit."""

    def __init__(self, C: int, M: int, R: int):
        super().__init__()
        self.norm = nn.BatchNorm2d(C)
        self.act = nn.ReLU(inplace=True)
        self.conv = nn.Conv2d(C, M, R, padding=(R - 1) // 2, bias=False)


class DenseLayer(nn.Module):
    """One layer of a dense block: a 1x1 bottleneck to 4k channels, then a 3x3 conv to k."""

    def __init__(self, C: int, k: int):
        super().__init__()
        self.conv_1x1 = BNReLUConv(C, BOTTLENECK * k, 1)
        self.conv_3x3 = BNReLUConv(BOTTLENECK * k, k, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv_3x3(self.conv_1x1(x))  # (N, C, H, W) -> (N, 4k, H, W) -> (N, k, H, W)


class DenseBlock(nn.Module):
    """n dense layers; layer i reads the concatenation of the block input and layers 0 .. i-1."""

    def __init__(self, C: int, n: int, k: int):
        super().__init__()
        self.layers = nn.ModuleList(DenseLayer(C + i * k, k) for i in range(n))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = [x]
        for layer in self.layers:
            features.append(layer(torch.cat(features, 1)))  # layer i reads C + i*k channels
        return torch.cat(features, 1)                        # (N, C + n*k, H, W)


class Transition(nn.Sequential):
    """Between dense blocks: BN-ReLU-1x1 conv keeping theta*C channels, then 2x2 average pooling."""

    def __init__(self, C: int, M: int):
        super().__init__()
        self.conv_1x1 = BNReLUConv(C, M, 1)
        self.pool = nn.AvgPool2d(kernel_size=2, stride=2)


class DenseNet(nn.Module):
    """Conv1 and max pool, four dense blocks with transitions between them, BN-ReLU, pool, FC."""

    def __init__(self, blocks: tuple[int, int, int, int], k: int = GROWTH_RATE,
                 num_classes: int = 1000):
        super().__init__()
        C = 2 * k
        self.conv1 = ConvBNAct(3, C, 7, 2)                             # 224 -> 112
        self.pool1 = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)  # 112 -> 56
        self.features = nn.Sequential()
        for i, n in enumerate(blocks, start=1):
            self.features.add_module(f"dense{i}", DenseBlock(C, n, k))       # C -> C + n*k
            C += n * k
            if i < len(blocks):
                M = int(C * COMPRESSION)
                self.features.add_module(f"transition{i}", Transition(C, M))  # C -> C/2, H/2, W/2
                C = M
        self.norm = nn.BatchNorm2d(C)   # the last block's output is BN-ReLU'd before pooling
        self.act = nn.ReLU(inplace=True)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.pool1(self.conv1(x))          # (N, 64, 56, 56) at 224x224
        x = self.features(x)                   # (N, 1024, 7, 7) for DenseNet-121
        x = self.pool(self.act(self.norm(x)))  # (N, 1024, 1, 1)
        return self.fc(torch.flatten(x, 1))    # (N, 1000)


def densenet(*, depth: int = 121, num_classes: int = 1000) -> DenseNet:
    """DenseNet-BC with growth rate 32, one of the four columns of Table 1 (121 by default)."""
    if depth not in BLOCKS:
        raise ValueError(f"depth must be one of {sorted(BLOCKS)} (Table 1), got {depth!r}")
    return DenseNet(BLOCKS[depth], num_classes=num_classes)


_TV = "torchvision model documentation"

register_model(
    "densenet121", builder=densenet, kwargs={"depth": 121}, paper="huang2017densely",
    table="Table 1, DenseNet-121 column", summary="DenseNet-121: 58 dense layers with k = 32 in 4 blocks.",
    published=[
        Published("params", "7,978,856", "torchvision", _TV),
        Published("macs", "2.83G", "torchvision", _TV, note="torchvision's 'GFLOPS' are MACs"),
    ],
)

#: Figures published for the other columns of Table 1, which the zoo does not register:
#: ``densenet(depth=...)`` builds them, and ``tests/test_resnet.py`` checks these.
OTHER_DEPTHS: tuple[Published, ...] = (
    Published("params", "20M", "huang2017densely", "Section 4.4, 'DenseNet-201 with 20M parameters'",
              kwargs={"depth": 201},
              note="the paper prints no number for DenseNet-121 (its Figure 3 plots it); "
                   "this checks the Table 1 transcription on the 201-layer column"),
    Published("params", "14,149,480", "torchvision", _TV + " (densenet169)", kwargs={"depth": 169}),
    Published("macs", "3.36G", "torchvision", _TV + " (densenet169)", kwargs={"depth": 169}),
    Published("params", "20,013,928", "torchvision", _TV + " (densenet201)", kwargs={"depth": 201}),
    Published("macs", "4.29G", "torchvision", _TV + " (densenet201)", kwargs={"depth": 201}),
)
