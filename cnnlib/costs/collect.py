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

from cnnlib._speed import gc_paused
from cnnlib.costs import formulas as f
from cnnlib.costs.report import DEFAULT_COUNTED, KINDS, CostReport, LayerCost
from cnnlib.costs.rules import TRANSPARENT, keeps_shape, rule_for
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
    """Forward hooks that record rows and catch a collapsing feature map where it happens."""

    def __init__(self, model: nn.Module, counted: frozenset[str]):
        self.counted = counted
        self.rows: list[LayerCost] = []
        self.stack: list[tuple[str, nn.Module, tuple[int, ...]]] = []
        self.seen: set[int] = set()
        self.handles = []
        self.patched: list[nn.Module] = []
        for name, m in model.named_modules():
            if isinstance(m, TRANSPARENT):
                continue
            if keeps_shape(m) and "forward" not in m.__dict__:
                m.forward = _first_input  # its output shape is its input's: skip the slow meta op
                self.patched.append(m)
            rule = rule_for(m)
            if rule is None and (list(m.children()) or not list(m.parameters(recurse=False))):
                continue  # containers, and parameter-free layers we have no rule for
            self.handles.append(m.register_forward_pre_hook(self._pre(name)))
            self.handles.append(m.register_forward_hook(self._post(name, rule)))

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        for m in self.patched:
            del m.forward

    def _pre(self, name: str):
        def hook(m: nn.Module, inputs: tuple) -> None:
            x = inputs[0] if inputs else None
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else ()
            self.stack.append((name, m, shape))
            _check_fits(name, m, shape)
        return hook

    def _post(self, name: str, rule):
        def hook(m: nn.Module, inputs: tuple, y: Any) -> None:
            self.stack.pop()
            out = y[0] if isinstance(y, tuple) else y
            if isinstance(out, torch.Tensor) and out.dim() >= 3 and 0 in out.shape[2:]:
                raise InputTooSmallError(
                    f"the feature map collapses at layer {name!r} ({_describe(m)}): "
                    f"its input {_fmt(inputs[0].shape[1:])} gives an empty output {_fmt(out.shape[1:])}"
                )
            fields = rule(m, inputs, out) if rule else {"kind": "other", "ops": 0}
            first_call = id(m) not in self.seen
            self.seen.add(id(m))
            own = sum(p.numel() for p in m.parameters(recurse=False)) if first_call else 0
            if not first_call:
                fields = {**fields, "weights": 0, "biases": 0}
            ops = fields.get("ops", 0)
            kind = fields["kind"]
            self.rows.append(LayerCost(
                name=name, module=type(m).__name__,
                input_shape=tuple(inputs[0].shape) if inputs else (),
                output_shape=tuple(out.shape) if isinstance(out, torch.Tensor) else (),
                params=own,
                macs=ops if kind in self.counted else 0,
                connections=fields.pop("connections", 0),
                activations_in=sum(t.numel() for t in inputs if isinstance(t, torch.Tensor)),
                activations_out=out.numel() if isinstance(out, torch.Tensor) else 0,
                **fields,
            ))
        return hook


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


def _check_fits(name: str, m: nn.Module, shape: tuple[int, ...]) -> None:
    """Before a layer runs: does its input have the channels and the size it needs?"""
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
    if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)) and len(shape) == 4:
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
    params = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    on_meta = all(t.is_meta for t in [*params.values(), *buffers.values()])
    was_training = module.training
    walker = _Walker(module, counted)
    x = torch.empty(size, device="meta")
    try:
        module.eval()
        with torch.no_grad():
            if on_meta:
                y = module(x)
            else:
                stand_ins = {k: torch.empty_like(v, device="meta") for k, v in {**params, **buffers}.items()}
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
        module.train(was_training)
    out = y[0] if isinstance(y, tuple) else y
    return CostReport(
        model=name, input_size=size, layers=tuple(walker.rows),
        params=sum(p.numel() for p in module.parameters()), counted_kinds=counted,
        output_shape=tuple(out.shape) if isinstance(out, torch.Tensor) else (),
    )

