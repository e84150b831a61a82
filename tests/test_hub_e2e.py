"""A whole lab cycle on a real JupyterHub: students fetch, answer and submit; instructors grade.

The hub is the course's own configuration (``deploy/jupyterhub_config.py``) with the real
configurable-http-proxy from npm, bound to 127.0.0.1 on free ports, with a fresh course folder.
Students act only through HTTP, as JupyterLab does: the hub's REST API, nbgrader's assignment-list
extension and the contents API. Instructors use the command line of their own server's
environment: nbgrader to release, collect and return feedback through the exchange, and
``python -m autograder`` to grade. Everything the test starts is stopped, even when it fails.

Select it with ``pytest -m hub``; ``make test`` runs it.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
import local_hub  # noqa: E402

requests = pytest.importorskip("requests")

pytestmark = [pytest.mark.hub, pytest.mark.slow]

LAB = "lab1_counting"
COURSE = "popular-dnn-models"
STUDENT, OTHER, INSTRUCTOR = "student1", "student2", "instructor"


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class Hub:
    """A running hub and what the test needs to drive it."""

    def __init__(self, state: Path):
        self.state = state
        self.port, self.api_port, self.proxy_port = _free_ports(3)
        self.token = secrets.token_hex(24)
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = local_hub.hub_environment(
            state, port=self.port, api_port=self.api_port, proxy_api_port=self.proxy_port,
            students=f"{STUDENT},{OTHER}", instructors=INSTRUCTOR, password="course-pw",
            HUB_SERVICE_TOKEN=self.token, HUB_ALLOW_TOKEN_IN_URL="1")
        self.proc: subprocess.Popen | None = None
        self.log = state / "hub.log"
        self.user_tokens: dict[str, str] = {}

    # -- the hub process ------------------------------------------------------------------
    def start(self) -> None:
        local_hub.ensure_proxy()
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(local_hub.hub_command(), env=self.env, cwd=self.state,
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:   # the proxy answers 404 until the hub's route is in
            if self.proc.poll() is not None:
                raise AssertionError(f"the hub exited:\n{self.log.read_text()[-3000:]}")
            try:
                if requests.get(f"{self.url}/hub/api/", timeout=2).ok:
                    return
            except requests.ConnectionError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the hub did not come up:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """Stop the hub and its proxy (single-user servers outlive it, by configuration)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)

    def stop_everything(self) -> None:
        for user in (STUDENT, OTHER, INSTRUCTOR):
            try:
                self.api("DELETE", f"users/{user}/server", ok=(202, 204, 400, 404))
            except Exception:  # noqa: BLE001  (teardown goes on whatever failed)
                pass
        self.stop()
        # anything left that this hub started (servers, proxy) runs with this state folder
        subprocess.run(["pkill", "-f", str(self.state)], check=False)

    # -- HTTP --------------------------------------------------------------------------------
    def api(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202, 204), **kw):
        r = requests.request(method, f"{self.url}/hub/api/{path}", timeout=30,
                             headers={"Authorization": f"token {self.token}"}, **kw)
        assert r.status_code in ok, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r

    def start_server(self, user: str) -> None:
        self.api("POST", f"users/{user}/server", ok=(201, 202, 400))   # 400: already running
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{user}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server did not start:\n{self.log.read_text()[-3000:]}")

    def login(self, user: str, password: str = "course-pw") -> requests.Session:
        """A browser-like session that logged in through the hub's login form."""
        s = requests.Session()
        s.get(f"{self.url}/hub/login", timeout=30)
        r = s.post(f"{self.url}/hub/login", timeout=30, allow_redirects=False,
                   data={"username": user, "password": password, "_xsrf": s.cookies.get("_xsrf", "")})
        assert r.status_code == 302, f"{user} could not log in: {r.status_code} {r.text[:300]}"
        return s

    def user_token(self, user: str) -> str:
        if user not in self.user_tokens:
            r = self.api("POST", f"users/{user}/tokens", json={"note": "e2e test", "expires_in": 3600})
            self.user_tokens[user] = r.json()["token"]
        return self.user_tokens[user]

    def server(self, user: str, method: str, path: str, **kw):
        """A request to ``user``'s own server (``/user/NAME/PATH``) with their token."""
        r = requests.request(method, f"{self.url}/user/{user}/{path}", timeout=120,
                             headers={"Authorization": f"token {self.user_token(user)}"}, **kw)
        assert r.ok, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r

    def assignments(self, user: str, action: str | None = None, lab: str = LAB) -> list[dict]:
        if action is None:
            reply = self.server(user, "GET", "assignments", params={"course_id": COURSE}).json()
        else:
            reply = self.server(user, "POST", f"assignments/{action}",
                                data={"course_id": COURSE, "assignment_id": lab}).json()
        assert reply["success"], reply.get("value")
        return reply["value"]

    # -- the instructor's command line -----------------------------------------------------------
    def instructor(self, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
        """Run a command as the instructor's server would: in the course folder, their config."""
        env = {**self.env, "JUPYTER_CONFIG_PATH": str(self.state / "config" / "instructors")}
        out = subprocess.run(list(args), cwd=self.state / "course", env=env, capture_output=True,
                             text=True, timeout=timeout)
        assert out.returncode == 0, f"{' '.join(args)}:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
        return out


def _nbgrader(*args: str) -> tuple[str, ...]:
    return (str(Path(sys.executable).with_name("nbgrader")), *args)


def _autograder(*args: str) -> tuple[str, ...]:
    return (sys.executable, "-m", "autograder", *args)


def _source() -> dict:
    return json.loads((ROOT / "labs" / "source" / LAB / f"{LAB}.ipynb").read_text())


def _autograded_points() -> float:
    """What a correct notebook scores before an instructor grades the written answers."""
    return sum(c["metadata"]["nbgrader"]["points"] for c in _source()["cells"]
               if c.get("metadata", {}).get("nbgrader", {}).get("grade")
               and not c["metadata"]["nbgrader"].get("solution"))


def _solved(notebook: dict) -> dict:
    """The student's notebook with every answer cell replaced by the solution's source."""
    solutions = {c["metadata"]["nbgrader"]["grade_id"]: c["source"] for c in _source()["cells"]
                 if c.get("metadata", {}).get("nbgrader", {}).get("solution")}
    answered = 0
    for cell in notebook["cells"]:
        grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if grade_id in solutions:
            cell["source"] = solutions[grade_id]
            answered += 1
    assert answered, "no answer cell found in the fetched notebook"
    return notebook


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the hub's proxy comes from the npm registry")
    hub = Hub(tmp_path_factory.mktemp("course-hub"))
    try:
        hub.start()
        yield hub
    finally:
        hub.stop_everything()


def test_a_lab_goes_from_release_to_feedback_through_the_hub(hub):
    # instructor: release lab 1 into the exchange
    hub.instructor(*_autograder("release", LAB, "--course", str(hub.state / "course")))
    hub.instructor(*_nbgrader("release_assignment", LAB, "--force"))

    # student: log in with the course password, then work through their own server
    hub.login(STUDENT)
    bad = requests.post(f"{hub.url}/hub/login", data={"username": STUDENT, "password": "wrong"},
                        timeout=30, allow_redirects=False)
    assert bad.status_code != 302, "a wrong password logged in"
    hub.start_server(STUDENT)

    listed = hub.assignments(STUDENT)
    assert [a["status"] for a in listed if a["assignment_id"] == LAB] == ["released"]
    listed = hub.assignments(STUDENT, "fetch")
    assert [a["status"] for a in listed if a["assignment_id"] == LAB] == ["fetched"]
    path = f"api/contents/{LAB}/{LAB}.ipynb"
    fetched = hub.server(STUDENT, "GET", path).json()["content"]

    # first submission: the notebook as fetched; second: answered. The latest counts.
    hub.assignments(STUDENT, "submit")
    time.sleep(1.1)   # nbgrader's submission timestamps have a resolution of a second
    hub.server(STUDENT, "PUT", path, json={"type": "notebook", "format": "json", "content": _solved(fetched)})
    hub.assignments(STUDENT, "submit")
    inbound = list((hub.state / "exchange" / COURSE / "inbound").glob(f"{STUDENT}+{LAB}+*"))
    assert len(inbound) == 2, f"both submissions are kept in the exchange: {inbound}"

    # instructor: collect (the latest submission), grade, return feedback
    hub.instructor(*_nbgrader("collect", LAB, "--update"))
    course = str(hub.state / "course")
    graded = hub.instructor(*_autograder("grade", LAB, "--submissions", f"{course}/submitted",
                                         "--course", course, "--workers", "1"))
    hub.instructor(*_autograder("feedback", LAB, "--course", course))
    hub.instructor(*_nbgrader("release_feedback", LAB))
    export = hub.state / "course" / "grades.csv"
    hub.instructor(*_autograder("export", "--course", str(hub.state / "course"), "--out", str(export)))
    rows = [ln.split(",") for ln in export.read_text().splitlines()]
    header, row = rows[0], dict(zip(rows[0], next(r for r in rows[1:] if STUDENT in r), strict=True))
    assert {"student_id", "assignment", "score", "max_score", "status"} <= set(header)
    assert float(row["score"]) == _autograded_points() > 0, \
        f"the latest (answered) submission counts: {graded.stdout}"

    # student: fetch the feedback and see the score, but no hidden test
    listed = hub.assignments(STUDENT, "fetch_feedback")
    mine = [a for a in listed if a["assignment_id"] == LAB and a["status"] == "submitted"]
    assert mine, f"the listing does not show the submission: {listed}"
    assert (hub.state / "homes" / STUDENT / LAB / "feedback").is_dir(), "no feedback was fetched"
    folders = hub.server(STUDENT, "GET", f"api/contents/{LAB}/feedback").json()["content"]
    html = hub.server(STUDENT, "GET", f"api/contents/{LAB}/feedback/{folders[-1]['name']}/{LAB}.html",
                      params={"format": "text", "type": "file"}).json()["content"]
    assert row["score"].split(".")[0] in html and "BEGIN HIDDEN TESTS" not in html


def test_fetching_a_lab_that_was_not_released_says_so(hub):
    hub.start_server(OTHER)
    listed = hub.assignments(OTHER, "fetch", lab="lab9_unreleased")
    assert not [a for a in listed if a["assignment_id"] == "lab9_unreleased"]
    assert hub.server(OTHER, "GET", "api/contents", params={"content": 1}).json()["content"] is not None
    # the student's own command line (JupyterLab's terminal) gives nbgrader's message
    env = {**hub.env, "JUPYTER_CONFIG_PATH": str(hub.state / "config" / "students"), "JUPYTERHUB_USER": OTHER}
    out = subprocess.run(_nbgrader("fetch_assignment", "lab9_unreleased"), cwd=hub.state / "homes" / OTHER,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "Assignment not found" in out.stderr and "lab9_unreleased" in out.stderr, out.stderr[-1500:]


def test_the_student_sees_the_lab_in_jupyterlab(hub):
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver):
        pytest.skip("Debian's chromium and chromium-driver are not installed (make test installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    hub.start_server(STUDENT)
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage",
                 "--window-size=1400,1000"):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    try:
        browser.get(f"{hub.url}/user/{STUDENT}/lab?token={hub.user_token(STUDENT)}")
        wait = WebDriverWait(browser, 90)
        menu = wait.until(ec.element_to_be_clickable(
            (By.XPATH, "//div[contains(@class,'lm-MenuBar-itemLabel') and text()='Nbgrader']")))
        for _ in range(5):   # the splash screen can swallow the first click
            menu.click()
            items = browser.find_elements(By.XPATH, "//div[contains(@class,'lm-Menu-itemLabel') and "
                                                    "text()='Assignment List']")
            if items:
                items[0].click()
                break
            time.sleep(1)
        lists = " or ".join(f"@id='{kind}_assignments_list'" for kind in ("released", "fetched", "submitted"))
        shown = wait.until(ec.visibility_of_element_located(
            (By.XPATH, f"//*[{lists}]//*[contains(text(), '{LAB}')]")))
        assert shown.text.strip().startswith(LAB)
        menus = browser.find_element(By.CLASS_NAME, "lm-MenuBar").text
        menu.click()
        assert "Formgrader" not in browser.find_element(By.TAG_NAME, "body").text, menus
    finally:
        browser.quit()


def test_no_submission_is_lost_when_the_hub_restarts(hub):
    inbound = hub.state / "exchange" / COURSE / "inbound"
    before = sorted(p.name for p in inbound.iterdir())
    assert before, "the cycle test submitted first"
    hub.stop()
    hub.start()
    assert sorted(p.name for p in inbound.iterdir()) == before
    hub.start_server(STUDENT)   # found again, or started afresh
    listed = hub.assignments(STUDENT)
    assert any(a["assignment_id"] == LAB and a["status"] == "submitted" for a in listed)
    collected = hub.instructor(*_nbgrader("list", "--inbound"))
    assert STUDENT in collected.stdout + collected.stderr


def test_a_chapters_launch_button_opens_it_on_the_hub(hub, tmp_path):
    """The book's JupyterHub button is an nbgitpuller link; it pulls the course into the home.

    The button appears once ``launch_buttons.jupyterhub_url`` names the course's hub
    (``tests/test_book_buttons.py`` builds the book so); here the hub is this test's own."""
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "jupyterhub_url" in config["launch_buttons"] and config["repository"]["url"]
    # the course repository, as a clone the hub can reach without a network
    clone = tmp_path / "course-companion.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(ROOT), str(clone)], check=True)
    repo, page = clone.as_uri(), "chapters/alexnet.md"
    branch = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--abbrev-ref", "HEAD"],
                            capture_output=True, text=True, check=True).stdout.strip()
    # the link sphinx-book-theme writes: /hub/user-redirect/git-pull?repo=...&urlpath=...&branch=...
    params = {"repo": repo, "urlpath": f"lab/tree/course-companion/{page}", "branch": branch}
    auth = {"Authorization": f"token {hub.user_token(STUDENT)}"}
    hub.start_server(STUDENT)
    browser = hub.login(STUDENT)   # the student clicks the button while logged in to the hub
    landing = browser.get(f"{hub.url}/hub/user-redirect/git-pull", params=params, timeout=60)
    assert landing.ok and f"/user/{STUDENT}/git-pull" in landing.url, landing.url
    with requests.get(f"{hub.url}/user/{STUDENT}/git-pull/api", headers=auth, stream=True, timeout=120,
                      params={"repo": repo, "branch": branch, "targetpath": "course-companion"}) as pull:
        events = "".join(line + "\n" for line in pull.iter_lines(decode_unicode=True))
    assert '"phase": "finished"' in events, events[-1500:]
    opened = hub.server(STUDENT, "GET", f"api/contents/course-companion/{page}").json()
    assert opened["type"] in {"file", "notebook"}
