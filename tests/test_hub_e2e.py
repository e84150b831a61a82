"""A whole lab cycle on a real JupyterHub, and students kept apart from each other and the course.

The hub is the course's own configuration (``deploy/jupyterhub_config.py``) with the real
configurable-http-proxy from npm, bound to 127.0.0.1 on free ports, with a fresh course folder and
real OS accounts (``cnnhub-`` names, made idempotently; the hub needs root). Students act as
JupyterLab does: the hub's login form and REST API, nbgrader's assignment-list extension, the
contents API, and their own terminal and kernel over websockets. The instructor works in their own
JupyterLab terminal: release to the exchange, collect, grade, feedback, return it, export.

Hostile steps, each of which succeeded before every server ran as its own account in its own
sandbox: a student's terminal and kernel read the lab sources, the gradebook, ``grades.csv``,
another home, the exchange's other submissions, the hub's secret and database, another server's
API token; a student submits as another (their own ``nbgrader_config.py`` naming them, and
``nbgrader submit --student``). Everything the test starts is stopped, even when it fails.

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
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "deploy"))
import course_spawner  # noqa: E402
import local_hub  # noqa: E402
from test_hub_cycle import readme_cycle  # noqa: E402

requests = pytest.importorskip("requests")
websocket = pytest.importorskip("websocket")

pytestmark = [pytest.mark.hub, pytest.mark.slow]

LAB = "lab1_counting"
COURSE = "popular-dnn-models"
STUDENT, OTHER, INSTRUCTOR = "cnnhub-student1", "cnnhub-student2", "cnnhub-instructor"
USERS = (INSTRUCTOR, STUDENT, OTHER)
PASSWORDS: dict[str, str] = {}   # the trial's random per-user passwords, made by the fixture
DONE = "__STEP_DONE__"


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
            students=f"{STUDENT},{OTHER}", instructors=INSTRUCTOR,
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
        for user in USERS:
            try:
                self.api("DELETE", f"users/{user}/server", ok=(202, 204, 400, 404))
            except Exception:  # noqa: BLE001  (teardown goes on whatever failed)
                pass
        self.stop()
        # whatever the test accounts still run (a server the hub lost track of) ends with them
        import pwd

        for user in USERS:
            course_spawner.end_processes_of(pwd.getpwnam(user).pw_uid)

    # -- HTTP --------------------------------------------------------------------------------
    def api(self, method: str, path: str, ok: tuple[int, ...] = (200, 201, 202, 204), **kw):
        r = requests.request(method, f"{self.url}/hub/api/{path}", timeout=30,
                             headers={"Authorization": f"token {self.token}"}, **kw)
        assert r.status_code in ok, f"{method} {path}: {r.status_code} {r.text[:500]}"
        return r

    def start_server(self, user: str) -> None:
        self.api("POST", f"users/{user}/server", ok=(201, 202, 400))   # 400: already running
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            model = self.api("GET", f"users/{user}").json()
            server = model.get("servers", {}).get("", {})
            if server.get("ready"):
                return
            time.sleep(0.5)
        raise AssertionError(f"{user}'s server did not start:\n{self.log.read_text()[-3000:]}")

    def login(self, user: str, password: str | None = None) -> requests.Response:
        """What the hub's login form answers (302 when it let the user in)."""
        s = requests.Session()
        s.get(f"{self.url}/hub/login", timeout=30)
        return s.post(f"{self.url}/hub/login", timeout=30, allow_redirects=False,
                      data={"username": user, "password": PASSWORDS[user] if password is None else password,
                            "_xsrf": s.cookies.get("_xsrf", "")})

    def session(self, user: str) -> requests.Session:
        s = requests.Session()
        s.get(f"{self.url}/hub/login", timeout=30)
        r = s.post(f"{self.url}/hub/login", timeout=30, allow_redirects=False,
                   data={"username": user, "password": PASSWORDS[user], "_xsrf": s.cookies.get("_xsrf", "")})
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

    # -- a user's own terminal and kernel, as JupyterLab opens them ----------------------------
    def _websocket(self, user: str, path: str):
        return websocket.create_connection(
            f"ws://127.0.0.1:{self.port}/user/{user}/{path}", timeout=300,
            header=[f"Authorization: token {self.user_token(user)}"])

    def terminal(self, user: str, script: str, timeout: float = 600) -> str:
        """Type ``script`` into a new JupyterLab terminal of ``user``; what the terminal showed."""
        name = self.server(user, "POST", "api/terminals").json()["name"]
        ws = self._websocket(user, f"terminals/websocket/{name}")
        try:
            # the marker is typed split in two, so that only its output matches DONE
            ws.send(json.dumps(["stdin", f"{script}\recho {DONE[:6]}''{DONE[6:]}\r"]))
            out, deadline = "", time.monotonic() + timeout
            while DONE not in out:
                assert time.monotonic() < deadline, f"{user}'s terminal did not finish:\n{out[-3000:]}"
                message = json.loads(ws.recv())
                if message[0] == "stdout":
                    out += message[1]
            return out
        finally:
            ws.close()
            self.server(user, "DELETE", f"api/terminals/{name}")

    def kernel(self, user: str, code: str) -> str:
        """Run ``code`` in a new kernel of ``user``'s server; its stdout and any error."""
        kernel_id = self.server(user, "POST", "api/kernels", json={"name": "python3"}).json()["id"]
        ws = self._websocket(user, f"api/kernels/{kernel_id}/channels")
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3"},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": False,
                            "user_expressions": {}, "allow_stdin": False}}))
            out = ""
            while True:
                message = json.loads(ws.recv())
                if message.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = message["msg_type"], message["content"]
                if kind == "stream":
                    out += content["text"]
                elif kind == "error":
                    out += f"{content['ename']}: {content['evalue']}\n"
                elif kind == "status" and content["execution_state"] == "idle":
                    return out
        finally:
            ws.close()
            self.server(user, "DELETE", f"api/kernels/{kernel_id}")


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


