"""What an instructor gets after grading: the report, the exports, the late penalties.

One class of the fixture lab is graded once, for real (bubblewrap sandbox), and every test
reads it: correct, partial, blank, wrong (a public and a hidden test failed), a notebook that
dies and one that times out, a written answer waiting for the formgrader, students on the
roster who never submitted, students late by 34 hours and by ten days under a per-day late
policy, a student whose own ``timestamp.txt`` claims to be on time, and ids and error messages
made to break HTML and spreadsheets. The due date is set with nbgrader's own
``nbgrader db assignment add --duedate``; the roster with ``nbgrader db student import``.

Two ways in, as in a course: most submissions sit in ``COURSE/submitted/`` with the
``timestamp.txt`` that ``nbgrader collect`` leaves there; the rest come through ``grade
--submissions``, collected (and timed) by the grader 34 hours after the due date.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_autograder import (
    LAB,
    LABS,
    SANDBOX,
    cell_index,
    release_nb,
    run_cli,
    student_nb,
    write,
)
from test_browser import Audit, _blocking, axe_core, browser  # noqa: F401 - fixtures, used by name

pytestmark = [pytest.mark.skipif(SANDBOX != "bwrap", reason="bubblewrap (bwrap) is not installed or user "
                                 "namespaces are off: the sandbox must run for real"), pytest.mark.slow]

HOUR = timedelta(hours=1)
TIMEOUT = 15
HTML_ID = "<img src=x onerror=alert(1)>"  # a folder name: no slash
FORMULA_ID = '=HYPERLINK("evil.example","grade")'
HOSTILE_MESSAGE = "<script>alert('owned')</script>"
LATE_POLICY = ('c.AssignLatePenalties.plugin_class = "autograder.late.LatePenalty"\n'
               'c.LatePenalty.penalty_method = "per_day"\n'
               "c.LatePenalty.penalty_per_period = 0.1\n"
               "c.LatePenalty.max_penalty = 0.5\n")
HIDDEN_CODE = ["add(-7", "2.5, 0.25", "conv2d_weights(C=C", "BEGIN HIDDEN", "formulas."]
ROSTER = ["absent1", "absent2"]  # on nbgrader's roster, never submit


def cli(*args: str) -> tuple[int, str, str]:
    """``python -m autograder ARGS`` in this process (an interpreter start that imports nbgrader
    costs seconds): exit status, stdout, stderr."""
    from autograder.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    return code, out.getvalue(), err.getvalue()


def ok(*args: str) -> str:
    code, out, err = cli(*args)
    assert code == 0, (args, out, err)
    return out + err


def nbgrader(course: Path, *args: str) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["nbgrader", *args], cwd=course, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout + proc.stderr


def collected(course: Path, student: str, nb, when: datetime) -> None:
    """A submission as ``nbgrader collect`` leaves it: the notebook and the exchange's timestamp."""
    d = write(course / "submitted", student, nb)
    (d / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))


