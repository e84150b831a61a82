"""Cost rules: how one layer type turns its input and output shapes into a cost row.

A rule is a function ``rule(module, inputs, output) -> dict`` registered for a module type
with :func:`cost_rule`. It returns the row's kind, filter letters and operation counts; the
collector adds the name, shapes, parameters and activations. A model that needs a layer of its
own (LeNet-5's sparse C3, for example) registers a rule beside the layer, so counting stays in
one place and the formulas stay in :mod:`cnnlib.costs.formulas`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnnlib.costs import formulas as f

Rule = Callable[[nn.Module, tuple[Any, ...], Any], dict[str, Any]]
_RULES: dict[type, Rule] = {}
_SAME_SHAPE: set[type] = set()

#: Modules that do no work of their own and get no row.
TRANSPARENT: tuple[type, ...] = (nn.Dropout, nn.Dropout2d, nn.Identity, nn.Flatten)


def cost_rule(*types: type, same_shape: bool = False) -> Callable[[Rule], Rule]:
    """Register ``rule`` as the way to count layers of the given module types.

    ``same_shape=True`` says the layer's output has the shape of its first input (activations,
    normalisation, element-wise add and gate). The collector then skips running such layers on
    the meta device, where PyTorch's element-wise shape functions are slow Python code
    (30-250 us a call): their shape is known without them.
    """

    def register(rule: Rule) -> Rule:
        for t in types:
            _RULES[t] = rule
            if same_shape:
                _SAME_SHAPE.add(t)
        return rule

    return register


def keeps_shape(module: nn.Module) -> bool:
    """True when ``module``'s output has the shape of its first input (see :func:`cost_rule`)."""
    return type(module) in _SAME_SHAPE  # exact type: a subclass may change the shape


def rule_for(module: nn.Module) -> Rule | None:
    """The rule of the closest registered base class of ``module``, if any.

    A subclass that overrides ``forward`` (a user's ``Conv2d`` that pads its input first, then
    calls ``F.conv2d``) may compute something else than the rule's class: it gets no rule, and
    its operations are counted one by one (:mod:`cnnlib.costs.ops`).
    """
    t = type(module)
    for cls in t.__mro__:
        if cls in _RULES:
            return _RULES[cls] if t.forward is cls.forward else None
    return None


def pair(v: int | tuple[int, ...]) -> tuple[int, int]:
    """A layer's ``int | tuple`` size argument as ``(height, width)``."""
    return (v, v) if isinstance(v, int) else (int(v[0]), int(v[-1]))


def _stride(v: int | tuple[int, ...]) -> int | tuple[int, int]:
    a, b = pair(v)
    return a if a == b else (a, b)


def _numel(t: Any) -> int:
    return t.numel() if isinstance(t, torch.Tensor) else 0


def conv_kind(C: int, G: int, filter: tuple, input: tuple, output: tuple, padding: tuple) -> str:
    """``fc``, ``dwconv``, ``gconv`` or ``conv``: the kind of a convolution, in the lecture's terms.

    The lecture's definition: an FC layer is a CONV layer whose filters cover the whole input.
    """
    if (*filter, *output, padding) == (*input, 1, 1, (0, 0)):
        return "fc"
    if G > 1 and G == C:
        return "dwconv"
    return "gconv" if G > 1 else "conv"


@cost_rule(nn.Conv2d)
def conv2d_rule(m: nn.Conv2d, inputs: tuple, y: torch.Tensor) -> dict[str, Any]:
    N, C, H, W = inputs[0].shape
    _, M, P, Q = y.shape
    R, S = m.kernel_size
    G = m.groups
    if isinstance(m.padding, str):  # "same" / "valid"
        padding = (0, 0) if m.padding == "valid" else ((R - 1) // 2, (S - 1) // 2)
    else:
        padding = pair(m.padding)
    kind = conv_kind(C, G, (R, S), (H, W), (P, Q), padding)
    macs = f.conv2d_macs(N, C, M, P, Q, R, S, G)
    biases = M if m.bias is not None else 0
    return dict(kind=kind, R=R, S=S, C=C, M=M, G=G, stride=_stride(m.stride), padding=padding,
                weights=f.conv2d_weights(C, M, R, S, G), biases=biases, ops=macs,
                connections=macs + N * P * Q * biases)


@cost_rule(nn.Linear)
def linear_rule(m: nn.Linear, inputs: tuple, y: torch.Tensor) -> dict[str, Any]:
    x = inputs[0]
    C, M = m.in_features, m.out_features
    N = x.numel() // C
    macs = f.fc_macs(N, C, M)
    biases = M if m.bias is not None else 0
    return dict(kind="fc", R=1, S=1, C=C, M=M, G=1, stride=1, padding=(0, 0),
                weights=f.fc_weights(C, M), biases=biases, ops=macs,
                connections=macs + N * biases)


@cost_rule(nn.BatchNorm1d, nn.BatchNorm2d, nn.GroupNorm, nn.LayerNorm, same_shape=True)
def norm_rule(m: nn.Module, inputs: tuple, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="norm", ops=f.norm_macs(y.numel()))


@cost_rule(nn.LocalResponseNorm, same_shape=True)
def lrn_rule(m: nn.LocalResponseNorm, inputs: tuple, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="norm", ops=f.lrn_macs(y.numel(), m.size))


@cost_rule(nn.MaxPool2d, nn.AvgPool2d)
def pool_rule(m: nn.Module, inputs: tuple, y: torch.Tensor) -> dict[str, Any]:
    N, C, P, Q = y.shape
    R, S = pair(m.kernel_size)
    ops = f.pool_ops(N, C, P, Q, R, S)
    return dict(kind="pool", R=R, S=S, C=C, M=C, stride=_stride(m.stride),
                padding=pair(m.padding), ops=ops, connections=ops)


@cost_rule(nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)
def adaptive_pool_rule(m: nn.Module, inputs: tuple, y: torch.Tensor) -> dict[str, Any]:
    _, _, H, W = inputs[0].shape
    N, C, P, Q = y.shape
    R, S = f.ceil_div(H, P), f.ceil_div(W, Q)  # exact when P divides H (global pooling: R = H)
    ops = f.pool_ops(N, C, P, Q, R, S)
    return dict(kind="pool", R=R, S=S, C=C, M=C, stride=_stride((H // P, W // Q)),
                padding=(0, 0), ops=ops, connections=ops)


@cost_rule(nn.ReLU, nn.ReLU6, nn.Sigmoid, nn.Tanh, nn.Hardswish, nn.Hardsigmoid, nn.SiLU,
           nn.GELU, nn.Softmax, nn.LeakyReLU, same_shape=True)
def activation_rule(m: nn.Module, inputs: tuple, y: torch.Tensor) -> dict[str, Any]:
    return dict(kind="act", ops=y.numel())
