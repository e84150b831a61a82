"""Every private PyTorch API cnnlib relies on, in one place, and what breaks if it changes.

cnnlib declares the torch releases it is tested with (``pyproject.toml``); these are the
names a new release could move or change. Each is used through this module only, so a
maintainer who upgrades torch has one file to check, and ``tests/test_counting.py`` and
``tests/test_user_models.py`` fail loudly (not silently wrong) when one of them changes:

* ``torch.utils._python_dispatch.TorchDispatchMode``: the base of the counting mode that sees
  every aten operation of a forward pass (:class:`cnnlib.costs.ops.OpCounter`). Without it
  nothing but the layers with a rule would be counted.
* ``TorchDispatchMode._should_skip_dynamo``: by default torch wraps a mode's
  ``__torch_dispatch__`` in ``torch._dynamo.disable``, whose first call imports
  ``torch._dynamo`` (two seconds) for a mode that never compiles. If the hook goes away the
  first count gets slower; nothing else changes.
* ``torch.utils.flop_counter.flop_registry``: ``FlopCounterMode``'s per-op formulas, keyed by
  aten overload packet. cnnlib's totals equal ``FlopCounterMode``'s because they use the same
  formulas; if the registry moves, every operation outside a layer rule would warn as
  "no MAC formula".
* ``OpOverload._overloadpacket``, ``OpOverload._can_decompose()`` and
  ``OpOverload.decompose()``: the operation an overload belongs to (the registry's key), and
  whether an operation without a formula has a decomposition, which then runs as its parts, as
  ``FlopCounterMode`` does.
* ``torch._C._DisableTorchDispatch``: operations inside a layer whose rule already counted
  them skip the Python dispatch mode (a few microseconds each). Without it they would pass
  through the mode, slower but counted the same.
* ``torch.nn.modules.module._global_forward_hooks`` and its three siblings: hooks registered
  for every module; a layer rule only applies when none can change what the layer does.
* ``Module._compiled_call_impl``: an instance attribute that ``Module.__call__`` calls instead
  of its own hook machinery when set (``Module.compile`` sets it). The collector puts its
  wrapper there for a module without hooks, which saves a Python frame per module call; a
  module with hooks gets its wrapper as its instance ``forward``, so that they still run.
  :data:`CALL_SLOT` checks at import that torch still honours it, and falls back to
  ``forward`` (slower, the same counts) if not.
* ``Tensor._base``: the tensor a view was taken of (``F.linear`` passes ``weight.t()``), so a
  product on a view of a parameter is attributed to that parameter.
* A module's ``_parameters``, ``_buffers``, ``_modules`` and ``_forward_hooks`` /
  ``_forward_pre_hooks`` dicts, read and (for one count) changed directly by the collector,
  which puts every module's ``__dict__`` back afterwards: faster than ``named_parameters()``
  and ``setattr``, and the same in every torch 2 release so far.
* ``nn.modules.conv._ConvNd`` and ``nn.modules.batchnorm._NormBase``: the classes whose
  ``reset_parameters`` / ``reset_running_stats`` a meta build skips (:mod:`cnnlib._speed`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.modules.module as _module
from torch import nn
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

__all__ = ["CALL_SLOT", "CONV_BASE", "NORM_BASE", "DispatchMode", "can_decompose", "decompose",
           "flop_registry", "global_hooks", "no_python_dispatch", "packet", "view_base"]

CONV_BASE: type[nn.Module] = nn.modules.conv._ConvNd
NORM_BASE: type[nn.Module] = nn.modules.batchnorm._NormBase


class DispatchMode(TorchDispatchMode):
    """A dispatch mode that never imports ``torch._dynamo`` (see the module docstring)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False


def packet(func: Any) -> Any:
    """The overload packet of an aten overload (``aten.add`` for ``aten.add.Tensor``)."""
    return func._overloadpacket


def can_decompose(func: Any) -> bool:
    """Does this aten overload have a decomposition that :func:`decompose` would run?"""
    return bool(func._can_decompose())


def decompose(func: Any, *args: Any, **kwargs: Any) -> Any:
    """Run an aten overload as its decomposition (``NotImplemented`` if it has none)."""
    return func.decompose(*args, **kwargs)


#: ``with no_python_dispatch():`` runs its operations below every Python dispatch mode.
no_python_dispatch: Callable[[], Any] = torch._C._DisableTorchDispatch


def global_hooks() -> bool:
    """Are forward hooks or pre-hooks registered for every module?"""
    return bool(_module._global_forward_hooks or _module._global_forward_pre_hooks
                or _module._global_backward_hooks or _module._global_backward_pre_hooks)


def view_base(t: torch.Tensor) -> torch.Tensor | None:
    """The tensor ``t`` is a view of, or None."""
    return t._base


def _call_slot() -> str:
    """``"_compiled_call_impl"`` if ``Module.__call__`` calls it when set on the instance."""
    probe = nn.Identity()
    called: list[bool] = []
    probe.__dict__["_compiled_call_impl"] = lambda *args, **kwargs: called.append(True)
    probe(None)
    return "_compiled_call_impl" if called else "forward"


#: The instance attribute a wrapper takes to replace a hook-free module's call.
CALL_SLOT: str = _call_slot()
