"""Cost rules of the zoo's own layers, kept here so that the model files hold architecture only.

LeNet-5's layers (:mod:`cnnlib.models.lenet`) are not torch layers: its subsampling units
(S2, S4), its sparse C3, its RBF output units and its scaled tanh get the rows the paper's
counts are made of. ShuffleNet's channel shuffle (:mod:`cnnlib.models.layers`) does no
arithmetic but moves every value, which an accelerator pays for: it gets a row of kind
``other``. Importing this module registers the rules; :mod:`cnnlib.costs.collect` does.
"""

from __future__ import annotations

from typing import Any

import torch

from cnnlib.costs import formulas as f
from cnnlib.costs.rules import cost_rule
from cnnlib.models.layers import ChannelShuffle
from cnnlib.models.lenet import EuclideanRBF, ScaledTanh, SparseConv2d, Subsampling


@cost_rule(Subsampling)
def subsampling_rule(m: Subsampling, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """A 2x2 window sum times a coefficient plus a bias: 4 inputs and a bias per unit."""
    N, C, P, Q = y.shape
    ops = f.pool_ops(N, C, P, Q, 2, 2)
    return dict(kind="pool", R=2, S=2, C=C, M=C, stride=2, padding=(0, 0), ops=ops,
                connections=ops + N * C * P * Q)


@cost_rule(SparseConv2d)
def sparse_conv_rule(m: SparseConv2d, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """C3: output map m sees ``len(table[m])`` input maps, so its filter has that many channels."""
    N, C = x.shape[:2]
    _, M, P, Q = y.shape
    weights = sum(len(t) for t in m.table) * m.R * m.R
    macs = N * P * Q * weights
    return dict(kind="conv", R=m.R, S=m.R, C=C, M=M, G=1, stride=1, padding=(0, 0),
                weights=weights, biases=M, ops=macs, connections=macs + N * P * Q * M)


@cost_rule(EuclideanRBF)
def rbf_rule(m: EuclideanRBF, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    """Each of M units takes the squared distance of the C inputs to its prototype."""
    N, C = x.shape
    M = y.shape[1]
    return dict(kind="rbf", C=C, M=M, ops=N * C * M, connections=N * C * M)


@cost_rule(ScaledTanh)
def scaled_tanh_rule(m: ScaledTanh, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="act", ops=y.numel())


@cost_rule(ChannelShuffle)
def shuffle_rule(m: ChannelShuffle, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="other", ops=0)
