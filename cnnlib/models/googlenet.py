"""GoogLeNet, or Inception v1 (Szegedy et al., "Going deeper with convolutions", CVPR 2015).

The ILSVRC 2014 winner: 22 layers deep (21 convolutions on the longest path, then one FC layer)
with 7M weights, 9x fewer than AlexNet's 61M (the paper claims 12x; its successor quotes 5M).
Its trick is the *inception module* (the paper's Figure 2b): four parallel branches, a 1x1, a
3x3 and a 5x5 convolution and a 3x3 max pool, whose outputs are concatenated along the
channels. A 1x1 "bottleneck" (R = S = 1, C > M) shrinks the channels before each expensive 3x3
and 5x5 filter, and after the pool, so the module stays cheap. Global average pooling then
leaves a single 1024 -> 1000 FC layer where AlexNet needed three.

This file transcribes Table 1 of the paper (one row per inception module) and the network of its
Figure 3: no batch norm (it did not exist yet; convolutions carry a bias), LRN after the first
max pool and after conv2, dropout 0.4 before the classifier, and two auxiliary classifiers on
inception 4a and 4d, used only in training (``aux_logits=True``; the paper discards them at
inference). It differs from ``torchvision.models.googlenet``, which was ported from TensorFlow's
``inception_v1``: that model has batch norm, no LRN, a 2x2 last max pool, and a **3x3** filter
in the "5x5" branch (a known bug, pytorch/vision#906). Its 6,624,904 parameters are ours with
the 5x5 filters shrunk to 3x3 and BN's two parameters per channel instead of a bias
(``tests/test_inception.py`` does the arithmetic).

Pooling rounding, and which published figures it reproduces
-----------------------------------------------------------
The four stride-2 3x3 max pools see 112, 56, 28 and 14 pixels. Caffe, which trained GoogLeNet,
rounds a pooled size *up*: ``ceil((112 - 3) / 2) + 1 = 56``, then 28, 14 and 7, the sizes Table 1
prints (``ceil_mode=True``, the default; floor rounding with a padding of 1 gives the same
sizes). PyTorch's default floor rounding without padding gives 55, 27, 13 and 6 instead
(``ceil_mode=False``), and every later layer does less work.

* ``ceil_mode=True`` (Table 1's sizes) reproduces Table 1's operations per layer: conv2 360M and
  the inception modules 3a 128M, 3b 304M, 4b 88M, 4c 100M, 4d 119M, 4e 170M, 5b 71M. Two rows are
  not the product of the true weights and the map size: 4a prints 73M (we count 73.6M) and 5a
  54M (we count 51.1M); both are the table's own *params* entries (364K and 1072K, with K = 1024)
  times H x W, and those two params entries are themselves off (we count 366.75K and 1018K).
  The whole network is then 1.58G MACs.
* ``ceil_mode=False`` (floor, no padding) reproduces the lecture's "Summary of Popular CNNs":
  conv MACs 1.43G (we count 1,430,532,352), conv weights 6.0M, FC weights and MACs 1M, total 7M
  and 1.43G. With floor rounding the last grid is 6 x 6, so the final pool must be a *global*
  average pool (the lecture's "Global Pooling"); at 7 x 7 it is Table 1's 7x7/1 average pool.

Weights do not depend on the rounding: 5,966,272 conv weights + 1,024,000 FC weights. (Table 1's
conv1 row says 2.7K params, but 7 x 7 x 3 x 64 = 9,408; the layer costs 118M MACs.)

The lecture's bottleneck slide ("854M -> 358M multiplications") is CS231n's example on module
3b's input (28x28x256) and outputs (128, 192 and 96 filters). Without reductions (Figure 2a)
it costs 854.2M MACs. The reduced module CS231n lists (64-filter reductions) adds up to 271.4M;
its 358M is what one gets if the 3x3 conv reads 128 channels. The real 3b costs 304.3M.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn

from cnnlib.published import Published
from cnnlib.registry import register_model


class InceptionRow(NamedTuple):
    """One row of Table 1: the filter counts M of each branch of one inception module."""

    name: str
    n1x1: int        # branch1x1: 1x1 conv
    n3x3_reduce: int  # branch3x3: 1x1 bottleneck ...
    n3x3: int        # ... then 3x3 conv
    n5x5_reduce: int  # branch5x5: 1x1 bottleneck ...
    n5x5: int        # ... then 5x5 conv
    pool_proj: int   # branch_pool: 3x3 max pool (stride 1) then 1x1 projection
    pool_after: bool  # a 3x3 stride-2 max pool follows the module

    @property
    def M(self) -> int:
        """Output channels: the four branches are concatenated."""
        return self.n1x1 + self.n3x3 + self.n5x5 + self.pool_proj


# Table 1 of the paper. The input of 3a is the stem's 28x28x192; each module's output channels are
# the sum of its #1x1, #3x3, #5x5 and pool proj columns (the output size column of Table 1).
INCEPTION_TABLE = [
    #            name  #1x1 #3x3red #3x3 #5x5red #5x5 pool_proj max pool after   output
    InceptionRow("3a",  64,  96, 128, 16,  32,  32, False),   # 28x28x256
    InceptionRow("3b", 128, 128, 192, 32,  96,  64, True),    # 28x28x480 -> 14x14x480
    InceptionRow("4a", 192,  96, 208, 16,  48,  64, False),   # 14x14x512
    InceptionRow("4b", 160, 112, 224, 24,  64,  64, False),   # 14x14x512
    InceptionRow("4c", 128, 128, 256, 24,  64,  64, False),   # 14x14x512
    InceptionRow("4d", 112, 144, 288, 32,  64,  64, False),   # 14x14x528
    InceptionRow("4e", 256, 160, 320, 32, 128, 128, True),    # 14x14x832 -> 7x7x832
    InceptionRow("5a", 256, 160, 320, 32, 128, 128, False),   # 7x7x832
    InceptionRow("5b", 384, 192, 384, 48, 128, 128, False),   # 7x7x1024
]
#: The auxiliary classifiers sit on the outputs of these modules (section 5 of the paper).
AUX_TAPS = ("4a", "4d")


class ConvReLU(nn.Sequential):
    """R x S convolution with a bias, then ReLU: the 2014 unit, before batch norm existed."""

    def __init__(self, C: int, M: int, R: int, stride: int = 1, padding: int | None = None):
        padding = (R - 1) // 2 if padding is None else padding  # "same" for odd R
        super().__init__(OrderedDict(
            conv=nn.Conv2d(C, M, R, stride, padding, bias=True),
            act=nn.ReLU(inplace=True),
        ))


class Inception(nn.Module):
    """The inception module with dimension reductions (Figure 2b): four branches, concatenated."""

    def __init__(self, C: int, row: InceptionRow):
        super().__init__()
        self.branch1x1 = ConvReLU(C, row.n1x1, 1)
        # The 1x1 bottleneck cuts the C input channels to n3x3_reduce before the 3x3 filters:
        # R*S*C*M becomes C*n_reduce + 9*n_reduce*M weights per output pixel.
        self.branch3x3 = nn.Sequential(ConvReLU(C, row.n3x3_reduce, 1),
                                       ConvReLU(row.n3x3_reduce, row.n3x3, 3))
        self.branch5x5 = nn.Sequential(ConvReLU(C, row.n5x5_reduce, 1),
                                       ConvReLU(row.n5x5_reduce, row.n5x5, 5))  # a true 5x5
        # Pooling keeps all C channels; the 1x1 projection stops them piling up module after module.
        self.branch_pool = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1),
                                         ConvReLU(C, row.pool_proj, 1))
        self.M = row.M

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        branches = [self.branch1x1(x), self.branch3x3(x), self.branch5x5(x), self.branch_pool(x)]
        return torch.cat(branches, dim=1)  # (N, M, H, W): same H, W in every branch


class AuxClassifier(nn.Module):
    """Auxiliary classifier on 4a or 4d (section 5): pool, 1x1 conv, two FC layers.

    The 5x5 stride-3 average pool turns the 14x14 grid into 4x4 (so the head needs the 224x224
    input with ``ceil_mode=True``); 4 * 4 * 128 = 2048 features go to the FC layer.
    """

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv = ConvReLU(C, 128, 1)
        self.fc1 = nn.Linear(128 * 4 * 4, 1024)
        self.act = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(0.7)
        self.fc2 = nn.Linear(1024, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(self.pool(x))           # (N, 128, 4, 4)
        x = self.act(self.fc1(torch.flatten(x, 1)))
        return self.fc2(self.dropout(x))      # (N, num_classes)


class GoogLeNet(nn.Module):
    def __init__(self, ceil_mode: bool = True, aux_logits: bool = False, num_classes: int = 1000,
                 dropout: float = 0.4):
        super().__init__()

        def max_pool() -> nn.MaxPool2d:  # the stride-2 pools between stages
            return nn.MaxPool2d(3, stride=2, ceil_mode=ceil_mode)

        def lrn() -> nn.LocalResponseNorm:  # Caffe's LRN: 5 channels, alpha 1e-4, beta 0.75, k 1
            return nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=1.0)

        # Table 1's first rows, with the LRN layers of Figure 3.
        self.stem = nn.Sequential(OrderedDict(
            conv1=ConvReLU(3, 64, 7, stride=2),       # 224x224x3 -> 112x112x64
            pool1=max_pool(),                         # -> 56x56x64 (55 with floor)
            norm1=lrn(),
            conv2_reduce=ConvReLU(64, 64, 1),         # Table 1's "#3x3 reduce" of conv2
            conv2=ConvReLU(64, 192, 3),               # -> 56x56x192
            norm2=lrn(),
            pool2=max_pool(),                         # -> 28x28x192 (27 with floor)
        ))
        blocks: OrderedDict[str, nn.Module] = OrderedDict()
        aux: OrderedDict[str, nn.Module] = OrderedDict()
        C = 192
        for row in INCEPTION_TABLE:
            blocks[f"inception{row.name}"] = Inception(C, row)
            if aux_logits and row.name in AUX_TAPS:
                aux[f"inception{row.name}"] = AuxClassifier(row.M, num_classes)
            if row.pool_after:
                blocks[f"pool{row.name[0]}"] = max_pool()
            C = row.M
        self.blocks = nn.ModuleDict(blocks)
        self.aux = nn.ModuleDict(aux)
        self.avgpool = nn.AdaptiveAvgPool2d(1)  # global: 7x7/1 at Table 1's sizes
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(C, num_classes)     # 1024 -> 1000, the only FC layer

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, ...]:
        x = self.stem(x)                         # (N, 192, 28, 28)
        aux_scores = []
        for name, block in self.blocks.items():
            x = block(x)
            if self.training and name in self.aux:
                aux_scores.append(self.aux[name](x))
        x = torch.flatten(self.avgpool(x), 1)    # (N, 1024)
        scores = self.fc(self.dropout(x))        # (N, num_classes)
        return (scores, *aux_scores) if aux_scores else scores


_LECTURE = "slide 'Summary of Popular CNNs'"
_FLOOR = {"ceil_mode": False}
_FLOOR_NOTE = ("the lecture's MACs are reproduced with floor rounding in the max pools "
               "(55/27/13/6 grids, ceil_mode=False); Caffe's ceil rounding (Table 1) gives 1.58G")


@register_model(paper="szegedy2015going", table="Table 1 and Figure 3", published=[
    Published("conv_weights", "6.0M", "lecture", _LECTURE),
    Published("conv_macs", "1.43G", "lecture", _LECTURE, kwargs=_FLOOR, note=_FLOOR_NOTE),
    Published("fc_weights", "1M", "lecture", _LECTURE),
    Published("fc_macs", "1M", "lecture", _LECTURE),
    Published("weights", "7M", "lecture", _LECTURE),
    Published("macs", "1.43G", "lecture", _LECTURE, kwargs=_FLOOR, note=_FLOOR_NOTE),
    Published("macs", "1.5G", "szegedy2015going", "section 5", rel_tol=0.056,
              note="a design budget ('1.5 billion multiply-adds at inference time'), not a count: "
                   "the network as built is 1.58G at Table 1's sizes (5.5% over) and 1.43G with "
                   "floor rounding"),
    Published("macs", "1550M", "howard2017mobilenets", "Table 8", rel_tol=0.022,
              note="MobileNet's GoogleNet row (69.8% is TF-slim's inception_v1 accuracy) is 2.1% "
                   "below our 1,582.7M at Table 1's sizes and 8% above the floor-rounded 1.43G; "
                   "no rounding or 5x5/3x3 variant gives 1550M (TF-slim's 3x3 variant: 1.50G)"),
    Published("params", "6.8M", "howard2017mobilenets", "Table 8", rel_tol=0.03,
              note="we count 6,998,552 parameters (6,990,272 weights + 8,280 biases); TF-slim's "
                   "variant (3x3 '5x5' filters, BN) has 6.6M: 6.8M matches neither, 2.9% off"),
])
def googlenet(*, ceil_mode: bool = True, aux_logits: bool = False,
              num_classes: int = 1000) -> GoogLeNet:
    """GoogLeNet (Inception v1): nine inception modules, LRN, no batch norm, true 5x5 filters."""
    return GoogLeNet(ceil_mode=ceil_mode, aux_logits=aux_logits, num_classes=num_classes)
