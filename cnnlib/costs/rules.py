"""Cost rules: how one layer type turns its input and output shapes into a cost row.

A rule is a function ``rule(module, x, output) -> dict`` registered for a module type with
:func:`cost_rule`; ``x`` is the layer's input tensor. It returns the row's kind, filter letters
and operation counts; the collector adds the name, shapes, parameters and activations.

A rule describes what its class's own ``forward`` computes on the layer's own parameters, so
the collector applies it only to a layer of exactly that type, whose ``forward`` has not been
replaced on the instance, with plain parameters (no parametrization), and with no hook that
could change the work (:func:`cnnlib.costs.collect.rule_applies`). Any other layer (a subclass,
a ``Conv2d`` under ``weight_norm`` or pruning, a ``Linear`` with a LoRA parametrization) is
counted operation by operation (:mod:`cnnlib.costs.ops`), like every module without a rule.
The rules of the zoo's own layers are in :mod:`cnnlib.costs.zoo_layers`; the formulas in
:mod:`cnnlib.costs.formulas`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnnlib.costs import formulas as f

Rule = Callable[[Any, torch.Tensor, Any], dict[str, Any]]
_RULES: dict[type, Rule] = {}

#: Modules that do no work of their own and get no row.
TRANSPARENT: tuple[type, ...] = (nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.Identity,
                                 nn.Flatten)


def cost_rule(*types: type) -> Callable[[Rule], Rule]:
    """Register ``rule`` as the way to count layers of exactly the given module types."""

    def register(rule: Rule) -> Rule:
        for t in types:
            _RULES[t] = rule
        return rule

    return register


def rule_for(module: nn.Module) -> Rule | None:
    """The rule registered for ``module``'s exact type, if any (a subclass may change the work)."""
    return _RULES.get(type(module))


def pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    """A layer's ``int | tuple`` size argument as ``(height, width)``."""
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[-1]))


def _stride(v: int | tuple[int, ...]) -> int | tuple[int, int]:
    a, b = pair(v)
    return a if a == b else (a, b)


def nchw(shape: torch.Size | tuple[int, ...]) -> tuple[int, int, int, int]:
    """An (N, C, H, W) shape, or an unbatched (C, H, W) one read as N = 1."""
    if len(shape) == 3:
        return (1, *shape)
    N, C, H, W = shape
    return N, C, H, W


def conv_kind(C: int, G: int, filter: tuple[int, int], input: tuple[int, int], output: tuple[int, int],
              padding: tuple[int, int]) -> str:
    """``fc``, ``dwconv``, ``gconv`` or ``conv``: the kind of a convolution, in the lecture's terms.

    The lecture's definition: an FC layer is a CONV layer whose filters cover the whole input.
    """
    if (*filter, *output, padding) == (*input, 1, 1, (0, 0)):
        return "fc"
    if G > 1 and G == C:
        return "dwconv"
    return "gconv" if G > 1 else "conv"


@cost_rule(nn.Conv2d)
def conv2d_rule(m: nn.Conv2d, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    N, C, H, W = nchw(x.shape)
    _, M, P, Q = nchw(y.shape)
    R, S = m.kernel_size
    G = m.groups
    padding: tuple[int, int]
    if isinstance(m.padding, str):  # "same" / "valid"
        padding = (0, 0) if m.padding == "valid" else ((R - 1) // 2, (S - 1) // 2)
    else:
        ph, pw = m.padding
        padding = (ph, pw)
    kind = conv_kind(C, G, (R, S), (H, W), (P, Q), padding)
    weights = M * (C // G) * R * S        # f.conv2d_weights, on sizes torch has checked
    macs = N * P * Q * weights            # f.conv2d_macs
    biases = M if m.bias is not None else 0
    sh, sw = m.stride
    return dict(kind=kind, R=R, S=S, C=C, M=M, G=G, stride=sh if sh == sw else (sh, sw),
                padding=padding, weights=weights, biases=biases, ops=macs,
                connections=macs + N * P * Q * biases)


@cost_rule(nn.Linear)
def linear_rule(m: nn.Linear, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    C, M = m.in_features, m.out_features
    N = x.numel() // C
    macs = N * C * M                      # f.fc_macs
    biases = M if m.bias is not None else 0
    return dict(kind="fc", R=1, S=1, C=C, M=M, G=1, stride=1, padding=(0, 0),
                weights=C * M, biases=biases, ops=macs, connections=macs + N * biases)


@cost_rule(nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm, nn.LayerNorm)
def norm_rule(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="norm", ops=f.norm_macs(y.numel()))


@cost_rule(nn.LocalResponseNorm)
def lrn_rule(m: nn.LocalResponseNorm, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="norm", ops=f.lrn_macs(y.numel(), m.size))


@cost_rule(nn.MaxPool2d, nn.AvgPool2d)
def pool_rule(m: nn.MaxPool2d | nn.AvgPool2d, x: torch.Tensor, y: Any) -> dict[str, Any]:
    out = y[0] if isinstance(y, tuple) else y   # (output, indices) with return_indices
    N, C, P, Q = nchw(out.shape)
    R, S = pair(m.kernel_size)
    ops = f.pool_ops(N, C, P, Q, R, S)
    return dict(kind="pool", R=R, S=S, C=C, M=C, stride=_stride(m.stride),
                padding=pair(m.padding), ops=ops, connections=ops)


@cost_rule(nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
def adaptive_pool_rule(m: nn.Module, x: torch.Tensor, y: Any) -> dict[str, Any]:
    out = y[0] if isinstance(y, tuple) else y
    _, _, H, W = nchw(x.shape)
    N, C, P, Q = nchw(out.shape)
    R, S = f.ceil_div(H, P), f.ceil_div(W, Q)  # exact when P divides H (global pooling: R = H)
    ops = f.pool_ops(N, C, P, Q, R, S)
    return dict(kind="pool", R=R, S=S, C=C, M=C, stride=_stride((H // P, W // Q)),
                padding=(0, 0), ops=ops, connections=ops)


#: Activation layers: one operation per output value.
ACTIVATIONS: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.SiLU, nn.GELU,
    nn.Softmax, nn.LeakyReLU)


@cost_rule(*ACTIVATIONS)
def activation_rule(m: nn.Module, x: torch.Tensor, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="act", ops=y.numel())
