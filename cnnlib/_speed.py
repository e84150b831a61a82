"""Two ways building and counting a model on the meta device stays fast. Neither changes a result.

* Initialisers return at once for meta tensors. A meta tensor has no values, so
  ``nn.init.kaiming_uniform_`` and friends have nothing to do, yet PyTorch still runs their
  Python bodies: a third of the time it takes to build the whole zoo on ``meta``. While a model
  is built on ``meta``, :func:`initialisers_skip_meta` wraps them so that a meta tensor is
  returned untouched; real tensors (in any thread) are initialised as usual.
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


@contextmanager
def initialisers_skip_meta() -> Iterator[None]:
    saved = {}
    for name in _INITIALISERS:
        fn = getattr(init, name, None)
        if fn is not None and not getattr(fn, "__wrapped_for_meta__", False):
            saved[name] = fn
            wrapper = _skipping.get(fn)
            if wrapper is None:
                wrapper = _skipping[fn] = _skip_meta(fn)
            setattr(init, name, wrapper)
    try:
        yield
    finally:
        for name, fn in saved.items():
            setattr(init, name, fn)


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
