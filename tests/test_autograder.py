"""The autograder's guarantees, one class of hand-made submissions graded once (bwrap sandbox, for real).

The fixture lab (tests/data/autograder/source/fixture_lab) has two answers (`add`, 2 points of
tests; `conv_weights`, 3 points), test cells with public and hidden parts, and a written answer
graded by hand (2 points). Every hostile or broken case is one student of the same class, so
one run of `python -m autograder grade` covers them all; each test below asserts one case.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from autograder.check import leaks
from autograder.sandbox import choose_sandbox

REPO = Path(__file__).resolve().parent.parent
LABS = REPO / "tests" / "data" / "autograder" / "source"
LAB = "fixture_lab"
SOURCE_NB = LABS / LAB / f"{LAB}.ipynb"
TIMEOUT = 12  # seconds per notebook in the class run: the infinite loop costs this much
MEMORY = 512

try:
    SANDBOX = choose_sandbox()
except Exception:  # noqa: BLE001
    SANDBOX = "none"
pytestmark = [pytest.mark.slow, pytest.mark.skipif(   # slow: it grades a class in the sandbox
    SANDBOX != "bwrap",
    reason="bubblewrap (bwrap) is not installed or user namespaces are off: install it with "
           "`apt-get install -y bubblewrap` (the Makefile's test target does); the sandbox must run for real",
)]

CORRECT_ADD = "def add(a, b):\n    return a + b\n"
CORRECT_CONV = "def conv_weights(C, M, R, S):\n    return C * M * R * S\n"


def run_cli(*args, check=True, timeout=600, env=None):
    cmd = [sys.executable, "-m", "autograder", *args]
    full_env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
                **(env or {})}
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=full_env)
    if check and proc.returncode != 0:
        raise AssertionError(f"{cmd} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


# ---------------------------------------------------------------- building submissions
def release_nb(course: Path):
    return nbformat.read(str(course / "release" / LAB / f"{LAB}.ipynb"), as_version=4)


def cell_index(nb, grade_id):
    for i, cell in enumerate(nb.cells):
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return i
    raise KeyError(grade_id)


def student_nb(course: Path, add: str | None = CORRECT_ADD, conv: str | None = CORRECT_CONV):
    """The released notebook with the two answers written (None: left unanswered)."""
    nb = release_nb(course)
    if add is not None:
        nb.cells[cell_index(nb, "add")].source = add
    if conv is not None:
        nb.cells[cell_index(nb, "conv_weights")].source = conv
    return nb


def write(subs: Path, student: str, nb=None, name=f"{LAB}.ipynb", raw: bytes | None = None, folder=LAB):
    d = subs / student / folder
    d.mkdir(parents=True, exist_ok=True)
    if raw is not None:
        (d / name).write_bytes(raw)
    elif nb is not None:
        nbformat.write(nb, str(d / name))
    return d


def hostile_fs_code(course: Path) -> str:
    """Tries to read the hidden tests and to destroy the gradebook, another submission, grades.csv."""
    targets = {
        "source": course / "source" / LAB / f"{LAB}.ipynb",
        "labs": SOURCE_NB,
        "gradebook": course / "gradebook.db",
        "other": course / "submitted" / "correct" / LAB / f"{LAB}.ipynb",
        "grades": course / "grades.csv",
    }
    return (
        "import os, shutil\n"
        f"targets = {json.dumps({k: str(v) for k, v in targets.items()})}\n"
        "for name, path in targets.items():\n"
        "    try:\n"
        "        print('LEAK', name, open(path, 'rb').read()[:200])\n"
        "    except OSError as exc:\n"
        "        print('blocked read', name, type(exc).__name__)\n"
        "    for attack in (lambda: open(path, 'w').write('pwned'), lambda: os.remove(path),\n"
        "                   lambda: shutil.rmtree(os.path.dirname(path))):\n"
        "        try:\n"
        "            attack()\n"
        "            print('DAMAGE', name)\n"
        "        except OSError as exc:\n"
        "            print('blocked write', name, type(exc).__name__)\n"
        "print('uid', os.getuid(), 'repo visible:', os.path.exists(" + repr(str(REPO / "labs")) + "))\n"
        + CORRECT_ADD
    )


def network_code(port: int) -> str:
    return (
        "import socket\n"
        "for host in ('127.0.0.1', '1.1.1.1'):\n"
        "    try:\n"
        f"        socket.create_connection((host, {port} if host == '127.0.0.1' else 80), timeout=3)\n"
        "        print('NETWORK', host)\n"
        "    except OSError as exc:\n"
        "        print('no network to', host, type(exc).__name__)\n" + CORRECT_ADD
    )


SPY_CODE = (  # prints the source of every later cell (so the hidden tests) into the outputs
    "seen = []\n"
    "get_ipython().events.register('pre_run_cell', lambda info: seen.append(info.raw_cell))\n"
    "get_ipython().events.register('post_run_cell', lambda result: print('SPY', *seen, sep='\\n'))\n"
    "def add(a, b):\n    return abs(a) + b\n"
)


def build_class(course: Path, subs: Path, listen_port: int) -> dict[str, dict]:
    """Every case: student -> what the grade must be (score; status; words in the reason)."""
    cases: dict[str, dict] = {}

    def case(student, expect_score, status="graded", reason=None, **kw):
        cases[student] = {"score": expect_score, "status": status, "reason": reason}
        if kw.get("nb") is not None or kw.get("raw") is not None:
            write(subs, student, **kw)

    correct = student_nb(course)
    correct.cells[cell_index(correct, "written_most_weights")].source = "FC6: 9216 x 4096 weights."
    case("correct", 5, nb=correct)
    case("partial", 2, nb=student_nb(course, conv=None))
    case("unanswered", 0, nb=release_nb(course))
    case("wrong_hidden", 3, nb=student_nb(course, add="def add(a, b):\n    return abs(a) + abs(b)\n"))
    case("infinite_loop", 2, "timeout", "time limit",
         nb=student_nb(course, conv="while True:\n    pass\n"))
    bomb = ("try:\n    hog = [bytearray(10**8) for _ in range(100)]\n"
            "except MemoryError:\n    print('no more memory')\nhog = None\n")
    case("memory_bomb", 5, nb=student_nb(course, add=bomb + CORRECT_ADD))
    case("os_exit", 2, "died", "died", nb=student_nb(course, conv="import os\nos._exit(3)\n"))
    case("segfault", 2, "died", "SIGSEGV", nb=student_nb(course, conv="import ctypes\nctypes.string_at(0)\n"))
    case("sys_exit", 3, nb=student_nb(course, add="import sys\nsys.exit('bye')\n"))
    case("exit_builtin", 2, nb=student_nb(course, conv="exit()\n"))  # as in ipykernel: the rest runs
    case("syntax_error", 3, nb=student_nb(course, add="def add(a, b) return a + b\n"))
    edited = student_nb(course, conv="def conv_weights(C, M, R, S):\n    return 0\n")
    i = cell_index(edited, "test_conv_weights")
    edited.cells[i].source = "pass  # the test, gone"
    edited.cells[i].metadata.nbgrader["points"] = 100
    case("edited_tests", 2, nb=edited)
    deleted = student_nb(course, conv="def conv_weights(C, M, R, S):\n    return 0\n")
    del deleted.cells[cell_index(deleted, "test_conv_weights")]
    case("deleted_tests", 2, nb=deleted)
    reordered = student_nb(course)
    t = reordered.cells.pop(cell_index(reordered, "test_add"))
    reordered.cells.insert(cell_index(reordered, "add"), t)
    case("reordered_tests", 3, nb=reordered)
    no_answer = student_nb(course)
    del no_answer.cells[cell_index(no_answer, "conv_weights")]
    case("answer_deleted", 2, nb=no_answer)
    case("invalid_json", 0, "failed", "not a readable notebook", raw=b'{"cells": [ this is not json')
    case("empty_file", 0, "failed", "empty", raw=b"")
    (subs / "missing_notebook" / LAB).mkdir(parents=True)
    (subs / "missing_notebook" / LAB / "notes.txt").write_text("I forgot the notebook")
    cases["missing_notebook"] = {"score": 0, "status": "failed", "reason": "missing"}
    case("misnamed", 5, "graded", "misnamed", nb=student_nb(course), name="my work.ipynb")
    write(subs, "wrong_folder", student_nb(course), folder="fixture-lab")
    cases["wrong_folder"] = {"score": 0, "status": "failed", "reason": "no folder"}
    d = write(subs, "extra_files", student_nb(course))
    (d / "data.csv").write_text("a,b\n1,2\n")
    (d / "sub").mkdir()
    (d / "sub" / "blob.bin").write_bytes(os.urandom(100_000))
    cases["extra_files"] = {"score": 5, "status": "graded", "reason": None}
    case("big_output", 5, nb=student_nb(course, add="print('x' * 100_000_000)\n" + CORRECT_ADD))
    case("hostile_fs", 5, nb=student_nb(course, add=hostile_fs_code(course)))
    case("network", 5, nb=student_nb(course, add=network_code(listen_port)))
    case("spy", 3, nb=student_nb(course, add=SPY_CODE))
    return cases


# ---------------------------------------------------------------- the class, graded once
@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("autograder")
    course, subs = base / "course", base / "submissions"
    run_cli("release", LAB, "--course", str(course), "--labs", str(LABS))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(5)
    cases = build_class(course, subs, listener.getsockname()[1])
    # files a hostile notebook will try to destroy; they must come out unchanged
    (course / "grades.csv").write_text("student_id,assignment,score\nsomeone,fixture_lab,1\n")
    protected = {p: p.read_bytes() for p in [course / "grades.csv", course / "gradebook.db",
                                             course / "source" / LAB / f"{LAB}.ipynb", SOURCE_NB]}
    # the victim's submission is collected first, so it is on disk when the attacker runs
    run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--submissions", str(subs),
            "--student", "correct", "--workers", "1")
    protected[course / "submitted" / "correct" / LAB / f"{LAB}.ipynb"] = (
        course / "submitted" / "correct" / LAB / f"{LAB}.ipynb").read_bytes()
    protected.pop(course / "gradebook.db")  # written by the coordinator: checked by content below
    t0 = time.monotonic()
    proc = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--submissions", str(subs),
                   "--workers", "2", "--timeout", str(TIMEOUT), "--memory", str(MEMORY))
    elapsed = time.monotonic() - t0
    listener.close()
    results = {p.stem: json.loads(p.read_text()) for p in (course / "autograder" / LAB).glob("*.json")}
    return {"course": course, "subs": subs, "cases": cases, "results": results, "proc": proc,
            "protected": protected, "elapsed": elapsed}


def outputs_text(course: Path, student: str) -> str:
    """Everything the student's graded notebook printed (not its source)."""
    nb = nbformat.read(str(course / "autograded" / student / LAB / f"{LAB}.ipynb"), as_version=4)
    return json.dumps([c.get("outputs", []) for c in nb.cells])


