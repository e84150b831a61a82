"""Write each inline ``<script>`` once: Sphinx 7 writes some twice, and the second one throws.

An extension that calls ``app.add_js_file(None, body=...)`` after the HTML builder has started
(sphinx-thebe does, for ``const THEBE_JS_URL = ...``; sphinx-togglebutton too) gets its script
added to the builder with the file name ``None``, and again, when the pages are written, with
the file name ``""`` (``StandaloneHTMLBuilder.prepare_writing``). The two do not compare equal,
so every page carries the script twice and the browser stops at the second
``const THEBE_JS_URL``: "Identifier 'THEBE_JS_URL' has already been declared", an error in the
console of every page. Sphinx fixed this in 8.2 (sphinx-doc/sphinx#13402); Jupyter Book 1 runs
on Sphinx 7, so this extension drops the repeats from each page's script list instead.
"""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def _key(script: Any) -> tuple:
    """What makes two script entries the same script: an inline one is its attributes."""
    attributes = getattr(script, "attributes", {})
    return (getattr(script, "filename", script) or "", tuple(sorted(attributes.items())))


def drop_repeated_scripts(app: Sphinx, pagename: str, templatename: str, context: dict,
                          doctree: Any) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple] = set()
    unique = []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    # a new list: the builder restores its own list for the next page
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.connect("html-page-context", drop_repeated_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
