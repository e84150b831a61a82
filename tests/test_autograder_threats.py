"""The threat model of autograder/README.md: one test per row, each with a hand-made hostile submission.

One class of hostile students and correct ones is graded once, for real (bubblewrap sandbox),
with ``--workers 1``: students run in the order of their names, so the student right after an
attacker runs on the same worker, in the place the attacker tried to spoil. Each test asserts
one row of the table. The slow test grades the same class again with ``--workers 1`` and
``--workers 2`` and checks every correct student's grade and feedback.
"""

from __future__ import annotations

import ast
import base64
import csv
import html
import html.parser
import json
import os
import secrets
import signal
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import nbformat
import pytest
from test_autograder import (
    CORRECT_ADD,
    CORRECT_CONV,
    LAB,
    LABS,
    REPO,
    SANDBOX,
    SOURCE_NB,
    case_problems,
    cell_index,
    outputs_text,
    run_cli,
    student_nb,
    write,
)

pytestmark = pytest.mark.skipif(SANDBOX != "bwrap", reason="bubblewrap (bwrap) is not installed or user "
                                "namespaces are off: the sandbox must run for real")

CANARY = f"canary-{secrets.token_hex(8)}"  # in the grader's environment: must never reach a notebook
TIMEOUT = 40  # seconds per notebook
CELL_TIMEOUT = 8  # ExecutePreprocessor.timeout in the course's configuration
MEMORY = 512
WORKER_KILL_MARK = "4.321"  # n_worker_killed sleeps this long, in a child process the test can see
FORMULA_STUDENT = '=HYPERLINK("evil.example","grade")'  # a folder name: no slash
COURSE_CONFIG = f'''"""A course's nbgrader configuration: its own autograde step, and a per-cell timeout."""
from nbconvert.preprocessors import ClearMetadataPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern,
                                    LimitOutput, NbGraderPreprocessor, SaveAutoGrades)

c = get_config()  # noqa: F821
load_subconfig({str(REPO / "labs" / "nbgrader_config.py")!r})  # noqa: F821


class StampAutograded(NbGraderPreprocessor):
    def preprocess(self, nb, resources):
        nb.metadata["course_stamp"] = "stamped by the course's own step"
        return nb, resources


c.Autograde.autograde_preprocessors = [Execute, IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                       SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
                                       StampAutograded]
c.ExecutePreprocessor.timeout = {CELL_TIMEOUT}
'''