def case_problems(cases: dict, results: dict, students, no_other_reason: bool = False) -> list[str]:
    """How each student's result differs from their case (score, status, words in the reason);
    ``no_other_reason``: a case graded without a reason must have none."""
    problems = []
    for student in students:
        want, got = cases[student], results.get(student)
        if got is None:
            problems.append(f"{student}: no result")
            continue
        if got["score"] != want["score"] or got["status"] != want["status"]:
            problems.append(f"{student}: {got['score']} {got['status']} ({got['reason']}), "
                            f"expected {want['score']} {want['status']}")
        if want["reason"] and want["reason"].lower() not in got["reason"].lower():
            problems.append(f"{student}: reason {got['reason']!r} does not say {want['reason']!r}")
        if no_other_reason and not want["reason"] and got["reason"]:
            problems.append(f"{student}: unexpected reason {got['reason']!r}")
    return problems


def test_every_case_graded_as_expected(graded):
    problems = case_problems(graded["cases"], graded["results"], graded["cases"])
    assert not problems, "\n".join(problems)


def test_summary_and_plain_progress(graded):
    out, err = graded["proc"].stdout, graded["proc"].stderr
    n = len(graded["cases"])
    assert f"{n} submissions" in out and "graded" in out and "timed out 1" in out and "mean score" in out
    assert f"[{n}/{n}]" in err  # not a terminal: one plain line per student
    assert "\r" not in err


