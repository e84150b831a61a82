"""Plain-text figures and tables: ``human(3858415616) == '3.86G'`` and fixed-width tables.

Every text output of cnnlib (cost reports, the zoo, the lecture's summary table, accelerator
estimates, claims, the book's labels) is written with these two functions, so that a figure
reads the same everywhere. They know nothing of models or costs.
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


__all__ = ["human", "render"]
