"""Parsers of command-line values, shared by ``python -m cnnlib`` and its ``accel`` subcommand."""

from __future__ import annotations

import ast
from collections.abc import Sequence
from typing import Any

from cnnlib.errors import BadInputSizeError, CnnlibError


def parse_input_size(text: str) -> tuple[int, ...]:
    """``"3x224x224"`` -> ``(3, 224, 224)``; also ``"224"`` for a square RGB input."""
    try:
        dims = tuple(int(d) for d in text.lower().replace("*", "x").split("x"))
    except ValueError:
        raise BadInputSizeError(f"--input must look like 3x224x224, got {text!r}") from None
    if len(dims) == 1:
        dims = (3, dims[0], dims[0])
    return dims


def parse_settings(items: Sequence[str]) -> dict[str, Any]:
    """``["variant=v1.5", "width_mult=0.5"]`` -> keyword arguments for a model builder."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise CnnlibError(f"--set takes KEY=VALUE, got {item!r}")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out