HUNT = (  # its descriptors and capabilities; the server and other notebooks: ptraced and killed
    "import ctypes, os, signal\n"
    "fds = {}\n"
    "for fd in os.listdir('/proc/self/fd'):\n"
    "    try:\n"
    "        fds[fd] = os.readlink(f'/proc/self/fd/{fd}').split(':')[0]\n"
    "    except OSError:\n"
    "        pass\n"
    "print('FDS', sorted(fds.values()))\n"
    "print('CAPS', [line.split() for line in open('/proc/self/status')\n"
    "               if line.startswith(('Cap', 'NoNew'))])\n"
    "pids = sorted(int(p) for p in os.listdir('/proc') if p.isdigit())\n"
    "print('PROCS', [p for p in pids if p != os.getpid()])\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "for pid in range(1, 500):\n"
    "    if pid == os.getpid():\n"
    "        continue\n"
    "    if libc.ptrace(16, pid, None, None) == 0:\n"  # PTRACE_ATTACH
    "        print('TRACED', pid)\n"
    "    try:\n"
    "        os.kill(pid, signal.SIGKILL)\n"
    "    except OSError:\n"
    "        pass\n"
)
FORGE = (  # reads every descriptor it has and writes the grader's replies, forged, into each
    "import json, os, struct\n"
    "def frame(obj):\n"
    "    data = json.dumps(obj).encode()\n"
    "    return struct.pack('>I', len(data)) + data\n"
    "forged = frame({'status': 'ok', 'reason': '', 'cells': []})\n"
    "for fd in range(3, 256):\n"
    "    try:\n"
    "        os.set_blocking(fd, False)\n"
    "        os.read(fd, 1 << 16)\n"
    "    except OSError:\n"
    "        pass\n"
    "    try:\n"
    "        os.write(fd, forged * 4)\n"
    "    except OSError:\n"
    "        pass\n"
)
ENVIRON = (  # looks for the grader's environment everywhere it could be
    "import os\n"
    "found = {}\n"
    "for p in os.listdir('/proc'):\n"
    "    try:\n"
    "        found[p] = open(f'/proc/{p}/environ', 'rb').read().decode(errors='replace')\n"
    "    except OSError:\n"
    "        pass\n"
    "print('ENVIRON', found, dict(os.environ))\n"
)
BREAKER = (  # one line that used to break the worker for the rest of the class, and its friends
    "import os\n"
    "for path in (os.environ['HOME'], '/tmp', '/dev', '/dev/shm', os.getcwd(), '/home'):\n"
    "    try:\n"
    "        os.chmod(path, 0)\n"
    "    except OSError:\n"
    "        pass\n"
)
PRINT_THEN_FAIL = "def add(a, b):\n    print('x' * 1_100_000)\n    return a - b\n"
MEMORY_CHILDREN = (  # four processes of 300 MB each under --memory 512
    "import os, time\n"
    "kids = []\n"
    "for _ in range(4):\n"
    "    pid = os.fork()\n"
    "    if pid == 0:\n"
    "        hog = b'x' * (300 * 2**20)\n"
    "        time.sleep(3)\n"
    "        os._exit(0)\n"
    "    kids.append(pid)\n"
    "survived = sum(os.waitpid(k, 0)[1] == 0 for k in kids)\n"
    "print(f'survived {survived} of 4')\n"
)
SHM_FILL = (
    "written = 0\n"
    "try:\n"
    "    with open('/dev/shm/fill', 'wb') as f:\n"
    "        for _ in range(100):\n"
    "            f.write(b'x' * 2**20)\n"
    "            f.flush()\n"
    "            written += 1\n"
    "except OSError as exc:\n"
    "    print('shm refused', type(exc).__name__)\n"
    "print(f'shm wrote {written} MB')\n"
    "import os\n"
    "os.remove('/dev/shm/fill')\n"
)
PROCESSES = (
    "import subprocess\n"
    "started = []\n"
    "for _ in range(300):\n"
    "    try:\n"
    "        started.append(subprocess.Popen(['sleep', '60']))\n"
    "    except OSError:\n"
    "        break\n"
    "print(f'started {len(started)} processes')\n"
    "for p in started:\n"
    "    p.kill()\n"
    "    p.wait()\n"
)
HOST_SETTINGS = (  # kernel settings and devices of the host: each attempt must be refused
    "import os\n"
    "value = open('/proc/sys/vm/overcommit_memory').read()\n"
    "try:\n"
    "    with open('/proc/sys/vm/overcommit_memory', 'w') as f:\n"
    "        f.write(value)\n"  # the same value: harmless even if it got through
    "    print('WROTE a host kernel setting')\n"
    "except OSError as exc:\n"
    "    print('sysctl refused', type(exc).__name__)\n"
    "try:\n"
    "    open('/proc/sysrq-trigger', 'w').close()\n"  # opened, never written
    "    print('OPENED sysrq-trigger')\n"
    "except OSError as exc:\n"
    "    print('sysrq refused', type(exc).__name__)\n"
    "try:\n"
    "    os.chmod('/dev/null', 0o666)\n"  # its own mode: harmless even if it got through
    "    print('CHMOD a host device')\n"
    "except OSError as exc:\n"
    "    print('chmod refused', type(exc).__name__)\n"
)
LITTER = (  # leaves things behind for the next notebook on the same worker
    "import ctypes, os, subprocess\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "print('shm segment', libc.shmget(0x5eed, 4096, 0o1666))\n"  # IPC_CREAT | 0666
    "os.symlink('/etc/passwd', os.path.join(os.environ['HOME'], 'planted-link'))\n"
    "os.makedirs(os.environ['MPLCONFIGDIR'], exist_ok=True)\n"
    "open(os.path.join(os.environ['MPLCONFIGDIR'], 'matplotlibrc'), 'w').write('planted: 1')\n"
    "open('/dev/shm/planted', 'w').write('x')\n"
    "open('/tmp/planted', 'w').write('x')\n"
    "open('planted-in-cwd', 'w').write('x')\n"
    "try:\n"
    "    open('/planted-at-root', 'w')\n"
    "except OSError as exc:\n"
    "    print('root is', type(exc).__name__)\n"
    "subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
)
SNOOP = (
    "import ctypes, os\n"
    "libc = ctypes.CDLL(None, use_errno=True)\n"
    "print('SNOOP segment', libc.shmget(0x5eed, 0, 0) != -1,\n"
    "      'link', os.path.lexists(os.path.join(os.environ['HOME'], 'planted-link')),\n"
    "      'rc', os.path.exists(os.path.join(os.environ['MPLCONFIGDIR'], 'matplotlibrc')),\n"
    "      'shm', os.listdir('/dev/shm'), 'tmp', 'planted' in os.listdir('/tmp'), 'cwd', os.listdir('.'),\n"
    "      'procs', [open(f'/proc/{p}/cmdline').read() for p in os.listdir('/proc') if p.isdigit()\n"
    "                and 'sleep' in open(f'/proc/{p}/cmdline').read()])\n"
)
SPY_BASE64 = (  # records every cell it sees (the hidden tests included) and prints them encoded later
    "seen = []\n"
    "get_ipython().events.register('pre_run_cell', lambda info: seen.append(info.raw_cell))\n"
    + CORRECT_ADD
)
SPY_PRINT = (
    "import base64\n"
    "print('B64', base64.b64encode('\\n'.join(seen).encode()).decode())\n"
    + CORRECT_CONV
)
XSS_MARKDOWN = (
    "FC6 has the most weights. <script>document.title='xss-script'</script>\n\n"
    "<img src=x onerror=\"document.title='xss-onerror'\">\n\n"
    "[click me](javascript:document.title='xss-link')\n"
)
XSS_CODE = (
    "from IPython.display import HTML, Javascript, SVG, display\n"
    "display(HTML(\"<b>bold</b><script>document.title='xss-html-script'</script>"
    "<a href=\\\"javascript:document.title='xss-html-link'\\\">x</a>\"))\n"
    "display(Javascript(\"document.title='xss-javascript'\"))\n"
    "display(SVG('<svg xmlns=\"http://www.w3.org/2000/svg\"><script>document.title=\"xss-svg\"</script></svg>'))\n"
    + CORRECT_ADD
)