def build_class(course: Path, subs: Path, due: datetime) -> dict[str, dict]:
    """The class; student -> what the grade must be."""
    written = student_nb(course)
    written.cells[cell_index(written, "written_most_weights")].source = "FC6 has the most weights."
    on_time = due - 2 * HOUR
    raises = f"def conv_weights(C, M, R, S):\n    raise AssertionError({HOSTILE_MESSAGE!r})\n"
    collected_now = {  # student: (notebook, expected raw score, status)
        "ontime_full": (student_nb(course), 5, "graded"),
        "partial": (student_nb(course, conv=None), 2, "graded"),
        "blank": (release_nb(course), 0, "graded"),
        "wrong_hidden": (student_nb(course, add="def add(a, b):\n    return abs(a) + abs(b)\n"), 3, "graded"),
        "wrong_public": (student_nb(course, conv="def conv_weights(C, M, R, S):\n    return 0\n"), 2,
                         "graded"),
        "hostile_message": (student_nb(course, conv=raises), 2, "graded"),
        "died": (student_nb(course, conv="import os\nos._exit(3)\n"), 2, "died"),
        "timeout": (student_nb(course, conv="while True:\n    pass\n"), 2, "timeout"),
        "written": (written, 5, "graded"),
    }
    cases = {}
    for sid, (nb, score, status) in collected_now.items():
        collected(course, sid, nb, on_time)
        cases[sid] = {"raw": score, "status": status, "penalty": 0.0}
    collected(course, "late_capped", student_nb(course), due + 240 * HOUR)  # ten days: 100 %, capped at 50 %
    cases["late_capped"] = {"raw": 5, "status": "graded", "penalty": 2.5}
    # through `grade --submissions`: collected now, 34 hours after the due date (2 started days: 20 %)
    write(subs, "late34", student_nb(course))
    forged = write(subs, "forger", student_nb(course))
    (forged / "timestamp.txt").write_text((due - 24 * HOUR).strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    write(subs, HTML_ID, student_nb(course, conv=None), name=f"{HTML_ID}.ipynb")  # misnamed: in the reason
    write(subs, FORMULA_ID, release_nb(course))
    cases.update({"late34": {"raw": 5, "status": "graded", "penalty": 1.0},
                  "forger": {"raw": 5, "status": "graded", "penalty": 1.0},
                  HTML_ID: {"raw": 2, "status": "graded", "penalty": 0.4},
                  FORMULA_ID: {"raw": 0, "status": "graded", "penalty": 0.0}})
    return cases


def tree_digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for base in paths:
        for p in sorted(base.rglob("*")) if base.is_dir() else [base]:
            if p.is_file():
                h.update(str(p).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("instructor")
    course, subs = base / "course", base / "submissions"
    ok("release", LAB, "--course", str(course), "--labs", str(LABS))
    with (course / "nbgrader_config.py").open("a") as f:
        f.write(LATE_POLICY)
    due = (datetime.now(UTC) - 34 * HOUR).replace(microsecond=0)
    nbgrader(course, "db", "assignment", "add", LAB, f"--duedate={due:%Y-%m-%d %H:%M:%S} UTC")
    cases = build_class(course, subs, due)
    (course / "students.csv").write_text("id\n" + "\n".join([*ROSTER, "ontime_full", "late34"]) + "\n")
    nbgrader(course, "db", "student", "import", "students.csv")
    first = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--submissions", str(subs),
                    "--workers", "2", "--timeout", str(TIMEOUT))
    rest = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--workers", "2",
                   "--timeout", str(TIMEOUT))
    results = {json.loads(p.read_text())["student_id"]: json.loads(p.read_text())
               for p in (course / "autograder" / LAB).glob("*.json")}
    report_json = base / "report.json"
    ok("report", LAB, "--course", str(course), "--labs", str(LABS), "--json", "--out", str(report_json))
    return {"course": course, "subs": subs, "base": base, "cases": cases, "results": results, "due": due,
            "out": first.stdout + first.stderr + rest.stdout + rest.stderr,
            "report": json.loads(report_json.read_text())}


# ---------------------------------------------------------------- grading with a due date
def test_every_student_is_graded_with_the_late_penalty_of_the_policy(graded):
    problems = []
    for sid, want in graded["cases"].items():
        got = graded["results"].get(sid)
        if got is None:
            problems.append(f"{sid}: no result")
            continue
        if (got["raw_score"], got["status"], got["late_penalty"]) != (want["raw"], want["status"],
                                                                      want["penalty"]):
            problems.append(f"{sid}: raw {got['raw_score']} {got['status']} penalty {got['late_penalty']}, "
                            f"expected {want}")
        if got["score"] != max(0.0, want["raw"] - want["penalty"]):
            problems.append(f"{sid}: score {got['score']} is not raw minus penalty")
    assert not problems, "\n".join(problems)