def test_partly_run_notebook_keeps_results_and_says_why(graded):
    """os._exit in the second answer: the first test's points stay, the rest score 0 as NotRun."""
    path = graded["course"] / "autograded" / "os_exit" / LAB / f"{LAB}.ipynb"
    nb = nbformat.read(str(path), as_version=4)
    test_add = nb.cells[cell_index(nb, "test_add")]
    test_conv = nb.cells[cell_index(nb, "test_conv_weights")]
    assert not any(o.output_type == "error" for o in test_add.outputs)
    assert test_conv.outputs[0].ename == "NotRun" and "died" in test_conv.outputs[0].evalue
    assert "exited with status 3" in graded["results"]["os_exit"]["reason"]


def test_students_code_runs_isolated(graded):
    course = graded["course"]
    text = outputs_text(course, "hostile_fs")
    assert "LEAK" not in text and "DAMAGE" not in text, text[:3000]
    assert text.count("blocked read") == 5
    assert "uid 65534 repo visible: False" in text
    for path, data in graded["protected"].items():
        assert path.read_bytes() == data, f"{path} was changed"
    assert (course / "grades.csv").read_text().startswith("student_id,assignment,score\nsomeone")
    assert graded["results"]["correct"]["score"] == 5  # the victim's grade is intact


def test_no_network(graded):
    text = outputs_text(graded["course"], "network")
    assert "NETWORK" not in text
    assert "no network to 127.0.0.1" in text and "no network to 1.1.1.1" in text


