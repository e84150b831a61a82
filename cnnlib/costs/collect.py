"""The collector: walk a model once, on the ``meta`` device, and make one row per layer call.

Nothing is computed and no weight is allocated: on the ``meta`` device tensors have shapes but
no storage, so counting VGG-16 does not touch its 528 MB of weights. A model the user already
built on the CPU is counted the same way, by running its forward with meta stand-ins for its
parameters and buffers (``torch.func.functional_call``), so its weights are not copied either.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from cnnlib._speed import gc_paused, meta_cat_by_shape
from cnnlib.costs import formulas as f
from cnnlib.costs.report import DEFAULT_COUNTED, KINDS, CostReport, LayerCost
from cnnlib.costs.rules import TRANSPARENT, keeps_shape, rule_for
from cnnlib.costs.shapes import SHAPES, shape_forward
from cnnlib.errors import (
    BadInputSizeError,
    ChannelMismatchError,
    CnnlibError,
    InputTooSmallError,
)
from cnnlib.registry import create_model, model_info

DEFAULT_INPUT = (1, 3, 224, 224)


def count_costs(model: str | nn.Module, input_size: Iterable[int] | None = None, *,
                count: Iterable[str] | str = DEFAULT_COUNTED, **model_kwargs: Any) -> CostReport:
    """Count weights, parameters, MACs and activations of every layer of ``model``.

    ``model`` is a registered name (built on the ``meta`` device, with ``model_kwargs`` passed
    to its builder) or an ``nn.Module`` on any device. ``input_size`` is ``(N, C, H, W)`` or
    ``(C, H, W)``; it defaults to the size the model's paper counts at for a name, and to
    ``(1, 3, 224, 224)`` for a module. ``count`` names the layer kinds whose operations
    ``report.macs`` includes: conv and FC by default, ``"all"`` for every kind.
    """
    with gc_paused():
        return _count_costs(model, input_size, count, model_kwargs)


def _count_costs(model: str | nn.Module, input_size: Iterable[int] | None,
                 count: Iterable[str] | str, model_kwargs: dict[str, Any]) -> CostReport:
    counted = frozenset(KINDS) if count == "all" else frozenset(count)
    unknown = counted - set(KINDS)
    if unknown:
        raise CnnlibError(f"unknown layer kinds {sorted(unknown)}; known kinds: {', '.join(KINDS)}")
    if isinstance(model, str):
        info = model_info(model)
        name = model
        size = _input_size(input_size if input_size is not None else info.input_size)
        module = create_model(model, device="meta", **model_kwargs)
    else:
        if model_kwargs:
            raise CnnlibError("model keyword arguments go with a model name, not a built module")
        name, module = type(model).__name__, model
        size = _input_size(input_size if input_size is not None else DEFAULT_INPUT)
    return _collect(module, name, size, counted)


def _input_size(size: Iterable[int]) -> tuple[int, ...]:
    try:
        dims = tuple(size)
    except TypeError:
        raise BadInputSizeError(f"input size must be (C, H, W) or (N, C, H, W), got {size!r}") from None
    if len(dims) == 3:
        dims = (1, *dims)
    if len(dims) != 4 or not all(isinstance(d, int) and not isinstance(d, bool) and d > 0 for d in dims):
        raise BadInputSizeError(
            f"input size must be (C, H, W) or (N, C, H, W) with positive integers, got {size!r}"
        )
    return dims


def _fmt(shape: Iterable[int]) -> str:
    return "x".join(str(d) for d in shape)


class _Walker:
    """Records one row per layer call and catches a collapsing feature map where it happens.

    For the duration of one forward pass, each layer that gets a row has its ``forward``
    replaced, on the instance, by a recording wrapper; nothing else changes. This is cheaper
    than module hooks: a hook handle costs more to register than the layer costs to count, and
    global hooks send every module call, containers included, down PyTorch's slow call path.
    The wrapper runs the layer's shape arithmetic instead of its meta kernel where the output
    shape is known (see :mod:`cnnlib.costs.shapes`). One pass over the model's modules also
    puts them in eval mode (remembering which were training).
    """

    def __init__(self, model: nn.Module, counted: frozenset[str]):
        self.counted = counted
        self.rows: list[LayerCost] = []
        self.stack: list[tuple[str, nn.Module, tuple[int, ...]]] = []
        self.unseen: dict[int, int] = {}   # id(layer) -> its parameters, until its first call
        self.wrapped: list[tuple[nn.Module, Any]] = []   # (layer, its own instance forward)
        self.training: list[nn.Module] = []
        self.params = 0
        counted_params: set[int] = set()   # a parameter shared by two layers counts once
        self.on_meta = True
        by_type: dict[type, tuple[bool, Any, Any]] = {}
        for name, m in _named_modules(model):
            if m.training:
                self.training.append(m)
                object.__setattr__(m, "training", False)   # eval(), without its recursion
            own = 0
            for p in m._parameters.values():
                if p is not None:
                    own += p.numel()
                    self.on_meta = self.on_meta and p.is_meta
                    if id(p) not in counted_params:
                        counted_params.add(id(p))
                        self.params += p.numel()
            for b in m._buffers.values():
                self.on_meta = self.on_meta and (b is None or b.is_meta)
            t = type(m)
            per_type = by_type.get(t)
            if per_type is None:
                per_type = by_type[t] = _per_type(m)
            transparent, rule, stand_in = per_type
            if transparent or (rule is None and (m._modules or not own)):
                continue  # containers, and parameter-free layers we have no rule for
            self.unseen[id(m)] = own
            users = m.__dict__.get("forward")   # a forward set on the instance by its user
            forward = users
            by_shape = users is None and stand_in is not None
            if forward is None:   # the input is a meta tensor in every case
                forward = stand_in(m) if by_shape else t.forward.__get__(m)
            self.wrapped.append((m, users))
            m.__dict__["forward"] = self._recording(name, m, rule, forward, by_shape)

    def remove(self) -> None:
        for m, users in self.wrapped:
            if users is None:
                del m.__dict__["forward"]
            else:
                m.__dict__["forward"] = users
        for m in self.training:
            object.__setattr__(m, "training", True)

    def _recording(self, name: str, m: nn.Module, rule: Any, forward: Any, stand_in: bool) -> Any:
        """The wrapper that runs ``m`` and records its row: the hot path of counting.

        Before a layer's own forward runs, its input is checked (channels, and a window that
        fits: see :func:`_check_fits`) so that a failure names the layer. A shape stand-in
        cannot fail that way, so only its channels are checked first; a window that does not
        fit shows as an empty output and is explained after.
        """
        stack, rows, counted, unseen = self.stack, self.rows, self.counted, self.unseen
        module = type(m).__name__
        check = _check_fits if isinstance(m, _CHECKED) else None
        Tensor = torch.Tensor

        def record(*inputs: Any, **kwargs: Any) -> Any:
            x = inputs[0] if inputs else None
            shape = tuple(x.shape) if isinstance(x, Tensor) else ()
            stack.append((name, m, shape))
            if check is not None:
                check(name, m, shape, not stand_in)
            y = forward(*inputs, **kwargs)
            stack.pop()
            out = y[0] if type(y) is tuple else y
            is_tensor = isinstance(out, Tensor)
            out_shape = tuple(out.shape) if is_tensor else ()
            if len(out_shape) >= 3 and 0 in out_shape[2:]:
                if check is not None:
                    check(name, m, shape, True)
                raise InputTooSmallError(
                    f"the feature map collapses at layer {name!r} ({_describe(m)}): "
                    f"its input {_fmt(shape[1:])} gives an empty output {_fmt(out_shape[1:])}")
            fields = rule(m, inputs, out) if rule else {"kind": "other", "ops": 0}
            own = unseen.pop(id(m), None)   # parameters count on a layer's first call only
            if own is None:
                own = fields["weights"] = fields["biases"] = 0
            fields.update(
                name=name, module=module, input_shape=shape, output_shape=out_shape, params=own,
                macs=fields.get("ops", 0) if fields["kind"] in counted else 0,
                connections=fields.get("connections", 0),
                activations_in=x.numel() if len(inputs) == 1 and shape else
                sum(t.numel() for t in inputs if isinstance(t, Tensor)),
                activations_out=out.numel() if is_tensor else 0,
            )
            rows.append(LayerCost.from_fields(fields))
            return y

        return record


def _per_type(m: nn.Module) -> tuple[bool, Any, Any]:
    """For a layer's type: no row at all?, its cost rule, a maker of its shape stand-in."""
    if isinstance(m, TRANSPARENT):
        return True, None, None
    if keeps_shape(m):
        return False, rule_for(m), _keeps_shape_stand_in
    return False, rule_for(m), shape_forward if type(m) in SHAPES else None  # exact type, as there