def test_a_submission_34_hours_late_gets_the_configured_penalty_in_nbgraders_field(graded):
    """Collected 34 h after the due date, under 10 % per started day: 2 days, 20 % of 5 points."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded['course'] / 'gradebook.db'}") as gb:
        sub = gb.find_submission(LAB, "late34")
        assert 34 * 3600 - 120 < sub.total_seconds_late < 34 * 3600 + 600
        assert sub.late_submission_penalty == pytest.approx(1.0)
        assert sub.notebooks[0].late_submission_penalty == pytest.approx(1.0)  # nbgrader's own field
        assert gb.find_submission(LAB, "ontime_full").late_submission_penalty == 0
    assert "late34: graded 4/7, late penalty 1" in graded["out"]


def test_a_students_own_timestamp_never_makes_them_on_time(graded):
    """The forger's timestamp.txt says a day before the due date; the collection's time says 34 h late."""
    forger = graded["results"]["forger"]
    assert forger["late_penalty"] == 1.0 and forger["seconds_late"] > 33 * 3600


def test_a_late_policy_the_grader_cannot_use_is_refused_before_grading(tmp_path):
    course = tmp_path / "course"
    ok("release", LAB, "--course", str(course), "--labs", str(LABS))
    with (course / "nbgrader_config.py").open("a") as f:
        f.write(LATE_POLICY.replace("penalty_per_period = 0.1", "penalty_per_period = 10"))
    write(tmp_path / "subs", "someone", release_nb(course))
    code, _, err = cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--submissions",
                       str(tmp_path / "subs"))
    assert code == 2 and "between 0 and 1" in err and "Traceback" not in err, err
    assert not (course / "autograder" / LAB / "someone.json").exists()


# ---------------------------------------------------------------- the report
def test_the_report_counts_what_the_class_did(graded):
    r = graded["report"]
    assert r["status_counts"]["graded"] == 12 and r["status_counts"]["died"] == 1
    assert r["status_counts"]["timeout"] == 1 and r["status_counts"]["missing"] == 2
    assert r["not_submitted"] == ROSTER
    assert r["due"] == graded["due"].strftime("%Y-%m-%d %H:%M UTC")
    assert r["late_policy"] == "10% of the points per started day late, at most 50%"
    late = {row["student_id"]: row for row in r["late"]}
    assert set(late) == {"late34", "forger", "late_capped", HTML_ID, FORMULA_ID}
    assert late["late34"]["late_penalty"] == 1.0 and late["late34"]["score"] == 4.0
    assert 33.9 < late["late34"]["hours_late"] < 34.2
    written = f"{LAB}/written_most_weights"
    assert r["manual_to_grade"] == {"total": 1, "cells": [{"cell": written, "students": 1}],
                                    "students": [{"student_id": "written", "cells": [written]}]}
    # the auto-graded scores of the 14 submissions, one bar per point (the written answer is not graded yet)
    want = [case["raw"] for case in graded["cases"].values()]
    assert {b["from"]: b["count"] for b in r["auto_scores"]["histogram"]} == {float(p): want.count(p)
                                                                              for p in range(6)}
    times = r["grading_time"]
    assert times["notebooks"] == 14 and times["max"] >= TIMEOUT - 1
    assert times["slowest"][0]["student_id"] == "timeout"


def test_the_report_gives_each_cells_pass_share(graded):
    cells = {c["grade_id"]: c for c in graded["report"]["cells"]}
    add, conv = cells["test_add"], cells["test_conv_weights"]
    # test_add fails for: blank, wrong_hidden, the formula student (unanswered)
    assert (add["passed"], add["failed"], add["students"]) == (11, 3, 14)
    assert add["pass_share"] == pytest.approx(11 / 14, abs=1e-4)
    # test_conv_weights fails for partial, blank, wrong_public, hostile_message, the HTML id and the
    # formula student; died and timeout never ran it
    assert (conv["passed"], conv["failed"], conv["not run"], conv["students"]) == (6, 6, 2, 14)
    assert add["description"] == "add: small integers" and add["hidden"]
    assert not cells["written_most_weights"]["auto"] and cells["written_most_weights"]["to_grade"] == 1


def test_the_tests_that_failed_most_say_why_in_the_labs_words(graded):
    tests = {t["grade_id"]: t for t in graded["report"]["tests_failed_most"]}
    assert [t["grade_id"] for t in graded["report"]["tests_failed_most"]] == ["test_conv_weights", "test_add"]
    add = tests["test_add"]
    assert {"message": "add must handle negative numbers", "part": "hidden", "students": 1} in add["messages"]
    assert {"error": "NotImplementedError", "students": 2} in add["errors"]
    conv = tests["test_conv_weights"]
    assert {"message": "AlexNet CONV1 has 34848 weights, got …", "part": "public", "students": 1} \
        in conv["messages"]
    # the student's own AssertionError message is counted, never shown
    assert conv["errors"] == [{"error": "NotImplementedError", "students": 4},
                              {"error": "AssertionError", "students": 1}] and conv["not_run"] == 2


def test_the_report_never_shows_test_code_or_what_a_student_printed(graded, tmp_path):
    page = tmp_path / "r.html"
    ok("report", LAB, "--course", str(graded["course"]), "--labs", str(LABS), "--out", str(page))
    raw = page.read_text()
    text = json.dumps(graded["report"])
    for word in HIDDEN_CODE + ["alert('owned')", "return a + b", "raise AssertionError"]:
        assert word not in raw and word not in text, word
    # every student id is escaped: the HTML one shows as text, never as a tag
    assert HTML_ID not in raw and html.escape(HTML_ID) in raw
    assert "<script" not in raw.lower() and "onerror=" not in raw.replace(html.escape(HTML_ID), "")


def test_the_report_is_one_self_contained_page(graded):
    ok("report", LAB, "--course", str(graded["course"]), "--labs", str(LABS))
    raw = (graded["course"] / "reports" / f"{LAB}.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", raw) and "<link" not in raw
    images = re.findall(r'<img src="data:image/svg\+xml;base64,[^"]+" alt="([^"]+)">', raw)
    captions = re.findall(r"<figcaption>(.*?)</figcaption>", raw)
    assert len(images) == len(captions) == raw.count("<img") == 4 and all(len(a) > 40 for a in images)


def test_report_and_export_change_nothing_they_read(graded, tmp_path):
    course = graded["course"]
    watched = [course / "gradebook.db", course / "autograder", course / "submitted", course / "autograded"]
    before = tree_digest(*watched)
    ok("report", LAB, "--course", str(course), "--labs", str(LABS), "--out", str(tmp_path / "r.html"))
    ok("export", "--course", str(course), "--per-cell", "--out", str(tmp_path / "c.csv"))
    assert tree_digest(*watched) == before


def test_reading_cannot_write_the_gradebook(graded, tmp_path):
    """The gradebook is opened read-only, wherever the course is (a '#', '?' or '%' in its path
    must not cut off sqlite's mode=ro): where nbgrader would add a row on opening it (a course id
    it has not seen), the report stops with a clear error and the gradebook is unchanged."""
    course = tmp_path / "a course #1?%41"
    shutil.copytree(graded["course"], course, symlinks=True)
    ok("report", LAB, "--course", str(course), "--labs", str(LABS), "--json",
       "--out", str(tmp_path / "r.json"))
    assert json.loads((tmp_path / "r.json").read_text())["status_counts"] == graded["report"]["status_counts"]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([course.name, "r.json"])  # no stray database
    with (course / "nbgrader_config.py").open("a") as f:
        f.write('c.CourseDirectory.course_id = "another-course"\n')
    before = (course / "gradebook.db").read_bytes()
    code, _, err = cli("report", LAB, "--course", str(course), "--labs", str(LABS))
    assert code == 2 and "cannot read the gradebook" in err and "readonly" in err, err
    assert (course / "gradebook.db").read_bytes() == before


def test_the_report_page_passes_the_books_accessibility_check(graded, browser, axe_core, tmp_path):  # noqa: F811
    """The book's axe-core audit (tests/test_browser.py), at a desktop's and a phone's width: no
    serious violation, no console error, nothing sticking out at 420 px, figures with captions and
    alt text."""
    page = tmp_path / "report.html"
    ok("report", LAB, "--course", str(graded["course"]), "--labs", str(LABS), "--out", str(page))
    audit = Audit(browser, tmp_path.as_uri() + "/")
    for width in (1300, 420):
        result = audit("report.html", width)
        found = {mode: _blocking(v) for mode, v in result["violations"].items()}
        assert not any(found.values()), f"{width} px:\n" + json.dumps(found, indent=1)
        assert not result["errors"], result["errors"]
        content = result["content"]
        assert content["h1"] and content["images"] == 4 and not content["broken"], content
        assert content["uncaptioned"] == 0 and not content["noalt"], content
    layout = audit("report.html", 420)["layout"]
    assert layout["page"] <= layout["w"] + 1 and not layout["tables"] and not layout["small"], layout


# ---------------------------------------------------------------- the exports
def read_csv(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open(newline="")))


def no_formula_cells(rows: list[list[str]]) -> list[str]:
    return [v for row in rows for v in row if v.startswith(("=", "+", "-", "@", "\t", "\r"))]


def test_the_generic_export_has_a_row_per_student_with_late_columns(graded, tmp_path):
    out = tmp_path / "g.csv"
    ok("export", "--course", str(graded["course"]), "--out", str(out))
    rows = read_csv(out)
    header = rows[0]
    assert header[:10] == ["student_id", "assignment", "score", "max_score", "status", "reason", "auto_score",
                           "manual_score", "needs_manual_grade", "timestamp"]
    assert {"hours_late", "late_penalty", "raw_score", "duedate"} <= set(header)
    by = {r[0]: dict(zip(header, r, strict=True)) for r in rows[1:]}
    assert set(by) == {*graded["cases"], *ROSTER} - {FORMULA_ID} | {"'" + FORMULA_ID}
    late = by["late34"]
    assert (late["score"], late["raw_score"], late["late_penalty"]) == ("4.0", "5.0", "1.0")
    assert 33.9 < float(late["hours_late"]) < 34.2
    assert by["ontime_full"]["hours_late"] == "0.0" and by["ontime_full"]["late_penalty"] == "0.0"
    assert by["absent1"]["status"] == "missing" and by["absent1"]["score"] == "0.0"
    assert not no_formula_cells(rows)


def test_the_per_cell_export_has_a_column_per_graded_cell(graded, tmp_path):
    out = tmp_path / "cells.csv"
    ok("export", "--course", str(graded["course"]), "--per-cell", "--lab", LAB, "--out", str(out))
    rows = read_csv(out)
    assert rows[0] == ["student_id", "assignment", "test_add", "test_conv_weights", "written_most_weights",
                       "auto_score", "manual_score", "raw_score", "late_penalty", "score", "max_score",
                       "status", "reason", "needs_manual_grade", "hours_late", "timestamp"]
    by = {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}
    assert len(rows) == 1 + len(graded["cases"]) + len(ROSTER)
    assert (by["wrong_hidden"]["test_add"], by["wrong_hidden"]["test_conv_weights"]) == ("0.0", "3.0")
    assert by["written"]["written_most_weights"] == ""  # waits for the formgrader
    assert by["late_capped"]["late_penalty"] == "2.5" and by["late_capped"]["score"] == "2.5"
    assert by["died"]["status"] == "died" and "died" in by["died"]["reason"]
    assert by["absent2"]["test_add"] == "" and by["absent2"]["status"] == "missing"
    assert not no_formula_cells(rows)


def canvas_import(rows: list[list[str]]) -> dict:
    """How Canvas's gradebook import reads a CSV (canvas-lms app/models/gradebook_importer.rb, the
    header, "Points Possible" and student-row rules; Assignment.title_and_id for the headers)."""
    header = rows[0]
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], "not a Canvas header row"
    student_columns = 3
    if re.search(r"SIS\s+User\s+ID", header[2]) and re.search(r"SIS\s+Login\s+ID", header[3]):
        student_columns += 2
    assert "Section" in header[student_columns - 1], "the last student column must be Section"
    assignments = []
    for title in header[student_columns:]:
        m = re.fullmatch(r"(.*)\s\((\d+)\)", title, re.S)
        assignments.append((m.group(1), m.group(2)) if m else (title, None))
    points, students = None, []
    for row in rows[1:]:
        if "Points Possible" in row[0]:
            points = row[student_columns:]
        else:
            students.append({"name": row[0], "id": row[1], "sis_user_id": row[2], "sis_login_id": row[3],
                             "section": row[4], "grades": row[student_columns:]})
    return {"assignments": assignments, "points": points, "students": students}


CANVAS_ROSTER = [  # Canvas's gradebook export (Grades > Export): a roster, and the assignments' ids
    ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{LAB} (4242)", "Current Score"],
    ["    Points Possible", "", "", "", "", "7.00", "(read only)"],
    ["Full, On Time", "101", "S101", "ontime_full", "Lab A", "", ""],
    ["Late, Thirty-four", "102", "S102", "late34", "Lab A", "", ""],
    ["Absent, One", "103", "S103", "absent1", "Lab B", "", ""],
    ["=Never, Graded", "104", "S104", "nobody_here", "Lab B", "", ""],
    ["Student, Test", "105", "", "", "Lab A", "", ""],
    ["Hidden, Wrong", "106", "S106", "wh-login", "Lab B", "", ""],
]


def test_the_canvas_export_is_what_canvas_imports(graded, tmp_path):
    """Students mapped through the roster Canvas exported (by SIS Login ID, or nbgrader's
    lms_user_id); the lab's column carries Canvas's assignment id; every roster student has a row,
    in the roster's order; graded students missing from the roster are reported."""
    course = graded["course"]
    roster = tmp_path / "canvas-roster.csv"
    with roster.open("w", newline="", encoding="utf-8-sig") as f:  # Canvas writes a byte-order mark
        csv.writer(f).writerows(CANVAS_ROSTER)
    # the gradebook's own link to the LMS: nbgrader's lms_user_id (copied first: export only reads)
    linked = tmp_path / "course"
    shutil.copytree(course, linked, symlinks=True)
    nbgrader(linked, "db", "student", "add", "wrong_hidden", "--lms-user-id=106")
    out = tmp_path / "canvas.csv"
    code, _, err = cli("export", "--course", str(linked), "--format", "canvas", "--roster", str(roster),
                       "--out", str(out))
    assert code == 0, err
    rows = read_csv(out)
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{LAB} (4242)"]
    canvas = canvas_import(rows)
    assert canvas["assignments"] == [(LAB, "4242")] and canvas["points"] == ["7.0"]
    got = {s["id"]: s["grades"][0] for s in canvas["students"]}
    assert [s["id"] for s in canvas["students"]] == ["101", "102", "103", "104", "105", "106"]
    assert got == {"101": "5.0", "102": "4.0", "103": "0.0", "104": "", "105": "", "106": "3.0"}
    assert canvas["students"][3]["name"] == "'=Never, Graded"  # the roster's text is escaped too
    assert not no_formula_cells(rows)
    # submitted but on no roster row: named, not silently dropped
    warning = next(line for line in err.splitlines() if "not on the roster" in line)
    for sid in ("forger", "late_capped", "partial", "blank", HTML_ID):
        assert sid in warning
    assert "ontime_full" not in warning.split(": ", 1)[1]
    assert "not in the gradebook" in err and "Never, Graded" in err