def test_memory_limit_stops_a_memory_bomb(graded):
    assert "no more memory" in outputs_text(graded["course"], "memory_bomb")


def test_huge_output_is_cut(graded):
    path = graded["course"] / "autograded" / "big_output" / LAB / f"{LAB}.ipynb"
    assert path.stat().st_size < 2_000_000


def test_extra_files_reach_the_notebook_and_autograded_folder(graded):
    d = graded["course"] / "autograded" / "extra_files" / LAB
    assert (d / "data.csv").read_text() == "a,b\n1,2\n" and (d / "sub" / "blob.bin").exists()


def test_gradebook_is_nbgraders(graded):
    from nbgrader.api import Gradebook

    course = graded["course"]
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        subs = {s.student.id: s for s in gb.find_assignment(LAB).submissions}
        assert set(subs) == set(graded["cases"])
        assert subs["correct"].score == 5 and subs["correct"].max_score == 7
        assert subs["correct"].needs_manual_grade  # the written answer waits for the instructor
        assert not subs["partial"].needs_manual_grade  # nothing written: 0, as nbgrader does


def test_export_one_row_per_student(graded, tmp_path):
    course = graded["course"]
    run_cli("export", "--course", str(course), "--out", str(tmp_path / "g.csv"))
    rows = list(csv.DictReader((tmp_path / "g.csv").open()))
    assert {"student_id", "assignment", "score", "max_score", "status"} <= set(rows[0])
    assert sorted(r["student_id"] for r in rows) == sorted(graded["cases"])
    by = {r["student_id"]: r for r in rows}
    assert by["invalid_json"]["score"] == "0.0" and by["invalid_json"]["status"] == "failed"
    assert "not a readable notebook" in by["invalid_json"]["reason"]
    assert by["infinite_loop"]["status"] == "timeout"


def html_text(path: Path) -> str:
    """The text a reader sees (syntax highlighting splits code into many tags)."""
    raw = path.read_text()
    return html.unescape(re.sub(r"<[^>]+>", "", raw[raw.find("<main"):]))


