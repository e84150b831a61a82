"""Inception v3 (Szegedy, Vanhoucke, Ioffe, Shlens & Wojna, "Rethinking the Inception
Architecture for Computer Vision", CVPR 2016).

Inception v3 goes deeper than GoogLeNet (42 layers instead of 22) at 3.6x its MACs by making
each filter cheaper. Two factorizations do it (the lecture's "Reduce Spatial Size (R, S):
Stacked Small Filters"):

* a 5x5 filter becomes two stacked 3x3 filters (Figure 5): 18 weights per channel pair instead
  of 25, the same 5x5 receptive field, and one more non-linearity;
* an n x n filter becomes a 1 x n followed by an n x 1 (Figures 6 and 7): 2n weights instead of
  n^2, which pays off most for large n; the 17x17 modules use n = 7 (14 weights instead of 49).

Between grids, a *grid reduction* module (Figure 10) halves H and W with stride-2 convolutions
in parallel with a stride-2 pool, rather than pooling first (which loses information) or
convolving first at full size (which costs 4x).

This file builds the network as the paper's reference implementation does (TF-slim's
``inception_v3``, which torchvision and Keras copy), 299x299 input, batch norm after every
convolution: the three grid stages of Table 1 are transcribed as rows of filter counts below.
The implementation differs from the letter of Table 1 and Figure 5 in ways worth knowing:

* the 35x35 modules keep a single 5x5 branch (48 -> 64 filters) *beside* the double-3x3 branch
  that Figure 5 draws;
* Table 1's stem ends with conv 3x3 (80), conv 3x3/2 (192), conv 3x3 (288); the implementation
  uses conv 1x1 (80), conv 3x3 (192) and a 3x3/2 max pool, and enters the 35x35 grid with 192
  channels;
* Table 1 lists "3 x Inception" at 35x35, "5 x Inception" at 17x17 and "2 x Inception" at 8x8;
  the implementation has 3, 4 and 2 such modules, with a grid reduction between the grids.

The auxiliary classifier on the 17x17 grid (section 4, with batch norm: "BN-auxiliary") is built
only with ``aux_logits=True`` and runs only in training, as in torchvision.

The smallest input the network accepts is 75x75: the two stride-2 3x3 convolutions of the
reductions need at least 3x3 maps.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

import torch
from torch import nn

from cnnlib.models.layers import ConvBNAct
from cnnlib.published import Published
from cnnlib.registry import register_model

BN_EPS = 1e-3  # TensorFlow's batch norm epsilon, kept by every port of the reference model


def conv_bn(C: int, M: int, R: int | tuple[int, int], stride: int = 1,
            padding: int | tuple[int, int] | None = None) -> ConvBNAct:
    """Conv (no bias), batch norm, ReLU. ``padding=None`` keeps H and W ("same")."""
    return ConvBNAct(C, M, R, stride, padding, bn_eps=BN_EPS)


class InceptionBlock(nn.Module):
    """A module of the table below; its branches' outputs, concatenated, have ``M`` channels."""

    M: int


class InceptionRow(NamedTuple):
    """One module: its filter counts M, read by its block class as in the column comments."""

    name: str
    block: type[InceptionBlock]
    n1x1: int        # branch1x1 (0: none)
    n_reduce: int    # branch 2: 1x1 bottleneck (0: none) ...
    n: int           # ... then its large or factorized filter
    dbl_reduce: int  # branch 3: 1x1 bottleneck ...
    dbl: int         # ... then a stack of two (or more) filters
    pool_proj: int   # branch_pool: pool then 1x1 projection (0: pool only, all C channels pass)


