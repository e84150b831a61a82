"""The built book in a real browser: every page, at a desktop's and a phone's width, light and dark.

The built book is served on 127.0.0.1 and headless Chromium loads each page **once per width**
(1300 px and 420 px). Everything the tests below check is recorded during that load:

* **accessibility**: axe-core runs the WCAG 2.0 to 2.2 A and AA rules in the theme's light mode,
  then, after switching the page to dark mode the way the theme's button does (``data-mode`` and
  ``data-theme`` on ``<html>``), the rules that read colours (contrast, links told apart by
  colour), since the mode changes colours and nothing else. No violation of impact "serious" or
  "critical" may remain, nor any of the minor ones the book once had (empty table headers,
  deprecated ARIA roles);
* **no error in the JavaScript console** (scripts, and resources that fail to load);
* formulas rendered by MathJax, served by the book;
* at 420 px, **nothing sticks out** of the screen (a wide table scrolls inside its own box) and
  no table shrinks its text below ~0.85 of the page's;
* on the chapters a student reads first, a heading, tables and figures that load, with alt text.

axe-core comes from the npm registry (``make system-deps`` installs the pinned version into the
venv, ``.venv/npm``) and Chromium from Debian; without them these tests skip and say why.
Nothing is fetched from a network while they run.
"""

from __future__ import annotations

import json
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest
import yaml

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["intro.html", "chapters/alexnet.html", "chapters/efficient-models.html",
         "chapters/claims-ledger.html"]
WIDTHS = (1300, 420)
#: axe-core's tags for the WCAG 2.0, 2.1 and 2.2 success criteria of levels A and AA.
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
#: The rules whose result depends on colours: the ones run again in dark mode.
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
BLOCKING = ("serious", "critical")
#: Rules of lesser impact that the book once broke and must not break again: pandas' empty
#: index header cells (a best practice, not a WCAG tag, so enabled by name) and the
#: bibliography's deprecated DPub roles.
ALSO_BLOCKING = ["empty-table-header", "aria-deprecated-role"]
#: The smallest font a table may use at 420 px, as a share of the page's body text.
MIN_TABLE_FONT = 0.84
AXE = Path(sys.prefix) / "npm" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]


def _toc_pages() -> list[str]:
    """The pages the book has: its TOC's, the redirecting index, and Sphinx's index and search."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]] + [ch["file"] for part in toc["parts"] for ch in part["chapters"]]
    return [f"{f}.html" for f in files] + ["index.html", "genindex.html", "search.html"]


def _built_pages(html: Path) -> list[str]:
    """Every HTML page of a built book (the theme's template snippets and copied sources aside)."""
    skip = {"_static", "_sources", "_images"}
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not skip & set(p.relative_to(html).parts))


def pytest_generate_tests(metafunc):
    # one test per page, named after it; the list comes from the TOC because the book is
    # built only when the tests run (test_the_audit_covers_every_built_page checks it)
    if "page" in metafunc.fixturenames:
        metafunc.parametrize("page", _toc_pages())


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
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    driver.set_page_load_timeout(60)
    driver.set_script_timeout(120)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def site(built_book):
    """The built book served over HTTP on 127.0.0.1, as a reader's browser gets it from a web
    server (a ``file://`` page may not read its own style sheets, which axe-core needs)."""
    from functools import partial
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
    from threading import Thread

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(Quiet, directory=str(built_book)))
    Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


_READY = """
const done = arguments[0];
Promise.all([...document.images].map(i => i.complete ? 0 :
    new Promise(r => { i.onload = i.onerror = r; })))
  .then(() => window.MathJax && MathJax.startup ? MathJax.startup.promise : 0)
  .then(() => done(), e => done(String(e)));
"""