def correct_nb(course: Path, sid: str):
    """A correct notebook whose answer carries the student's own mark (to find it in feedback)."""
    return student_nb(course, add=CORRECT_ADD + f"# the work of {sid}\n")


def build_class(course: Path, subs: Path) -> dict[str, dict]:
    """Every hostile and correct student: what their grade must be (score, status, words in the reason)."""
    cases: dict[str, dict] = {}

    def case(student, score, status="graded", reason=None, nb=None, **kw):
        cases[student] = {"score": score, "status": status, "reason": reason}
        if nb is not None:
            write(subs, student, nb, **kw)

    for sid in ("a_hijack_next", "c_breaker_next", "z_correct", "y_correct_1", "y_correct_2"):
        case(sid, 5, nb=correct_nb(course, sid))
    # its own notebook dies of its forgery (the test of its first answer ran and keeps its points)
    case("a_hijack", 2, "died", "out of turn", nb=student_nb(course, add=HUNT + CORRECT_ADD,
                                                             conv=FORGE + CORRECT_CONV))
    case("b_environ", 5, nb=student_nb(course, add=ENVIRON + CORRECT_ADD))
    case("c_breaker", 5, nb=student_nb(course, add=BREAKER + CORRECT_ADD))
    case("d_print_then_fail", 3, nb=student_nb(course, add=PRINT_THEN_FAIL))
    case("e_memory_children", 5, "graded", "out of memory",
         nb=student_nb(course, add=MEMORY_CHILDREN + CORRECT_ADD))
    case("e_shm_size", 5, nb=student_nb(course, add=SHM_FILL + CORRECT_ADD))
    case("e_processes", 5, nb=student_nb(course, add=PROCESSES + CORRECT_ADD))
    flood = student_nb(course)
    at = cell_index(flood, "add") + 1
    flood.cells[at:at] = [nbformat.v4.new_code_cell(f"print('{i % 10}' * 1_000_000)") for i in range(300)]
    case("f_output_flood", 5, nb=flood)
    # links: to the lab's source (solutions and hidden tests), to a classmate's notebook, a linked folder
    d = subs / "g_link_source" / LAB
    d.mkdir(parents=True)
    (d / f"{LAB}.ipynb").symlink_to(SOURCE_NB)
    d = subs / "g_link_classmate" / LAB
    d.mkdir(parents=True)
    (d / f"{LAB}.ipynb").symlink_to(Path("..") / ".." / "y_correct_1" / LAB / f"{LAB}.ipynb")
    (subs / "g_link_folder").symlink_to("y_correct_2")
    for sid in ("g_link_source", "g_link_classmate", "g_link_folder"):
        cases[sid] = {"score": 0, "status": "failed", "reason": "symbolic link"}
    for sid, gid in (("h_pasted_answer", "add"), ("h_pasted_test", "test_add")):
        pasted = student_nb(course)
        copy = nbformat.from_dict(json.loads(json.dumps(pasted.cells[cell_index(pasted, gid)])))
        copy["id"] = secrets.token_hex(4)  # a paste in JupyterLab gets a new cell id, and the same metadata
        pasted.cells.insert(cell_index(pasted, gid) + 1, copy)
        case(sid, 5, "graded", "copy", nb=pasted)
    deleted = student_nb(course)
    del deleted.cells[cell_index(deleted, "test_conv_weights")]
    del deleted.cells[cell_index(deleted, "conv_weights")]
    case("h_deleted_answer_and_test", 2, "graded", "deleted", nb=deleted)
    unknown = student_nb(course)
    unknown.cells.append(nbformat.v4.new_code_cell("x = 1", metadata={"nbgrader": {
        "grade": True, "grade_id": "not_in_the_lab", "locked": False, "points": 50, "schema_version": 3,
        "solution": False, "task": False}}))
    case("h_unknown_id", 5, "graded", "does not have", nb=unknown)
    spy = student_nb(course, add=SPY_BASE64, conv=SPY_PRINT)
    case("i_spy_base64", 5, nb=spy)
    xss = student_nb(course, add=XSS_CODE)
    xss.cells[cell_index(xss, "written_most_weights")].source = XSS_MARKDOWN
    case("i_xss", 5, nb=xss)
    case(FORMULA_STUDENT, 5, nb=correct_nb(course, "formula"))
    d = write(subs, "j_timestamp", correct_nb(course, "j_timestamp"))
    (d / "timestamp.txt").write_text("2000-01-01 00:00:00.000000 UTC")
    cases["j_timestamp"] = {"score": 5, "status": "graded", "reason": None}
    case("k_cell_timeout", 3, "graded", "ExecutePreprocessor.timeout",
         nb=student_nb(course, add="import time\ntime.sleep(120)\n" + CORRECT_ADD))
    case("l_host_settings", 5, nb=student_nb(course, add=HOST_SETTINGS + CORRECT_ADD))
    case("m_litter", 5, nb=student_nb(course, add=LITTER + CORRECT_ADD))
    case("m_litter_next", 5, nb=student_nb(course, add=SNOOP + CORRECT_ADD))
    # the grader kills the warm server (from outside) while this one's child process runs
    case("n_worker_killed", 5, nb=student_nb(course, add=f"import subprocess\nsubprocess.run(['sleep', "
                                                        f"'{WORKER_KILL_MARK}'])\n" + CORRECT_ADD))
    return cases


