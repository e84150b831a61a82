"""Published figures (papers, the lecture) and how a counted figure is compared with them.

A figure is kept as it was printed ("3.86G", "2.6k", "60,000"), because the printed precision
is what a count must reproduce: "3.86G" is matched by anything that rounds to 3.86G. Where a
figure cannot be reproduced, ``rel_tol`` says how far off it is allowed to be and ``note`` says
why (MAC vs FLOP, v1 vs v1.5, BN counted or not, input size, ...). ``kwargs`` and
``input_size`` name the variant of the model that the figure describes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any

_UNITS = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "B": 10**9}
_FIGURE = re.compile(r"^\s*([0-9][0-9,]*(?:\.[0-9]+)?)\s*([kKMGB]?)\s*$")


def parse_figure(text: str) -> tuple[float, float]:
    """``"3.86G"`` -> ``(3.86e9, 0.005e9)``: the value and half a unit of its last digit."""
    m = _FIGURE.match(text)
    if not m:
        raise ValueError(f"cannot read {text!r} as a published figure (e.g. '3.86G', '2.6k')")
    digits, unit = m.group(1).replace(",", ""), _UNITS[m.group(2)]
    d = Decimal(digits)
    exponent = d.as_tuple().exponent
    assert isinstance(exponent, int)
    half = Decimal(5) * Decimal(10) ** (exponent - 1)
    return float(d * unit), float(half * unit)


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
