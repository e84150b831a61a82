"""NASNet-A (Zoph, Vasudevan, Shlens & Le, CVPR 2018, "Learning Transferable Architectures for
Scalable Image Recognition"), the mobile model "NASNet-A (4 @ 1056)" of Table 3
(the mobile setting, under 1.5B mult-adds).

The lecture's example of neural architecture search: instead of a whole network, the search
finds two *cells*, a Normal cell (keeps H x W) and a Reduction cell (halves H x W), and the
network is a hand-written stack of them (Figure 2). A cell takes the outputs of the two previous
cells, h_i and h_{i-1}, and builds five *combinations*: each picks two hidden states, applies an
operation from the search space to each (separable convolutions, pooling, identity) and adds
the two results. The cell's output concatenates a fixed set of its hidden states. Figure 4
draws the two cells; ``NORMAL_CELL`` and ``REDUCTION_CELL`` below transcribe it.

Details follow the authors' TF-Slim code (tensorflow/models research/slim/nets/nasnet), which
also fixes the parameter count: every "separable" operation is applied *twice* (ReLU, depth-wise
R x R conv, point-wise 1x1 conv, BN, then again with stride 1); a cell first maps h_i to F
channels with ReLU-1x1 conv-BN, and h_{i-1} too when its channels or size differ (with a
"factorized reduction", two 1x1 convs on the even and on the odd pixels, when it is twice as
large). The ImageNet stem is a 3x3 conv with 32 filters and stride 2 (no padding: 224 -> 111),
then two reduction cells with F/4 and F/2 filters. Three stacks of N normal cells follow, with a
reduction cell between stacks; F doubles at each reduction. "4 @ 1056" means N = 4 and 1056
channels before the classifier (6 states x 4F with F = 44). TF pads "SAME" (one more pixel at
the bottom right when the stride is 2); symmetric padding gives the same sizes and counts.
Drop path and the auxiliary head are training aids and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

import torch
from torch import nn

from cnnlib.models.layers import ConvBNAct
from cnnlib.published import Published
from cnnlib.registry import register_model

BN_EPS = 1e-3  # TF-Slim's batch norm epsilon in NASNet


class Op(Enum):
    """The operations NASNet-A's cells use, out of the 13 of the search space (Section 3; the
    lecture's slide lists 12 of them). "identity" is the paper's name for TF's "none"."""

    SEP_3x3 = 3      # separable convolutions, each applied twice; the value is R = S
    SEP_5x5 = 5
    SEP_7x7 = 7
    AVG_3x3 = "avg"  # 3x3 pooling, stride 1 or 2
    MAX_3x3 = "max"
    IDENTITY = "identity"


@dataclass(frozen=True)
class CellSpec:
    """A searched cell. Hidden states: 0 is h_i (the previous cell), 1 is h_{i-1} (the one before),
    2 + k is the output of combination k. ``combinations`` lists (left op, left input, right op,
    right input); their two results are added. ``concat`` lists the states making the output."""

    combinations: tuple[tuple[Op, int, Op, int], ...]
    concat: tuple[int, ...]
    reduction: bool


# Figure 4 (left) of the paper; nasnet_utils.NasNetANormalCell.
NORMAL_CELL = CellSpec(
    combinations=(
        # left op     input  right op     input
        (Op.SEP_5x5, 0, Op.SEP_3x3, 1),
        (Op.SEP_5x5, 1, Op.SEP_3x3, 1),
        (Op.AVG_3x3, 0, Op.IDENTITY, 1),
        (Op.AVG_3x3, 1, Op.AVG_3x3, 1),
        (Op.SEP_3x3, 0, Op.IDENTITY, 0),
    ),
    concat=(1, 2, 3, 4, 5, 6),  # h_{i-1} and all five combinations: 6F channels
    reduction=False,
)

# Figure 4 (right) of the paper; nasnet_utils.NasNetAReductionCell. Operations on h_i and h_{i-1}
# have stride 2; those on combinations (states 2, 3) are already at the reduced size.
REDUCTION_CELL = CellSpec(
    combinations=(
        (Op.SEP_5x5, 0, Op.SEP_7x7, 1),
        (Op.MAX_3x3, 0, Op.SEP_7x7, 1),
        (Op.AVG_3x3, 0, Op.SEP_5x5, 1),
        (Op.IDENTITY, 3, Op.AVG_3x3, 2),
        (Op.SEP_3x3, 2, Op.MAX_3x3, 0),
    ),
    concat=(3, 4, 5, 6),  # combinations 1-4 (combination 0 only feeds 3 and 4): 4F channels
    reduction=True,
)


class ReLUConvBN(nn.Sequential):
    """ReLU, 1x1 conv, BN: how a cell brings an input to F channels (NASNet puts ReLU first)."""

    def __init__(self, C: int, M: int, stride: int = 1):
        super().__init__()
        self.act = nn.ReLU()
        self.conv = nn.Conv2d(C, M, 1, stride, bias=False)
        self.bn = nn.BatchNorm2d(M, eps=BN_EPS)