def test_feedback_shows_answers_scores_and_no_hidden_code(graded):
    course = graded["course"]
    run_cli("feedback", LAB, "--course", str(course), "--student", "wrong_hidden", "--student", "spy",
            "--student", "correct")
    page = html_text(course / "feedback" / "wrong_hidden" / LAB / f"{LAB}.html")
    assert "return abs(a) + abs(b)" in page  # the student's answer
    assert "Score: 0.0 / 2.0" in page and "Score: 3.0 / 3.0" in page  # the scores
    assert "Test test_add (2 points): failed. It checks: add: small integers" in page  # the lab's words
    assert "Test test_conv_weights (3 points): passed. It checks: conv_weights: AlexNet's first layer" in page
    assert 'assert add(1, 2) == 3, "add(1, 2) should be 3"' in page  # the public test
    raw = (course / "feedback" / "wrong_hidden" / LAB / f"{LAB}.html").read_text()
    for word in ["add(-7", "2.5, 0.25", "BEGIN HIDDEN TESTS", "conv2d_weights(C=C", "negative numbers"]:
        assert word not in page and word not in raw, word
    assert "Traceback" not in page
    spy = html_text(course / "feedback" / "spy" / LAB / f"{LAB}.html")
    assert "SPY" in spy  # what it printed before any hidden test ran is shown...
    assert "Output not shown in feedback" in spy  # ...what it printed after is not
    for word in ["add(-7", "2.5, 0.25", "conv2d_weights(C=C", "HIDDEN TESTS"]:
        assert word not in spy, word
    # plain nbgrader's feedback would show them: the autograded notebook has them
    assert "add(-7, 7)" in (course / "autograded" / "wrong_hidden" / LAB / f"{LAB}.ipynb").read_text()


def test_regrade_is_idempotent_and_keeps_manual_grades(graded, tmp_path):
    from nbgrader.api import Gradebook

    course, subs = graded["course"], graded["subs"]
    url = f"sqlite:///{course / 'gradebook.db'}"
    with Gradebook(url) as gb:
        grade = gb.find_grade("written_most_weights", LAB, LAB, "partial")
        grade.manual_score = 2
        gb.db.commit()
    before = {k: v["score"] for k, v in graded["results"].items()}
    proc = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--submissions", str(subs),
                   "--student", "partial", "--student", "correct", "--student", "syntax_error", "--force")
    assert "3 submissions" in proc.stdout
    again = {p.stem: json.loads(p.read_text())["score"] for p in (course / "autograder" / LAB).glob("*.json")}
    assert again["partial"] == before["partial"] + 2  # the manual grade counts and survived
    assert again["correct"] == before["correct"] and again["syntax_error"] == before["syntax_error"]
    with Gradebook(url) as gb:
        assert gb.find_grade("written_most_weights", LAB, LAB, "partial").manual_score == 2
        assert len(gb.find_assignment(LAB).submissions) == len(graded["cases"])
    # unchanged submissions are not graded again without --force
    proc = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--student", "correct")
    assert "already graded" in proc.stderr


SMALL_CLASS = [  # (add answer, conv answer) -> expected (test_add, test_conv_weights) scores
    ((CORRECT_ADD, CORRECT_CONV), (2, 3)),
    ((CORRECT_ADD, None), (2, 0)),
    ((None, CORRECT_CONV), (0, 3)),
    (("def add(a, b):\n    return a - b\n", CORRECT_CONV), (0, 3)),
    (("import os\nos._exit(1)\n", None), (0, 0)),
]


def small_class(course: Path, subs: Path, n: int) -> dict:
    """n students cycling through SMALL_CLASS; the per-cell scores they must get."""
    expected = {}
    for i in range(n):
        (add, conv), (s_add, s_conv) = SMALL_CLASS[i % len(SMALL_CLASS)]
        sid = f"s{i:02d}"
        write(subs, sid, student_nb(course, add, conv))
        expected.update({(sid, "test_add"): s_add, (sid, "test_conv_weights"): s_conv,
                         (sid, "written_most_weights"): 0})
    return expected


def per_cell_scores(course: Path) -> dict:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return {(s.student.id, g.name): g.auto_score
                for s in gb.find_assignment(LAB).submissions for nb in s.notebooks for g in nb.grades}


def grade_cli(course: Path, *args):
    return run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), *args)


