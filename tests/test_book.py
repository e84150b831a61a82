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
