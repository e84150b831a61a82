"""Buttons that lead somewhere: launch buttons only when a hub is configured, never on labs.

A chapter's JupyterHub button opens it on the course's hub through nbgitpuller; it exists only
when ``launch_buttons.jupyterhub_url`` in ``_config.yml`` names a hub (the repository leaves it
empty: no button points at a placeholder). A lab page never gets one, since its student version
is generated and not in the repository; it tells the student to fetch the lab from the hub's
Assignments tab instead.

These tests build a two-page book with the repository's own ``_config.yml``, ``_ext/``,
``_templates/`` and ``_static/``, once as configured and once with a hub URL set; the full book
(``built_book``) is checked for the default in ``test_book.py``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
HUB = "https://hub.example.edu"
LAB = "lab9_demo"
CHAPTER = """---
jupytext:
  text_representation:
    extension: .md
    format_name: myst
kernelspec:
  display_name: Python 3
  language: python
  name: python3
---

# A chapter

```{code-cell} ipython3
6 * 7
```
"""


def _sample_book(root: Path, hub_url: str) -> Path:
    """A chapter notebook and a lab page, built like the book with ``jupyterhub_url = hub_url``."""
    for part in ("_ext", "_templates", "_static"):
        shutil.copytree(ROOT / part, root / part)
    shutil.copy(ROOT / "references.bib", root)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["launch_buttons"]["jupyterhub_url"] = hub_url
    (root / "_config.yml").write_text(yaml.safe_dump(config))
    (root / "_toc.yml").write_text(yaml.safe_dump({
        "format": "jb-book", "root": "intro", "parts": [
            {"caption": "Chapters", "chapters": [{"file": "chapters/how-to-use"},
                                                 {"file": "chapters/demo"}]},
            {"caption": "Labs", "chapters": [{"file": f"labs/release/{LAB}/{LAB}"}]}]}))
    (root / "intro.md").write_text("# A sample book\n")
    (root / "chapters").mkdir()
    (root / "chapters" / "how-to-use.md").write_text("# How to use this book\n")
    (root / "chapters" / "demo.md").write_text(CHAPTER)
    lab = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Lab 9: a demo"),
                                          nbformat.v4.new_code_cell("# YOUR CODE HERE")])
    lab.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    (root / "labs" / "release" / LAB).mkdir(parents=True)
    nbformat.write(lab, root / "labs" / "release" / LAB / f"{LAB}.ipynb")
    jb = Path(sys.executable).with_name("jupyter-book")
    env = {**os.environ, "PATH": f"{jb.parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run([str(jb), "build", str(root), "-W", "-n", "--keep-going"], capture_output=True,
                          text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return root / "_build" / "html"


@pytest.fixture(scope="module")
def books(tmp_path_factory) -> dict[str, Path]:
    return {"default": _sample_book(tmp_path_factory.mktemp("no_hub"), ""),
            "hub": _sample_book(tmp_path_factory.mktemp("hub"), HUB)}


def _page(html: Path, name: str) -> str:
    return (html / name).read_text()


def test_without_a_hub_url_no_page_has_a_launch_button(books):
    for name in ("chapters/demo.html", f"labs/release/{LAB}/{LAB}.html"):
        page = _page(books["default"], name)
        assert "git-pull" not in page and "launch-buttons" not in page, name
        assert "127.0.0.1" not in page, name


def test_with_a_hub_url_a_chapter_opens_on_the_hub_through_nbgitpuller(books):
    page = _page(books["hub"], "chapters/demo.html")
    assert f"{HUB}/hub/user-redirect/git-pull?repo=" in page
    assert "urlpath=lab/tree/course-companion/chapters/demo.md" in page


def test_a_lab_page_never_launches_and_says_how_to_fetch_the_lab(books):
    for kind, html in books.items():
        page = _page(html, f"labs/release/{LAB}/{LAB}.html")
        assert "git-pull" not in page and "urlpath=" not in page and "launch-buttons" not in page, kind
        assert "lab-fetch" in page and "<em>Assignments</em>" in page and f">{LAB}<" in page, kind
        assert 'href="../../../chapters/how-to-use.html"' in page, kind
    assert f'href="{HUB}/hub/home"' in _page(books["hub"], f"labs/release/{LAB}/{LAB}.html")
    assert "/hub/home" not in _page(books["default"], f"labs/release/{LAB}/{LAB}.html")
