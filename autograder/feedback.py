"""Feedback without leaks, and the grades export.

Feedback is nbgrader's own (``GenerateFeedback``: its HTML template, ``GetGrades`` scores from
the gradebook, files in ``COURSE/feedback/STUDENT/LAB/`` where ``nbgrader release_feedback``
and the JupyterHub extension find them), run on a *cleaned copy* of each autograded notebook:

- a test cell with a hidden part shows only its public part (nbgrader's ``ClearHiddenTests``);
- its outputs are replaced: passed, or for a failure the test's name and the error's last line
  (``AssertionError: <the message the author wrote>``), never a traceback, which would quote
  hidden code;
- every remaining output of every cell is searched for lines of hidden-test code (a student's
  code can print what it saw when the hidden tests ran) and such lines are redacted.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
import shutil
import tempfile
from pathlib import Path

import nbformat

from .course import Course, UsageError, atomic_write
from .grade import read_result

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
MESSAGE_LIMIT = 500
REDACTED = "[hidden test code removed]"


def _hidden_lines(hidden: dict[str, str]) -> set[str]:
    lines = set()
    for src in hidden.values():
        inside = False
        for line in src.splitlines():
            if "BEGIN HIDDEN TESTS" in line:
                inside = True
                lines.add(line.strip())
                continue
            if "END HIDDEN TESTS" in line:
                inside = False
                lines.add(line.strip())
                continue
            if inside and len(line.strip()) >= 8:
                lines.add(line.strip())
    return lines


def redact(text: str, hidden: set[str]) -> str:
    if not text or not hidden:
        return text
    out = []
    for line in text.splitlines(keepends=True):
        stripped = ANSI.sub("", line).strip()
        if any(h in stripped for h in hidden):
            out.append(REDACTED + ("\n" if line.endswith("\n") else ""))
        else:
            out.append(line)
    return "".join(out)


def _redact_output(out, hidden: set[str]):
    if out.output_type == "stream":
        out.text = redact(out.text, hidden)
    elif out.output_type == "error":
        out.evalue = redact(out.evalue, hidden)
        out.traceback = [redact(t, hidden) for t in out.traceback]
    else:
        for key, value in list(out.get("data", {}).items()):
            if isinstance(value, str):
                out.data[key] = redact(value, hidden)
            elif isinstance(value, list):
                out.data[key] = [redact(v, hidden) if isinstance(v, str) else v for v in value]
    return out


def clean_notebook(nb, hidden_cells: dict[str, str]):
    """A copy of an autograded notebook that is safe to show the student."""
    from nbgrader.preprocessors import ClearHiddenTests

    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    hidden = _hidden_lines(hidden_cells)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        gid = meta.get("grade_id")
        if cell.cell_type == "code" and gid in hidden_cells:
            failed = [o for o in cell.outputs if o.output_type == "error"]
            stderr = [o for o in cell.outputs if o.output_type == "stream" and o.name == "stderr"]
            if failed:
                err = failed[-1]
                message = f"{err.ename}: {redact(ANSI.sub('', err.evalue), hidden)}".strip()
                if len(message) > MESSAGE_LIMIT:
                    message = message[:MESSAGE_LIMIT] + " ..."
                text = (f"Test {gid} failed: {message}\n"
                        "(This test has hidden parts; their code is not shown.)\n")
                cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
            elif stderr:
                text = f"Test {gid} wrote to stderr, which nbgrader counts as a failure.\n"
                cell.outputs = [nbformat.v4.new_output("stream", name="stderr", text=text)]
            else:
                cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=f"Test {gid} passed.\n")]
        elif cell.cell_type == "code":
            cell.outputs = [_redact_output(o, hidden) for o in cell.outputs]
    nb, _ = ClearHiddenTests(enforce_metadata=False)(nb, {})
    return nb


def feedback(course: Course, lab: str, students: list[str] | None = None) -> list[Path]:
    """HTML feedback for every graded student of LAB (or the ones named). The files written."""
    from nbgrader.apps import NbGraderAPI

    if not (course.root / "source" / lab).is_dir():
        raise UsageError(f"{lab} was never released or graded in {course.root}")
    autograded_root = course.root / "autograded"
    graded = sorted(p.parent.name for p in autograded_root.glob(f"*/{lab}") if p.is_dir())
    if students:
        graded = [s for s in graded if s in set(students)]
    if not graded:
        raise UsageError(f"nothing graded for {lab} in {course.root}: "
                         f"run `python -m autograder grade {lab}` first")
    hidden = course.hidden_test_cells(lab)
    clean_root = Path(tempfile.mkdtemp(prefix=".feedback-", dir=course.root))
    written = []
    try:
        for sid in graded:
            src = autograded_root / sid / lab
            dst = clean_root / sid / lab
            dst.mkdir(parents=True)
            for path in src.iterdir():
                if path.suffix == ".ipynb":
                    nb = nbformat.read(str(path), as_version=4)
                    nbformat.write(clean_notebook(nb, hidden.get(path.stem, {})), str(dst / path.name))
                elif path.is_file() and path.name in {"timestamp.txt", "submission_secret.txt"}:
                    # nbgrader's release_feedback finds the student's feedback by this secret
                    shutil.copyfile(path, dst / path.name)
        cfg = copy.deepcopy(course.config)
        cfg.CourseDirectory.autograded_directory = clean_root.name
        from nbgrader.coursedir import CourseDirectory

        api = NbGraderAPI(coursedir=CourseDirectory(config=cfg), config=cfg)
        for sid in graded:
            result = api.generate_feedback(lab, sid, force=True)
            if not result.get("success"):
                raise UsageError(f"nbgrader could not write feedback for {sid}:\n{result.get('log', '')}")
            written += sorted((course.root / "feedback" / sid / lab).glob("*.html"))
    finally:
        shutil.rmtree(clean_root, ignore_errors=True)
    return written


EXPORT_FIELDS = ["student_id", "assignment", "score", "max_score", "status", "reason", "auto_score",
                 "manual_score", "needs_manual_grade", "timestamp"]


def export_rows(course: Course) -> list[dict]:
    """One row per student and lab; scores from the gradebook (manual grades in). Every student on
    the roster (the gradebook's students: ``nbgrader db student add/import``) has a row for every
    lab, with status ``missing`` and score 0 where nothing was handed in."""
    rows = []
    with course.gradebook() as gb:
        roster = sorted(s.id for s in gb.students)
        for assignment in sorted(gb.assignments, key=lambda a: a.name):
            handed_in = {sub.student.id for sub in assignment.submissions}
            for sid in (s for s in roster if s not in handed_in):
                rows.append({
                    "student_id": sid, "assignment": assignment.name, "score": 0.0,
                    "max_score": round(float(assignment.max_score), 4), "status": "missing",
                    "reason": "nothing was submitted", "auto_score": 0.0, "manual_score": "",
                    "needs_manual_grade": False, "timestamp": "",
                })
            for sub in sorted(assignment.submissions, key=lambda s: s.student.id):
                sid = sub.student.id
                result = read_result(course, assignment.name, sid) or {}
                grades = [g for nb in sub.notebooks for g in nb.grades]
                manual = [g.manual_score for g in grades if g.manual_score is not None]
                rows.append({
                    "student_id": sid, "assignment": assignment.name,
                    "score": round(float(sub.score), 4), "max_score": round(float(sub.max_score), 4),
                    "status": result.get("status", "ungraded"), "reason": result.get("reason", ""),
                    "auto_score": round(sum(g.auto_score or 0 for g in grades), 4),
                    "manual_score": round(sum(manual), 4) if manual else "",
                    "needs_manual_grade": bool(sub.needs_manual_grade),
                    "timestamp": sub.timestamp.isoformat() if sub.timestamp else "",
                })
    return sorted(rows, key=lambda r: (r["assignment"], r["student_id"]))


def export(course: Course, out: str | Path | None = None) -> Path:
    path = Path(out) if out else course.root / "grades.csv"
    rows = export_rows(course)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write(path.resolve(), buf.getvalue())
    return path
