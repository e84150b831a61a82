"""Errors of the accelerator model: each one names the field at fault and what it may be."""

from __future__ import annotations

import difflib
import math

from cnnlib.errors import CnnlibError


class AccelError(CnnlibError):
    """Base class of the accelerator model's errors on bad input."""


class BadLayerError(AccelError):
    """A layer that is not a layer (a zero size) or cannot map (more groups than channels)."""


class BadHardwareError(AccelError):
    """A hardware description with a size, clock, bandwidth or energy that cannot be."""


class UnknownDataflowError(AccelError):
    """A dataflow the model does not know."""


class UnknownHardwareError(AccelError, KeyError):
    """A hardware preset name that is not in ``accel.PRESETS``."""

    def __init__(self, name: str, known: list[str]):
        close = difflib.get_close_matches(name, known, n=2, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        super().__init__(f"unknown hardware {name!r}.{hint} Presets: {', '.join(known)}.")

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return self.args[0]


def check_positive_int(owner: str, error: type[AccelError], **fields: object) -> None:
    """Raise ``error`` naming the first field that is not a positive integer."""
    for name, value in fields.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise error(f"{owner}: {name} must be a positive integer, got {value!r}")


def check_positive_number(owner: str, error: type[AccelError], **fields: object) -> None:
    """Raise ``error`` naming the first field that is not a positive, finite number."""
    for name, value in fields.items():
        if (not isinstance(value, (int, float)) or isinstance(value, bool)
                or not value > 0 or not math.isfinite(value)):
            raise error(f"{owner}: {name} must be a positive number, got {value!r}")
