"""Small computations on layers that the chapters cite: each one a few lines, tested here once.

>>> output_sizes(227, [(11, 4), (3, 2), (3, 2), (3, 2)])    # AlexNet: conv1, then three pools
[55, 27, 13, 6]
>>> self_attention_macs(C=256, H=14)     # 196 positions
71049216
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from cnnlib.costs import formulas
from cnnlib.costs.report import CostReport, LayerCost

__all__ = ["factorised_pairs", "output_sizes", "self_attention_macs", "torch_macs"]


def output_sizes(H: int, layers: Sequence[tuple[int, int]], *, ceil_mode: bool = False) -> list[int]:
    """The side of the feature map after each layer of a chain of unpadded ``(R, stride)``
    layers (convolutions or poolings), from an input of side ``H``: P = (H - R) / U + 1, rounded
    down, or up with ``ceil_mode`` (Caffe's pooling)."""
    sizes = []
    for R, stride in layers:
        H = formulas.conv_output_size(H, R, stride=stride, ceil_mode=ceil_mode)
        sizes.append(H)
    return sizes


#: A convolution named by its position in a branch: ``blocks.Mixed_6b.branch7x7.1.conv``.
_IN_BRANCH = re.compile(r"^(.*)\.(\d+)\.conv$")


def factorised_pairs(report: CostReport) -> list[tuple[LayerCost, LayerCost]]:
    """The factorised filters of an Inception v3 report: each 1 x n layer followed in its branch
    by an n x 1 layer (or the other way round), the pair that replaces one n x n filter.

    Two layers pair when they are consecutive convolutions (``kind == "conv"``) of one branch
    (``<branch>.<i>.conv`` then ``<branch>.<i+1>.conv``, the names of ``cnnlib``'s Inception
    v3) with transposed, non-square filters; a layer belongs to one pair at most, the first.
    """
    convs = [row for row in report.layers if row.kind == "conv"]
    pairs, i = [], 0
    while i < len(convs) - 1:
        a, b = convs[i], convs[i + 1]
        ma, mb = _IN_BRANCH.match(a.name), _IN_BRANCH.match(b.name)
        stacked = (ma is not None and mb is not None and ma.group(1) == mb.group(1)
                   and int(mb.group(2)) == int(ma.group(2)) + 1)
        if stacked and a.R != a.S and (a.R, a.S) == (b.S, b.R):
            pairs.append((a, b))
            i += 2          # a pair uses both layers: the next pair starts after it
        else:
            i += 1
    return pairs


def torch_macs(module: nn.Module, input_shape: tuple[int, ...]) -> int:
    """The MACs of one forward pass of ``module`` on zeros of ``input_shape`` as PyTorch's own
    ``FlopCounterMode`` counts them (half its FLOPs): the reference a chapter checks
    :func:`cnnlib.count_costs` against. It runs the module for real, on the CPU."""
    with FlopCounterMode(display=False) as counter:
        module(torch.zeros(input_shape))
    return counter.get_total_flops() // 2


def self_attention_macs(C: int, H: int) -> int:
    """The MACs of single-head self-attention over an H x H map of C channels (HW positions):
    query, key and value projections ``3 HW C^2``, every query against every key ``(HW)^2 C``,
    the weighted sum of the values ``(HW)^2 C`` and the output projection ``HW C^2``."""
    HW = H * H
    return 4 * HW * C * C + 2 * HW * HW * C
