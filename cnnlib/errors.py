"""Errors that reach a user of cnnlib with a message that says what to do.

Every error cnnlib raises on bad input is a :class:`CnnlibError` (a ``ValueError``), so the
command line can print its message instead of a torch traceback.
"""

from __future__ import annotations

import difflib


class CnnlibError(ValueError):
    """Base class: a problem with what the user asked for, explained in the message."""


class UnknownModelError(CnnlibError, KeyError):
    """A model name that is not in the registry."""

    def __init__(self, name: str, known: list[str]):
        close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
        hint = f" Did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
        self.name, self.known, self.suggestions = name, known, close
        super().__init__(f"unknown model {name!r}.{hint} Known models: {', '.join(known)}.")

    def __str__(self) -> str:  # KeyError would otherwise print the repr of the message
        return self.args[0]


class BadModelArgumentError(CnnlibError):
    """A keyword argument that a model builder does not take."""


class InputTooSmallError(CnnlibError):
    """The feature map shrinks to nothing (or below a filter's size) inside the model."""


class LayerInputError(CnnlibError):
    """A layer's input that torch would refuse (a wrong size, rank or dtype): the model cannot run."""


class ChannelMismatchError(LayerInputError):
    """The input (or a layer's input) has a different channel count than the layer expects."""


class BadInputSizeError(CnnlibError):
    """An input size that is not a tuple of positive integers."""