def test_parallel_equals_serial(tmp_path):
    """--workers 1 and --workers 3 (from a zip of the same folder) give the same grades, cell by cell."""
    ref = tmp_path / "c1"
    run_cli("release", LAB, "--course", str(ref), "--labs", str(LABS))
    subs = tmp_path / "submitted"
    expected = small_class(ref, subs, len(SMALL_CLASS))
    grade_cli(ref, "--submissions", str(subs), "--workers", "1")
    archive = shutil.make_archive(str(tmp_path / "class"), "zip", root_dir=tmp_path, base_dir="submitted")
    par = tmp_path / "c2"
    grade_cli(par, "--submissions", archive, "--workers", "3")
    assert per_cell_scores(ref) == per_cell_scores(par) == expected


def test_sigkill_then_rerun_loses_and_duplicates_nothing(tmp_path):
    course, subs = tmp_path / "course", tmp_path / "subs"
    run_cli("release", LAB, "--course", str(course), "--labs", str(LABS))
    expected = small_class(course, subs, 8)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.Popen([sys.executable, "-m", "autograder", "grade", LAB, "--course", str(course),
                             "--labs", str(LABS), "--submissions", str(subs), "--workers", "1"],
                            cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    state = course / "autograder" / LAB
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and len(list(state.glob("*.json"))) < 3:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the grader and its sandboxes, mid-class
    proc.wait()
    done_before = len(list(state.glob("*.json")))
    assert 3 <= done_before < 8, "the kill came too late to test anything"
    rerun = grade_cli(course, "--submissions", str(subs))
    assert rerun.stderr.count("already graded") >= done_before - 1
    run_cli("export", "--course", str(course))
    rows = list(csv.DictReader((course / "grades.csv").open()))
    assert sorted(r["student_id"] for r in rows) == [f"s{i:02d}" for i in range(8)]
    assert per_cell_scores(course) == expected


@pytest.mark.slow
def test_dask_local_cluster(tmp_path):
    distributed = pytest.importorskip("distributed")
    course, subs = tmp_path / "course", tmp_path / "subs"
    run_cli("release", LAB, "--course", str(course), "--labs", str(LABS))
    expected = small_class(course, subs, 5)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True,
                                  dashboard_address=None) as cluster:
        proc = grade_cli(course, "--submissions", str(subs), "--scheduler", cluster.scheduler_address)
    assert "5 submissions" in proc.stdout
    assert per_cell_scores(course) == expected


def test_progress_bar_on_a_terminal():
    import io

    from autograder.grade import Progress

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    out = Terminal()
    bar = Progress(4, out)
    for student, status in [("a", "graded"), ("b", "timeout"), ("c", "graded"), ("d", "failed")]:
        bar.update(student, status, "")
    text = out.getvalue()
    assert text.count("\r[") == 4 and "[" + "#" * 30 + "] 4/4" in text and text.endswith("\n")
    assert "graded 2" in text and "timeout 1" in text and "failed 1" in text


def test_clear_errors(tmp_path, capsys):
    from autograder.cli import main

    course, labs = str(tmp_path / "c"), str(LABS)
    assert main(["grade", "no_such_lab", "--course", course, "--labs", labs, "--submissions", course]) == 2
    err = capsys.readouterr().err
    assert "no lab named 'no_such_lab'" in err and "fixture_lab" in err
    assert main(["grade", LAB, "--course", course, "--labs", labs, "--submissions", course + "/no"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["feedback", LAB, "--course", str(tmp_path / "empty"), "--labs", labs]) == 2
    assert "never released" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["grade", LAB, "--workers", "0"])
    assert "must be at least 1" in capsys.readouterr().err


