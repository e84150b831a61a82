"""``count_costs``: a registered model's name, or any ``nn.Module``, to a :class:`CostReport`.

Resolving a name (building the model on the ``meta`` device with the registry) happens here,
above :mod:`cnnlib.costs`, which counts built modules and knows nothing of the registry.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from cnnlib._speed import gc_paused
from cnnlib.costs.collect import DEFAULT_INPUT, collect, counted_kinds, input_shape
from cnnlib.costs.report import DEFAULT_COUNTED, CostReport
from cnnlib.errors import CnnlibError
from cnnlib.registry import create_model, model_info


def count_costs(model: str | nn.Module, input_size: Iterable[int] | torch.Tensor | None = None, *,
                count: Iterable[str] | str = DEFAULT_COUNTED, **model_kwargs: Any) -> CostReport:
    """Count weights, parameters, MACs and activations of every layer of ``model``.

    ``model`` is a registered name (built on the ``meta`` device, with ``model_kwargs`` passed
    to its builder) or an ``nn.Module`` on any device. ``input_size`` is ``(N, C, H, W)`` or
    ``(C, H, W)``, or a tensor whose shape (and dtype) is the input's, for inputs of another
    rank; it defaults to the size the model's paper counts at for a name, and to
    ``(1, 3, 224, 224)`` for a module. ``count`` names the row kinds whose operations
    ``report.macs`` includes: by default every kind that multiplies and accumulates
    (:data:`cnnlib.costs.DEFAULT_COUNTED`), ``"all"`` for every kind, or one kind (``"conv"``)
    or several.

    Layers with a cost rule get rows in the lecture's letters; every other operation that does
    MACs gets a row attributed to the module that ran it, so that on any model the default
    ``macs`` equals ``torch.utils.flop_counter.FlopCounterMode``'s count (with the
    multi-head-attention fast path off). An operation that costs something and that no formula
    covers gives a ``UserWarning`` naming it and its module (see :mod:`cnnlib.costs.ops`).
    """
    kinds = counted_kinds(count)
    with gc_paused():
        if isinstance(model, str):
            info = model_info(model)
            size = input_size if input_size is not None else info.input_size
            dims = _shape(size)
            module = create_model(model, device="meta", **model_kwargs)
            return collect(module, model, dims, kinds, _dtype(size))
        if not isinstance(model, nn.Module):
            raise CnnlibError(f"count_costs takes a registered model name or a torch.nn.Module, "
                              f"got {type(model).__name__} {model!r:.60}")
        if model_kwargs:
            raise CnnlibError("model keyword arguments go with a model name, not a built module")
        size = input_size if input_size is not None else DEFAULT_INPUT
        return collect(model, type(model).__name__, _shape(size), kinds, _dtype(size))


def _shape(size: Any) -> tuple[int, ...]:
    if isinstance(size, torch.Tensor):
        return input_shape(tuple(size.shape), exact=True)
    return input_shape(size)


def _dtype(size: Any) -> torch.dtype | None:
    return size.dtype if isinstance(size, torch.Tensor) else None
