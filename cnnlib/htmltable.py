"""HTML tables for the book's reference pages that stay readable on a phone (420 px).

Long text wraps (``overflow-wrap: anywhere`` also breaks a long model name) and numbers stay on
one line. The type never shrinks below 0.85 of the page's text on a phone: a table too wide for
the screen scrolls sideways in its output box instead. Colours come from the book theme's CSS
variables (pydata-sphinx-theme's ``--pst-color-*``), so a table follows the reader's light or
dark mode at AA contrast; the fallbacks after them are for a notebook outside the book. The
style sheet travels with the table, so a chapter needs nothing beyond
``IPython.display.HTML(html_table(...))``.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence

__all__ = ["Group", "Note", "Raw", "STYLE", "html_table"]

STYLE = """<style>
table.cnnlib-table {border-collapse: collapse; width: 100%; font-size: 0.9em; line-height: 1.3}
table.cnnlib-table th, table.cnnlib-table td {padding: 0.25em 0.4em; vertical-align: top;
  border-bottom: 1px solid var(--pst-color-border, #ddd); text-align: left}
table.cnnlib-table td, table.cnnlib-table th {overflow-wrap: anywhere}
table.cnnlib-table .num, table.cnnlib-table .text-right {text-align: right; white-space: nowrap;
  overflow-wrap: normal}
table.cnnlib-table tr.group th {background: var(--pst-color-surface, #f3f3f3); font-weight: 600;
  padding-top: 0.6em}
table.cnnlib-table td.note {color: var(--pst-color-text-muted, #555); font-size: 0.95em;
  border-bottom: 1px solid var(--pst-color-border, #bbb)}
table.cnnlib-table .counted {color: var(--pst-color-text-muted, #555)}
table.cnnlib-table caption {caption-side: bottom; text-align: left; font-size: 0.95em}
@media (max-width: 600px) {
  table.cnnlib-table th, table.cnnlib-table td {padding: 0.2em 0.25em}
}
</style>"""


class Raw(str):
    """A cell that is already HTML (a link, ``<sup>``): written as is, not escaped."""


class Group(str):
    """A row that is a heading across all columns (the rows below belong to it)."""


class Note(str):
    """A row of smaller text across all columns, under the row before it (a reason, a footnote)."""


def _cell(value: object, tag: str, css: str = "", span: int = 1) -> str:
    text = value if isinstance(value, Raw) else html.escape(str(value))
    attrs = (f' class="{css}"' if css else "") + (f' colspan="{span}"' if span > 1 else "")
    return f"<{tag}{attrs}>{text}</{tag}>"


def html_table(header: Sequence[str], rows: Iterable[Sequence[object] | Group | Note], *,
               numeric: Sequence[bool] | None = None, widths: Sequence[int] | None = None,
               caption: str = "", style: bool = True) -> str:
    """An HTML table; ``numeric[i]`` right-aligns column i and keeps it on one line.

    A :class:`Group` row is a heading across all columns, a :class:`Note` row a full-width line
    of smaller text. Cells are escaped unless they are :class:`Raw`. ``widths`` (percentages)
    fixes the columns' widths, so that a narrow screen wraps text instead of squeezing a column.
    """
    numeric = list(numeric) if numeric is not None else [False] * len(header)
    if len(numeric) != len(header):
        raise ValueError(f"numeric has {len(numeric)} flags for {len(header)} columns")
    out = [STYLE] if style else []
    if widths is not None and len(widths) != len(header):
        raise ValueError(f"widths has {len(widths)} entries for {len(header)} columns")
    fixed = ' style="table-layout: fixed"' if widths else ""
    out.append(f'<table class="cnnlib-table"{fixed}>')
    if widths:
        out.append("<colgroup>" + "".join(f'<col style="width: {w}%">' for w in widths) + "</colgroup>")
    if caption:
        out.append(_cell(caption, "caption"))
    # an empty header cell (the corner above row labels) is a plain cell: a header without text
    # is announced as a column with no name
    out.append("<thead><tr>" + "".join(_cell(h, "th" if str(h).strip() else "td", "num" if n else "")
                                       for h, n in zip(header, numeric, strict=True)) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        if isinstance(row, Group | Note):
            kind, tag = ("group", "th") if isinstance(row, Group) else ("note", "td")
            text = Raw(row) if isinstance(row, Raw) else str(row)
            out.append(f'<tr class="{kind}">' + _cell(text, tag, "note" if tag == "td" else "",
                                                      len(header)) + "</tr>")
            continue
        if len(row) != len(header):
            raise ValueError(f"a row has {len(row)} cells for {len(header)} columns: {row!r}")
        out.append("<tr>" + "".join(_cell(c, "td", "num" if n else "")
                                    for c, n in zip(row, numeric, strict=True)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
