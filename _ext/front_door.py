"""``index.html``: a real, small page that forwards to the book's first page.

sphinx-external-toc writes ``index.html`` as one bare ``<meta http-equiv="Refresh">`` line when
the root document is not called ``index``. That page has no icon link, so a browser asks the
server for ``/favicon.ico`` (a 404 on GitHub Pages and in the browser test, logged as an error
on the console), and no language or title, which a screen reader announces before the redirect.
This extension writes the page first (sphinx-external-toc leaves an existing ``index.html``
alone): the same redirect, with the book's title, its language, its icon and a link for a
browser that does not follow the redirect.
"""

from __future__ import annotations

from html import escape
from pathlib import Path

from sphinx.application import Sphinx


def front_door(app: Sphinx, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html" or app.config.root_doc == "index":
        return
    first = app.builder.get_target_uri(app.config.root_doc)
    icon = app.config.html_favicon
    icon_link = f'<link rel="icon" href="_static/{escape(Path(icon).name)}">\n' if icon else ""
    title = escape(app.config.html_title or app.config.project)
    Path(app.outdir, "index.html").write_text(
        f'<!DOCTYPE html>\n<html lang="{escape(app.config.language or "en")}">\n<head>\n'
        f'<meta charset="utf-8">\n<title>{title}</title>\n{icon_link}'
        f'<meta http-equiv="Refresh" content="0; url={escape(first)}">\n</head>\n'
        f'<body><p><a href="{escape(first)}">{title}</a></p></body>\n</html>\n', encoding="utf-8")


def setup(app: Sphinx) -> dict:
    # before sphinx-external-toc's own build-finished handler (priority 500), which then keeps it
    app.connect("build-finished", front_door, priority=400)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
