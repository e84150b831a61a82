"""Four ways counting on the meta device stays fast. They change speed, never a result.

* Initialisers return at once for meta tensors. A meta tensor has no values, so
  ``nn.init.kaiming_uniform_`` and friends have nothing to do, yet PyTorch still runs their
  Python bodies: a third of the time it takes to build the whole zoo on ``meta``. While a model
  is built on ``meta``, :func:`initialisers_skip_meta` wraps them so that a meta tensor is
  returned untouched; real tensors (in any thread) are initialised as usual.
* Layers and blocks are cloned, not constructed (:func:`leaf_layers_cloned`). Constructing
  ``nn.Conv2d`` or ``nn.BatchNorm2d`` on ``meta`` runs some sixty lines of Python (argument
  checks, a dozen ``Module.__setattr__`` calls, buffer factories, ``reset_parameters``) whose
  result depends only on the arguments; so does building a conv-BN-ReLU unit or a residual
  block of them. The first construction with given arguments is done the normal way and
  remembered; later ones copy its state, with fresh containers, fresh meta tensors and fresh
  children, which makes building a model four to six times faster. Torch's leaf layers are
  cloned, and the model files' units and blocks that opt in with :func:`cloned_on_meta`;
  only exact classes (a subclass may override what construction calls), only in the building
  thread, only when every tensor is on ``meta``, and never a module given another module as an
  argument. The cache holds at most :data:`MAX_REMEMBERED_MODULES` module states. A test builds
  every model of the zoo both ways and compares every module's state.
* The collector does not run PyTorch's meta kernels where the output shape is known: layers
  get shape stand-ins (:mod:`cnnlib.costs.shapes`) and ``torch.cat`` of meta tensors is
  computed from the shapes (:func:`meta_cat_by_shape`). The meta kernels are Python code at
  30-250 microseconds a call.
* The cyclic garbage collector pauses while a model is built and counted
  (:func:`gc_paused`): building creates thousands of module objects, which trigger collections
  that find nothing to free. Counting makes no reference cycles (a test checks), so the model
  is freed as soon as its report is made.
"""

from __future__ import annotations

import functools
import gc
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

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


#: Torch's leaf layers that the zoo builds. Their constructors are swapped for cloning ones
#: only while a model is built on ``meta`` (:func:`leaf_layers_cloned`).
TORCH_LAYERS: tuple[type[nn.Module], ...] = (
    nn.Conv2d, nn.Linear, nn.BatchNorm2d, nn.LocalResponseNorm,
    nn.ReLU, nn.ReLU6, nn.SiLU, nn.Sigmoid, nn.Hardswish, nn.Hardsigmoid, nn.Tanh,
    nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d,
    nn.Dropout, nn.Identity, nn.Flatten,
)
#: Every class that is cloned: torch's, and ours that opt in with :func:`cloned_on_meta`.
CLONED_LAYERS: list[type[nn.Module]] = list(TORCH_LAYERS)
#: Off: every layer is constructed the normal way (the tests compare the two).
cloning_enabled = True


def cloned_on_meta(cls: type[nn.Module]) -> type[nn.Module]:
    """Class decorator: clone this layer or block, like torch's layers, when built on ``meta``.

    Only for a module whose constructor stores nothing but its arguments and what it computes
    from them (containers it holds are copied one level deep, so it must not mutate nested
    ones). A module with children (conv + BN + activation, a residual block) is cloned with
    them, provided each child is a cloned layer or a plain ``Sequential`` / ``ModuleList`` /
    ``ModuleDict`` of them; otherwise it is constructed as usual. The class keeps a cloning
    constructor, which constructs as usual unless this thread is building on ``meta``.
    """
    if cls not in CLONED_LAYERS:
        CLONED_LAYERS.append(cls)
        cls.__init__ = _cloning_init(cls, cls.__init__)  # type: ignore[method-assign]
    return cls


class _Snapshot(NamedTuple):
    """A module's state, private to the cache: its ``__dict__``, the keys holding containers,
    (key, type, snapshot) for each child module, and how many modules that makes."""

    state: dict[str, Any]
    containers: tuple[str, ...]
    children: tuple[tuple[str, type, _Snapshot], ...]
    modules: int = 1


