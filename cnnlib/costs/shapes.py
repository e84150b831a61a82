"""Output shapes of the common layers, so the collector need not run their meta kernels.

On the ``meta`` device PyTorch still runs each layer's shape function, in Python, at tens of
microseconds a call; for a network of a thousand layers that is most of the counting time. The
collector replaces the forward of these layers, for one pass, with the shape arithmetic below
(the formulas of :mod:`cnnlib.costs.formulas`). The tests check every model's counts against
``FlopCounterMode`` running PyTorch's own kernels, so a wrong shape here cannot go unnoticed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from cnnlib.costs.formulas import conv_output_size
from cnnlib.costs.rules import pair as _pair

ShapeFn = Callable[[nn.Module, torch.Tensor], tuple[int, ...] | None]


def _conv(m: nn.Conv2d, x: torch.Tensor) -> tuple[int, ...] | None:
    N, _, H, W = x.shape
    if isinstance(m.padding, str):
        if m.padding == "valid":
            pad = (0, 0)
        else:  # "same" is only allowed with stride 1: the output keeps H x W
            return (N, m.out_channels, H, W)
    else:
        pad = _pair(m.padding)
    (R, S), (sh, sw), (dh, dw) = m.kernel_size, m.stride, m.dilation
    return (N, m.out_channels, conv_output_size(H, R, sh, pad[0], dh),
            conv_output_size(W, S, sw, pad[1], dw))


def _linear(m: nn.Linear, x: torch.Tensor) -> tuple[int, ...]:
    return (*x.shape[:-1], m.out_features)


def _pool(m: nn.MaxPool2d | nn.AvgPool2d, x: torch.Tensor) -> tuple[int, ...] | None:
    if getattr(m, "return_indices", False):
        return None
    N, C, H, W = x.shape
    (R, S) = _pair(m.kernel_size)
    (sh, sw) = _pair(m.stride if m.stride is not None else m.kernel_size)
    (ph, pw) = _pair(m.padding)
    (dh, dw) = _pair(getattr(m, "dilation", 1))
    if 2 * ph > R or 2 * pw > S:
        return None   # torch's own forward refuses a padding over half the window, and says so
    return (N, C, conv_output_size(H, R, sh, ph, dh, m.ceil_mode),
            conv_output_size(W, S, sw, pw, dw, m.ceil_mode))


def _adaptive(m: nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d, x: torch.Tensor) -> tuple[int, ...] | None:
    if getattr(m, "return_indices", False):
        return None
    N, C, H, W = x.shape
    size = m.output_size
    P, Q = (size, size) if isinstance(size, int) else size
    return (N, C, H if P is None else P, W if Q is None else Q)


#: Layers whose shape functions above assume an (N, C, H, W) input.
_FOUR_D = (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)

SHAPES: dict[type, ShapeFn] = {
    nn.Conv2d: _conv,
    nn.Linear: _linear,
    nn.MaxPool2d: _pool,
    nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool2d: _adaptive,
    nn.AdaptiveMaxPool2d: _adaptive,
}


def shape_rule(*types: type) -> Callable[[ShapeFn], ShapeFn]:
    """Register ``fn(module, x) -> output shape`` for layers of the given (exact) types.

    A model file registers one for a layer of its own whose forward is made of several meta
    kernels (LeNet-5's sparse C3 runs three convolutions, a gather and a concatenation), so
    that counting it costs a few microseconds instead of a few hundred. Return ``None`` for an
    input the shape function does not cover: the layer's own forward then runs.
    """

    def register(fn: ShapeFn) -> ShapeFn:
        for t in types:
            SHAPES[t] = fn
        return fn

    return register


def shape_forward(m: nn.Module) -> Callable[..., torch.Tensor] | None:
    """A stand-in forward for ``m`` that makes an empty meta tensor of the right shape."""
    fn = SHAPES.get(type(m))  # exact type: a subclass may compute something else
    if fn is None:
        return None

    needs_4d = isinstance(m, _FOUR_D)
    empty = torch.empty

    def forward(x: torch.Tensor, *rest: object, **kwargs: object) -> torch.Tensor:
        shape = None
        if not rest and not kwargs and (not needs_4d or x.dim() == 4):
            shape = fn(m, x)
        if shape is None:  # an unusual call: run the layer's own forward
            return type(m).forward(m, x, *rest, **kwargs)
        return empty(shape, device="meta", dtype=x.dtype)

    return forward


__all__ = ["SHAPES", "shape_forward", "shape_rule"]
