"""The ledger itself: every claim of :mod:`cnnlib.claims.specs`, computed and judged once."""

from __future__ import annotations

from collections import Counter
from functools import cache

from cnnlib.claims.judge import VERDICTS, Claim, evaluate
from cnnlib.claims.specs import specs

__all__ = ["claims", "find", "verdict_counts"]


@cache
def _claims() -> tuple[Claim, ...]:
    return tuple(evaluate(s) for s in specs())


def claims() -> list[Claim]:
    """Every claim of the lecture with its computed value and verdict, in the lecture's order."""
    return list(_claims())


def find(slide: str, quote: str, items: list[Claim] | None = None) -> Claim:
    """The claim of ``slide`` whose words are ``quote`` (a chapter cites its computed value)."""
    for c in items if items is not None else claims():
        if (c.slide, c.quote) == (slide, quote):
            return c
    raise LookupError(f"the ledger has no claim {quote!r} on the slide {slide!r}")


def verdict_counts(items: list[Claim] | None = None) -> dict[str, int]:
    """How many claims got each verdict, in the order of :data:`VERDICTS`."""
    n = Counter(c.verdict for c in (items if items is not None else claims()))
    return {v: n[v] for v in VERDICTS}
