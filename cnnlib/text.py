"""Plain-text figures and tables: ``human(3858415616) == '3.86G'``, ``percent(0.724) == '72%'``,
``times(3.14) == '3.1x'`` and fixed-width tables.

Every text output of cnnlib (cost reports, the zoo, the lecture's summary table, accelerator
estimates, claims, the book's labels and the numbers of its prose) is written with these
functions, so that a figure reads the same everywhere. They know nothing of models or costs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence


def human(n: float, digits: int = 3) -> str:
    """``3858415616 -> '3.86G'``: a count with ``digits`` significant digits and k/M/G."""
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            v = n / scale
            decimals = max(0, digits - len(str(int(abs(v)))))
            return f"{v:.{decimals}f}{unit}"
    return f"{n:g}" if isinstance(n, float) else str(n)


def percent(share: float, digits: int | None = None) -> str:
    """A share as a percentage: ``percent(0.724) == '72%'``, ``percent(0.0341, 1) == '3.4%'``.

    ``digits`` is the number of decimals; without it they follow the size of the share, so
    that a small one keeps its first digits: none from 10% up (``'72%'``), one below
    (``'3.4%'``), two significant digits below 0.1% (``'0.042%'``).
    """
    if digits is not None:
        return f"{100 * share:.{digits}f}%"
    if 0 < share < 0.001:
        return f"{100 * share:.2g}%"
    return f"{100 * share:.1f}%" if share < 0.1 else f"{100 * share:.0f}%"


def times(ratio: float, digits: int = 1) -> str:
    """A ratio as a factor: ``times(3.14) == '3.1x'``, ``times(49.6, 0) == '50x'``."""
    return f"{ratio:.{digits}f}x"


def render(header: Sequence[str], rows: Iterable[Sequence[object]],
           align: str | None = None) -> str:
    """A plain text table; ``align`` has one ``l`` or ``r`` per column (right by default)."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(header)]
    align = align or "l" + "r" * (len(header) - 1)

    def line(values: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w)
                         for c, w, a in zip(values, widths, align, strict=True)).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(header), rule, *(line(r) for r in cells)])


__all__ = ["human", "percent", "render", "times"]
