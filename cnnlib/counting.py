"""``count_costs``: a registered model's name, or any ``nn.Module``, to a :class:`CostReport`.

Resolving a name (building the model on the ``meta`` device with the registry) happens here,
above :mod:`cnnlib.costs`, which counts built modules and knows nothing of the registry.

**A named model is built once.** Building a model on ``meta`` costs more than counting it
(ResNet-50: some 270 modules, each constructed by PyTorch's Python code), so the model built
for a name and its arguments is kept and counted again by the next call with the same name and
arguments. It is cnnlib's own and never handed out (:func:`cnnlib.create_model` builds afresh),
and a count leaves a model as it found it (:mod:`cnnlib.costs.collect`), so every count of it
runs the whole forward pass anew on an unchanged model. The kept models are bounded by their
number of modules (:data:`MAX_KEPT_MODULES`; the whole zoo needs about 13,000, some 35 MB); a
model being counted in one thread is not shared: another thread builds its own.
"""

from __future__ import annotations

import gc
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from cnnlib.costs.collect import (
    DEFAULT_INPUT,
    _Walker,
    collect,
    counted_kinds,
    describe,
    input_shape,
    plan_of,
)
from cnnlib.costs.report import DEFAULT_COUNTED, CostReport
from cnnlib.errors import BadInputSizeError, CnnlibError
from cnnlib.registry import create_model, model_info

#: Modules the kept models may hold in all; past that the least recently counted go.
MAX_KEPT_MODULES = 20_000

_kept: OrderedDict[tuple[Any, ...], tuple[nn.Module, _Walker, int, threading.Lock]] = OrderedDict()
_kept_modules = 0
_kept_lock = threading.Lock()

Inputs = Iterable[int] | torch.Tensor | tuple[Any, ...] | list[Any] | dict[str, Any]


def count_costs(model: str | nn.Module, input_size: Inputs | None = None, *,
                count: Iterable[str] | str = DEFAULT_COUNTED, **model_kwargs: Any) -> CostReport:
    """Count weights, parameters, MACs and activations of every layer of ``model``.

    ``model`` is a registered name (built on the ``meta`` device, with ``model_kwargs`` passed
    to its builder) or an ``nn.Module`` on any device, which is left as it was. ``input_size``
    is ``(N, C, H, W)`` or ``(C, H, W)``; or example inputs, as ``torchinfo``'s
    ``input_data``: a tensor (the model gets one input of its shape and dtype), a tuple or list
    of tensors (``model(*inputs)``) or a dict (``model(**inputs)``). Only their shapes and
    dtypes are used: the model runs on meta tensors like them. ``input_size`` defaults to the
    size the model's paper counts at for a name, and to ``(1, 3, 224, 224)`` for a module.
    ``count`` names the row kinds whose operations ``report.macs`` includes: by default every
    kind that multiplies and accumulates (:data:`cnnlib.costs.DEFAULT_COUNTED`), ``"all"`` for
    every kind, or one kind (``"conv"``) or several.

    Layers with a cost rule get rows in the lecture's letters; every other operation that does
    MACs gets a row attributed to the module that ran it, so that on any model the default
    ``macs`` equals ``torch.utils.flop_counter.FlopCounterMode``'s count (with the
    multi-head-attention fast path off). An operation that costs something and that no formula
    covers gives a ``UserWarning`` naming it and its module (see :mod:`cnnlib.costs.ops`).
    """
    kinds = counted_kinds(count)
    was_enabled = gc.isenabled()
    gc.disable()   # building and counting make thousands of objects and no cycle to collect
    try:
        if isinstance(model, str):
            info = model_info(model)
            args, kwargs = _inputs(input_size if input_size is not None else info.input_size)
            return _count_named(model, model_kwargs, args, kwargs, kinds)
        if not isinstance(model, nn.Module):
            raise CnnlibError(f"count_costs takes a registered model name or a torch.nn.Module, "
                              f"got {type(model).__name__} {describe(model)}")
        if model_kwargs:
            raise CnnlibError("model keyword arguments go with a model name, not a built module")
        args, kwargs = _inputs(input_size if input_size is not None else DEFAULT_INPUT)
        return collect(model, type(model).__name__, args, kwargs, kinds)
    finally:
        if was_enabled:
            gc.enable()


def _count_named(name: str, model_kwargs: dict[str, Any], args: tuple[Any, ...],
                 kwargs: dict[str, Any], kinds: frozenset[str]) -> CostReport:
    global _kept_modules
    try:
        key: tuple[Any, ...] | None = (name, tuple(sorted(model_kwargs.items())), torch.get_default_dtype())
        hash(key)
    except TypeError:   # an argument that cannot be a key: build a model for this count only
        key = None
    with _kept_lock:
        entry = _kept.get(key) if key is not None else None
        if key is not None and entry is not None:
            _kept.move_to_end(key)
    if entry is not None and entry[3].acquire(blocking=False):
        try:
            return collect(entry[0], name, args, kwargs, kinds, entry[1])
        finally:
            entry[3].release()
    module = create_model(name, device="meta", **model_kwargs)
    if key is None or entry is not None:
        return collect(module, name, args, kwargs, kinds)
    walker = plan_of(module)
    lock = threading.Lock()
    size = len(walker.modules)
    with lock:
        with _kept_lock:
            if key not in _kept and size <= MAX_KEPT_MODULES:
                while _kept and _kept_modules + size > MAX_KEPT_MODULES:
                    _, (_, _, dropped, _) = _kept.popitem(last=False)
                    _kept_modules -= dropped
                _kept[key] = (module, walker, size, lock)
                _kept_modules += size
        return collect(module, name, args, kwargs, kinds, walker)


def _inputs(value: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """The positional and keyword inputs of the forward pass, as meta tensors."""
    if isinstance(value, torch.Tensor):
        return (_meta(value),), {}
    if isinstance(value, dict):
        if not value or not all(isinstance(k, str) for k in value):
            raise BadInputSizeError(f"a dict of inputs maps argument names to example tensors, "
                                    f"got {describe(value)}")
        return (), {k: _as_meta(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)) and any(isinstance(v, torch.Tensor) for v in value):
        return tuple(_as_meta(v) for v in value), {}
    return (torch.empty(input_shape(value), device="meta"),), {}


def _meta(t: torch.Tensor) -> torch.Tensor:
    if not t.dim() or 0 in t.shape:
        raise BadInputSizeError(f"an example input must have at least one dimension and no empty one, "
                                f"got {describe(t)}")
    return torch.empty(t.shape, dtype=t.dtype, device="meta")


def _as_meta(v: Any) -> Any:
    """An example input as the model will get it: tensors as meta tensors (also inside tuples,
    lists and dicts), anything else (a flag, a mask of None) as it is."""
    if isinstance(v, torch.Tensor):
        return torch.empty(v.shape, dtype=v.dtype, device="meta")
    if isinstance(v, (tuple, list)):
        return type(v)(_as_meta(x) for x in v)
    if isinstance(v, dict):
        return {k: _as_meta(x) for k, x in v.items()}
    return v
