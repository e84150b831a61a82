"""Published figures (papers, the lecture): how a printed figure is read, and how a counted
figure is compared with it.

A figure is kept as it was printed ("3.86G", "2.6k", "60,000"), because the printed precision
is what a count must reproduce. :func:`read_figure` is the one reader of printed figures: the
registry's :class:`Published` figures and the claims ledger (:mod:`cnnlib.claims`) both use
it, so one printed figure cannot get two verdicts. Where a figure cannot be reproduced,
``rel_tol`` says how far off it is allowed to be and ``note`` says why (MAC vs FLOP, v1 vs
v1.5, BN counted or not, input size, ...). ``kwargs`` and ``input_size`` name the variant of
the model that the figure describes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

__all__ = ["Published", "parse_figure", "read_figure"]

#: Multipliers of the unit letters a figure may end with; ``%`` and ``x`` (a ratio) are units
#: of their own and multiply by one.
UNITS: dict[str, int] = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9,
                         "%": 1, "x": 1}
_NUMBER = re.compile(r"^~?\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([kKMGB%x]?)$")
_WORDS = {"one": 1, "two": 2, "three": 3}


def read_figure(text: str, significant: int | None = None) -> tuple[float, float] | None:
    """A printed number as ``(value, half)``: its value, give or take ``half``; ``None`` when
    ``text`` is not a single number (``"3 - 1024"``, ``"11x11"``, ``"RSM/(RS+M)"``).

    The precision rule: **half a unit of the last printed digit**, in the figure's unit.
    ``"1.43G"`` is any count from 1.425G to 1.435G; ``"34k"`` is 33.5k to 34.5k. Every printed
    digit counts, trailing zeros included: ``"60,000"`` and ``"15300"`` are exact to the unit,
    and ``"60"`` is 59.5 to 60.5. A leading ``~`` is ignored; ``%`` and ``x`` are units;
    ``"one"``, ``"two"`` and ``"three"`` are whole numbers.

    A figure printed with more digits than its source kept (MobileNet's table prints VGG-16's
    15.3 billion mult-adds as "15300" million) cannot be recognised from the digits alone: the
    caller who knows it passes ``significant``, the number of significant figures the source
    kept, and the precision is half a unit of the last of those (``"15300"`` with
    ``significant=3`` is 15250 to 15350).
    """
    word = _WORDS.get(text.strip().lower())
    if word is not None:
        number, unit = Decimal(word), 1
    else:
        m = _NUMBER.match(text.strip())
        if not m:
            return None
        number, unit = Decimal(m.group(1).replace(",", "")), UNITS[m.group(2)]
    exponent = number.as_tuple().exponent
    assert isinstance(exponent, int)  # a finite number, never NaN or infinity
    if significant is not None:
        if significant < 1:
            raise ValueError(f"significant must be at least 1, got {significant}")
        kept = number.adjusted() - significant + 1   # the exponent of the last kept digit
        if kept < exponent:
            raise ValueError(f"{text!r} cannot have kept {significant} significant figures: "
                             "it prints fewer digits than that")
        exponent = kept
    half = Decimal(5) * Decimal(10) ** (exponent - 1)
    return float(number * unit), float(half * unit)


def parse_figure(text: str) -> tuple[float, float]:
    """``"3.86G"`` -> ``(3.86e9, 0.005e9)``, as :func:`read_figure`; a figure that is not a
    number is an error."""
    figure = read_figure(text)
    if figure is None:
        raise ValueError(f"cannot read {text!r} as a published figure (e.g. '3.86G', '2.6k')")
    return figure


@dataclass(frozen=True)
class Published:
    """One figure printed in a paper or in the lecture, and how to reproduce it."""

    metric: str
    value: str
    source: str
    where: str = ""
    kwargs: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    input_size: tuple[int, int, int] | None = None
    note: str = ""
    rel_tol: float | None = None

    @property
    def number(self) -> float:
        return parse_figure(self.value)[0]

    def matches(self, counted: float) -> bool:
        """True when ``counted`` rounds to the published figure (or is within ``rel_tol``)."""
        value, half = parse_figure(self.value)
        if self.rel_tol is not None:
            return abs(counted - value) <= self.rel_tol * value
        return abs(counted - value) <= half * (1 + 1e-9)

    def describe(self) -> str:
        variant = ", ".join(f"{k}={v!r}" for k, v in self.kwargs.items())
        size = "x".join(map(str, self.input_size)) if self.input_size else ""
        how = "; ".join(x for x in (variant, size) if x)
        return f"{self.metric} = {self.value} ({self.source} {self.where}{', ' + how if how else ''})"