def _probes(hub: Hub) -> dict[str, str]:
    """What a student must not reach: name -> shell test that succeeds only if they reach it
    (where a thing could be found at two paths, the host's and the sandbox's, either counts)."""
    state, inbound = hub.state, hub.state / "exchange" / COURSE / "inbound"
    return {
        "lab sources": f"cat {ROOT}/labs/source/{LAB}/{LAB}.ipynb",
        "lab sources in the course": f"cat {state}/course/source/{LAB}/{LAB}.ipynb",
        "gradebook": f"cat {state}/course/gradebook.db",
        "grades.csv": f"cat {state}/course/grades.csv",
        "collected submissions": f"ls {state}/course/submitted/{STUDENT}",
        "another home": f"ls {state}/homes/{OTHER} || ls /home/{OTHER}",
        "another home's files": f"cat {state}/homes/{OTHER}/notes.txt || cat /home/{OTHER}/notes.txt",
        "the exchange's submissions": f"ls {inbound}",
        "the hub's cookie secret": f"cat {state}/private/jupyterhub_cookie_secret",
        "the hub's database": f"cat {state}/private/jupyterhub.sqlite",
        "the trial's passwords": f"cat {state}/private/passwords.txt",
        "another server's API token": f"grep -l -a -e 'JUPYTERHUB_USER={OTHER}' -e "
                                      f"'JUPYTERHUB_USER={INSTRUCTOR}' /proc/[0-9]*/environ",
        "another server's process": f"ps -eo user= | grep -e {OTHER} -e {INSTRUCTOR}",
        "the gradebook, written": f"touch {state}/course/gradebook.db",
    }


def _shell_probes(probes: dict[str, str]) -> str:
    """One shell line running every probe; each prints REACHED-i or REFUSED-i (typed split in two,
    so that the terminal's echo of the line does not count)."""
    return "; ".join(f"({test}) >/dev/null 2>&1 && echo REA''CHED-{i} || echo REF''USED-{i}"
                     for i, test in enumerate(probes.values()))


