"""grades.csv lists every student on the roster, with status ``missing`` where nothing came in.

The roster is nbgrader's: the gradebook's students (``nbgrader db student add/import``; the hub
writes ``students.csv`` for the import). Built here with nbgrader's own Gradebook API.
"""

from __future__ import annotations

import csv

import pytest

from autograder.course import Course
from autograder.export import export

pytestmark = pytest.mark.slow   # nbgrader creates and migrates a gradebook database (seconds)


def test_export_has_a_missing_row_for_each_roster_student_without_a_submission(tmp_path):
    course = Course(tmp_path / "course")
    with course.gradebook() as gb:
        for student in ("ann", "bob", "cy"):
            gb.add_student(student)
        gb.add_assignment("lab_a")
        gb.add_assignment("lab_b")
        gb.add_submission("lab_a", "ann")
    rows = list(csv.DictReader(export(course).path.open()))
    got = {(r["assignment"], r["student_id"]): r["status"] for r in rows}
    assert got == {("lab_a", "ann"): "ungraded", ("lab_a", "bob"): "missing", ("lab_a", "cy"): "missing",
                   ("lab_b", "ann"): "missing", ("lab_b", "bob"): "missing", ("lab_b", "cy"): "missing"}
    missing = next(r for r in rows if r["student_id"] == "bob")
    assert missing["score"] == "0.0" and missing["reason"] == "nothing was submitted"
