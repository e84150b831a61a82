"""LeNet-5 (LeCun, Bottou, Bengio & Haffner, Proc. IEEE 1998), Section II.B, Figure 2, Table I.

The network reads a 32 x 32 field (the 28 x 28 MNIST digit is centred in it, so that strokes
reach the centre of the top feature detectors) and is, layer by layer:

    C1  conv 5x5, 6 maps      -> 28x28     S2  subsampling 2x2 -> 14x14
    C3  conv 5x5, 16 maps     -> 10x10     S4  subsampling 2x2 -> 5x5
    C5  conv 5x5, 120 maps    -> 1x1       F6  fully connected, 84 units
    output: 10 Euclidean RBF units, one per class

Three details of the paper change its counts and are kept here:

* **C3 is sparsely connected** (Table I): each of the 16 maps sees 3, 4 or 6 of the six S2
  maps, 60 map pairs instead of 96, "to break symmetry" and to keep the number of connections
  in bounds. ``c3="full"`` gives the fully connected C3 that most re-implementations use.
* **S2 and S4 are trainable**: a subsampling unit sums its 2 x 2 inputs, multiplies the sum by
  a per-map coefficient and adds a per-map bias.
* **The output layer's parameters are fixed** (drawn by hand as 7 x 12 bitmaps), so they are a
  buffer here, not parameters. We do not have LeCun's bitmaps; fixed +-1 codes (rows of a
  Hadamard matrix) play their part. ``output="linear"`` gives a trainable 84 -> 10 layer.

With these, the model has exactly the paper's 60,000 trainable parameters and 340,908
connections. The non-linearity is LeCun's scaled tanh, ``1.7159 tanh(2a/3)`` (the lecture calls
it a sigmoid: it is one, scaled to [-1.7159, 1.7159]).

The lecture's LeNet-5 column mixes conventions; each of its figures is reproduced in the
``published`` list below with the convention it comes from (see the notes there).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from cnnlib.published import Published
from cnnlib.registry import register_model

# Table I of the paper: the S2 maps (columns 0-5) that each C3 map (0-15) is connected to.
C3_TABLE: tuple[tuple[int, ...], ...] = (
    (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5), (4, 5, 0), (5, 0, 1),     # 6 maps: 3 neighbours
    (0, 1, 2, 3), (1, 2, 3, 4), (2, 3, 4, 5), (3, 4, 5, 0), (4, 5, 0, 1),  # 6 maps: 4 neighbours
    (5, 0, 1, 2),
    (0, 1, 3, 4), (1, 2, 4, 5), (0, 2, 3, 5),                            # 3 maps: 4 non-neighbours
    (0, 1, 2, 3, 4, 5),                                                  # 1 map: all six
)


class ScaledTanh(nn.Module):
    """LeCun's squashing function ``A tanh(S a)`` with A = 1.7159 and S = 2/3 (Appendix A)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 1.7159 * torch.tanh(x * (2.0 / 3.0))


class Subsampling(nn.Module):
    """S2 / S4: sum each 2 x 2 window, times a trainable per-map coefficient, plus a bias."""

    def __init__(self, C: int):
        super().__init__()
        self.coefficient = nn.Parameter(torch.ones(C))
        self.bias = nn.Parameter(torch.zeros(C))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        window_sum = F.avg_pool2d(x, 2, divisor_override=1)       # (N, C, H/2, W/2)
        return torch.addcmul(self.bias.view(1, -1, 1, 1), window_sum, self.coefficient.view(1, -1, 1, 1))