def _verdicts(output: str, probes: dict[str, str]) -> dict[str, str]:
    return {name: "reached" if f"REACHED-{i}\r" in output else "refused" if f"REFUSED-{i}\r" in output
            else "no answer" for i, name in enumerate(probes)}


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    if shutil.which("npm") is None:
        pytest.skip("npm is not installed: the hub's proxy comes from the npm registry")
    if os.geteuid() != 0 or not shutil.which("bwrap"):
        pytest.skip("the course hub needs root (OS accounts) and bubblewrap (make test installs it)")
    state = tmp_path_factory.mktemp("course-hub")
    PASSWORDS.update(local_hub.prepare_accounts(state, list(USERS)))
    assert len(set(PASSWORDS.values())) == len(USERS)
    hub = Hub(state)
    try:
        hub.start()
        yield hub
    finally:
        hub.stop_everything()


def test_only_a_users_own_password_logs_them_in(hub):
    from concurrent.futures import ThreadPoolExecutor

    assert hub.login(STUDENT).status_code == 302
    wrong = [(STUDENT, "wrong"), (STUDENT, ""), (STUDENT, PASSWORDS[OTHER]), (STUDENT, PASSWORDS[INSTRUCTOR]),
             (INSTRUCTOR, "any password"), ("root", "x")]
    with ThreadPoolExecutor(len(wrong)) as pool:   # PAM makes each failure wait a few seconds
        answers = list(pool.map(lambda attempt: hub.login(*attempt).status_code, wrong))
    assert all(code != 302 for code in answers), dict(zip(wrong, answers, strict=True))


def _readme_steps(first: str, last: str) -> str:
    """The README's grading cycle from the step containing ``first`` to the one containing ``last``,
    as one terminal line, with the hub's course directory ~/course for the README's ~/dnn-course."""
    steps = [step.replace("~/dnn-course", "~/course") for step in readme_cycle()]
    start = next(i for i, step in enumerate(steps) if first in step)
    end = next(i for i, step in enumerate(steps) if last in step)
    return " && ".join(["cd ~/course", *steps[start:end + 1]])


def test_the_instructor_releases_a_lab_from_their_terminal(hub):
    hub.start_server(INSTRUCTOR)
    script = _readme_steps("autograder release", "release_assignment")
    assert "nbgrader db student import students.csv" in script   # the roster the hub wrote
    out = hub.terminal(INSTRUCTOR, f"{script} 2>&1 && echo RELEASED-$(whoami)")
    assert f"RELEASED-{INSTRUCTOR}" in out, out[-3000:]
    assert "Released as" in out and "command not found" not in out
    assert (hub.state / "exchange" / COURSE / "outbound" / LAB / f"{LAB}.ipynb").exists()
    # the formgrader sees the course directory (~/course, inside the server's root)
    listed = hub.server(INSTRUCTOR, "GET", "formgrader/api/assignments").json()
    assert LAB in [a["name"] for a in listed], listed


def test_a_student_fetches_answers_and_submits_through_the_assignment_list(hub):
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


def test_a_student_cannot_submit_as_another_student(hub):
    """Both ways the impostor's submission reaches the exchange under the other's name; the
    instructor's collect (next test) refuses them, and grades.csv shows the other as missing."""
    time.sleep(1.1)
    # 1. the student's own nbgrader_config.py names the other, then the Assignment List submits
    config = {"type": "file", "format": "text",
              "content": f'c = get_config()\nc.CourseDirectory.student_id = "{OTHER}"\n'}
    hub.server(STUDENT, "PUT", "api/contents/nbgrader_config.py", json=config)
    hub.assignments(STUDENT, "submit")
    hub.server(STUDENT, "DELETE", "api/contents/nbgrader_config.py")
    # 2. nbgrader submit --student in the student's own terminal
    time.sleep(1.1)
    out = hub.terminal(STUDENT, f"nbgrader submit {LAB} --student={OTHER} 2>&1 | tail -2")
    assert "Submitted as" in out, out[-2000:]
    claimed = list((hub.state / "exchange" / COURSE / "inbound").glob(f"{OTHER}+{LAB}+*"))
    assert len(claimed) == 2, claimed