class InceptionA(InceptionBlock):
    """35x35 module (Figure 5): 1x1 | 1x1 -> 5x5 | 1x1 -> 3x3 -> 3x3 | avg pool -> 1x1."""

    def __init__(self, C: int, row: InceptionRow):
        super().__init__()
        self.branch1x1 = conv_bn(C, row.n1x1, 1)
        self.branch5x5 = nn.Sequential(conv_bn(C, row.n_reduce, 1), conv_bn(row.n_reduce, row.n, 5))
        # Two 3x3 filters see the same 5x5 window as one 5x5: 2 * 9 = 18 weights, not 25.
        self.branch3x3dbl = nn.Sequential(conv_bn(C, row.dbl_reduce, 1), conv_bn(row.dbl_reduce, row.dbl, 3),
                                          conv_bn(row.dbl, row.dbl, 3))
        self.branch_pool = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), conv_bn(C, row.pool_proj, 1))
        self.M = row.n1x1 + row.n + row.dbl + row.pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x), self.branch5x5(x), self.branch3x3dbl(x),
                          self.branch_pool(x)], dim=1)


class InceptionB(InceptionBlock):
    """Grid reduction 35 -> 17 (Figure 10): 3x3/2 | 1x1 -> 3x3 -> 3x3/2 | max pool 3x3/2."""

    def __init__(self, C: int, row: InceptionRow):
        super().__init__()
        self.branch3x3 = conv_bn(C, row.n, 3, stride=2, padding=0)  # no bottleneck in this branch
        self.branch3x3dbl = nn.Sequential(conv_bn(C, row.dbl_reduce, 1), conv_bn(row.dbl_reduce, row.dbl, 3),
                                          conv_bn(row.dbl, row.dbl, 3, stride=2, padding=0))
        self.branch_pool = nn.MaxPool2d(3, stride=2)  # passes all C channels: the "expanded filter bank"
        self.M = row.n + row.dbl + C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3(x), self.branch3x3dbl(x), self.branch_pool(x)], dim=1)


class InceptionC(InceptionBlock):
    """17x17 module (Figure 6, n = 7): 7x7 filters factorized into 1x7 and 7x1.

    1x1 | 1x1 -> 1x7 -> 7x1 | 1x1 -> 7x1 -> 1x7 -> 7x1 -> 1x7 | avg pool -> 1x1. The bottleneck
    width (``n_reduce`` = ``dbl_reduce``, torchvision's ``channels_7x7``) is kept through each
    stack until its last filter.
    """

    def __init__(self, C: int, row: InceptionRow):
        super().__init__()
        c7, d7 = row.n_reduce, row.dbl_reduce
        self.branch1x1 = conv_bn(C, row.n1x1, 1)
        self.branch7x7 = nn.Sequential(conv_bn(C, c7, 1), conv_bn(c7, c7, (1, 7)), conv_bn(c7, row.n, (7, 1)))
        self.branch7x7dbl = nn.Sequential(conv_bn(C, d7, 1), conv_bn(d7, d7, (7, 1)), conv_bn(d7, d7, (1, 7)),
                                          conv_bn(d7, d7, (7, 1)), conv_bn(d7, row.dbl, (1, 7)))
        self.branch_pool = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), conv_bn(C, row.pool_proj, 1))
        self.M = row.n1x1 + row.n + row.dbl + row.pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch1x1(x), self.branch7x7(x), self.branch7x7dbl(x),
                          self.branch_pool(x)], dim=1)


class InceptionD(InceptionBlock):
    """Grid reduction 17 -> 8: 1x1 -> 3x3/2 | 1x1 -> 1x7 -> 7x1 -> 3x3/2 | max pool 3x3/2."""

    def __init__(self, C: int, row: InceptionRow):
        super().__init__()
        d = row.dbl_reduce
        self.branch3x3 = nn.Sequential(conv_bn(C, row.n_reduce, 1),
                                       conv_bn(row.n_reduce, row.n, 3, stride=2, padding=0))
        self.branch7x7x3 = nn.Sequential(conv_bn(C, d, 1), conv_bn(d, d, (1, 7)), conv_bn(d, d, (7, 1)),
                                         conv_bn(d, row.dbl, 3, stride=2, padding=0))
        self.branch_pool = nn.MaxPool2d(3, stride=2)
        self.M = row.n + row.dbl + C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.branch3x3(x), self.branch7x7x3(x), self.branch_pool(x)], dim=1)


