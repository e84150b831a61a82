"""Three ways counting on the meta device stays fast. They change speed, never a result.

* Initialisers return at once for meta tensors. A meta tensor has no values, so
  ``nn.init.kaiming_uniform_`` and friends have nothing to do, yet PyTorch still runs their
  Python bodies: a third of the time it takes to build the whole zoo on ``meta``. While a model
  is built on ``meta``, :func:`initialisers_skip_meta` wraps them so that a meta tensor is
  returned untouched; real tensors (in any thread) are initialised as usual.
* PyTorch's own layers are cloned, not constructed (:func:`leaf_layers_cloned`). Constructing
  ``nn.Conv2d`` or ``nn.BatchNorm2d`` on ``meta`` runs some sixty lines of Python (argument
  checks, a dozen ``Module.__setattr__`` calls, buffer factories, ``reset_parameters``) whose
  result depends only on the arguments. The first construction with given arguments is done
  the normal way and remembered; later ones copy its state, with fresh containers and fresh
  meta tensors, which is four times faster for a whole model. Only exact torch classes are
  cloned (a subclass may override what construction calls), only in the building thread, and
  only when every tensor of the layer is on ``meta``. A test checks that a clone's state equals
  a normally constructed layer's for every layer the zoo uses.
* The cyclic garbage collector pauses while a model is built and counted
  (:func:`gc_paused`): building creates thousands of module objects, which trigger collections
  that find nothing to free and cost a quarter of the counting time.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections import OrderedDict
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


#: The layers that are cloned: torch's leaf layers the zoo builds, and ours that opt in with
#: :func:`cloned_on_meta`. Each has no child modules and a state that depends only on its
#: constructor's arguments.
CLONED_LAYERS: list[type[nn.Module]] = [
    nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.LocalResponseNorm,
    nn.ReLU, nn.ReLU6, nn.SiLU, nn.Sigmoid, nn.Hardswish, nn.Hardsigmoid, nn.Tanh,
    nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
    nn.Dropout, nn.Identity, nn.Flatten,
]
#: Off: every layer is constructed the normal way (the tests compare the two).
cloning_enabled = True


def cloned_on_meta(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: clone this layer, like torch's own, when a model is built on ``meta``.

    Only for a layer without child modules whose constructor stores nothing but its arguments
    and what it computes from them (containers it holds are copied one level deep, so it must
    not mutate nested ones).
    """
    if cls not in CLONED_LAYERS:
        CLONED_LAYERS.append(cls)
    return cls


_MAX_REMEMBERED = 4096   # distinct (layer, arguments) pairs; then start afresh
_remembered: dict[tuple, tuple[dict[str, Any], tuple[str, ...]]] = {}
_building = threading.local()
_cloning: dict[tuple[type, Callable[..., None]], Callable[..., None]] = {}  # (class, init) -> wrapper
_CONTAINERS = (dict, OrderedDict, set, list)


def _remember(state: dict[str, Any]) -> tuple[dict[str, Any], tuple[str, ...]]:
    """A module's state, private to the cache, and the keys that hold containers."""
    containers = tuple(k for k, v in state.items() if type(v) in _CONTAINERS)
    return _copy_state((state, containers)), containers


def _copy_state(remembered: tuple[dict[str, Any], tuple[str, ...]]) -> dict[str, Any]:
    """A module's ``__dict__`` with fresh containers and fresh (meta) tensor objects."""
    state, containers = remembered
    new = dict(state)
    for k in containers:
        new[k] = state[k].copy()
    params, buffers = new["_parameters"], new["_buffers"]
    for k, p in params.items():
        if p is not None:
            params[k] = nn.Parameter(p, p.requires_grad)
    for k, b in buffers.items():
        if b is not None:
            buffers[k] = b.detach()
    return new


def _all_meta(state: dict[str, Any]) -> bool:
    tensors = [*state["_parameters"].values(), *state["_buffers"].values()]
    return all(t is None or t.is_meta for t in tensors)


