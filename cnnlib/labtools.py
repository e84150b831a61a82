"""What the labs' tests use to give points only for work the student did.

A lab asks a student to *write* things that ``cnnlib`` already has (the output size of a
convolution, a grouped convolution's weights, an Inception module, the cycles of a systolic
array). Two checks keep a submission that hands that work to ``cnnlib`` from earning points:

:func:`watched` wraps the student's function; calling the wrapper calls the function while a
profiler (``sys.setprofile``) watches every Python function that starts. It knows functions by
their code object, so a wrapper, a reference captured before the test
(``_cw = formulas.conv2d_weights``), a ``functools.partial`` or a subclass of a ``cnnlib``
class is seen as surely as a plain ``cnnlib.formulas`` call::

    weights = watched(conv_weights, forbid=("cnnlib", "torch"))
    assert_exact(weights(12, 18, 1, 7, G=6), 378, "conv_weights(12, 18, 1, 7, G=6)")

``given`` runs a later function with correct versions of the earlier ones (built by the test,
usually from ``cnnlib``), so that one slip costs only its own cells; what runs inside them is
the test's own work and may use anything::

    macs = watched(conv_macs, forbid=("cnnlib", "torch"),
                   given={"conv_output_size": formulas.conv_output_size})

:func:`assert_exact` compares a returned value with the expected one by exact type and value
(``type(x) is int``, floats within a tolerance, tuples, lists and dicts element by element),
so an object whose ``__eq__`` answers ``True`` to everything earns nothing.
:func:`assert_own_modules` checks that a module is built from ``torch.nn``, not on a
``cnnlib`` class.

What this does not stop: code that sets out to disarm the checks from inside the notebook
(replacing these functions, patching ``cnnlib``, a thread started before the test). Tests run
in the student's process, as with nbgrader; ``autograder/README.md`` says so.
"""

from __future__ import annotations

import _thread
import importlib
import math
import os
import sys
import threading
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["assert_exact", "assert_own_modules", "watched"]

_HERE = os.path.abspath(__file__)

#: C functions that switch the watcher off or run code where it cannot see (another process).
_ESCAPES = {id(f) for f in (sys.setprofile, sys.settrace, _thread.start_new_thread,
                            *(getattr(os, name) for name in ("fork", "forkpty", "system", "posix_spawn",
                                                             "posix_spawnp", "execv", "execve")
                              if hasattr(os, name)))}


def _codes_of(obj: Any) -> Iterable[types.CodeType]:
    """Every code object of a function, method, property or class (nested functions included)."""
    if isinstance(obj, types.CodeType):
        yield obj
        for const in obj.co_consts:
            if isinstance(const, types.CodeType):
                yield from _codes_of(const)
    elif isinstance(obj, types.FunctionType):
        yield from _codes_of(obj.__code__)
    elif isinstance(obj, (types.MethodType, staticmethod, classmethod)):
        yield from _codes_of(obj.__func__)
    elif isinstance(obj, property):
        for accessor in (obj.fget, obj.fset, obj.fdel):
            if accessor is not None:
                yield from _codes_of(accessor)
    elif isinstance(obj, type):
        for value in vars(obj).values():
            yield from _codes_of(value)


def _module_path(module: types.ModuleType | str) -> str:
    """A module's file, or its package's folder (ending in a separator)."""
    if isinstance(module, str):
        module = importlib.import_module(module)
    path = os.path.abspath(module.__file__ or "")
    if os.path.basename(path) == "__init__.py":
        return os.path.dirname(path) + os.sep
    return path


class _Watch:
    """A profile function: records forbidden code that starts outside an allowed function."""

    def __init__(self, forbid: Iterable[Any], allowed: Iterable[types.CodeType]):
        self.codes: set[types.CodeType] = set()
        self.paths: list[str] = []
        for item in forbid:
            if isinstance(item, (str, types.ModuleType)):
                self.paths.append(_module_path(item))
            else:
                self.codes.update(_codes_of(item))
        self.allowed = set(allowed)
        self.verdicts: dict[types.CodeType, bool] = {}
        self.found: list[str] = []
        self.base: types.FrameType | None = None   # the frame that calls the student's function

    def forbidden(self, code: types.CodeType) -> bool:
        verdict = self.verdicts.get(code)
        if verdict is None:
            path = code.co_filename
            verdict = path != _HERE and (code in self.codes or any(
                path.startswith(p) if p.endswith(os.sep) else path == p for p in self.paths))
            self.verdicts[code] = verdict
        return verdict

    def inside_allowed(self, frame: types.FrameType | None) -> bool:
        """True if an allowed or given function is on the stack between ``base`` and ``frame``."""
        while frame is not None and frame is not self.base:
            if frame.f_code in self.allowed:
                return True
            frame = frame.f_back
        return False

    def __call__(self, frame: types.FrameType, event: str, arg: Any) -> None:
        if event == "call":
            if self.forbidden(frame.f_code) and not self.inside_allowed(frame):
                code = frame.f_code
                self.found.append(f"{code.co_qualname} ({_short(code.co_filename)})")
        elif event == "c_call" and id(arg) in _ESCAPES and frame is not self.base:
            if frame.f_code.co_filename != threading.__file__ and not self.inside_allowed(frame):
                self.found.append(f"{getattr(arg, '__name__', arg)}() (it switches these checks off "
                                  "or runs code they cannot see)")


def _short(path: str) -> str:
    """``cnnlib/costs/formulas.py`` or ``torch/nn/modules/conv.py``, not the whole path."""
    parts = path.split(os.sep)
    for root in ("cnnlib", "torch"):
        if root in parts:
            return "/".join(parts[len(parts) - 1 - parts[::-1].index(root):])
    return os.path.basename(path)


