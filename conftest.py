"""Collect the book's MyST Markdown notebooks (chapters/*.md, intro.md) for nbval.

nbval reads only ``.ipynb``; a chapter written as MyST Markdown with a ``kernelspec`` front
matter is read with jupytext instead and executed cell by cell the same way.
"""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import pytest

try:
    import jupytext
    from nbval.plugin import IPyNbFile
except ImportError:  # pragma: no cover - notebooks are tested only where the test extras exist
    IPyNbFile = None

BOOK_ROOT = Path(__file__).parent


class MySTNotebook(IPyNbFile if IPyNbFile else object):  # type: ignore[misc]
    def collect(self):
        import nbval.plugin

        def read(path, as_version=4):
            return jupytext.read(path)

        with mock.patch.object(nbval.plugin.nbformat, "read", read):
            yield from super().collect()


def _is_notebook(path: Path) -> bool:
    if path.suffix != ".md":
        return False
    head = path.read_text(encoding="utf-8")[:400]
    return head.startswith("---") and "kernelspec:" in head


def pytest_collect_file(file_path: Path, parent):
    opt = parent.config.option
    if IPyNbFile and (opt.nbval or opt.nbval_lax) and _is_notebook(file_path):
        return MySTNotebook.from_parent(parent, path=file_path)
    return None


def pytest_collection_modifyitems(items):
    for item in items:
        if isinstance(item.parent, IPyNbFile or ()):
            item.add_marker(pytest.mark.notebooks)
