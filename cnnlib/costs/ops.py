"""Operations that no layer rule accounts for: every aten op the forward pass runs, seen once.

While :func:`cnnlib.count_costs` runs a model, :class:`OpCounter` (a ``TorchDispatchMode``,
active in the counting thread only) sees every aten operation outside the layers whose cost
rule applies (those run below it: their operations are their rule's). Every operation that
multiplies and accumulates gets its MACs and a row of its own, attributed to the innermost
module that ran it:

* PyTorch's own per-op formulas (``torch.utils.flop_counter``'s registry, halved: a MAC is two
  FLOPs) cover convolutions of any dimension and transposed ones, ``mm``, ``addmm``, ``bmm``,
  ``baddbmm`` (what ``@``, ``torch.matmul``, ``einsum`` and ``F.linear`` run as) and the fused
  scaled dot-product attention kernels, so the total equals ``FlopCounterMode``'s;
* formulas stated here cover what that registry leaves out: the CPU flash attention kernel
  (:func:`attention_macs`), matrix-vector and dot products (``mv``, ``addmv``, ``dot``);
* an operation that costs something and that no formula covers (fused multi-head attention,
  fused recurrent kernels, linear algebra, FFTs) is reported with a ``UserWarning`` naming the
  operation and the module, never silently skipped.

An element-wise add or product of two activations (``x + shortcut``, ``x * gate``; not a
tensor and a parameter, not a tensor and a number) gets a row of kind ``eltwise`` with one
operation per output value: it does no MACs, but an accelerator pays for its memory traffic.

Recurrent layers on the meta device run PyTorch's step-by-step implementation, so their matrix
products are counted one by one; :func:`rnn_macs` states what they add up to.

The mode also computes ``torch.cat`` of contiguous meta tensors from the shapes, instead of
running PyTorch's meta kernel (Python code at 90 us or more a call; DenseNet-121 concatenates
62 times in one forward pass). A dispatch mode is per thread, so no other thread's
``torch.cat`` is affected, and it runs below autograd, which still records gradients.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from typing import Any

import torch

from cnnlib._torch import DispatchMode, can_decompose, decompose, flop_registry, packet
from cnnlib.costs.formulas import FLOPS_PER_MAC

aten = torch.ops.aten

#: Convolutions with the argument list of ``aten.convolution`` (what every convolution runs as
#: on the meta device; the backend-specific ones, ``cudnn_convolution`` and the like, get a
#: product row from their MACs alone).
CONV_OPS = frozenset({aten.convolution, aten._convolution})

#: An operation whose name says it multiplies and accumulates: without a formula, it warns.
COSTLY = re.compile(r"^(?!_?upsample|_convert)(?:.*(?:conv|mm|matmul|attention|lstm|gru|rnn|linear|"
                    r"einsum|tensordot|dot|addmv|addr|bilinear|cdist|linalg|fft|multi_head|"
                    r"transformer)|mv$)")


def attention_macs(query: torch.Size, key: torch.Size, value: torch.Size) -> int:
    """MACs of scaled dot-product attention: ``Q K^T`` and ``A V``, per batch and head.

    ``query`` is ``(..., L, E)``, ``key`` ``(..., S, E)``, ``value`` ``(..., S, Ev)``: each of
    the L queries takes a dot product of length E with each of the S keys, and each of its Ev
    outputs is a weighted sum of S values, so ``B * heads * L * S * (E + Ev)`` (the softmax and
    the scaling are not MACs). It equals what ``FlopCounterMode`` counts for the CUDA kernels.
    """
    *batch, L, E = query
    S, Ev = key[-2], value[-1]
    n = 1
    for d in batch:
        n *= d
    return n * L * S * (E + Ev)


def rnn_macs(T: int, N: int, input_size: int, hidden_size: int, gates: int, layers: int = 1,
             directions: int = 1) -> int:
    """MACs of a recurrent layer (``nn.RNN``: 1 gate, ``nn.GRU``: 3, ``nn.LSTM``: 4).

    At each of the T time steps, for each layer and direction, each gate multiplies the input
    (``N x I``) and the previous hidden state (``N x H``) by its weight matrices, giving H
    outputs: ``T * N * gates * H * (I + H)``. The first layer's input has I = ``input_size``,
    a deeper layer's I = ``directions * H`` (the outputs of both directions below). The
    element-wise gate arithmetic and the biases are not MACs. No projection (``proj_size``).
    """
    total = 0
    for layer in range(layers):
        inputs = input_size if layer == 0 else directions * hidden_size
        total += directions * T * N * gates * hidden_size * (inputs + hidden_size)
    return total


def _flash_cpu(query: Any, key: Any, value: Any, *args: Any, **kwargs: Any) -> int:
    return attention_macs(query.shape, key.shape, value.shape)


def _mv(a: Any, b: Any, *args: Any, **kwargs: Any) -> int:
    return a.numel()


def _addmv(bias: Any, a: Any, b: Any, *args: Any, **kwargs: Any) -> int:
    return a.numel()


def _dot(a: Any, b: Any, *args: Any, **kwargs: Any) -> int:
    return a.numel()


#: Formulas of our own, in MACs, for what ``flop_registry`` does not cover.
OWN_FORMULAS: dict[Any, Callable[..., int]] = {
    aten._scaled_dot_product_flash_attention_for_cpu: _flash_cpu,
    aten.mv: _mv, aten.addmv: _addmv, aten.dot: _dot, aten.vdot: _dot,
}


def op_macs(func: Any, args: tuple, kwargs: dict, out: Any) -> int | None:
    """MACs of one aten op call, or None when no formula covers it."""
    op = packet(func)
    own = OWN_FORMULAS.get(op)
    if own is not None:
        return own(*args, **kwargs)
    formula = flop_registry.get(op)
    if formula is None:
        return None
    return formula(*args, **kwargs, out_val=out) // FLOPS_PER_MAC


def _gemm(packet: Any, args: tuple) -> tuple[int, int, int] | None:
    """``(rows, reduction, columns)`` of a matrix product op, or None."""
    if packet in (aten.mm, aten.bmm):
        a, b = args[0].shape, args[1].shape
    elif packet in (aten.addmm, aten.baddbmm):
        a, b = args[1].shape, args[2].shape
    else:
        return None
    rows = a[-2] * (a[0] if len(a) == 3 else 1)
    return rows, a[-1], b[-1]


# Operations with nothing to count that the mode should pass through at once.
_QUIET = frozenset({aten.empty, aten.view, aten._unsafe_view, aten.t, aten.transpose,
                    aten.permute, aten.expand, aten.reshape, aten.unsqueeze, aten.squeeze,
                    aten.detach, aten.relu, aten.relu_, aten.clone,
                    aten.flatten, aten.mean, aten.select, aten.slice, aten.split,
                    aten.split_with_sizes, aten.sum, aten.sigmoid,
                    aten.empty_like, aten.hardtanh_, aten.hardswish_, aten.silu_})
#: Element-wise adds and products: a row when both operands are activations.
_ELTWISE = frozenset({aten.add, aten.add_, aten.mul, aten.mul_})


class OpCounter(DispatchMode):
    """Counts the operations of one forward pass that no layer rule counted (see the module doc).

    ``walker`` is the collector's: it says which module is innermost (``walker.innermost``)
    and takes the rows (``walker.op_row``, ``walker.eltwise_row``).
    """

    def __init__(self, walker: Any):
        super().__init__()
        self.walker = walker
        self.warned: set[tuple[str, str]] = set()
        self.decomposes: dict[Any, bool] = {}

    def __torch_dispatch__(self, func: Any, types: Any, args: tuple = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        op = packet(func)
        if op is aten.cat and not kwargs:
            out = _cat_by_shape(args)
            if out is not None:
                return out
        if op in _QUIET:
            return func(*args, **kwargs)
        if op in _ELTWISE:
            out = _eltwise_by_shape(op, args)
            if out is None:
                out = func(*args, **kwargs)
            if len(args) > 1:
                a, b = args[0], args[1]
                if type(b) is torch.Tensor and b.dim() and type(a) is torch.Tensor and a.dim():
                    self.walker.eltwise_row(op, a, b, out)
            return out
        if op not in flop_registry and op not in OWN_FORMULAS:
            # As FlopCounterMode does: an op with a decomposition runs as its parts, which
            # this mode then sees (and counts) one by one.
            can = self.decomposes.get(func)
            if can is None:
                can = self.decomposes[func] = can_decompose(func)
            if can:
                with self:
                    out = decompose(func, *args, **kwargs)
                if out is not NotImplemented:
                    return out
            out = func(*args, **kwargs)
            name = op.__name__
            if COSTLY.search(name):
                self._warn(name)
            return out
        out = func(*args, **kwargs)
        macs = op_macs(func, args, kwargs, out)
        if macs:
            self.walker.op_row(op, args, out, macs, _gemm(op, args))
        return out

    def _warn(self, op: str) -> None:
        name, module = self.walker.innermost()
        if (op, name) in self.warned:
            return
        self.warned.add((op, name))
        kind = type(module).__name__
        where = f"module {name!r} ({kind})" if name else f"the model ({kind})"
        warnings.warn(f"cnnlib.count_costs: operation aten.{op} in {where} has no MAC formula; "
                      "its MACs are not in the report", UserWarning, stacklevel=2)


def _eltwise_by_shape(packet: Any, args: tuple) -> torch.Tensor | None:
    """An element-wise add or product of meta tensors, from their shapes; else None.

    PyTorch's meta kernel for these is Python reference code (some 100 us a call); a residual
    add or a squeeze-and-excitation gate of two contiguous tensors of one dtype, the second of
    the first's shape or broadcast along some of its dimensions, has the first's shape.
    """
    if len(args) != 2:
        return None
    a, b = args
    if type(a) is not torch.Tensor or not a.is_meta or a.requires_grad or not a.is_contiguous():
        return None
    if type(b) is torch.Tensor:
        if (not b.is_meta or b.dtype != a.dtype or b.dim() != a.dim() or b.requires_grad
                or not b.is_contiguous()):
            return None
        sa, sb = a.shape, b.shape
        for i in range(a.dim()):
            if sb[i] != sa[i] and sb[i] != 1:
                return None
    elif not (type(b) in (int, float) and a.is_floating_point()):
        return None
    if packet is aten.add_ or packet is aten.mul_:
        return a
    return torch.empty(a.shape, dtype=a.dtype, device="meta")


def _cat_by_shape(args: tuple) -> torch.Tensor | None:
    """``torch.cat`` of contiguous meta tensors of one dtype, from their shapes; else None."""
    tensors = args[0]
    dim = args[1] if len(args) > 1 else 0
    if type(dim) is not int or not tensors:
        return None
    first = tensors[0]
    if not first.is_meta or first.requires_grad:
        return None
    shape = list(first.shape)
    ndim = len(shape)
    d = dim + ndim if dim < 0 else dim
    if not 0 <= d < ndim or 0 in shape:
        return None
    total = 0
    for t in tensors:
        if (not t.is_meta or t.dtype != first.dtype or t.dim() != ndim or t.requires_grad
                or not t.is_contiguous()):
            return None
        s = t.shape
        if 0 in s or any(s[i] != shape[i] for i in range(ndim) if i != d):
            return None
        total += s[d]
    shape[d] = total
    return torch.empty(shape, dtype=first.dtype, device="meta")


__all__ = ["COSTLY", "OWN_FORMULAS", "OpCounter", "attention_macs", "op_macs", "rnn_macs"]
