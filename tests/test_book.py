"""The book builds with warnings as errors, and its pages carry computed numbers."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_book_builds_without_warnings(tmp_path):
    jb = Path(sys.executable).with_name("jupyter-book")
    if not jb.exists():
        jb = Path(shutil.which("jupyter-book") or "jupyter-book")
    out = subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(tmp_path), "-W", "-n",
                          "--keep-going"], capture_output=True, text=True, timeout=1200)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-4000:]
    html = tmp_path / "_build" / "html"
    zoo = (html / "chapters" / "model-zoo.html").read_text()
    assert "resnet50" in zoo and "3.86G / 3.86G" in zoo
    intro = (html / "intro.html").read_text()
    assert "724M" in intro
    accel_page = (html / "chapters" / "macs-are-not-latency.html").read_text()
    assert "72%" in accel_page and "<img" in accel_page  # the MobileNet result, and its plot
    for page in html.rglob("*.html"):
        text = page.read_text(errors="replace")
        assert "BEGIN SOLUTION" not in text and "BEGIN HIDDEN TESTS" not in text, page