def _children() -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def watch_grader(grader: subprocess.Popen, marker: str) -> dict:
    """While the grader runs: kill its warm server (from outside, SIGKILL) once, when a process
    whose command line ends with ``marker`` runs under it; and read, from the host, the
    environment of every process under it (bubblewrap's included), looking for the canary."""
    seen = {"killed": False, "leaks": set()}
    while grader.poll() is None:
        children = _children()
        parent = {kid: pid for pid, kids in children.items() for kid in kids}
        todo, tree = [grader.pid], []
        while todo:
            kids = children.get(todo.pop(), [])
            tree += kids
            todo += kids
        sandboxes = [p for p in tree if _cmdline(p).startswith("/usr/bin/bwrap") or _cmdline(p).startswith(
            "/bin/sh -c for f in")]  # bubblewrap and what runs in it (not, say, nbgrader's alembic)
        for pid in tree:
            ancestor, inside = pid, False
            while ancestor in parent and not inside:
                inside = ancestor in sandboxes
                ancestor = parent[ancestor]
            try:
                if inside and CANARY.encode() in Path(f"/proc/{pid}/environ").read_bytes():
                    seen["leaks"].add(_cmdline(pid)[:80])
            except OSError:
                pass
            if not seen["killed"] and _cmdline(pid).strip().endswith(marker):
                server = parent[parent[pid]]  # sleep <- the notebook's process <- the server
                assert "autograder._server" in _cmdline(server)
                os.kill(server, signal.SIGKILL)
                seen["killed"] = True
        time.sleep(0.1)
    return seen


