"""Cost rules and shape stand-ins of the zoo's own layers, so that model files hold architecture only.

LeNet-5's layers (:mod:`cnnlib.models.lenet`) are not torch layers: its subsampling units
(S2, S4), its sparse C3, its RBF output units and its scaled tanh get the rows the paper's
counts are made of. ShuffleNet's channel shuffle (:mod:`cnnlib.models.layers`) does no
arithmetic but moves every value, which an accelerator pays for: it gets a row of kind
``other``. Importing this module registers the rules; :mod:`cnnlib.costs.collect` does.

LeNet's layers also get shape stand-ins (:mod:`cnnlib.costs.shapes`): their forwards run
element-wise operations whose meta kernels are Python reference code, and the first one of
those a process runs imports ``torch._dynamo`` (seconds). Each stand-in checks what the layer's
forward would refuse, and leaves an input it does not cover to that forward.
"""

from __future__ import annotations

from typing import Any

import torch

from cnnlib.costs import formulas as f
from cnnlib.costs.rules import cost_rule
from cnnlib.costs.shapes import STAND_INS, Refused, _channels, _empty, _same_shape
from cnnlib.errors import ChannelMismatchError, InputTooSmallError
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


def _shuffle_shape(m: ChannelShuffle, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() != 4 or x.shape[1] % m.groups:
        return None   # its own forward says what is wrong
    return _empty(tuple(x.shape), x.dtype)


@cost_rule(ChannelShuffle)
def shuffle_rule(m: ChannelShuffle, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="other", ops=0)


def _subsampling_shape(m: Subsampling, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() != 4 or not x.is_floating_point() or x.dtype != m.coefficient.dtype:
        return None
    N, C, H, W = x.shape
    if C != m.coefficient.shape[0]:
        raise _channels(m.coefficient.shape[0], C, x.shape)
    if H < 2 or W < 2:
        raise Refused(f"its input is {C}x{H}x{W}, smaller than the 2x2 window", InputTooSmallError)
    return _empty((N, C, H // 2, W // 2), x.dtype)


def _sparse_conv_shape(m: SparseConv2d, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() != 4 or not x.is_floating_point() or x.dtype != m.weight.dtype:
        return None
    N, C, H, W = x.shape
    needed = max(max(t) for t in m.table) + 1
    if C < needed:
        raise Refused(f"expects at least {needed} input channels (its table reads map {needed - 1}), "
                      f"got {C} (input {'x'.join(map(str, x.shape))})", ChannelMismatchError)
    if H < m.R or W < m.R:
        raise Refused(f"its input is {C}x{H}x{W}, smaller than the {m.R}x{m.R} window", InputTooSmallError)
    return _empty((N, len(m.table), H - m.R + 1, W - m.R + 1), x.dtype)


def _rbf_shape(m: EuclideanRBF, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() != 2 or not x.is_floating_point() or x.dtype != m.prototypes.dtype:
        return None
    if x.shape[1] != m.prototypes.shape[1]:
        raise _channels(m.prototypes.shape[1], x.shape[1], x.shape)
    return _empty((x.shape[0], m.prototypes.shape[0]), x.dtype)


STAND_INS.update({Subsampling: _subsampling_shape, SparseConv2d: _sparse_conv_shape,
                  EuclideanRBF: _rbf_shape, ScaledTanh: _same_shape, ChannelShuffle: _shuffle_shape})