def test_export_and_report_refuse_what_they_cannot_do(graded, tmp_path):
    course = str(graded["course"])
    cases = [(["export", "--course", course, "--format", "canvas"], "needs --roster"),
             (["export", "--course", course, "--format", "canvas", "--per-cell", "--roster", course],
              "one column per lab"),
             (["export", "--course", course, "--lab", "no_such_lab"], "no lab 'no_such_lab'"),
             (["report", "no_such_lab", "--course", course], "no lab 'no_such_lab'"),
             (["report", LAB, "--course", str(tmp_path / "empty")], "no gradebook"),
             (["export", "--course", course, "--format", "canvas", "--roster", str(tmp_path / "none.csv")],
              "cannot read the roster")]
    for args, words in cases:
        code, _, err = cli(*args)
        assert code == 2 and words in err and "Traceback" not in err, (args, err)
    assert not (tmp_path / "empty").exists()


def test_a_changed_due_date_grades_the_late_students_again(graded, tmp_path):
    """The due date and the policy are part of a result's key: after an extension of the deadline,
    the next run grades again and the penalty is gone. (On a copy: the class stays as graded.)"""
    course = tmp_path / "course"
    shutil.copytree(graded["course"], course, symlinks=True)
    later = datetime.now(UTC) + 24 * HOUR
    nbgrader(course, "db", "assignment", "add", LAB, f"--duedate={later:%Y-%m-%d %H:%M:%S} UTC")
    proc = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--student", "late34",
                   "--student", "ontime_full", "--workers", "1")
    assert "already graded" not in proc.stderr, proc.stderr
    result = json.loads((course / "autograder" / LAB / "late34.json").read_text())
    assert result["late_penalty"] == 0 and result["score"] == 5 and result["seconds_late"] == 0
    again = run_cli("grade", LAB, "--course", str(course), "--labs", str(LABS), "--student", "late34")
    assert "already graded" in again.stderr

