"""Two ways building and counting a model on the meta device stays fast. Neither changes a result.

* Initialisers return at once for meta tensors. A meta tensor has no values, so
  ``nn.init.kaiming_uniform_`` and friends have nothing to do, yet PyTorch still runs their
  Python bodies: a third of the time it takes to build the whole zoo on ``meta``. While a model
  is built on ``meta``, :func:`initialisers_skip_meta` wraps them so that a meta tensor is
  returned untouched, and the ``reset_parameters`` / ``reset_running_stats`` of convolutions,
  linear and normalisation layers return at once for a layer whose tensors are all on
  ``meta`` (another quarter of the building time); real tensors and layers (in any thread)
  are initialised as usual.
* The cyclic garbage collector pauses while a model is built and counted
  (:func:`gc_paused`): building creates thousands of module objects, which trigger collections
  that find nothing to free. Counting makes no reference cycles (a test checks), so the model
  is freed as soon as its report is made.

The collector has two more, in :mod:`cnnlib.costs`: layers with a known output shape get shape
stand-ins instead of PyTorch's meta kernels (:mod:`cnnlib.costs.shapes`), and a concatenation of
meta tensors is computed from the shapes (:mod:`cnnlib.costs.ops`, in the counting thread only).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn import init

_INITIALISERS = ("uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
                 "kaiming_uniform_", "kaiming_normal_", "xavier_uniform_", "xavier_normal_",
                 "orthogonal_")


def _skip_meta(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(tensor: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(tensor, "is_meta", False):
            return tensor
        return fn(tensor, *args, **kwargs)

    wrapper.__wrapped_for_meta__ = True  # type: ignore[attr-defined]
    return wrapper


_skipping: dict[Callable[..., Any], Callable[..., Any]] = {}   # initialiser -> its wrapper


#: Layer methods that only initialise values: (class, method name).
_RESETS = ((nn.modules.conv._ConvNd, "reset_parameters"), (nn.Linear, "reset_parameters"),
           (nn.modules.batchnorm._NormBase, "reset_parameters"),
           (nn.modules.batchnorm._NormBase, "reset_running_stats"))


def _skip_meta_layer(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(self: nn.Module, *args: Any, **kwargs: Any) -> Any:
        tensors = [*self._parameters.values(), *self._buffers.values()]
        if tensors and all(t is None or t.is_meta for t in tensors):
            return None
        return fn(self, *args, **kwargs)

    wrapper.__wrapped_for_meta__ = True  # type: ignore[attr-defined]
    return wrapper


@contextmanager
def initialisers_skip_meta() -> Iterator[None]:
    saved: list[tuple[Any, str, Any]] = []
    targets = [(init, name, _skip_meta) for name in _INITIALISERS]
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
        yield
    finally:
        for owner, name, fn in saved:
            setattr(owner, name, fn)


@contextmanager
def building_on_meta() -> Iterator[None]:
    """Build modules on the ``meta`` device, skipping the initialisers' work on meta tensors."""
    with torch.device("meta"), initialisers_skip_meta():
        yield


@contextmanager
def gc_paused() -> Iterator[None]:
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