class SparseConv2d(nn.Module):
    """A convolution in which output map m sees only the input maps ``table[m]`` (C3).

    Maps with the same number of inputs are computed together as one grouped convolution over
    the gathered input maps (C3: six maps with 3 inputs, nine with 4, one with 6), so the layer
    runs as three convolutions instead of sixteen.
    """

    def __init__(self, table: Sequence[Sequence[int]], R: int):
        super().__init__()
        self.table, self.R = [tuple(t) for t in table], R
        fan_ins = [len(t) for t in self.table]
        if fan_ins != sorted(fan_ins):
            raise ValueError("list the maps of a sparse table by growing number of inputs")
        self.runs = [(k, fan_ins.count(k)) for k in sorted(set(fan_ins))]   # (inputs, maps)
        self.weight = nn.Parameter(torch.empty(sum(fan_ins) * R * R))
        self.bias = nn.Parameter(torch.zeros(len(table)))
        nn.init.uniform_(self.weight, -0.1, 0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        kernels = self.weight.split([k * maps * self.R * self.R for k, maps in self.runs])
        outputs, first = [], 0
        for (k, maps), w in zip(self.runs, kernels, strict=True):
            inputs = [c for t in self.table[first:first + maps] for c in t]
            outputs.append(F.conv2d(x[:, inputs], w.view(maps, k, self.R, self.R), groups=maps))
            first += maps
        return torch.cat(outputs, dim=1) + self.bias.view(1, -1, 1, 1)   # (N, 16, 10, 10)


@functools.cache
def _hadamard_codes(C: int, classes: int) -> torch.Tensor:
    """Rows 1.. of a Sylvester-Hadamard matrix: +-1 codes that differ in half of their places.

    Made once, on the CPU; each model gets its own copy on its own device.
    """
    codes = [[1.0 - 2.0 * (bin(i & j).count("1") % 2) for j in range(C)] for i in range(1, classes + 1)]
    return torch.tensor(codes, device="cpu")


class EuclideanRBF(nn.Module):
    """Output units: the squared distance of the 84-vector to each class's fixed prototype."""

    prototypes: torch.Tensor   # (classes, C): a buffer, fixed +1/-1 codes

    def __init__(self, C: int, classes: int):
        super().__init__()
        codes = _hadamard_codes(C, classes).to(torch.get_default_device(), copy=True)
        self.register_buffer("prototypes", codes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ((x.unsqueeze(1) - self.prototypes) ** 2).sum(dim=2)   # (N, classes): a penalty


class LeNet5(nn.Module):
    def __init__(self, c3: str = "lecun", output: str = "rbf", num_classes: int = 10):
        super().__init__()
        if c3 not in ("lecun", "full"):
            raise ValueError(f"c3 must be 'lecun' (Table I) or 'full', got {c3!r}")
        if output not in ("rbf", "linear"):
            raise ValueError(f"output must be 'rbf' or 'linear', got {output!r}")
        self.c1 = nn.Conv2d(1, 6, 5)
        self.act1 = ScaledTanh()
        self.s2 = Subsampling(6)
        self.act2 = ScaledTanh()
        self.c3 = SparseConv2d(C3_TABLE, 5) if c3 == "lecun" else nn.Conv2d(6, 16, 5)
        self.act3 = ScaledTanh()
        self.s4 = Subsampling(16)
        self.act4 = ScaledTanh()
        self.c5 = nn.Conv2d(16, 120, 5)  # 5x5 filters on a 5x5 map: an FC layer in disguise
        self.act5 = ScaledTanh()
        self.f6 = nn.Linear(120, 84)
        self.act6 = ScaledTanh()
        self.output = EuclideanRBF(84, num_classes) if output == "rbf" else nn.Linear(84, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act2(self.s2(self.act1(self.c1(x))))   # (N, 6, 14, 14)
        x = self.act4(self.s4(self.act3(self.c3(x))))   # (N, 16, 5, 5)
        x = self.act5(self.c5(x)).flatten(1)            # (N, 120)
        return self.output(self.act6(self.f6(x)))       # (N, 10)


_LECTURE = "slide 'Summary of Popular CNNs'"
_PAPER = "Section II.B"


@register_model(paper="lecun1998gradient", table="Section II.B, Figure 2 and Table I",
                input_size=(1, 32, 32), published=[
    Published("params", "60,000", "lecun1998gradient", _PAPER,
              note="trainable parameters: sparse C3, biases and subsampling coefficients included"),
    Published("connections", "340,908", "lecun1998gradient", _PAPER,
              note="every input edge of every unit: biases, subsampling and RBF output included"),
    Published("conv_weights", "2.6k", "lecture", _LECTURE, kwargs={"c3": "full"},
              note="C1 + C3 filter weights (150 + 2,400) with a fully connected C3, as most "
                   "re-implementations have it; LeCun's sparse C3 has 1,500 (1,650 in all)"),
    Published("connections - fc_macs", "283k", "lecture", _LECTURE,
              note="the table's conv MACs are the paper's 340,908 connections minus the FC "
                   "MACs (58,080) = 282,828: no count of C1 and C3 gives 283k (they need "
                   "267,600 MACs with the sparse C3, 357,600 with a full one)"),
    Published("fc_weights", "58k", "lecture", _LECTURE,
              note="C5 (48,000) and F6 (10,080): C5's 5x5 filters cover its 5x5 input, which "
                   "makes it an FC layer by the lecture's definition; the RBF output is not counted"),
    Published("fc_macs", "58k", "lecture", _LECTURE, note="C5 and F6, one MAC per weight"),
    Published("params", "60k", "lecture", _LECTURE,
              note="the lecture's total is the paper's 60,000 trainable parameters, not the sum "
                   "of its conv and FC rows (2.6k + 58k would round to 61k)"),
    Published("connections", "341k", "lecture", _LECTURE,
              note="the lecture's total MACs are the paper's 340,908 connections; the conv and "
                   "FC MACs alone are 325,680"),
])
def lenet5(*, c3: str = "lecun", output: str = "rbf", num_classes: int = 10) -> LeNet5:
    """LeNet-5 as in the 1998 paper: sparse C3, trainable subsampling, fixed RBF output."""
    return LeNet5(c3=c3, output=output, num_classes=num_classes)
