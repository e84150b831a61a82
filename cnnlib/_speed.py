"""Building a model on the ``meta`` device fast, without changing what is built.

A meta tensor has no values, so ``nn.init.kaiming_uniform_`` and friends have nothing to do,
yet PyTorch still runs their Python bodies: a third of the time it takes to build the whole zoo
on ``meta``. While a model is built on ``meta`` (:func:`building_on_meta`), the initialisers
are wrapped so that a meta tensor is returned untouched, and the ``reset_parameters`` /
``reset_running_stats`` of convolutions, linear and normalisation layers return at once for a
layer whose tensors are all on ``meta`` (another quarter of the building time). Real tensors
and layers, in any thread, are initialised as usual; everything is put back on exit.

What keeps counting itself fast is in :mod:`cnnlib.costs.collect` (shape stand-ins, no Python
dispatch inside a layer with a rule) and :mod:`cnnlib.counting` (a named model is built once).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn import init

from cnnlib._torch import CONV_BASE, NORM_BASE

_INITIALISERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                 "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
                 "orthogonal_")

#: Layer methods that only initialise values: (class, method name).
_RESETS = ((CONV_BASE, "reset_parameters"), (nn.Linear, "reset_parameters"),
           (NORM_BASE, "reset_parameters"), (NORM_BASE, "reset_running_stats"))

_skipping: dict[Callable[..., Any], Callable[..., Any]] = {}   # original -> its wrapper


def _skip_meta(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(tensor, "is_meta", False):
            return tensor
        return fn(tensor, *args, **kwargs)

    # a mark on the function object, so that it is never wrapped twice (read below)
    wrapper.__wrapped_for_meta__ = True  # type: ignore[attr-defined]  # functions take attributes
    return wrapper


def _skip_meta_layer(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        tensors = [*self._parameters.values(), *self._buffers.values()]
        if tensors and all(t is None or t.is_meta for t in tensors):
            return None
        return fn(self, *args, **kwargs)

    # a mark on the function object, so that it is never wrapped twice (read below)
    wrapper.__wrapped_for_meta__ = True  # type: ignore[attr-defined]  # functions take attributes
    return wrapper


@contextmanager
def building_on_meta() -> Iterator[None]:
    """Build modules on the ``meta`` device, skipping the initialisers' work on meta tensors."""
    saved: list[tuple[Any, str, Any]] = []
    targets: list[tuple[Any, str, Callable[..., Any]]] = [(init, name, _skip_meta) for name in _INITIALISERS]
    targets += [(cls, name, _skip_meta_layer) for cls, name in _RESETS]
    for owner, name, make in targets:
        fn = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
        if fn is not None and not getattr(fn, "__wrapped_for_meta__", False):
            saved.append((owner, name, fn))
            wrapper = _skipping.get(fn)
            if wrapper is None:
                wrapper = _skipping[fn] = make(fn)
            setattr(owner, name, wrapper)
    try:
        with torch.device("meta"):
            yield
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)
