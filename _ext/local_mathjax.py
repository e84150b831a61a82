"""Serve MathJax from the book itself, so that formulas render without a CDN.

Sphinx loads MathJax 3 from a CDN by default: a reader offline, on a course intranet or in the
test command's headless browser sees raw TeX. The PyPI package ``django-static-mathjax`` ships
MathJax 3.2.2 as plain files (no Django needed to read them); this extension points
``mathjax_path`` at a copy of its ``es5`` combined component and copies that component, with the
TeX extensions, fonts, menu and accessibility parts it loads on demand, into ``_static/mathjax``.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

logger = logging.getLogger(__name__)

COMPONENT = "tex-mml-chtml.js"
#: What the combined component loads later, relative to MathJax's es5 folder.
ON_DEMAND = ("input", "output/chtml", "ui", "a11y")


def _es5() -> Path | None:
    spec = importlib.util.find_spec("mathjax")   # django-static-mathjax's package; not imported
    if spec is None or not spec.submodule_search_locations:
        return None
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    return es5 if (es5 / COMPONENT).exists() else None


def _configure(app: Sphinx, config) -> None:
    if _es5() is None:
        logger.info("local_mathjax: django-static-mathjax is not installed; MathJax comes from its CDN")
        return
    config.mathjax_path = f"mathjax/{COMPONENT}"   # relative to _static


def _copy(app: Sphinx, exception: Exception | None) -> None:
    es5 = _es5()
    if exception is not None or es5 is None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(es5 / COMPONENT, target / COMPONENT)
    for part in ON_DEMAND:
        shutil.copytree(es5 / part, target / part, dirs_exist_ok=True)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", _configure)
    app.connect("build-finished", _copy)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