class InceptionE(InceptionBlock):
    """8x8 module (Figure 7): the 1x3 and 3x1 filters run side by side, widening the output.

    1x1 | 1x1 -> (1x3 and 3x1) | 1x1 -> 3x3 -> (1x3 and 3x1) | avg pool -> 1x1. Each split branch
    concatenates its two halves, so it gives 2 * M channels.
    """

    def __init__(self, C: int, row: InceptionRow):
        super().__init__()
        self.branch1x1 = conv_bn(C, row.n1x1, 1)
        self.branch3x3_reduce = conv_bn(C, row.n_reduce, 1)
        self.branch3x3_1x3 = conv_bn(row.n_reduce, row.n, (1, 3))
        self.branch3x3_3x1 = conv_bn(row.n_reduce, row.n, (3, 1))
        self.branch3x3dbl = nn.Sequential(conv_bn(C, row.dbl_reduce, 1), conv_bn(row.dbl_reduce, row.dbl, 3))
        self.branch3x3dbl_1x3 = conv_bn(row.dbl, row.dbl, (1, 3))
        self.branch3x3dbl_3x1 = conv_bn(row.dbl, row.dbl, (3, 1))
        self.branch_pool = nn.Sequential(nn.AvgPool2d(3, stride=1, padding=1), conv_bn(C, row.pool_proj, 1))
        self.M = row.n1x1 + 2 * row.n + 2 * row.dbl + row.pool_proj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b3 = self.branch3x3_reduce(x)
        d3 = self.branch3x3dbl(x)
        return torch.cat([self.branch1x1(x),
                          self.branch3x3_1x3(b3), self.branch3x3_3x1(b3),
                          self.branch3x3dbl_1x3(d3), self.branch3x3dbl_3x1(d3),
                          self.branch_pool(x)], dim=1)


# The stem (Table 1's first rows, as the reference implementation builds them):
# (R, M, stride, padding) of a conv + BN + ReLU, or "pool" for a 3x3 stride-2 max pool.
STEM: list[tuple[int, int, int, int] | str] = [
    (3, 32, 2, 0),    # 299x299x3 -> 149x149x32
    (3, 32, 1, 0),    # -> 147x147x32
    (3, 64, 1, 1),    # -> 147x147x64
    "pool",           # -> 73x73x64
    (1, 80, 1, 0),    # -> 73x73x80
    (3, 192, 1, 0),   # -> 71x71x192
    "pool",           # -> 35x35x192
]

# The grid stages of Table 1 (Figures 5, 10, 6, 7): one row per module, in the order they run.
# Output channels of each module = the sum of its branches' outputs (see each block's ``M``).
INCEPTION_TABLE = [
    #            name       block       #1x1 #reduce  #n #dbl_reduce #dbl pool_proj     output
    InceptionRow("Mixed_5b", InceptionA,  64,   48,   64,   64,   96,   32),   # 35x35x256
    InceptionRow("Mixed_5c", InceptionA,  64,   48,   64,   64,   96,   64),   # 35x35x288
    InceptionRow("Mixed_5d", InceptionA,  64,   48,   64,   64,   96,   64),   # 35x35x288
    InceptionRow("Mixed_6a", InceptionB,   0,    0,  384,   64,   96,    0),   # 17x17x768
    InceptionRow("Mixed_6b", InceptionC, 192,  128,  192,  128,  192,  192),   # 17x17x768
    InceptionRow("Mixed_6c", InceptionC, 192,  160,  192,  160,  192,  192),   # 17x17x768
    InceptionRow("Mixed_6d", InceptionC, 192,  160,  192,  160,  192,  192),   # 17x17x768
    InceptionRow("Mixed_6e", InceptionC, 192,  192,  192,  192,  192,  192),   # 17x17x768
    InceptionRow("Mixed_7a", InceptionD,   0,  192,  320,  192,  192,    0),   # 8x8x1280
    InceptionRow("Mixed_7b", InceptionE, 320,  384,  384,  448,  384,  192),   # 8x8x2048
    InceptionRow("Mixed_7c", InceptionE, 320,  384,  384,  448,  384,  192),   # 8x8x2048
]
#: The auxiliary classifier sits on the output of this module (the last 17x17 one).
AUX_TAP = "Mixed_6e"


