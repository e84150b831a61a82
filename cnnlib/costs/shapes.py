"""Shape stand-ins: the output of a common layer without running its meta kernel.

On the ``meta`` device PyTorch still runs each layer's shape function, in Python, at tens of
microseconds a call; for a network of a thousand layers that is most of the counting time. The
collector runs these stand-ins instead, for layers whose rule applies (see
:mod:`cnnlib.costs.rules`): the output shape is arithmetic (:mod:`cnnlib.costs.formulas`), and
a layer that keeps its input's shape (normalisation, activation) returns its input.

A stand-in must refuse what torch refuses, or the collector would count a model that cannot
run: each one checks what the layer's own forward checks (rank, channels or features, dtype,
the dimension a softmax normalises, a window larger than its input) and raises
:class:`Refused`, which the collector turns into a :class:`~cnnlib.errors.CnnlibError` naming
the layer. An input a stand-in does not cover (an unbatched image, integer values, a padding
mode other than zeros) gives ``None``: the layer's own forward then runs, and torch's own checks
apply. The tests compare every stand-in with the layer's forward, on valid and invalid inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from cnnlib._torch import no_python_dispatch
from cnnlib.costs.formulas import conv_output_size
from cnnlib.costs.rules import ACTIVATIONS, pair
from cnnlib.errors import ChannelMismatchError, CnnlibError, InputTooSmallError, LayerInputError

StandIn = Callable[[Any, torch.Tensor], torch.Tensor | None]


class Refused(Exception):
    """An input the layer's own forward would refuse: ``message`` says what it expects."""

    def __init__(self, message: str, error: type[CnnlibError] = LayerInputError):
        super().__init__(message)
        self.message, self.error = message, error


def _fmt(shape: tuple[int, ...] | torch.Size) -> str:
    return "x".join(str(d) for d in shape)