def test_the_instructor_runs_the_cycle_in_their_terminal(hub):
    script = _readme_steps("nbgrader collect", "autograder export")
    out = hub.terminal(INSTRUCTOR, f"({script}) 2>&1 && echo CYCLE-DONE")
    assert "CYCLE-DONE" in out, out[-4000:]
    refused = [line for line in out.splitlines() if "Refused" in line]
    assert len(refused) == 2 and all(f"names {OTHER}" in r and f"{STUDENT} (uid" in r for r in refused), out
    assert "check_owner" not in out and "sandbox bwrap" in out, out[-3000:]
    export = hub.state / "course" / "grades.csv"
    header, *lines = export.read_text().splitlines()
    rows = {r.split(",")[0]: dict(zip(header.split(","), r.split(","), strict=True)) for r in lines}
    assert float(rows[STUDENT]["score"]) == _autograded_points() > 0, "the latest genuine submission counts"
    assert rows[OTHER]["status"] == "missing" and float(rows[OTHER]["score"]) == 0, \
        "the impostor's submissions for the other student were not collected"


KERNEL_PROBE = """
import glob, os, subprocess
def probe(name, reached):
    try:
        print(("REACHED[" if reached() else "REFUSED[") + name + "]")
    except OSError:
        print("REFUSED[" + name + "]")
for name, test in TESTS.items():
    probe(name, lambda: subprocess.run(test + " >/dev/null 2>&1", shell=True).returncode == 0)
for path in FILES:
    probe("python " + path, lambda: bool(open(path, "rb").read(1)))
def token_of_another(path):
    env = open(path, "rb").read()
    return b"JUPYTERHUB_API_TOKEN" in env and f"JUPYTERHUB_USER={os.environ['USER']}".encode() not in env
probe("python tokens", lambda: any(os.access(p, os.R_OK) and token_of_another(p)
                                   for p in glob.glob("/proc/[0-9]*/environ")))
"""


def test_a_students_terminal_and_kernel_reach_nothing_of_the_course(hub):
    hub.start_server(OTHER)   # another student's server and the instructor's run meanwhile
    hub.start_server(INSTRUCTOR)
    hub.terminal(OTHER, f"echo secret-of-{OTHER} > ~/notes.txt")
    for there in ("course/grades.csv", "course/gradebook.db", "private/passwords.txt",
                  f"homes/{OTHER}/notes.txt"):
        assert (hub.state / there).exists(), there   # refused below, not missing
    probes = _probes(hub)
    out = hub.terminal(STUDENT, f"{_shell_probes(probes)}; echo I-AM-$(id -un)")
    verdicts = _verdicts(out, probes)
    assert set(verdicts.values()) == {"refused"}, verdicts
    assert f"I-AM-{STUDENT}\r" in out   # the terminal runs as the student's own account

    files = [str(ROOT / "labs" / "source" / LAB / f"{LAB}.ipynb"), str(hub.state / "course" / "gradebook.db"),
             f"/home/{OTHER}/notes.txt", str(hub.state / "homes" / OTHER / "notes.txt")]
    tests = {name: test for name, test in probes.items() if "process" not in name}
    out = hub.kernel(STUDENT, f"TESTS = {tests!r}\nFILES = {files!r}\n{KERNEL_PROBE}")
    assert "REACHED" not in out and out.count("REFUSED") == len(tests) + len(files) + 1, out
    # the other student's file is there, for them
    assert f"secret-of-{OTHER}" in hub.terminal(OTHER, "cat ~/notes.txt")


def test_the_student_fetches_feedback_without_hidden_tests(hub):
    listed = hub.assignments(STUDENT, "fetch_feedback")
    mine = [a for a in listed if a["assignment_id"] == LAB and a["status"] == "submitted"]
    assert mine, f"the listing does not show the submission: {listed}"
    folders = hub.server(STUDENT, "GET", f"api/contents/{LAB}/feedback").json()["content"]
    assert folders, "no feedback was fetched"
    html = hub.server(STUDENT, "GET", f"api/contents/{LAB}/feedback/{folders[-1]['name']}/{LAB}.html",
                      params={"format": "text", "type": "file"}).json()["content"]
    assert f"{_autograded_points():g}" in html and "BEGIN HIDDEN TESTS" not in html