class InceptionAux(nn.Module):
    """Auxiliary classifier on the 17x17 grid: 5x5/3 avg pool, 1x1 conv, 5x5 conv, FC.

    The 5x5 conv covers its whole 5x5 input, so the cost counter lists it as an FC layer.
    """

    def __init__(self, C: int, num_classes: int):
        super().__init__()
        self.pool = nn.AvgPool2d(5, stride=3)
        self.conv0 = conv_bn(C, 128, 1)
        self.conv1 = conv_bn(128, 768, 5, padding=0)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(self.conv0(self.pool(x)))    # (N, 768, 1, 1) at 17x17
        return self.fc(torch.flatten(self.avgpool(x), 1))


class InceptionV3(nn.Module):
    def __init__(self, aux_logits: bool = False, num_classes: int = 1000, dropout: float = 0.2):
        super().__init__()
        stem: list[nn.Module] = []
        C = 3
        for step in STEM:
            if isinstance(step, str):   # "pool"
                stem.append(nn.MaxPool2d(3, stride=2))
            else:
                R, M, stride, padding = step
                stem.append(conv_bn(C, M, R, stride, padding))
                C = M
        self.stem = nn.Sequential(*stem)
        blocks: dict[str, InceptionBlock] = {}
        for row in INCEPTION_TABLE:
            block = row.block(C, row)
            blocks[row.name] = block
            C = block.M
        self.blocks = nn.Sequential(OrderedDict(blocks))
        self.aux = InceptionAux(blocks[AUX_TAP].M, num_classes) if aux_logits else None
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)  # TF-slim's keep_prob 0.8; torchvision uses 0.5
        self.fc = nn.Linear(C, num_classes)  # 2048 -> 1000

    def forward(self, x: torch.Tensor) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        x = self.stem(x)                       # (N, 192, 35, 35) at 299x299
        aux = None
        for name, block in self.blocks.named_children():
            x = block(x)                       # 35x35 -> 17x17 -> 8x8 grids
            if self.aux is not None and self.training and name == AUX_TAP:
                aux = self.aux(x)
        x = torch.flatten(self.avgpool(x), 1)  # (N, 2048)
        scores = self.fc(self.dropout(x))
        return (scores, aux) if aux is not None else scores


_TV = "torchvision model documentation"


@register_model(paper="szegedy2016rethinking", table="Table 1 and Figures 5, 6, 7, 10",
                input_size=(3, 299, 299), published=[
    Published("params", "27,161,264", "torchvision", _TV, kwargs={"aux_logits": True}),
    Published("params", "23,834,568", "torchvision", "inception_v3(aux_logits=False)",
              note="torchvision's documented 27,161,264 less the 3,326,696 of its auxiliary head"),
    Published("macs", "5.71G", "torchvision", _TV,
              note="torchvision's 'GFLOPS' column is multiply-accumulates, at 299x299"),
    Published("macs", "5G", "szegedy2016rethinking", "abstract and section 8", rel_tol=0.15,
              note="the paper's round '5 billion multiply-adds'; the network it released counts "
                   "5.71G (14% more), and the paper gives no breakdown to reconcile them"),
    Published("params", "25M", "szegedy2016rethinking", "abstract and section 8", rel_tol=0.05,
              note="an upper bound ('less than 25 million parameters'): we count 23.8M, 4.7% under"),
    Published("params", "23,626,728", "chollet2017xception", "Table 3", rel_tol=0.009,
              note="Xception's Inception V3 has 207,840 (0.9%) fewer parameters than the "
                   "reference network (Keras's trainable count is 23,817,352, ours without BN's "
                   "scale); the paper does not say which variant it trained"),
])
def inception_v3(*, aux_logits: bool = False, num_classes: int = 1000) -> InceptionV3:
    """Inception v3: factorized 3x3, 1x7/7x1 and 1x3/3x1 filters, batch norm, 299x299 input."""
    return InceptionV3(aux_logits=aux_logits, num_classes=num_classes)
