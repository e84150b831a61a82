"""What the class did in a lab, read (never written) from the gradebook and the grader's own records.

The report and the export both start here. Everything comes from two places the grader
already keeps: nbgrader's gradebook (the roster, each submission's time, due date, late
penalty, and every cell's auto and manual points) and ``COURSE/autograder/LAB/STUDENT.json``
(the grader's status and reason, each graded cell's verdict, each notebook's grading time). The
gradebook is opened read-only: reading never changes a grade or a file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from .course import Course, UsageError
from .grade import INFRA, read_result

if TYPE_CHECKING:
    from nbgrader.api import Gradebook

MISSING = "missing"  # on the roster, nothing submitted
UNGRADED = "ungraded"  # submitted (in the gradebook) but never graded by this grader


@dataclass
class Cell:
    """A graded cell of the lab, as the gradebook records it."""

    notebook: str
    grade_id: str
    max_points: float
    auto: bool  # scored by its tests (False: graded by hand, a written answer or a task)


@dataclass
class Student:
    """One roster student's outcome in the lab."""

    student_id: str
    status: str  # missing, ungraded, graded, died, timeout, failed, error (the grader's failure)
    reason: str = ""
    timestamp: datetime | None = None  # the collection's time, UTC
    due: datetime | None = None  # the student's due date, extension included, UTC
    seconds_late: float = 0.0
    late_penalty: float = 0.0
    raw_score: float | None = None  # None: nothing graded yet (status error or ungraded)
    auto_score: float | None = None
    manual_score: float | None = None  # None: no manual points entered
    needs_manual: list[str] = field(default_factory=list)  # "notebook/grade_id" still to grade by hand
    points: dict[tuple[str, str], float | None] = field(default_factory=dict)  # (notebook, grade_id) ->
    verdicts: dict[tuple[str, str], dict] = field(default_factory=dict)  # the grader's record of each cell
    seconds: dict[str, float | None] = field(default_factory=dict)  # notebook -> grading time

    @property
    def submitted(self) -> bool:
        return self.status != MISSING

    @property
    def graded(self) -> bool:
        return self.raw_score is not None

    @property
    def score(self) -> float | None:
        """The final score: raw minus the late penalty, never below 0 (nbgrader's export)."""
        return None if self.raw_score is None else max(0.0, self.raw_score - self.late_penalty)

    @property
    def late(self) -> bool:
        return self.submitted and self.seconds_late > 0


@dataclass
class LabRecords:
    lab: str
    duedate: datetime | None
    max_score: float
    cells: list[Cell]
    students: list[Student]  # every roster student and every student who submitted, by id


def gradebook_path(course: Course) -> Path:
    path = course.root / "gradebook.db"
    if not path.is_file():
        raise UsageError(f"no gradebook in {course.root}: release and grade a lab there first")
    return path


def read_only_gradebook(course: Course) -> Gradebook:
    """nbgrader's Gradebook on the course's database opened in sqlite's read-only mode: a report or
    an export cannot write a grade, whatever happens."""
    from nbgrader.api import Gradebook

    path = gradebook_path(course)
    # an sqlite URI, quoted twice: SQLAlchemy unquotes the database once and sqlite once more, so
    # a '#', '?' or '%' in the course's path can never cut off "mode=ro" (which would open, or
    # even create, a database in read-write mode)
    uri = quote(quote(str(path)))
    try:
        return Gradebook(f"sqlite:///file:{uri}?mode=ro&uri=true", course.course_id)
    except Exception as exc:  # noqa: BLE001 - e.g. a course id the gradebook does not have
        raise UsageError(f"cannot read the gradebook {path} (course {course.course_id!r}): "
                         f"{type(exc).__name__}: {str(exc)[:300]}") from exc


def lab_names(course: Course) -> list[str]:
    with read_only_gradebook(course) as gb:
        return sorted(a.name for a in gb.assignments)


def read_lab(course: Course, lab: str) -> LabRecords:
    """Everything about LAB for every student, from the gradebook and the grader's results."""
    from nbgrader.api import MissingEntry

    with read_only_gradebook(course) as gb:
        try:
            assignment = gb.find_assignment(lab)
        except MissingEntry:
            known = ", ".join(sorted(a.name for a in gb.assignments)) or "none"
            raise UsageError(f"the gradebook has no lab {lab!r} (it has: {known})") from None
        cells = []
        for nb in sorted(assignment.notebooks, key=lambda n: n.name):
            solutions = {c.name for c in nb.solution_cells}
            tasks = {c.name for c in nb.task_cells}
            for c in [*nb.grade_cells, *nb.task_cells]:
                auto = c.name not in solutions and c.name not in tasks and c.cell_type == "code"
                cells.append(Cell(nb.name, c.name, float(c.max_score), auto))
        cells = _in_lab_order(course, lab, cells)
        students: dict[str, Student] = {s.id: Student(s.id, MISSING, "nothing was submitted")
                                        for s in gb.students}
        for sub in assignment.submissions:
            sid = sub.student.id
            st = students[sid] = Student(sid, UNGRADED, "submitted but not graded by python -m autograder")
            st.timestamp, st.due = sub.timestamp, sub.duedate
            st.seconds_late = float(sub.total_seconds_late or 0)
            st.late_penalty = float(sub.late_submission_penalty or 0)
            manual = []
            for nb in sub.notebooks:
                for g in nb.grades:
                    st.points[(nb.name, g.name)] = float(g.score) if (
                        g.auto_score is not None or g.manual_score is not None) else None
                    if g.manual_score is not None:
                        manual.append(float(g.manual_score))
                    if g.needs_manual_grade:
                        st.needs_manual.append(f"{nb.name}/{g.name}")
            st.raw_score = float(sub.score)
            st.auto_score = float(sum(g.auto_score or 0 for nb in sub.notebooks for g in nb.grades))
            st.manual_score = sum(manual) if manual else None
        max_score = float(assignment.max_score)
        duedate = assignment.duedate
    for st in students.values():
        if st.status == MISSING:
            st.raw_score, st.auto_score = 0.0, 0.0
            continue
        result = read_result(course, lab, st.student_id)
        if result is None:
            continue
        st.status, st.reason = str(result.get("status", UNGRADED)), str(result.get("reason", ""))
        if st.status == INFRA:
            st.raw_score = st.auto_score = None
        for c in result.get("cells") or []:
            if isinstance(c, dict):
                st.verdicts[(str(c.get("notebook")), str(c.get("grade_id")))] = c
        for name, info in (result.get("notebooks") or {}).items():
            seconds = info.get("seconds") if isinstance(info, dict) else None
            st.seconds[name] = float(seconds) if isinstance(seconds, int | float) else None
    return LabRecords(lab, duedate, max_score, cells, sorted(students.values(), key=lambda s: s.student_id))


def _in_lab_order(course: Course, lab: str, cells: list[Cell]) -> list[Cell]:
    """The cells in the order the lab's source has them (the gradebook keeps no order)."""
    order = {(nb, c.grade_id): i for nb, source in course.source_cells(lab).items()
             for i, c in enumerate(source)}
    return sorted(cells, key=lambda c: (c.notebook, order.get((c.notebook, c.grade_id), 10**6), c.grade_id))