def _console_errors(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def _load(browser, url: str, width: int) -> list[str]:
    """Open ``url`` at ``width``, wait for its images and formulas; the console's errors."""
    browser.get_log("browser")   # forget the previous page's messages
    browser.set_window_size(width, 1200)
    browser.get(url)
    # a forwarding page (the book's index.html) is audited where it leads: wait for that page
    if browser.execute_script("return !!document.querySelector('meta[http-equiv=Refresh i]')"):
        from selenium.webdriver.support.ui import WebDriverWait

        WebDriverWait(browser, 20).until(lambda b: b.current_url != url
                                         and b.execute_script("return document.readyState") == "complete")
    failed = browser.execute_async_script(_READY)
    return _console_errors(browser) + ([f"waiting for the page: {failed}"] if failed else [])


_SET_MODE = """
const [mode, done] = arguments;
const root = document.documentElement;
root.dataset.mode = mode; root.dataset.theme = mode;
// some of the theme's colours change through CSS transitions: measure them once they end
requestAnimationFrame(() => requestAnimationFrame(() => Promise.all(document.getAnimations()
    .filter(a => a instanceof CSSTransition).map(a => a.finished.catch(() => 0))).then(() => done())));
"""

_RUN_AXE = """
const [only, also, done] = [arguments[0], arguments[1], arguments[2]];
const rules = Object.fromEntries(also.map(id => [id, {enabled: true}]));
axe.run(document, {runOnly: only, rules: rules, resultTypes: ['violations']})
  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary}))}))))
  .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
"""

_CONTENT = """
const m = document.querySelector('main');
return {h1: document.querySelector('main h1')?.innerText || '',
  tables: m.querySelectorAll('table').length, images: m.querySelectorAll('img').length,
  broken: [...m.querySelectorAll('img')].filter(i => !i.naturalWidth).map(i => i.src),
  uncaptioned: [...m.querySelectorAll('figure')].filter(f => !f.querySelector('figcaption')).length,
  noalt: [...m.querySelectorAll('figure img')].filter(i => !i.alt).map(i => i.src),
  math: m.querySelectorAll('.math').length, rendered: m.querySelectorAll('mjx-container').length,
  raw: (m.innerText.match(/\\\\[([]/g) || []).length};
"""

_LAYOUT = """
const w = document.documentElement.clientWidth;
const body = parseFloat(getComputedStyle(document.body).fontSize);
const out = [], small = [];
for (const t of document.querySelectorAll('main table')) {
  let box = t.parentElement, scrolls = false;
  while (box && box !== document.body) {
    const s = getComputedStyle(box).overflowX;
    if ((s === 'auto' || s === 'scroll') && box.getBoundingClientRect().right <= w + 1) {
      scrolls = true; break; }
    box = box.parentElement; }
  if (!scrolls && t.getBoundingClientRect().right > w + 1) out.push(t.innerText.slice(0, 60));
  for (const cell of t.querySelectorAll('td, th, caption')) {
    const size = parseFloat(getComputedStyle(cell).fontSize);
    if (cell.innerText.trim() && size < body * arguments[0]) {
      small.push(`${size}px of ${body}px: ${cell.innerText.slice(0, 40)}`); break; }
  } }
return {page: document.documentElement.scrollWidth, w: w, tables: out, small: small};
"""


class Audit:
    """Loads every page once per width and records all that the tests check then."""

    def __init__(self, browser, site: str) -> None:
        self.browser, self.site = browser, site
        self.results: dict[tuple[str, int], dict] = {}

    def __call__(self, name: str, width: int) -> dict:
        if (name, width) not in self.results:
            self.results[name, width] = self._audit(name, width)
        return self.results[name, width]

    def _audit(self, name: str, width: int) -> dict:
        b = self.browser
        errors = _load(b, self.site + name, width)
        result = {"content": b.execute_script(_CONTENT)}
        if width < 600:
            result["layout"] = b.execute_script(_LAYOUT, MIN_TABLE_FONT)
        if AXE.exists():
            b.execute_script(AXE.read_text())
            b.execute_async_script(_SET_MODE, "light")
            light = b.execute_async_script(_RUN_AXE, {"type": "tag", "values": WCAG_TAGS}, ALSO_BLOCKING)
            b.execute_async_script(_SET_MODE, "dark")
            dark = b.execute_async_script(_RUN_AXE, {"type": "rule", "values": COLOUR_RULES}, [])
            result["violations"] = {"light": light, "dark": dark}
        result["errors"] = errors + _console_errors(b)
        return result


@pytest.fixture(scope="module")
def audit(browser, site) -> Audit:
    return Audit(browser, site)


@pytest.fixture(scope="module")
def axe_core() -> Path:
    if not AXE.exists():
        pytest.skip(f"axe-core is not installed at {AXE} (make system-deps installs it from npm): "
                    "the accessibility check did not run")
    return AXE


def _blocking(violations: list[dict]) -> list[str]:
    return [f"{v['id']} ({v['impact']}): {v['help']}; "
            + "; ".join(f"{n['target']}" for n in v["nodes"][:5])
            + (f" and {len(v['nodes']) - 5} more" if len(v["nodes"]) > 5 else "")
            for v in violations if v["impact"] in BLOCKING or v["id"] in ALSO_BLOCKING]


def test_the_audit_covers_every_built_page(built_book):
    assert set(_toc_pages()) == set(_built_pages(built_book))


@pytest.mark.parametrize("width", WIDTHS)
def test_no_serious_accessibility_violation_in_light_or_dark_mode(audit, axe_core, page, width):
    found = {mode: _blocking(v) for mode, v in audit(page, width)["violations"].items()}
    assert not any(found.values()), f"{page} at {width} px:\n" + json.dumps(found, indent=1)


@pytest.mark.parametrize("width", WIDTHS)
def test_no_error_in_the_javascript_console(audit, page, width):
    errors = audit(page, width)["errors"]
    assert not errors, f"{page} at {width} px: {errors}"


def test_formulas_render_without_a_network(audit, page):
    """MathJax is served from the book (_ext/local_mathjax.py), so TeX renders offline."""
    content = audit(page, 1300)["content"]
    assert content["rendered"] >= content["math"], content
    assert content["raw"] == 0, content


def test_a_page_with_formulas_is_audited_after_they_render(audit):
    content = audit("chapters/efficient-models.html", 1300)["content"]
    assert content["math"] > 0 and content["rendered"] >= content["math"], content


def test_page_fits_a_phone_screen_without_shrinking_tables(audit, page):
    """At 420 px nothing sticks out of the page; a wide table scrolls inside its own box, at a
    readable size."""
    layout = audit(page, 420)["layout"]
    assert layout["page"] <= layout["w"] + 1, f"{page}: the page is wider than the screen"
    assert not layout["tables"], f"{page}: tables cut off at 420 px: {layout['tables']}"
    assert not layout["small"], f"{page}: table text shrunk on a phone: {layout['small']}"


@pytest.mark.parametrize("name", PAGES)
def test_page_renders_headings_tables_and_figures(audit, name):
    counts = audit(name, 1300)["content"]
    assert counts["h1"].strip(), f"{name}: no h1 heading"
    assert counts["tables"] >= 1, f"{name}: no table rendered"
    assert not counts["broken"], f"{name}: images that did not load: {counts['broken']}"
    assert counts["uncaptioned"] == 0, f"{name}: a figure without a caption"
    assert not counts["noalt"], f"{name}: figure images without alt text: {counts['noalt']}"
    if name not in {"intro.html", "chapters/claims-ledger.html"}:   # pages without a figure
        assert counts["images"] >= 1, f"{name}: no figure rendered"


def test_the_audit_finds_what_it_looks_for(browser, axe_core, tmp_path):
    """Not vacuous: grey-on-grey text, an unlabelled button, an empty table header, a failing
    script and a table that overflows a phone all fail it."""
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main>'
                   '<p style="color:#9ca4af;background:#ced6dd">grey on grey</p>'
                   '<button><svg width="10" height="10"></svg></button>'
                   '<table style="width:900px;font-size:0.6em"><tr><th></th><th>b</th></tr>'
                   '<tr><td>1</td><td>2</td></tr></table>'
                   '<script>const x = 1;</script><script>const x = 2;</script>'
                   '</main></body></html>')
    result = Audit(browser, tmp_path.as_uri() + "/")("bad.html", 420)
    ids = {v.split(" ")[0] for v in _blocking(result["violations"]["light"])}
    assert {"color-contrast", "button-name", "empty-table-header"} <= ids
    assert any("already been declared" in e for e in result["errors"]), result["errors"]
    assert result["layout"]["tables"] and result["layout"]["small"], result["layout"]


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