def test_check_passes_on_a_good_lab_and_fails_a_leaky_one(tmp_path):
    labs = tmp_path / "labs"
    shutil.copytree(LABS / LAB, labs / LAB)
    bad = nbformat.read(str(SOURCE_NB), as_version=4)
    bad.cells[cell_index(bad, "test_add")].source = "assert True  # does not use the student's names"
    (labs / "leaky_lab").mkdir()
    nbformat.write(bad, str(labs / "leaky_lab" / "leaky_lab.ipynb"))
    proc = run_cli("check", LAB, "leaky_lab", "--labs", str(labs), check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    good = next(line for line in lines if line.startswith(f"{LAB}:"))
    leaky = next(line for line in lines if line.startswith("leaky_lab:"))
    assert good.endswith("OK") and "solution 5/5" in good and "identical" in good
    assert "FAIL" in leaky and "scores 2 auto-graded points, not 0" in leaky


def test_leak_detection(tmp_path):
    def nb(*sources):
        return json.dumps({"cells": [{"cell_type": "code", "source": s, "metadata": {}} for s in sources]})

    src = tmp_path / "src.ipynb"
    src.write_text(nb("def f(x):\n    ### BEGIN SOLUTION\n    return x * 12345\n    ### END SOLUTION",
                      "assert f(1) == 12345\n### BEGIN HIDDEN TESTS\n"
                      "assert f(2) == 24690, 'two'\n### END HIDDEN TESTS"))
    clean, leaky = tmp_path / "clean.ipynb", tmp_path / "leaky.ipynb"
    clean.write_text(nb("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()",
                        "assert f(1) == 12345"))
    leaky.write_text(nb("def f(x):\n    return x * 12345",
                        "assert f(1) == 12345\nassert f(2) == 24690, 'two'", "### END HIDDEN TESTS"))
    assert leaks(src, clean) == []
    found = leaks(src, leaky)
    assert "line 'return x * 12345'" in found and "line \"assert f(2) == 24690, 'two'\"" in found
    assert "marker 'END HIDDEN TESTS'" in found


@pytest.mark.slow
def test_check_every_lab():
    """The labs issue's proof: each lab in labs/source passes `python -m autograder check`."""
    labs = sorted(p.name for p in (REPO / "labs" / "source").glob("*") if p.is_dir())
    if not labs:
        pytest.skip("no lab in labs/source yet")
    proc = run_cli("check", check=False, timeout=1800)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert f"{len(labs)} passed, 0 failed" in proc.stdout


def test_the_environment_is_visible_to_notebooks_when_it_lives_under_tmp(tmp_path, monkeypatch):
    """A CI clone or venv under /tmp must stay visible to a notebook: the sandbox binds it over its
    private /tmp, and each notebook's own new /tmp binds it again (a module imported late works)."""
    from autograder.sandbox import Executor

    assert str(tmp_path).startswith("/tmp/")
    (tmp_path / "late_module.py").write_text("ANSWER = 42\n")
    monkeypatch.syspath_prepend(str(tmp_path))  # bound into the sandbox like any path of the environment
    ex = Executor("bwrap", slot="tmp-test")
    try:
        reply = ex.run({"cells": [f"import sys\nsys.path.insert(0, {str(tmp_path)!r})\nimport late_module\n"
                                  "print('late', late_module.ANSWER)",
                                  "_ = open('/tmp/scratch', 'w').write('x')"],
                        "files": {}, "timeout": 60, "memory_mb": 512, "env": {}})
    finally:
        ex.stop()
    assert reply["status"] == "ok", reply
    assert reply["cells"][0]["outputs"] == [{"output_type": "stream", "name": "stdout", "text": "late 42\n"}]
    assert reply["cells"][1]["outputs"] == []  # and /tmp itself is the notebook's, writable


def test_output_caps_never_hide_a_failure():
    """Past every cap, a cell still keeps its errors and the start of its stderr (nbgrader fails a
    test cell on either), and says what it cut."""
    from autograder.outputs import OutputBudget

    budget = OutputBudget(cell_chars=100, notebook_chars=150)
    budget.stream("stdout", "x" * 120)
    budget.stream("stderr", "warning: deprecated")
    budget.add({"output_type": "error", "ename": "AssertionError", "evalue": "wrong",
                "traceback": ["line"] * 10_000})
    first = budget.take()
    kinds = [(o["output_type"], o.get("name")) for o in first]
    assert ("error", None) in kinds and ("stream", "stderr") in kinds
    assert sum(len(o.get("text", "")) for o in first if o.get("name") == "stdout") < 200
    assert "not kept" in first[-1]["text"]
    budget.stream("stdout", "y" * 120)  # the notebook's cap: only 50 characters were left
    budget.add({"output_type": "error", "ename": "ValueError", "evalue": "", "traceback": []})
    second = budget.take()
    assert second[0]["text"] == "y" * 50 and second[1]["ename"] == "ValueError"