def _empty(shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """The output: an empty meta tensor, made below the counting mode (it is not an operation)."""
    with no_python_dispatch():
        return torch.empty(shape, device="meta", dtype=dtype)


def _same_dtype(m: nn.Module, x: torch.Tensor) -> None:
    w = m._parameters.get("weight")
    if w is not None and w.dtype != x.dtype:
        raise Refused(f"has {str(w.dtype).removeprefix('torch.')} weights and torch refuses an input "
                      f"of another dtype, got {str(x.dtype).removeprefix('torch.')}")


def _channels(expected: int, got: int, shape: torch.Size) -> Refused:
    return Refused(f"expects {expected} input channels, got {got} (input {_fmt(shape)})",
                   ChannelMismatchError)


def _too_small(shape: torch.Size, R: int, S: int) -> Refused:
    return Refused(f"its input is {_fmt(shape[-3:])}, smaller than the {R}x{S} window", InputTooSmallError)


def _conv2d(m: nn.Conv2d, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() not in (3, 4):
        raise Refused(f"takes a 4-D (N, C, H, W) or unbatched 3-D (C, H, W) input, got {_fmt(x.shape)}")
    if x.shape[-3] != m.in_channels:
        raise _channels(m.in_channels, x.shape[-3], x.shape)
    _same_dtype(m, x)
    if x.dim() == 3 or m.padding_mode != "zeros" or not x.is_floating_point():
        return None
    N, _, H, W = x.shape
    (R, S), (sh, sw), (dh, dw) = m.kernel_size, m.stride, m.dilation
    if m.padding == "same":  # only allowed with stride 1: the output keeps H x W
        return _empty((N, m.out_channels, H, W), x.dtype)
    ph, pw = (0, 0) if isinstance(m.padding, str) else m.padding  # "valid", or the pair Conv2d stores
    if ph < 0 or pw < 0:
        raise CnnlibError(f"padding must be a non-negative integer, got {min(ph, pw)}")
    # conv_output_size, on sizes the layer's constructor has checked
    P = (H + 2 * ph - dh * (R - 1) - 1) // sh + 1
    Q = (W + 2 * pw - dw * (S - 1) - 1) // sw + 1
    if P < 1 or Q < 1:
        raise _too_small(x.shape, R, S)
    return _empty((N, m.out_channels, P, Q), x.dtype)


def _linear(m: nn.Linear, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() == 0:
        raise Refused("takes an input of at least one dimension, got a scalar")
    if x.shape[-1] != m.in_features:
        raise Refused(
            f"expects {m.in_features} input features, got {x.shape[-1]} (input {_fmt(x.shape)}): "
            "the size of the feature map before the FC layers depends on the input size, and "
            "this model's FC head fixes it", ChannelMismatchError)
    _same_dtype(m, x)
    if not x.is_floating_point():
        return None
    return _empty((*x.shape[:-1], m.out_features), x.dtype)


def _pool(m: nn.MaxPool2d | nn.AvgPool2d, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() not in (3, 4):
        raise Refused(f"takes a 4-D (N, C, H, W) or unbatched 3-D (C, H, W) input, got {_fmt(x.shape)}")
    R, S = pair(m.kernel_size)
    for k, p in zip((R, S), pair(m.padding), strict=True):
        if 2 * p > k:
            raise Refused(f"has padding {p}, more than half its {k}-wide window, which torch refuses")
    if x.dim() == 3 or getattr(m, "return_indices", False) or not x.is_floating_point():
        return None
    N, C, H, W = x.shape
    sh, sw = pair(m.stride if m.stride is not None else m.kernel_size)
    ph, pw = pair(m.padding)
    dh, dw = pair(getattr(m, "dilation", 1))
    P = conv_output_size(H, R, sh, ph, dh, m.ceil_mode)
    Q = conv_output_size(W, S, sw, pw, dw, m.ceil_mode)
    if P < 1 or Q < 1:
        raise _too_small(x.shape, R, S)
    return _empty((N, C, P, Q), x.dtype)


def _adaptive(m: nn.AdaptiveAvgPool2d | nn.AdaptiveMaxPool2d, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() not in (3, 4):
        raise Refused(f"takes a 4-D (N, C, H, W) or unbatched 3-D (C, H, W) input, got {_fmt(x.shape)}")
    if x.dim() == 3 or getattr(m, "return_indices", False) or not x.is_floating_point() or 0 in x.shape:
        return None
    N, C, H, W = x.shape
    size = m.output_size
    P, Q = (size, size) if isinstance(size, int) or size is None else size
    return _empty((N, C, H if P is None else P, W if Q is None else Q), x.dtype)


_BN_RANKS = {nn.BatchNorm1d: (2, 3), nn.BatchNorm2d: (4,), nn.BatchNorm3d: (5,)}


def _batch_norm(m: nn.BatchNorm2d, x: torch.Tensor) -> torch.Tensor | None:
    ranks = _BN_RANKS[type(m)]
    if x.dim() not in ranks:
        raise Refused(f"takes a {' or '.join(map(str, ranks))}-D input, got {_fmt(x.shape)}")
    if (m.affine or m.track_running_stats) and x.shape[1] != m.num_features:
        raise _channels(m.num_features, x.shape[1], x.shape)
    return _same_shape(m, x)


def _layer_norm(m: nn.LayerNorm, x: torch.Tensor) -> torch.Tensor | None:
    n = len(m.normalized_shape)
    if tuple(x.shape[x.dim() - n:]) != tuple(m.normalized_shape) or x.dim() < n:
        raise Refused(f"normalises the last dimensions {_fmt(m.normalized_shape)}, so its input must "
                      f"end with them, got {_fmt(x.shape)}")
    return _same_shape(m, x)


def _group_norm(m: nn.GroupNorm, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() < 2:
        raise Refused(f"takes an (N, C, ...) input, got {_fmt(x.shape)}")
    if x.shape[1] != m.num_channels:
        raise _channels(m.num_channels, x.shape[1], x.shape)
    return _same_shape(m, x)


def _lrn(m: nn.LocalResponseNorm, x: torch.Tensor) -> torch.Tensor | None:
    if x.dim() < 3:
        raise Refused(f"takes an input of 3 or more dimensions, got {_fmt(x.shape)}")
    return _same_shape(m, x)


def _softmax(m: nn.Softmax, x: torch.Tensor) -> torch.Tensor | None:
    d = m.dim
    if d is None:
        return None   # torch picks a dimension (and warns): its own forward decides
    rank = max(x.dim(), 1)
    if not -rank <= d < rank:
        raise Refused(f"normalises dimension {d}, which an input of shape {_fmt(x.shape)} "
                      f"({x.dim()}-D) does not have")
    return _same_shape(m, x)


def _same_shape(m: nn.Module, x: torch.Tensor) -> torch.Tensor | None:
    """The input itself (these layers keep its shape), for a floating-point input of the
    layer's own dtype; anything else runs the layer's forward."""
    if not x.is_floating_point():
        return None
    w = m._parameters.get("weight")
    if w is not None and w.dtype != x.dtype:
        return None
    return x


#: Stand-ins by exact layer type (a subclass may compute something else).
STAND_INS: dict[type, StandIn] = {
    nn.Conv2d: _conv2d,
    nn.Linear: _linear,
    nn.MaxPool2d: _pool,
    nn.AvgPool2d: _pool,
    nn.AdaptiveAvgPool2d: _adaptive,
    nn.AdaptiveMaxPool2d: _adaptive,
    nn.BatchNorm1d: _batch_norm,
    nn.BatchNorm2d: _batch_norm,
    nn.BatchNorm3d: _batch_norm,
    nn.LayerNorm: _layer_norm,
    nn.GroupNorm: _group_norm,
    nn.LocalResponseNorm: _lrn,
    nn.Softmax: _softmax,
    **{t: _same_shape for t in ACTIVATIONS if t is not nn.Softmax},
}

__all__ = ["STAND_INS", "Refused"]