def _allowed_wrapper(name: str, function: Callable) -> Callable:
    def given(*args, **kwargs):
        return function(*args, **kwargs)

    given.__name__ = given.__qualname__ = name
    return given


_GIVEN_CODE = _allowed_wrapper("x", print).__code__
_MISSING = object()


def watched(fn: Callable, *, forbid: Iterable[Any] = ("cnnlib",), allow: Iterable[Callable] = (),
            given: Mapping[str, Callable] | None = None) -> Callable:
    """``fn``, watched: calling the result calls ``fn`` and returns what it returns, unless
    ``fn`` ran forbidden code, in which case it raises ``AssertionError`` naming what ran.

    ``forbid``: module names (``"cnnlib"``, ``"torch"``: every function of the package),
    modules, functions or classes (every method). Code that ``fn`` starts in its own thread, in
    a thread it starts, or through any reference is seen; so is switching the watcher off.
    ``allow``: functions the student may call although ``forbid`` covers them, with everything
    they run (``cnnlib.count_costs``, which uses ``cnnlib``'s formulas, on the student's module).
    ``given``: names set in the notebook's namespace (the caller's globals) while ``fn`` runs,
    for example correct versions of the functions an exercise builds on; the originals are
    put back afterwards. What runs inside a given function is the test's own work.
    """
    namespace = sys._getframe(1).f_globals
    given = dict(given or {})
    watch = _Watch(forbid, allowed={_GIVEN_CODE, *(code for f in allow for code in _codes_of(f))})

    def call(*args: Any, **kwargs: Any) -> Any:
        saved = {name: namespace.get(name, _MISSING) for name in given}
        watch.found, watch.base = [], sys._getframe(0)
        namespace.update({name: _allowed_wrapper(name, f) for name, f in given.items()})
        old_profile, old_thread_profile = sys.getprofile(), threading.getprofile()
        error: BaseException | None = None
        if watch.codes or watch.paths:   # with nothing forbidden, only ``given`` applies: no profiler
            threading.setprofile(watch)
            sys.setprofile(watch)
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - judged below: delegating, then raising, still delegates
            error = exc
        finally:
            sys.setprofile(old_profile)
            threading.setprofile(old_thread_profile)
            for name, value in saved.items():
                if value is _MISSING:
                    namespace.pop(name, None)
                else:
                    namespace[name] = value
        if watch.found:
            what = getattr(fn, "__name__", type(fn).__name__)
            raise AssertionError(f"{what} ran {watch.found[0]}: this lab asks you to write it yourself "
                                 "(its introduction says what you may use)") from error
        if error is not None:
            raise error
        return result

    return call


def _describe(x: Any) -> str:
    """A value for a message, without calling a method the value's own class defines."""
    if type(x) in (int, float, str, bool, type(None)):
        return repr(x)
    return f"an object of type {type(x).__name__}"


def assert_exact(got: Any, want: Any, what: str = "", *, rel_tol: float = 1e-9,
                 abs_tol: float = 1e-12) -> None:
    """``AssertionError`` unless ``got`` is ``want``'s exact type and value, element by element.

    ints, strings and bools compare exactly (``type(got) is type(want)``); floats must be
    ``float`` and within ``rel_tol`` / ``abs_tol``; tuples, lists and dicts must be exactly
    those types with the same length (keys) and each element checked the same way.
    """
    where = f"{what}: " if what else ""
    if type(want) in (tuple, list, dict):
        if type(got) is not type(want):
            raise AssertionError(f"{where}expected a {type(want).__name__}, got {_describe(got)}")
        if len(got) != len(want):
            raise AssertionError(f"{where}expected {len(want)} items, got {len(got)}")
        if type(want) is dict:
            for key in got:
                if type(key) not in (int, str, tuple, float, bool):
                    raise AssertionError(f"{where}a key is {_describe(key)}")
            if set(got) != set(want):
                raise AssertionError(f"{where}expected the keys {sorted(want)}, got {sorted(got)}")
            for key in want:
                assert_exact(got[key], want[key], f"{what}[{key!r}]", rel_tol=rel_tol, abs_tol=abs_tol)
        else:
            for i, (g, w) in enumerate(zip(got, want, strict=True)):
                assert_exact(g, w, f"{what}[{i}]", rel_tol=rel_tol, abs_tol=abs_tol)
        return
    if type(got) is not type(want):
        raise AssertionError(f"{where}expected {_describe(want)} (type {type(want).__name__}), "
                             f"got {_describe(got)}")
    if type(want) is float:
        ok = math.isclose(got, want, rel_tol=rel_tol, abs_tol=abs_tol)
    else:
        ok = got == want
    if not ok:
        raise AssertionError(f"{where}expected {_describe(want)}, got {_describe(got)}")


def assert_own_modules(module: Any, what: str = "") -> None:
    """``AssertionError`` unless ``module`` is an ``nn.Module`` none of whose parts is built on a
    ``cnnlib`` class (a subclass of one of the zoo's blocks counts as ``cnnlib``'s)."""
    import torch.nn as nn

    from cnnlib.costs.rules import _RULES
    from cnnlib.costs.shapes import STAND_INS

    where = f"{what}: " if what else ""
    if not isinstance(module, nn.Module):
        raise AssertionError(f"{where}expected an nn.Module, got {_describe(module)}")
    for name, part in module.named_modules():
        for cls in type(part).__mro__:
            if cls.__module__.split(".")[0] == "cnnlib":
                raise AssertionError(f"{where}{name or 'the module'} is built on cnnlib's "
                                     f"{cls.__name__}: write it from torch.nn layers")
            if cls.__module__.split(".")[0] != "torch" and (cls in _RULES or cls in STAND_INS):
                raise AssertionError(f"{where}{cls.__name__} has a cost rule of its own: cnnlib "
                                     "must count your module's real layers")
