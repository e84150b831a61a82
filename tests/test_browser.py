"""The built book in a real browser: headless Chromium loads the pages a student reads first.

Each page must show its heading, tables and figures (every image actually decoded), fit a phone's
width (420 px) without a column cut off, and link only to pages and images that exist. Chromium
comes from Debian (``make test`` installs it); where it cannot be installed, these tests skip and
say so.
"""

from __future__ import annotations

import shutil
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

pytestmark = pytest.mark.slow

PAGES = ["intro.html", "chapters/alexnet.html", "chapters/efficient-models.html",
         "chapters/claims-ledger.html"]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("Debian's chromium and chromium-driver are not installed and could not be "
                    "(make test installs them with apt-get): the real-browser check did not run")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def _load(browser, page: Path, width: int) -> None:
    browser.set_window_size(width, 1200)
    browser.get(page.as_uri())
    browser.execute_async_script(
        "const done = arguments[0];"
        "Promise.all([...document.images].map(i => i.complete ? 0 :"
        " new Promise(r => { i.onload = i.onerror = r; }))).then(() => done());")


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_headings_tables_and_figures(browser, built_book, name):
    _load(browser, built_book / name, 1300)
    title = browser.execute_script("return document.querySelector('main h1')?.innerText || ''")
    assert title.strip(), f"{name}: no h1 heading"
    counts = browser.execute_script(
        "const m = document.querySelector('main');"
        "return {tables: m.querySelectorAll('table').length, images: m.querySelectorAll('img').length,"
        " broken: [...m.querySelectorAll('img')].filter(i => !i.naturalWidth).map(i => i.src),"
        " uncaptioned: [...m.querySelectorAll('figure')].filter(f => !f.querySelector('figcaption')).length,"
        " noalt: [...m.querySelectorAll('figure img')].filter(i => !i.alt).map(i => i.src)}")
    assert counts["tables"] >= 1, f"{name}: no table rendered"
    assert not counts["broken"], f"{name}: images that did not load: {counts['broken']}"
    assert counts["uncaptioned"] == 0, f"{name}: a figure without a caption"
    assert not counts["noalt"], f"{name}: figure images without alt text: {counts['noalt']}"
    if name != "chapters/claims-ledger.html":
        assert counts["images"] >= 1, f"{name}: no figure rendered"


@pytest.mark.parametrize("name", PAGES)
def test_page_fits_a_phone_screen(browser, built_book, name):
    """At 420 px nothing sticks out of the page; a wide table scrolls inside its own box."""
    _load(browser, built_book / name, 420)
    overflow = browser.execute_script(
        "const w = document.documentElement.clientWidth; const out = [];"
        "for (const t of document.querySelectorAll('main table')) {"
        "  let box = t.parentElement, scrolls = false;"
        "  while (box && box !== document.body) {"
        "    const s = getComputedStyle(box).overflowX;"
        "    if ((s === 'auto' || s === 'scroll') && box.getBoundingClientRect().right <= w + 1)"
        "      { scrolls = true; break; }"
        "    box = box.parentElement; }"
        "  if (!scrolls && t.getBoundingClientRect().right > w + 1) out.push(t.innerText.slice(0, 60)); }"
        "return {page: document.documentElement.scrollWidth, w: w, tables: out};")
    assert overflow["page"] <= overflow["w"] + 1, f"{name}: the page is wider than the screen"
    assert not overflow["tables"], f"{name}: tables cut off at 420 px: {overflow['tables']}"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.targets: list[str] = []
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if a.get("id"):
            self.ids.add(a["id"])
        for key in ("href", "src"):
            if a.get(key) and tag in {"a", "img", "link", "script"}:
                self.targets.append(a[key])


def test_no_page_links_to_a_missing_page_image_or_anchor(built_book):
    parsed: dict[Path, _Links] = {}

    def parse(page: Path) -> _Links:
        if page not in parsed:
            parsed[page] = p = _Links()
            p.feed(page.read_text(errors="replace"))
        return parsed[page]

    broken = []
    for page in sorted(built_book.rglob("*.html")):
        if "_static" in page.relative_to(built_book).parts:   # the theme's template snippets
            continue
        for target in parse(page).targets:
            url = urlsplit(target)
            if url.scheme or target.startswith(("//", "mailto:", "javascript:", "data:")):
                continue
            path = (page.parent / unquote(url.path)).resolve() if url.path else page
            if not path.exists():
                broken.append(f"{page.relative_to(built_book)} -> {target}")
            elif url.fragment and path.suffix == ".html" and url.fragment not in parse(path).ids:
                broken.append(f"{page.relative_to(built_book)} -> {target} (no such anchor)")
    assert not broken, "\n".join(broken[:30])


def test_formulas_render_without_a_network(browser, built_book):
    """MathJax is served from the book (_ext/local_mathjax.py), so TeX renders offline."""
    _load(browser, built_book / "chapters" / "efficient-models.html", 1300)
    result = browser.execute_async_script(
        "const done = arguments[0];"
        "if (!window.MathJax || !MathJax.startup) { done({error: 'MathJax did not load'}); return; }"
        "MathJax.startup.promise.then(() => done({"
        " math: document.querySelectorAll('main .math').length,"
        " rendered: document.querySelectorAll('main mjx-container').length,"
        " raw: (document.querySelector('main').innerText.match(/\\\\[([]/g) || []).length}));")
    assert "error" not in result, result
    assert result["math"] > 0 and result["rendered"] >= result["math"], result
    assert result["raw"] == 0, result