#: Module states the cache may hold (the whole zoo needs some 7,600, a few tens of MB); past
#: that it starts afresh, so that sweeping many widths cannot grow memory without bound.
MAX_REMEMBERED_MODULES = 20_000
_remembered: dict[tuple, _Snapshot] = {}
_remembered_modules = 0
_building = threading.local()
_cloning: dict[tuple[type, Callable[..., None]], Callable[..., None]] = {}  # (class, init) -> wrapper
_CONTAINERS = (dict, OrderedDict, set, list)
#: Module containers hold nothing but their children: inside a cloned layer they are cloned too.
_PLAIN_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _snapshot(module: nn.Module) -> _Snapshot | None:
    """Remember ``module``'s state, or None when it cannot be cloned (a tensor off ``meta``, a
    child that is not a cloned layer)."""
    state = module.__dict__
    tensors = [*state["_parameters"].values(), *state["_buffers"].values()]
    if not all(t is None or t.is_meta for t in tensors):
        return None
    children = []
    for key, child in state["_modules"].items():
        if child is None or (type(child) not in CLONED_LAYERS and type(child) not in _PLAIN_CONTAINERS):
            return None
        snap = _snapshot(child)
        if snap is None:
            return None
        children.append((key, type(child), snap))
    containers = tuple(k for k, v in state.items() if type(v) in _CONTAINERS)
    return _Snapshot(_copy_state(_Snapshot(state, containers, ())), containers, tuple(children),
                     1 + sum(snap.modules for _, _, snap in children))


def _remember(key: tuple, snap: _Snapshot) -> None:
    global _remembered_modules
    if _remembered_modules + snap.modules > MAX_REMEMBERED_MODULES:
        _remembered.clear()
        _remembered_modules = 0
    _remembered[key] = snap
    _remembered_modules += snap.modules


def _copy_state(snap: _Snapshot) -> dict[str, Any]:
    """A module's ``__dict__`` with fresh containers, fresh (meta) tensors and fresh children."""
    state = snap.state
    new = dict(state)
    for k in snap.containers:
        new[k] = state[k].copy()
    params, buffers = new["_parameters"], new["_buffers"]
    for k, p in params.items():
        if p is not None:
            params[k] = nn.Parameter(p, p.requires_grad)
    for k, b in buffers.items():
        if b is not None:
            buffers[k] = b.detach()
    if snap.children:
        modules = new["_modules"]
        for key, cls, child_snap in snap.children:
            child = object.__new__(cls)
            child.__dict__.update(_copy_state(child_snap))
            modules[key] = child
    return new


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
        if state is None and any(isinstance(a, nn.Module) for a in (*args, *kwargs.values())):
            construct(self, *args, **kwargs)   # a module argument (an SE block to put inside)
            return                             # makes each construction different
        if state is not None:
            with torch._C.DisableTorchFunction():  # no device-context dispatch for the copies
                self.__dict__.update(_copy_state(state))
            return
        construct(self, *args, **kwargs)
        with torch._C.DisableTorchFunction():
            snap = _snapshot(self)
        if snap is not None:
            _remember(key, snap)

    __init__.__cloning__ = True  # type: ignore[attr-defined]
    return functools.wraps(construct)(__init__)


@contextmanager
def leaf_layers_cloned() -> Iterator[None]:
    """While active, layers built in this thread are cloned after their first construction."""
    saved = {}
    for cls in TORCH_LAYERS if cloning_enabled else ():
        own = cls.__dict__.get("__init__")   # None: the class inherits its constructor
        if not getattr(own, "__cloning__", False):
            saved[cls] = own
            key = (cls, cls.__init__)
            cloning = _cloning.get(key)
            if cloning is None:
                cloning = _cloning[key] = _cloning_init(cls, cls.__init__)
            cls.__init__ = cloning  # type: ignore[method-assign]
    was_active = getattr(_building, "active", False)
    _building.active = cloning_enabled
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