class SepConvStack(nn.Sequential):
    """NASNet's "separable R x R": ReLU, R x R depth-wise conv, 1x1 point-wise conv, BN, twice.

    Only the first depth-wise conv has the stride; the first point-wise conv already maps the C
    input channels to the cell's M filters. Weights: ``RSC + CM + RSM + MM``.
    """

    def __init__(self, C: int, M: int, R: int, stride: int):
        super().__init__()
        self.act1 = nn.ReLU()
        self.conv_dw1 = nn.Conv2d(C, C, R, stride, R // 2, groups=C, bias=False)
        self.conv_pw1 = nn.Conv2d(C, M, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(M, eps=BN_EPS)
        self.act2 = nn.ReLU()
        self.conv_dw2 = nn.Conv2d(M, M, R, 1, R // 2, groups=M, bias=False)
        self.conv_pw2 = nn.Conv2d(M, M, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(M, eps=BN_EPS)


class Pool(nn.Sequential):
    """3x3 average or max pooling, then a 1x1 conv and BN if the channels must change."""

    def __init__(self, kind: Op, C: int, M: int, stride: int):
        super().__init__()
        self.pool: nn.AvgPool2d | nn.MaxPool2d
        if kind is Op.AVG_3x3:  # TF's "SAME" average pooling leaves the padding out of the mean
            self.pool = nn.AvgPool2d(3, stride, 1, count_include_pad=False)
        else:
            self.pool = nn.MaxPool2d(3, stride, 1)
        if C != M:
            self.conv = nn.Conv2d(C, M, 1, bias=False)
            self.bn = nn.BatchNorm2d(M, eps=BN_EPS)


def make_op(op: Op, C: int, M: int, stride: int) -> nn.Module:
    """The module of one operation, from C input channels to the cell's M filters."""
    if op is Op.IDENTITY:  # nasnet_utils: "none" becomes a strided 1x1 conv where it must
        return ReLUConvBN(C, M, stride) if stride > 1 or C != M else nn.Identity()
    if op in (Op.AVG_3x3, Op.MAX_3x3):
        return Pool(op, C, M, stride)
    assert isinstance(op.value, int)
    return SepConvStack(C, M, op.value, stride)


class FactorizedReduction(nn.Module):
    """Halve H and W of h_{i-1} without dropping pixels: 1x1 convs on the even and the odd pixels.

    Path 1 takes every other pixel starting at (0, 0), path 2 the ones starting at (1, 1) (TF pads
    one zero row and column at the bottom right first); each 1x1 conv makes M/2 channels.
    """

    def __init__(self, C: int, M: int):
        super().__init__()
        self.act = nn.ReLU()
        self.pool = nn.AvgPool2d(1, stride=2)  # a 1x1 "pool" with stride 2: subsampling
        self.conv_path1 = nn.Conv2d(C, M // 2, 1, bias=False)
        self.conv_path2 = nn.Conv2d(C, M - M // 2, 1, bias=False)
        self.bn = nn.BatchNorm2d(M, eps=BN_EPS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.act(x)
        path1 = self.conv_path1(self.pool(x))
        shifted = nn.functional.pad(x, (0, 1, 0, 1))[:, :, 1:, 1:]   # shift by one pixel
        path2 = self.conv_path2(self.pool(shifted))
        return self.bn(torch.cat([path1, path2], 1))


class Combination(nn.Module):
    """One of a cell's five combinations: an operation on each of two hidden states, then a sum."""

    def __init__(self, op_left: Op, C_left: int, stride_left: int,
                 op_right: Op, C_right: int, stride_right: int, M: int):
        super().__init__()
        self.left = make_op(op_left, C_left, M, stride_left)
        self.right = make_op(op_right, C_right, M, stride_right)

    def forward(self, h_left: torch.Tensor, h_right: torch.Tensor) -> torch.Tensor:
        return self.left(h_left) + self.right(h_right)


class Cell(nn.Module):
    """One Normal or Reduction cell with M filters per operation.

    ``C`` is the channels of h_i, the previous cell's output. ``C_skip`` is the channels of h_{i-1};
    None for the first cell of the stem, which has no h_{i-1} and uses its own input instead.
    ``skip_reduce`` says h_{i-1} is twice as large as h_i (it comes from before a reduction).
    """

    def __init__(self, spec: CellSpec, C: int, C_skip: int | None, M: int, skip_reduce: bool = False):
        super().__init__()
        self.spec = spec
        self.skip_is_input = C_skip is None
        self.conv_prev = ReLUConvBN(C, M)                         # h_i -> M channels
        if C_skip is None:            # first stem cell: h_{i-1} is the cell's input, as it is
            self.conv_skip: nn.Module = nn.Identity()
            C_skip = C
        elif skip_reduce:             # h_{i-1} comes from before a reduction: halve H and W
            self.conv_skip = FactorizedReduction(C_skip, M)
            C_skip = M
        elif C_skip != M:
            self.conv_skip = ReLUConvBN(C_skip, M)
            C_skip = M
        else:
            self.conv_skip = nn.Identity()
        stride = 2 if spec.reduction else 1
        channels = [M, C_skip] + [M] * len(spec.combinations)   # of each hidden state
        # Only the cell's inputs (states 0 and 1) are strided in a reduction cell.
        self.comb = nn.ModuleList(
            Combination(op_l, channels[i_l], stride if i_l < 2 else 1,
                        op_r, channels[i_r], stride if i_r < 2 else 1, M)
            for op_l, i_l, op_r, i_r in spec.combinations)

    def forward(self, x: torch.Tensor, skip: torch.Tensor | None = None) -> torch.Tensor:
        if self.skip_is_input:
            skip = x
        states = [self.conv_prev(x), self.conv_skip(skip)]      # h_i, h_{i-1}: (N, M, H, W)
        for (_, i_l, _, i_r), comb in zip(self.spec.combinations, self.comb, strict=True):
            states.append(comb(states[i_l], states[i_r]))
        return torch.cat([states[i] for i in self.spec.concat], 1)


class NASNetA(nn.Module):
    """The ImageNet network of Figure 2: stem, then N normal cells, reduction, N, reduction, N."""

    def __init__(self, num_normal_cells: int = 4, penultimate_filters: int = 1056,
                 stem_filters: int = 32, num_classes: int = 1000, dropout: float = 0.5):
        super().__init__()
        if num_normal_cells < 1:
            raise ValueError(f"num_normal_cells (N, the normal cells of each stack) must be at least 1, "
                             f"got {num_normal_cells}")
        if penultimate_filters < 24 or penultimate_filters % 24:
            raise ValueError(f"penultimate_filters must be a positive multiple of 24 (6 states x 4F), "
                             f"got {penultimate_filters}")
        F = penultimate_filters // 24  # filters of the first stack: 44 for NASNet-A (4 @ 1056)
        # Figure 2 as a list of (name, cell, filters M of its operations), named as in the
        # reference code. The two stem cells are reduction cells with F/4 and F/2 filters; the
        # stacks have F, 2F, 4F, with a reduction cell (which doubles M) between stacks.
        layout = [("cell_stem_0", REDUCTION_CELL, F // 4), ("cell_stem_1", REDUCTION_CELL, F // 2)]
        for stack in range(3):
            if stack > 0:
                layout.append((f"reduction_cell_{stack - 1}", REDUCTION_CELL, F * 2 ** stack))
            layout += [(f"cell_{stack * num_normal_cells + i}", NORMAL_CELL, F * 2 ** stack)
                       for i in range(num_normal_cells)]

        self.conv0 = ConvBNAct(3, stem_filters, 3, stride=2, padding=0, act=None, bn_eps=BN_EPS)
        self.cells = nn.ModuleDict()
        # Channels of h_i and h_{i-1}, and whether h_{i-1} is larger (a reduction in between).
        C, C_skip, skip_reduce = stem_filters, None, False
        for name, spec, M in layout:
            self.cells[name] = Cell(spec, C, C_skip, M, skip_reduce)
            C, C_skip, skip_reduce = M * len(spec.concat), C, spec.reduction
        self.act = nn.ReLU()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv0(x)                  # (N, 32, 111, 111) at 224x224
        h, h_prev = x, None
        for cell in self.cells.values():   # 56x56, 28x28 (stem); 28, 14, 7 (stacks)
            h, h_prev = cell(h, h_prev), h
        x = self.pool(self.act(h))         # (N, 1056, 1, 1)
        return self.fc(self.dropout(torch.flatten(x, 1)))


_SLIM = "tensorflow/models research/slim/nets/nasnet/README.md"


@register_model(paper="zoph2018learning", table="Figures 2 and 4, Table 3 (NASNet-A 4 @ 1056)",
                published=[
                    Published("params", "5.3M", "zoph2018learning", "Table 3"),
                    Published("macs", "564M", "zoph2018learning", "Table 3 ('Mult-Adds')"),
                    Published("macs", "564M", "tensorflow", _SLIM + " ('Million MACs')"),
                    Published("params", "5,289,978", "semery2018imgclsmob",
                              "README, NASNet-A 4@1056 ported from Cadene/pretrained-models.pytorch",
                              note="also Keras NASNetMobile's trainable parameters"),
                ])
def nasnet_a_mobile(*, num_normal_cells: int = 4, penultimate_filters: int = 1056,
                    num_classes: int = 1000) -> NASNetA:
    """NASNet-A (N @ P), mobile ImageNet model: searched normal and reduction cells, N = 4, P = 1056."""
    return NASNetA(num_normal_cells, penultimate_filters, num_classes=num_classes)