def _keeps_shape_stand_in(m: nn.Module) -> Any:
    return _first_input


def _named_modules(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """``list(model.named_modules())``: same order and names, a little faster."""
    found: list[tuple[str, nn.Module]] = [("", model)]
    _walk(model, "", found, {id(model)})
    return found


def _walk(m: nn.Module, prefix: str, found: list[tuple[str, nn.Module]], seen: set[int]) -> None:
    # A module-level function, not a closure: a recursive closure is a reference cycle, which
    # would leave the whole model to the cyclic garbage collector instead of freeing it at once.
    for key, child in m._modules.items():
        if child is not None and id(child) not in seen:
            seen.add(id(child))
            name = prefix + key
            found.append((name, child))
            _walk(child, name + ".", found, seen)


def _first_input(x: torch.Tensor, *rest: Any, **kwargs: Any) -> torch.Tensor:
    return x


def _describe(m: nn.Module) -> str:
    k = getattr(m, "kernel_size", None)
    s = getattr(m, "stride", None)
    if k is None:
        return type(m).__name__
    k = k if isinstance(k, tuple) else (k, k)
    s = s if isinstance(s, tuple) else (s, s)
    return f"{type(m).__name__} {k[0]}x{k[1]}, stride {s[0]}"


_CHECKED = (nn.Conv2d, nn.Linear, nn.MaxPool2d, nn.AvgPool2d)   # the layers _check_fits checks


def _check_fits(name: str, m: nn.Module, shape: tuple[int, ...], window: bool = True) -> None:
    """Before a layer runs: does its input have the channels (and the size) it needs?"""
    if isinstance(m, nn.Conv2d) and len(shape) == 4:
        if shape[1] != m.in_channels:
            raise ChannelMismatchError(
                f"layer {name!r} ({_describe(m)}) expects {m.in_channels} input channels, "
                f"got {shape[1]} (input {_fmt(shape[1:])})"
            )
    if isinstance(m, nn.Linear) and shape and shape[-1] != m.in_features:
        raise ChannelMismatchError(
            f"layer {name!r} (Linear) expects {m.in_features} input features, got {shape[-1]}: "
            "the size of the feature map before the FC layers depends on the input size, and "
            "this model's FC head fixes it"
        )
    if window and isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and len(shape) == 4:
        k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
        st = m.stride if isinstance(m.stride, tuple) else (m.stride,) * 2
        pad = getattr(m, "padding", 0)
        if isinstance(pad, str):
            return
        pad = pad if isinstance(pad, tuple) else (pad,) * 2
        dil = getattr(m, "dilation", 1)
        dil = dil if isinstance(dil, tuple) else (dil,) * 2
        ceil = getattr(m, "ceil_mode", False)
        for H, R, U, p, d in zip(shape[2:], k, st, pad, dil, strict=True):
            if f.conv_output_size(H, R, U, p, d, ceil) < 1:
                raise InputTooSmallError(
                    f"the feature map collapses at layer {name!r} ({_describe(m)}): its input "
                    f"is {_fmt(shape[1:])}, smaller than the {k[0]}x{k[1]} window"
                )


_SIZE_ERRORS = re.compile(r"too small|greater than|smaller than|size.*(?:negative|zero)|Kernel size",
                          re.IGNORECASE)


def _collect(module: nn.Module, name: str, size: tuple[int, ...],
             counted: frozenset[str]) -> CostReport:
    walker = _Walker(module, counted)
    x = torch.empty(size, device="meta")
    try:
        with torch.no_grad(), meta_cat_by_shape():
            if walker.on_meta:
                y = module(x)
            else:  # a real model: meta stand-ins for its weights, which stay where they are
                tensors = {**dict(module.named_parameters()), **dict(module.named_buffers())}
                stand_ins = {k: torch.empty_like(v, device="meta") for k, v in tensors.items()}
                y = torch.func.functional_call(module, stand_ins, (x,))
    except CnnlibError as e:
        raise type(e)(f"{name} at input {_fmt(size[1:])}: {e}") from None
    except (RuntimeError, ValueError, IndexError) as e:
        where = walker.stack[-1] if walker.stack else None
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        layer = f" at layer {where[0]!r} ({_describe(where[1])}, input {_fmt(where[2][1:])})" if where else ""
        cls = InputTooSmallError if _SIZE_ERRORS.search(first) else CnnlibError
        raise cls(f"{name} at input {_fmt(size[1:])} fails{layer}: {first}") from None
    finally:
        walker.remove()
    out = y[0] if isinstance(y, tuple) else y
    return CostReport(
        model=name, input_size=size, layers=tuple(walker.rows), params=walker.params,
        counted_kinds=counted, output_shape=tuple(out.shape) if isinstance(out, torch.Tensor) else (),
    )