def grade_class(base: Path, workers: int) -> dict:
    course, subs = base / "course", base / "submissions"
    course.mkdir(parents=True)
    (course / "nbgrader_config.py").write_text(COURSE_CONFIG)
    run_cli("release", LAB, "--course", str(course), "--labs", str(LABS))
    cases = build_class(course, subs)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "AUTOGRADER_TEST_CANARY": CANARY}
    grader = subprocess.Popen([sys.executable, "-m", "autograder", "grade", LAB, "--course", str(course),
                               "--labs", str(LABS), "--submissions", str(subs), "--workers", str(workers),
                               "--timeout", str(TIMEOUT), "--memory", str(MEMORY)],
                              cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = watch_grader(grader, WORKER_KILL_MARK)
    out, err = grader.communicate(timeout=1800)
    assert grader.returncode == 0, out + err
    results = {json.loads(p.read_text())["student_id"]: json.loads(p.read_text())
               for p in (course / "autograder" / LAB).glob("*.json")}
    return {"course": course, "subs": subs, "cases": cases, "results": results, "stdout": out,
            "stderr": err, "worker_killed": seen["killed"], "environ_leaks": seen["leaks"], "pages": {}}


@pytest.fixture(scope="module")
def threats(tmp_path_factory):
    return grade_class(tmp_path_factory.mktemp("threats"), workers=1)


def expect(threats, *students):
    """Each student got the score, status and reason their case says (and no other reason)."""
    problems = case_problems(threats["cases"], threats["results"], students, no_other_reason=True)
    assert not problems, "\n".join(problems)


def printed(course: Path, student: str, label: str):
    """The Python value a student's notebook printed after ``label`` (``print(label, value)``)."""
    nb = nbformat.read(str(course / "autograded" / student / LAB / f"{LAB}.ipynb"), as_version=4)
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    return ast.literal_eval(text.split(f"{label} ", 1)[1].split("\n", 1)[0])


FEEDBACK_STUDENTS = ("b_environ", "i_spy_base64", "i_xss")


def feedback_for(threats, *students) -> dict[str, str]:
    """Feedback pages (written once per class, for the students the tests read)."""
    course, pages = threats["course"], threats["pages"]
    if not pages:
        wanted = set(FEEDBACK_STUDENTS) | {s for s in students if s in threats["results"]}
        args = [a for s in sorted(wanted) for a in ("--student", s)]
        run_cli("feedback", LAB, "--course", str(course), *args)
        pages.update({s: (course / "feedback" / s / LAB / f"{LAB}.html").read_text() for s in wanted})
    return {s: pages[s] for s in students}


# ---------------------------------------------------------------- one test per row of the threat model
def test_a_notebook_holds_nothing_of_the_grader_or_of_another_notebook(threats):
    """Kill and ptrace of every pid, then forged replies on every descriptor and reads of them: the
    attacker saw no process but its namespace's pid 1, its forgery only broke its own notebook,
    and the next student on the same worker is graded as if nothing happened."""
    expect(threats, "a_hijack", "a_hijack_next")
    text = outputs_text(threats["course"], "a_hijack")
    assert "PROCS [1]" in text, text[:2000]  # its namespace's pid 1 only: no server, no other notebook
    assert "TRACED" not in text
    fds = printed(threats["course"], "a_hijack", "FDS")
    assert fds.count("socket") == 1 and "pipe" not in fds, fds  # its own channel, and files of its own
    caps = dict(printed(threats["course"], "a_hijack", "CAPS"))
    assert caps == {"CapInh:": "0" * 16, "CapPrm:": "0" * 16, "CapEff:": "0" * 16, "CapBnd:": "0" * 16,
                    "CapAmb:": "0" * 16, "NoNewPrivs:": "1"}, caps


def test_the_grader_environment_is_not_visible_inside(threats):
    """From inside, and from the host: no process of the sandbox, bubblewrap's pid 1 included,
    carries the grader's environment."""
    assert not threats["environ_leaks"], threats["environ_leaks"]
    expect(threats, "b_environ")
    course = threats["course"]
    text = outputs_text(course, "b_environ")
    assert "ENVIRON" in text and CANARY not in text
    assert "AUTOGRADER" not in text  # nothing of the grader's own settings either
    assert CANARY not in feedback_for(threats, "b_environ")["b_environ"]


def test_a_notebook_cannot_break_the_worker_for_the_next_student(threats):
    expect(threats, "c_breaker", "c_breaker_next")


def test_a_failing_test_fails_even_after_a_megabyte_of_output(threats):
    expect(threats, "d_print_then_fail")
    cells = {c["grade_id"]: c for c in threats["results"]["d_print_then_fail"]["cells"]}
    assert cells["test_add"]["status"] == "failed" and "AssertionError" in cells["test_add"]["reason"]


def test_memory_is_limited_across_all_of_a_notebooks_processes(threats):
    got = threats["results"]["e_memory_children"]
    text = outputs_text(threats["course"], "e_memory_children")
    if got["status"] == "died":  # the OOM killer took the notebook's own process
        assert "out of memory" in got["reason"]
    else:
        survived = int(text.split("survived ")[1].split(" ")[0])
        assert survived < 4, text[:500]
        assert "out of memory" in got["reason"]


def test_dev_shm_is_sized_per_notebook(threats):
    expect(threats, "e_shm_size")
    text = outputs_text(threats["course"], "e_shm_size")
    written = int(text.split("shm wrote ")[1].split(" ")[0])
    assert "shm refused" in text and written <= 64, text[:500]


def test_processes_are_limited_per_notebook(threats):
    expect(threats, "e_processes")
    text = outputs_text(threats["course"], "e_processes")
    started = int(text.split("started ")[1].split(" ")[0])
    assert started < 300, text[:500]


def test_output_is_capped_per_notebook(threats):
    """300 cells of a megabyte each: the graded notebook stays small, the grade is right."""
    expect(threats, "f_output_flood")
    path = threats["course"] / "autograded" / "f_output_flood" / LAB / f"{LAB}.ipynb"
    assert path.stat().st_size < 8_000_000
    assert "not kept" in path.read_text()


def test_symbolic_links_in_submissions_are_refused(threats):
    expect(threats, "g_link_source", "g_link_classmate", "g_link_folder")
    course = threats["course"]
    for sid in ("g_link_source", "g_link_classmate", "g_link_folder"):
        assert not (course / "autograded" / sid).exists()
        submitted = course / "submitted" / sid / LAB
        assert not any(p.is_symlink() or p.suffix == ".ipynb" for p in submitted.rglob("*"))


def test_a_symbolic_link_in_a_zip_is_refused(tmp_path):
    from autograder.collect import REFUSED, collect
    from autograder.course import Course

    course = Course(tmp_path / "course", LABS)
    archive = tmp_path / "class.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        link = zipfile.ZipInfo(f"linked/{LAB}/{LAB}.ipynb")
        link.external_attr = (0o120777 << 16)  # a symbolic link
        zf.writestr(link, str(SOURCE_NB))
        zf.writestr(f"plain/{LAB}/{LAB}.ipynb", SOURCE_NB.read_text())
    (tmp_path / "tmp").mkdir()
    assert collect(course, LAB, archive, tmp_path / "tmp") == ["linked", "plain"]
    refused = course.root / "submitted" / "linked" / LAB / REFUSED
    assert "symbolic link" in refused.read_text()
    assert not (course.root / "submitted" / "linked" / LAB / f"{LAB}.ipynb").exists()
    assert not (course.root / "submitted" / "plain" / LAB / REFUSED).exists()


def test_pasted_unknown_and_deleted_cells_are_graded_cell_by_cell(threats):
    expect(threats, "h_pasted_answer", "h_pasted_test", "h_deleted_answer_and_test", "h_unknown_id")
    cells = {c["grade_id"]: c for c in threats["results"]["h_deleted_answer_and_test"]["cells"]}
    assert cells["test_add"]["points"] == 2 and cells["test_conv_weights"]["points"] == 0
    assert "conv_weights" in threats["results"]["h_deleted_answer_and_test"]["reason"]


def test_feedback_never_shows_hidden_tests_even_encoded(threats):
    expect(threats, "i_spy_base64")
    course = threats["course"]
    graded = (course / "autograded" / "i_spy_base64" / LAB / f"{LAB}.ipynb").read_text()
    blob = graded.split("B64 ")[1].split("\\n")[0]
    assert "add(-7, 7)" in base64.b64decode(blob).decode()  # the attack worked: it saw a hidden test
    page = feedback_for(threats, "i_spy_base64")["i_spy_base64"]
    assert blob[:40] not in page and "add(-7" not in page
    assert "Test test_add (2 points): passed. It checks: add: small integers" in page


class _Scripts(html.parser.HTMLParser):
    """Everything in a page that a browser would run: scripts, event handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.runnable: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag, attrs):
        self._in_script = tag == "script"
        for name, value in attrs:
            if name.startswith("on") or (value or "").strip().lower().startswith("javascript:"):
                self.runnable.append(f"{tag} {name}={value}")

    def handle_data(self, data):
        if self._in_script:
            self.runnable.append(data)

    def handle_endtag(self, tag):
        self._in_script = False


def test_feedback_html_runs_no_student_script(threats):
    expect(threats, "i_xss")
    page = feedback_for(threats, "i_xss")["i_xss"]
    parser = _Scripts()
    parser.feed(page)
    assert not [r for r in parser.runnable if "xss" in r], [r for r in parser.runnable if "xss" in r]
    assert "FC6 has the most weights" in page  # the student's answer is still shown
    assert "bold" in page


def test_export_escapes_spreadsheet_formulas_and_times_come_from_the_collection(threats, tmp_path):
    expect(threats, FORMULA_STUDENT, "j_timestamp")
    run_cli("export", "--course", str(threats["course"]), "--out", str(tmp_path / "g.csv"))
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    ids = [r["student_id"] for r in rows]
    assert "'" + FORMULA_STUDENT in ids and FORMULA_STUDENT not in ids
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), row
    stamp = next(r["timestamp"] for r in rows if r["student_id"] == "j_timestamp")
    collected = datetime.fromisoformat(stamp).replace(tzinfo=UTC)
    assert abs((datetime.now(UTC) - collected).total_seconds()) < 3 * 3600, stamp


def test_the_course_configuration_applies(threats):
    """The course's own autograde step ran on every notebook; ExecutePreprocessor.timeout interrupted
    one cell, as nbgrader's Execute does, and the rest of that notebook still ran."""
    expect(threats, "k_cell_timeout")
    course = threats["course"]
    for path in (course / "autograded").glob(f"*/{LAB}/{LAB}.ipynb"):
        assert json.loads(path.read_text())["metadata"].get("course_stamp"), path
    text = outputs_text(course, "k_cell_timeout")
    assert "CellTimeoutError" in text and "KeyboardInterrupt" in text


@pytest.mark.parametrize("setting, words", [
    ("c.Execute.extra_arguments = ['--debug']", "Execute.extra_arguments"),
    ("from nbconvert.preprocessors import ExecutePreprocessor\n"
     "from nbgrader.preprocessors import Execute\n"
     "c.Autograde.autograde_preprocessors = [Execute, ExecutePreprocessor]", "runs a kernel itself"),
    ("c.Autograde.autograde_preprocessors = []", "Execute exactly once"),
])
def test_a_configuration_the_grader_cannot_honour_is_refused(tmp_path, setting, words):
    from autograder.course import Course, UsageError
    from autograder.steps import autograde_steps

    course = tmp_path / "course"
    course.mkdir()
    (course / "nbgrader_config.py").write_text(f"c = get_config()  # noqa\n{setting}\n")
    with pytest.raises(UsageError, match=words):
        autograde_steps(Course(course, LABS))
    if "extra_arguments" in setting:  # and on the command line: a clear message, exit status 2
        proc = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--submissions",
                       str(tmp_path), check=False)
        assert proc.returncode == 2 and words in proc.stderr and "Traceback" not in proc.stderr, proc.stderr


