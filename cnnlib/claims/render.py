"""The ledger as text (``python -m cnnlib claims``), JSON (``--json``) and HTML (the book)."""

from __future__ import annotations

import json
from typing import Any

from cnnlib.claims.judge import Claim, Value
from cnnlib.claims.ledger import claims, verdict_counts
from cnnlib.text import human, render

__all__ = ["claims_html", "claims_json", "claims_table"]


def _shown(value: Value, stated: str = "") -> str:
    """A computed value as the ledger prints it, in the style of the stated figure (a year,
    printed "1998", keeps no thousands separator)."""
    if value is None:
        return ""
    if isinstance(value, bool) or isinstance(value, str):
        return str(value)
    if isinstance(value, int):
        if abs(value) < 10_000 and "," not in stated:
            return str(value)
        return f"{value:,}" if abs(value) < 100_000 else human(value)
    return f"{value:,.1f}" if abs(value) >= 100 else f"{value:.4g}"


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def claims_json() -> str:
    """The ledger as a JSON list, one object per claim."""
    return json.dumps([c.record() for c in claims()], indent=1, ensure_ascii=False)


def claims_table() -> str:
    """The ledger as text: one line per claim, grouped by slide, reasons for what differs."""
    items = claims()
    rows = [(_cut(c.slide, 32), _cut(c.quote, 48), _cut(c.stated, 16), _cut(_shown(c.computed, c.stated), 24),
             c.verdict) for c in items]
    reasons = [f"- {c.slide} / {c.quote}: {c.why}" for c in items if c.verdict == "differs"]
    counts = ", ".join(f"{n} {v}" for v, n in verdict_counts(items).items())
    return (render(("slide", "claim", "stated", "computed", "verdict"), rows, align="lllrl")
            + f"\n\n{len(items)} claims: {counts}\n\nWhy each 'differs':\n" + "\n".join(reasons))


_MARK = {"reproduced": "✓ reproduced", "differs": "≠ differs", "not computable": "– not computable"}


def claims_html(items: list[Claim] | None = None) -> str:
    """The ledger as an HTML table for the book: a heading row per slide, the reason under each
    claim, four short columns so that it fits a phone's width."""
    from cnnlib.htmltable import Group, Note, html_table

    items = items if items is not None else claims()
    rows: list[Any] = []
    slide = None
    for c in items:
        if c.slide != slide:
            slide = c.slide
            rows.append(Group(slide))
        rows.append((c.quote, c.stated, _shown(c.computed, c.stated) or "–", _MARK[c.verdict]))
        rows.append(Note(c.why))
    return html_table(("claim", "slide says", "cnnlib", "verdict"), rows, widths=(40, 19, 19, 22))
