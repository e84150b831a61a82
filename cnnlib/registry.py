"""One registry of models: ``create_model(name)``, ``list_models()``, ``model_info(name)``.

Each model file registers its public builders with :func:`register_model`, naming the paper
(its key in ``references.bib``), the table of the paper the code transcribes, the input size
the paper counts at, and the figures the paper (and the lecture) publish for it.
"""

from __future__ import annotations

import inspect
import math
import re
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from cnnlib._speed import building_on_meta
from cnnlib.errors import BadModelArgumentError, CnnlibError, UnknownModelError
from cnnlib.published import Published

Builder = Callable[..., nn.Module]


@dataclass(frozen=True)
class ModelInfo:
    """What the registry knows about a model besides how to build it."""

    name: str
    builder: Builder
    paper: str
    table: str
    input_size: tuple[int, int, int]
    published: tuple[Published, ...] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""

    @property
    def family(self) -> str:
        return self.builder.__module__.rsplit(".", 1)[-1]

    def build(self, **kwargs: Any) -> nn.Module:
        return self.builder(**{**self.kwargs, **kwargs})

    def figure(self, metric: str, *, source: str | None = None,
               input_size: tuple[int, int, int] | None = None, **kwargs: Any) -> Published:
        """The published figure of ``metric`` for the variant ``kwargs`` at ``input_size``
        (``None``: the model's own), from ``source`` if given: exactly one must match.

        ``model_info("mobilenet_v1").figure("macs", width_mult=0.5).value == "149M"``
        """
        found = [p for p in self.published
                 if p.metric == metric and dict(p.kwargs) == kwargs and p.input_size == input_size
                 and source in (None, p.source)]
        if len(found) != 1:
            where = f" from {source}" if source else ""
            sources = f" ({', '.join(p.source for p in found)}: name a source)" if found else ""
            raise LookupError(f"{self.name} has {len(found)} published {metric} figures{where} for "
                              f"{kwargs or 'its default variant'} at {input_size or 'its input size'}"
                              f"{sources}")
        return found[0]


_REGISTRY: dict[str, ModelInfo] = {}


def register_model(name: str | None = None, *, paper: str, table: str,
                   input_size: tuple[int, int, int] = (3, 224, 224),
                   published: Sequence[Published] = (), builder: Builder | None = None,
                   kwargs: Mapping[str, Any] | None = None,
                   summary: str = "") -> Callable[[Builder], Builder]:
    """Register a builder, as a decorator or (with ``builder=``) as a call.

    The call form registers one builder under several names with different ``kwargs``
    (``efficientnet_b1`` ... ``efficientnet_b7`` from one EfficientNet builder).
    """

    def register(fn: Builder) -> Builder:
        key = name or fn.__name__
        if key in _REGISTRY:
            raise ValueError(f"model {key!r} is registered twice")
        doc = summary or (inspect.getdoc(fn) or "").split("\n", 1)[0]
        C, H, W = input_size
        _REGISTRY[key] = ModelInfo(key, fn, paper, table, (C, H, W), tuple(published),
                                   dict(kwargs or {}), doc)
        return fn

    if builder is not None:
        register(builder)
    return register


def _ensure_loaded() -> None:
    import cnnlib.models  # noqa: F401  (importing the package registers every model)


def _natural(name: str) -> list[int | str]:
    """``resnet18`` before ``resnet101``: digit runs compare as numbers."""
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def list_models() -> list[str]:
    """Names of all registered models, in natural order (resnet18, resnet34, ..., resnet152)."""
    _ensure_loaded()
    return sorted(_REGISTRY, key=_natural)


def model_info(name: str) -> ModelInfo:
    """The registry entry of ``name``; an unknown name lists the known ones."""
    _ensure_loaded()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise UnknownModelError(name, sorted(_REGISTRY)) from None