def test_grades_are_saved_by_nbgraders_own_steps(tmp_path):
    """No monkeypatching: the steps after execution are nbgrader's classes, as configured."""
    from nbgrader.preprocessors import SaveAutoGrades

    from autograder.course import Course
    from autograder.steps import autograde_steps

    steps = autograde_steps(Course(tmp_path / "course", LABS))
    assert [type(pp) for pp in steps.after].count(SaveAutoGrades) == 1
    assert steps.cell_timeout == 120  # labs/nbgrader_config.py's ExecutePreprocessor.timeout


def test_kernel_settings_and_devices_of_the_host_are_read_only(threats):
    expect(threats, "l_host_settings")
    text = outputs_text(threats["course"], "l_host_settings")
    assert "sysctl refused" in text and "sysrq refused" in text and "chmod refused" in text, text[:800]
    assert "WROTE" not in text and "OPENED" not in text and "CHMOD a host" not in text


def test_nothing_survives_into_the_next_notebook(threats):
    """A SysV segment, a link and a planted configuration in the home, files in /dev/shm, /tmp and the
    working folder, a process: none of them is there for the next notebook on the same worker."""
    expect(threats, "m_litter", "m_litter_next")
    assert "root is OSError" in outputs_text(threats["course"], "m_litter")
    text = outputs_text(threats["course"], "m_litter_next")
    assert "SNOOP segment False link False rc False shm [] tmp False cwd [] procs []" in text, text[:800]


