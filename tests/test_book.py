"""The book builds with warnings as errors, and its pages carry computed numbers."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent


def _toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    return [ch["file"] for part in toc["parts"] for ch in part["chapters"]]


def test_toc_has_the_twelve_chapters_in_the_lecture_order():
    files = _toc_files()
    chapters = ["how-to-use", "datasets-metrics", "lenet", "alexnet", "vgg", "googlenet", "resnet",
                "beyond-resnet", "efficient-models", "nas", "macs-are-not-latency", "claims-ledger"]
    positions = [files.index(f"chapters/{c}") for c in chapters]
    assert positions == sorted(positions)
    for f in files:
        if not f.startswith("labs/"):   # the labs' student versions are generated before a build
            assert (ROOT / f).with_suffix(".md").exists(), f


@pytest.mark.slow
def test_book_builds_without_warnings(built_book):
    html = built_book
    zoo = (html / "chapters" / "model-zoo.html").read_text()
    assert "resnet50" in zoo
    intro = (html / "intro.html").read_text()
    assert "724M" in intro
    accel_page = (html / "chapters" / "macs-are-not-latency.html").read_text()
    assert "72%" in accel_page and "<img" in accel_page  # the MobileNet result, and its plot
    for f in _toc_files():
        assert (html / f).with_suffix(".html").exists(), f


@pytest.mark.slow
def test_no_solution_or_hidden_test_reaches_the_book(built_book):
    for page in built_book.rglob("*"):
        if page.is_file() and page.suffix in {".html", ".ipynb", ".md", ".txt", ".js"}:
            text = page.read_text(errors="replace")
            assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, page


@pytest.mark.slow
def test_no_launch_button_by_default_and_every_lab_page_says_how_to_fetch_the_lab(built_book):
    """_config.yml names no hub, so no page launches anywhere; lab pages point to the hub's
    Assignments tab instead (tests/test_book_buttons.py builds the book with a hub too)."""
    for page in built_book.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert "git-pull" not in text and "launch-buttons" not in text, page
    labs = [f for f in _toc_files() if f.startswith("labs/")]
    assert labs
    for f in labs:
        text = (built_book / f).with_suffix(".html").read_text()
        assert "lab-fetch" in text and "<em>Assignments</em>" in text, f


@pytest.mark.slow
def test_the_bibliography_is_labelled_as_the_text_cites(built_book):
    """One citation style: the list's labels are the author-year text of the citations, and
    its entries are list items (not the deprecated doc-biblioentry role)."""
    import re

    bib = (built_book / "chapters" / "bibliography.html").read_text()
    labels = re.findall(r'<span class="fn-bracket">\[</span>(.*?)<span class="fn-bracket">', bib)
    labels = [re.sub(r"<[^>]+>", "", label) for label in labels]
    assert len(labels) >= 30 and all(re.fullmatch(r".+, (19|20)\d\d[a-z]?", x) for x in labels), labels
    assert "doc-biblioentry" not in bib and bib.count('role="listitem"') == len(labels)
    cited = re.findall(r'href="bibliography\.html#[^"]+"[^>]*>(.*?)</a>',
                       (built_book / "chapters" / "resnet.html").read_text())
    cited = [re.sub(r"<[^>]+>", "", c) for c in cited]
    assert cited and set(cited) <= set(labels), (cited, labels[:5])


@pytest.mark.slow
def test_every_inline_script_is_written_once(built_book):
    for page in built_book.rglob("*.html"):
        if "_static" not in page.parts:
            assert page.read_text(errors="replace").count("const THEBE_JS_URL") <= 1, page