def create_model(name: str, *, device: str | torch.device | None = None,
                 **kwargs: Any) -> nn.Module:
    """Build a registered model. ``device="meta"`` builds it without allocating any weights."""
    info = model_info(name)
    _check_kwargs(info, kwargs)
    dev = _device(device)
    try:
        if dev is None:
            return info.build(**kwargs)
        if dev.type == "meta":
            with building_on_meta():
                return info.build(**kwargs)
        with dev:
            return info.build(**kwargs)
    except (ValueError, TypeError) as e:  # a builder rejecting an argument's value
        if isinstance(e, BadModelArgumentError):
            raise
        raise BadModelArgumentError(f"{name}: {e}") from e


def _device(device: str | torch.device | None) -> torch.device | None:
    if device is None:
        return None
    try:
        dev = device if isinstance(device, torch.device) else torch.device(device)
    except (RuntimeError, TypeError) as e:
        raise CnnlibError(f"unknown device {device!r}: use 'cpu', 'meta' (no weights "
                          "allocated), 'cuda' or another torch device") from e
    if dev.type not in ("cpu", "meta"):
        try:   # torch says "Torch not compiled with CUDA enabled" with an AssertionError
            torch.empty(0, device=dev)
        except (RuntimeError, AssertionError) as e:
            raise CnnlibError(f"device {str(dev)!r} is not available on this machine "
                              f"({str(e).strip().splitlines()[0]}); use 'cpu', or 'meta' to "
                              "build without allocating weights") from e
    return dev


#: Arguments that many builders take, and what each must be.
_POSITIVE_NUMBERS = ("width_mult", "depth_mult")
_POSITIVE_INTS = ("num_classes",)


def _check_kwargs(info: ModelInfo, kwargs: Mapping[str, Any]) -> None:
    if not kwargs:
        return
    params = inspect.signature(info.builder).parameters
    accepted = [p for p in params if p not in info.kwargs]
    unknown = [k for k in kwargs if k not in params]
    if unknown:
        raise BadModelArgumentError(
            f"{info.name} does not take {', '.join(map(repr, unknown))}; "
            f"it takes: {', '.join(accepted) or 'no arguments'}"
        )
    for key in _POSITIVE_NUMBERS:
        v = kwargs.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float)) or not v > 0):
            raise BadModelArgumentError(f"{info.name}: {key} must be a number > 0, got {v!r}")
    for key in _POSITIVE_INTS:
        v = kwargs.get(key)
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 1):
            raise BadModelArgumentError(f"{info.name}: {key} must be a positive integer, got {v!r}")
    _check_types(info, kwargs)
    for key, fixed in info.kwargs.items():
        if key in kwargs and kwargs[key] != fixed:
            same = [n for n, other in _REGISTRY.items() if other.builder is info.builder
                    and dict(other.kwargs) == {**info.kwargs, key: kwargs[key]}]
            hint = f": that model is {same[0]!r}" if same else ""
            raise BadModelArgumentError(
                f"{info.name} is built with {key}={fixed!r}, which its name fixes; it cannot be "
                f"counted with {key}={kwargs[key]!r}{hint}")


def _check_types(info: ModelInfo, kwargs: Mapping[str, Any]) -> None:
    """Each argument of the type its builder declares: ``ceil_mode="no"`` is not a bool."""
    try:
        hints = typing.get_type_hints(info.builder)
    except (NameError, TypeError):   # a builder whose annotations cannot be resolved
        return
    for key, value in kwargs.items():
        expected = hints.get(key)
        if expected is bool and not isinstance(value, bool):
            raise BadModelArgumentError(f"{info.name}: {key} must be True or False, got {value!r}")
        if expected is int and (isinstance(value, bool) or not isinstance(value, int)):
            raise BadModelArgumentError(f"{info.name}: {key} must be an integer, got {value!r}")
        if expected is float and (isinstance(value, bool) or not isinstance(value, (int, float))
                                  or not math.isfinite(value)):
            raise BadModelArgumentError(f"{info.name}: {key} must be a number, got {value!r}")
        if expected is str and not isinstance(value, str):
            raise BadModelArgumentError(f"{info.name}: {key} must be a string, got {value!r}")
        if typing.get_origin(expected) is typing.Literal and value not in typing.get_args(expected):
            allowed = ", ".join(map(repr, typing.get_args(expected)))
            raise BadModelArgumentError(f"{info.name}: {key} must be one of {allowed}, got {value!r}")