def _cloning_init(cls: type[nn.Module], construct: Callable[..., None]) -> Callable[..., None]:
    def __init__(self: nn.Module, *args: Any, **kwargs: Any) -> None:
        if type(self) is not cls or not getattr(_building, "active", False):
            construct(self, *args, **kwargs)
            return
        try:
            key = (cls, torch.get_default_dtype(), args, tuple(kwargs.items()))
            state = _remembered.get(key)
        except TypeError:  # an unhashable argument: construct as usual
            construct(self, *args, **kwargs)
            return
        if state is not None:
            with torch._C.DisableTorchFunction():  # no device-context dispatch for the copies
                self.__dict__.update(_copy_state(state))
            return
        construct(self, *args, **kwargs)
        if _all_meta(self.__dict__):
            if len(_remembered) >= _MAX_REMEMBERED:
                _remembered.clear()
            with torch._C.DisableTorchFunction():
                _remembered[key] = _remember(self.__dict__)

    __init__.__cloning__ = True  # type: ignore[attr-defined]
    return functools.wraps(construct)(__init__)


@contextmanager
def leaf_layers_cloned() -> Iterator[None]:
    """While active (in this thread), :data:`CLONED_LAYERS` are cloned after their first build."""
    saved = {}
    for cls in CLONED_LAYERS if cloning_enabled else ():
        own = cls.__dict__.get("__init__")   # None: the class inherits its constructor
        if not getattr(own, "__cloning__", False):
            saved[cls] = own
            key = (cls, cls.__init__)
            cloning = _cloning.get(key)
            if cloning is None:
                cloning = _cloning[key] = _cloning_init(cls, cls.__init__)
            cls.__init__ = cloning  # type: ignore[method-assign]
    was_active = getattr(_building, "active", False)
    _building.active = True
    try:
        yield
    finally:
        _building.active = was_active
        for cls, own in saved.items():
            if own is None:
                del cls.__init__
            else:
                cls.__init__ = own  # type: ignore[method-assign]


@contextmanager
def building_on_meta() -> Iterator[None]:
    """Everything that makes building a model on the ``meta`` device fast."""
    with torch.device("meta"), initialisers_skip_meta(), leaf_layers_cloned():
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


_torch_cat = torch.cat


def _cat_by_shape(tensors: Any, dim: Any = 0, **kwargs: Any) -> torch.Tensor:
    """``torch.cat`` for meta tensors of one dtype, from their shapes; anything else goes to torch."""
    if not kwargs and type(dim) is int and type(tensors) in (list, tuple) and tensors:
        first = tensors[0]
        if type(first) is torch.Tensor and first.is_meta:
            shape = list(first.shape)
            ndim = len(shape)
            d = dim + ndim if dim < 0 else dim
            if 0 <= d < ndim and 0 not in shape:
                total = 0
                for t in tensors:
                    if (type(t) is not torch.Tensor or not t.is_meta or t.dtype != first.dtype
                            or t.dim() != ndim):
                        break
                    s = t.shape
                    if 0 in s or any(s[i] != shape[i] for i in range(ndim) if i != d):
                        break
                    total += s[d]
                else:
                    shape[d] = total
                    return torch.empty(shape, dtype=first.dtype, device="meta")
    return _torch_cat(tensors, dim, **kwargs)


@contextmanager
def meta_cat_by_shape() -> Iterator[None]:
    """While counting, ``torch.cat`` of meta tensors skips PyTorch's meta kernel.

    The kernel checks and computes the output shape in Python, 90 us or more a call; DenseNet-121
    concatenates 62 times in one forward pass. The stand-in computes the same shape from the
    inputs' shapes, and hands every other call (real tensors, mixed dtypes, mismatched shapes,
    whose error message torch then gives) to ``torch.cat`` itself.
    """
    if torch.cat is _cat_by_shape:
        yield
        return
    torch.cat = _cat_by_shape
    try:
        yield
    finally:
        torch.cat = _torch_cat
