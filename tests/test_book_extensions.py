"""The book's Sphinx extensions (``_ext/``), one behaviour at a time, without building the book."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _extension(name: str):
    spec = importlib.util.spec_from_file_location(f"book_ext_{name}", ROOT / "_ext" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_an_inline_script_added_twice_by_sphinx_is_written_once():
    """Sphinx 7 lists a late inline script under the file name None and again under "": the page
    then declares ``const THEBE_JS_URL`` twice and the browser throws."""
    from sphinx.builders.html._assets import _JavaScript

    scripts = _extension("inline_scripts")
    body = 'const THEBE_JS_URL = "https://unpkg.com/thebe"'
    listed = [_JavaScript("_static/a.js"), _JavaScript(None, body=body), _JavaScript("_static/b.js"),
              _JavaScript("", body=body), _JavaScript("", body="let other = 1;")]
    context = {"script_files": listed}
    scripts.drop_repeated_scripts(None, "page", "page.html", context, None)
    assert [(s.filename, s.attributes.get("body")) for s in context["script_files"]] == [
        ("_static/a.js", None), (None, body), ("_static/b.js", None), ("", "let other = 1;")]
    assert len(listed) == 5   # the builder's own list is left alone (it is restored per page)


@pytest.fixture(scope="module")
def labels() -> dict[str, str]:
    """Every entry of references.bib with the label the bibliography shows for it."""
    from pybtex.database import parse_file

    style = _extension("bibliography")
    entries = parse_file(ROOT / "references.bib").entries
    keys = sorted(entries)
    return dict(zip(keys, style.AuthorYearLabelStyle().format_labels([entries[k] for k in keys]),
                    strict=True))


def test_bibliography_labels_read_like_the_text_citations(labels):
    assert labels["chollet2017xception"] == "Chollet, 2017"                        # one author
    assert labels["zagoruyko2016wide"] == "Zagoruyko and Komodakis, 2016"         # two
    assert labels["howard2017mobilenets"] == "Howard et al., 2017"                 # more
    assert labels["lecun1998gradient"] == "LeCun et al., 1998"
    assert all(label.rsplit(", ", 1)[1][:4].isdigit() for label in labels.values()), labels


def test_equal_labels_get_a_letter():
    from pybtex.database import Entry, Person

    style = _extension("bibliography").AuthorYearLabelStyle()

    def paper(title: str) -> Entry:
        return Entry("article", fields={"title": title, "year": "2017"},
                     persons={"author": [Person("Sze, Vivienne"), Person("Chen, Yu-Hsin"),
                                         Person("Emer, Joel")]})

    assert list(style.format_labels([paper("A"), paper("B")])) == ["Sze et al., 2017a",
                                                                   "Sze et al., 2017b"]


def test_lab_pages_are_the_labs_student_versions():
    labs = _extension("lab_pages")
    assert labs.is_lab("labs/release/lab1_counting/lab1_counting")
    assert not labs.is_lab("chapters/how-to-use")


def test_the_front_page_forwards_with_the_books_title_language_and_icon(tmp_path):
    """sphinx-external-toc's index.html is one bare redirect line: no icon link, so a browser
    asks the server for /favicon.ico (a console error), and no language or title. The book's
    own is written first, and sphinx-external-toc leaves an existing index.html alone."""
    from types import SimpleNamespace

    from sphinx_external_toc.events import ensure_index_file

    door = _extension("front_door")
    config = SimpleNamespace(root_doc="intro", master_doc="intro", source_suffix={".md": "myst-nb"},
                             html_favicon="_static/favicon.svg", html_title="Popular <DNN> Models",
                             project="p", language="en")
    builder = SimpleNamespace(format="html", name="html", get_target_uri=lambda doc: f"{doc}.html")
    app = SimpleNamespace(config=config, builder=builder, outdir=str(tmp_path))
    door.front_door(app, None)
    ensure_index_file(app, None)
    page = (tmp_path / "index.html").read_text()
    assert '<html lang="en">' in page and "<title>Popular &lt;DNN&gt; Models</title>" in page
    assert '<link rel="icon" href="_static/favicon.svg">' in page
    assert '<meta http-equiv="Refresh" content="0; url=intro.html">' in page
    assert '<a href="intro.html">' in page
    (tmp_path / "index.html").unlink()
    door.front_door(app, RuntimeError("the build failed"))
    assert not (tmp_path / "index.html").exists()