def test_fetching_a_lab_that_was_not_released_says_so(hub):
    hub.start_server(OTHER)
    listed = hub.assignments(OTHER, "fetch", lab="lab9_unreleased")
    assert not [a for a in listed if a["assignment_id"] == "lab9_unreleased"]
    # the student's own terminal gives nbgrader's message
    out = hub.terminal(OTHER, "nbgrader fetch_assignment lab9_unreleased")
    assert "Assignment not found" in out and "lab9_unreleased" in out, out[-1500:]


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
    # the course from a plain shell on the machine (root, in the course folder)
    env = {**hub.env, "JUPYTER_CONFIG_PATH": ""}
    listed = subprocess.run([str(Path(sys.executable).with_name("nbgrader")), "list", "--inbound"],
                            cwd=hub.state / "course", env=env, capture_output=True, text=True, timeout=120)
    assert STUDENT in listed.stdout + listed.stderr, listed.stderr[-2000:]


def test_a_chapters_launch_button_opens_it_on_the_hub(hub, tmp_path):
    """The book's JupyterHub button is an nbgitpuller link; it pulls the course's student copy
    (``deploy/student_copy.py``: chapters and cnnlib, no lab sources) into the home.

    The button appears once ``launch_buttons.jupyterhub_url`` names the course's hub
    (``tests/test_book_buttons.py`` builds the book so); here the hub is this test's own."""
    import student_copy
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "jupyterhub_url" in config["launch_buttons"] and config["repository"]["url"]
    # the course repository, served by git's own daemon on 127.0.0.1 (the student's sandbox sees no
    # folder of the host; nbgitpuller clones shallow, which git's "dumb" HTTP cannot serve)
    copy = student_copy.write_student_copy(tmp_path / "student-copy")
    clone = tmp_path / "course-companion.git"
    subprocess.run(["git", "clone", "--quiet", "--bare", str(copy), str(clone)], check=True)
    (port,) = _free_ports(1)
    daemon = subprocess.Popen(["git", "daemon", "--reuseaddr", "--export-all", f"--base-path={tmp_path}",
                               "--listen=127.0.0.1", f"--port={port}", str(tmp_path)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if subprocess.run(["git", "ls-remote", f"git://127.0.0.1:{port}/{clone.name}"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(0.1)
        repo, page = f"git://127.0.0.1:{port}/{clone.name}", "chapters/alexnet.md"
        branch = "main"   # the student copy's one branch
        # the link sphinx-book-theme writes: /hub/user-redirect/git-pull?repo=...&urlpath=...&branch=...
        params = {"repo": repo, "urlpath": f"lab/tree/course-companion/{page}", "branch": branch}
        auth = {"Authorization": f"token {hub.user_token(STUDENT)}"}
        hub.start_server(STUDENT)
        browser = hub.session(STUDENT)   # the student clicks the button while logged in to the hub
        landing = browser.get(f"{hub.url}/hub/user-redirect/git-pull", params=params, timeout=60)
        assert landing.ok and f"/user/{STUDENT}/git-pull" in landing.url, landing.url
        with requests.get(f"{hub.url}/user/{STUDENT}/git-pull/api", headers=auth, stream=True, timeout=180,
                          params={"repo": repo, "branch": branch, "targetpath": "course-companion"}) as pull:
            events = "".join(line + "\n" for line in pull.iter_lines(decode_unicode=True))
        assert '"phase": "finished"' in events, events[-1500:]
        opened = hub.server(STUDENT, "GET", f"api/contents/course-companion/{page}").json()
        assert opened["type"] in {"file", "notebook"}
        listing = hub.server(STUDENT, "GET", "api/contents/course-companion").json()["content"]
        pulled = {item["name"] for item in listing}
        assert "chapters" in pulled and not pulled & {"labs", "tests", "autograder"}, pulled
    finally:
        daemon.terminate()
        daemon.wait(10)
