"""``python -m autograder export``: the gradebook's grades as CSV, for a spreadsheet or an LMS.

Three layouts, all read from the gradebook and the grader's records (``autograder.records``,
read-only) and all with the same escaping:

- ``generic`` (the default): one row per student and lab, ``COURSE/grades.csv``;
- ``--per-cell`` (generic, one lab): one column per graded cell of the lab, its auto-graded or
  hand-entered points, then the totals, status, reason and late penalty;
- ``canvas``: the layout Canvas's gradebook import reads, one row per student of a roster that
  Canvas exported (``--roster``), one column per lab.

``score`` is always the final score: the raw score minus nbgrader's late penalty, never below 0
(as nbgrader's own export computes it). A student id is a folder name the student chose, and a
roster is a file from elsewhere: every text cell that a spreadsheet would read as a formula
(``= + - @``, a tab or a carriage return first) is quoted with a leading ``'`` (OWASP's advice
against CSV injection), in every layout.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course, UsageError, atomic_write
from .records import MISSING, LabRecords, Student, lab_names, read_lab, read_only_gradebook

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
GENERIC_FIELDS = ["student_id", "assignment", "score", "max_score", "status", "reason", "auto_score",
                  "manual_score", "needs_manual_grade", "timestamp", "duedate", "hours_late", "late_penalty",
                  "raw_score"]
TOTALS = ["auto_score", "manual_score", "raw_score", "late_penalty", "score", "max_score", "status", "reason",
          "needs_manual_grade", "hours_late", "timestamp"]

# Canvas's gradebook import, as its importer reads a CSV (instructure/canvas-lms,
# app/models/gradebook_importer.rb, and Assignment.title_and_id in app/models/assignment.rb) and
# as institutions' guides document it (Ohio State's "Import CSV File for Carmen Grades",
# https://teaching.resources.osu.edu/toolsets/carmencanvas/guides/calculating-final-grades/import-csv-file-carmen-grades;
# "Detailed Canvas Export Info", https://nemogb-dev.github.io/nemogb-r/articles/detailed-canvas-export-info.html):
# the header row starts with Student and ID; SIS User ID and SIS Login ID may follow; the last
# student column is Section; every further column is an assignment headed "Title (assignment
# id)" (/\A(.*)\s\((\d+)\)\z/), a title alone making a new assignment; a row whose first cell
# holds "Points Possible" gives the assignments' points; a student is found by ID, then SIS User
# ID, then SIS Login ID, then name; an empty cell (or "-") is no score and changes nothing.
# Canvas's own gradebook export (Grades > Export) has exactly these columns: it is the roster
# that students are mapped through.
CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_POINTS_ROW = "    Points Possible"
CANVAS_TITLE_AND_ID = re.compile(r"\A(.*)\s\((\d+)\)\Z", re.S)


def csv_safe(value):
    """A text cell a spreadsheet would run as a formula, made plain text (OWASP's advice: a quote)."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def _write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow([csv_safe(h) for h in header])
    writer.writerows([csv_safe(v) for v in row] for row in rows)
    atomic_write(path.resolve(), buf.getvalue())


def _points(value: float | None) -> float | str:
    return "" if value is None else round(float(value), 4)


def _when(s: Student) -> str:
    return s.timestamp.isoformat() if s.timestamp else ""


def _labs(course: Course, labs: list[str] | None) -> list[LabRecords]:
    names = lab_names(course)
    for lab in labs or []:
        if lab not in names:
            raise UsageError(f"the gradebook has no lab {lab!r} (it has: {', '.join(names) or 'none'})")
    return [read_lab(course, lab) for lab in (labs or names)]


@dataclass
class Exported:
    path: Path
    rows: int  # students (and labs) written
    not_on_roster: list[str] = field(default_factory=list)  # Canvas: submitted, but no roster row names them
    unknown: list[str] = field(default_factory=list)  # Canvas: roster rows the gradebook does not know


# ---------------------------------------------------------------- generic
def _generic_row(rec: LabRecords, s: Student) -> dict:
    return {"student_id": s.student_id, "assignment": rec.lab, "score": _points(s.score),
            "max_score": _points(rec.max_score), "status": s.status, "reason": s.reason,
            "auto_score": _points(s.auto_score), "manual_score": _points(s.manual_score),
            "needs_manual_grade": bool(s.needs_manual), "timestamp": _when(s),
            "duedate": s.due.isoformat() if s.due else (rec.duedate.isoformat() if rec.duedate else ""),
            "hours_late": round(s.seconds_late / 3600, 4) if s.submitted else "",
            "late_penalty": _points(s.late_penalty) if s.submitted else "",
            "raw_score": _points(s.raw_score)}


def generic(course: Course, out: Path, labs: list[str] | None = None) -> int:
    """One row per student and lab; the number of rows."""
    rows = [_generic_row(rec, s) for rec in _labs(course, labs) for s in rec.students]
    rows.sort(key=lambda r: (r["assignment"], r["student_id"]))
    _write_csv(out, GENERIC_FIELDS, [[r[f] for f in GENERIC_FIELDS] for r in rows])
    return len(rows)


def per_cell(course: Course, out: Path, lab: str) -> int:
    """One row per student of LAB, one column per graded cell; the number of rows."""
    (rec,) = _labs(course, [lab])
    several = len({c.notebook for c in rec.cells}) > 1
    names = [f"{c.notebook}/{c.grade_id}" if several else c.grade_id for c in rec.cells]
    rows = []
    for s in rec.students:
        row = _generic_row(rec, s)
        points = [_points(s.points.get((c.notebook, c.grade_id))) for c in rec.cells]
        rows.append([s.student_id, rec.lab, *points, *(row[f] for f in TOTALS)])
    _write_csv(out, ["student_id", "assignment", *names, *TOTALS], rows)
    return len(rows)


# ---------------------------------------------------------------- Canvas
@dataclass
class Roster:
    """A roster Canvas exported: its students' identity columns, and the ids of its assignments."""

    students: list[dict[str, str]]
    assignment_ids: dict[str, str] = field(default_factory=dict)  # assignment title -> Canvas id


def read_roster(path: str | Path, key: str) -> Roster:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the roster {path}: {exc}") from exc
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    needed = ["Student", "ID", key]
    if any(col not in header for col in needed):
        raise UsageError(f"the roster {path} is not a Canvas gradebook export: its header needs the columns "
                         f"{', '.join(needed)} (it has: {', '.join(header[:8]) or 'nothing'}); export it "
                         "from Canvas (Grades > Export), or name the column that holds the nbgrader "
                         "student ids with --roster-key")
    ids = {}
    for title in header:
        match = CANVAS_TITLE_AND_ID.match(title)
        if match:
            ids[match.group(1)] = match.group(2)
    students = []
    for values in reader:
        row = {h: (values[i].strip() if i < len(values) else "") for i, h in enumerate(header)}
        first = row.get("Student", "")
        if "Points Possible" in first or all(re.fullmatch(r"\s*(Muted|Manual Posting.*)?\s*", v, re.I)
                                             for v in values):
            continue  # Canvas's rows that describe assignments, not students
        students.append(row)
    return Roster(students, ids)


def canvas(course: Course, out: Path, roster_path: str | Path, key: str = "SIS Login ID",
           labs: list[str] | None = None) -> Exported:
    """Canvas's import layout for every roster student; who could not be matched either way."""
    roster = read_roster(roster_path, key)
    records = _labs(course, labs)
    with read_only_gradebook(course) as gb:
        lms_ids = {s.lms_user_id: s.id for s in gb.students if s.lms_user_id}
    by_lab = {rec.lab: {s.student_id: s for s in rec.students} for rec in records}
    known = set().union(*(set(d) for d in by_lab.values())) if by_lab else set()
    header = CANVAS_STUDENT_COLUMNS + [f"{rec.lab} ({roster.assignment_ids[rec.lab]})"
                                       if rec.lab in roster.assignment_ids else rec.lab for rec in records]
    rows = [[CANVAS_POINTS_ROW, "", "", "", "", *(_points(rec.max_score) for rec in records)]]
    matched, unknown = set(), []
    for r in roster.students:
        # the gradebook's own link to the LMS (nbgrader's lms_user_id) first, then the roster's key column
        sid = lms_ids.get(r.get("ID", "")) or r.get(key, "")
        if sid not in known:
            unknown.append(r.get("Student") or r.get("ID") or "(a roster row without a name)")
            sid = None
        else:
            matched.add(sid)
        cells: list[float | str] = []
        for rec in records:
            s = by_lab[rec.lab].get(sid) if sid else None
            if s is None:
                cells.append("")  # not known to the gradebook: left as Canvas has it
            elif s.status == MISSING:
                cells.append(0.0)  # on the roster, nothing submitted: 0, as the generic export says
            else:
                cells.append(_points(s.score))  # empty while not graded (the grader failed)
        rows.append([*(r.get(col, "") for col in CANVAS_STUDENT_COLUMNS), *cells])
    submitted = {s.student_id for rec in records for s in rec.students if s.submitted}
    _write_csv(out, header, rows)
    return Exported(out, len(rows) - 1, sorted(submitted - matched), unknown)


def export(course: Course, out: str | Path | None = None, *, fmt: str = "generic", cells: bool = False,
           labs: list[str] | None = None, roster: str | Path | None = None,
           roster_key: str = "SIS Login ID") -> Exported:
    """Write the export in the format asked for."""
    if fmt == "canvas":
        if cells:
            raise UsageError("--per-cell is a layout of the generic format: Canvas takes one column per lab")
        if not roster:
            raise UsageError("--format canvas needs --roster FILE: the gradebook export of your Canvas "
                             "course (Grades > Export), to map its students to nbgrader's")
        path = Path(out) if out else course.root / "grades-canvas.csv"
        return canvas(course, path, roster, roster_key, labs)
    if roster:
        raise UsageError("--roster is for --format canvas")
    if cells:
        names = labs or lab_names(course)
        if len(names) != 1:
            raise UsageError(f"--per-cell writes one lab: name it with --lab (the gradebook has: "
                             f"{', '.join(names) or 'none'})")
        path = Path(out) if out else course.root / f"grades-{names[0]}.csv"
        return Exported(path, per_cell(course, path, names[0]))
    path = Path(out) if out else course.root / "grades.csv"
    return Exported(path, generic(course, path, labs))