def test_a_rerun_grades_again_what_the_grader_failed_on(threats):
    course = threats["course"]
    path = course / "autograder" / LAB / "z_correct.json"
    result = json.loads(path.read_text())
    result.update(status="error", reason="the grader failed (simulated)")
    path.write_text(json.dumps(result))
    proc = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--student", "z_correct",
                   "--timeout", str(TIMEOUT), "--memory", str(MEMORY))
    assert "already graded" not in proc.stderr
    again = json.loads(path.read_text())
    assert again["status"] == "graded" and again["score"] == 5


def test_a_worker_failure_is_never_a_students_grade(threats):
    """The warm server was killed from outside (SIGKILL) while n_worker_killed's notebook ran: that
    notebook ran again on a fresh worker and the student has their full grade."""
    assert threats["worker_killed"], "the worker was never caught running the notebook"
    expect(threats, "n_worker_killed", "z_correct")


# ---------------------------------------------------------------- the whole class, twice
@pytest.mark.slow
@pytest.mark.parametrize("workers", [1, 2])
def test_a_mixed_class_grades_every_correct_student_fully(tmp_path, workers):
    """Every hostile submission with several correct students: each correct student gets full marks,
    status graded, and feedback that shows their own work and nobody else's."""
    graded = grade_class(tmp_path, workers)
    correct = ["a_hijack_next", "c_breaker_next", "z_correct", "y_correct_1", "y_correct_2"]
    expect(graded, *graded["cases"])
    pages = feedback_for(graded, *correct)
    marks = {sid: f"# the work of {sid}" for sid in correct}
    for sid, page in pages.items():
        text = html.unescape(page)
        assert marks[sid] in text, sid
        assert not [m for other, m in marks.items() if other != sid and m in text], sid
        assert "add(-7" not in text and "BEGIN HIDDEN" not in text
