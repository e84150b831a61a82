"""``python -m autograder report LAB``: what the class did, on one page (or as JSON).

An instructor grades to learn what the class did: the distribution of auto-graded scores, the
share of students who passed each graded cell, the tests that failed most and *why* (in the
words the lab's author wrote), how the grading went (status counts, time per notebook), who
did not submit, what is left to grade by hand, and who was late. ``build_report`` gathers it
from the gradebook and the grader's records (``autograder.records``, read-only);
``autograder.report_html`` draws it.

What a test checks and why it failed are always the lab's own words, never the test's code and
never a student's output: a test is described by its first line (the docstring the lab's
``check`` requires), and a failure by the string literal of that test cell its error message
starts with (``assert ..., "message"``, ``assert_exact(..., "what")``, the text of an f-string
up to its first placeholder). An error whose message starts with no string of the lab is counted
by its exception's name when that is one of Python's own, else as "another error": a student
may raise anything, and none of it is shown.
"""

from __future__ import annotations

import ast
import builtins
import json
import re
import statistics
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .course import Course, SourceCell, atomic_write
from .grade import INFRA
from .late import configured_plugin, describe
from .records import MISSING, UNGRADED, Cell, LabRecords, read_lab

#: The statuses of a submission, in the order the report lists them.
STATUSES = ["graded", "timeout", "died", "failed", INFRA, UNGRADED, MISSING]
STATUS_WORDS = {"graded": "graded", "timeout": "timed out", "died": "died part-way", "failed": "failed",
                INFRA: "infrastructure (the grader failed; grade again)", UNGRADED: "not graded yet",
                MISSING: "missing (nothing submitted)"}
BUILTIN_ERRORS = {name for name, obj in vars(builtins).items()
                  if isinstance(obj, type) and issubclass(obj, BaseException)}
MIN_MESSAGE_CHARS = 8  # shorter literals (a module name, a key) are not failure messages
SLOWEST = 5


# ---------------------------------------------------------------- the lab's own failure messages
@dataclass
class Message:
    """A failure message the lab's author wrote in a test cell."""

    text: str  # as shown: the literal, an f-string's placeholders as "…"
    pattern: re.Pattern  # matches an error message that starts with it
    hidden: bool  # in the cell's hidden part


def _hidden_lines(source: str) -> set[int]:
    lines, inside = set(), False
    for number, line in enumerate(source.splitlines(), start=1):
        if "BEGIN HIDDEN TESTS" in line:
            inside = True
        elif "END HIDDEN TESTS" in line:
            inside = False
        elif inside:
            lines.add(number)
    return lines


def authored_messages(source: str) -> list[Message]:
    """The string literals of a test cell that an error message can start with (its docstring
    aside), longest first. A cell that is not plain Python (a magic) has none."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    skip: set[int] = set()
    body = tree.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        skip.add(id(body[0].value))  # the docstring: what the test checks, not why it failed
    hidden = _hidden_lines(source)
    found: dict[str, Message] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts, shown = [], []
            for value in node.values:
                skip.add(id(value))
                if isinstance(value, ast.Constant) and isinstance(value.value, str):
                    parts.append(re.escape(value.value))
                    shown.append(value.value)
                else:
                    parts.append(".*?")
                    shown.append("…")
            constant = "".join(s for s in shown if s != "…")
            text, regex = "".join(shown), "".join(parts)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            constant = text = node.value
            regex = re.escape(node.value)
        else:
            continue
        if len(constant.strip()) < MIN_MESSAGE_CHARS or text in found:
            continue
        # the whole message, or the message as a prefix ("what: expected 3, got 4", "what[0]: ...")
        pattern = re.compile(rf"(?:{regex})(?:[:\[].*)?", re.S)
        found[text] = Message(text, pattern, getattr(node, "lineno", 0) in hidden)
    return sorted(found.values(), key=lambda m: -len(m.text))


def classify_failure(reason: str, messages: list[Message]) -> tuple[str, str]:
    """(kind, label) of a failed test's recorded error: ("message", the lab's text) when its
    message starts with one of the lab's literals; else ("error", a builtin exception's name)
    or ("error", "another error"). Nothing of the error itself is returned."""
    ename, _, evalue = reason.partition(": ")
    if ename == "AssertionError":
        for m in messages:
            if m.pattern.fullmatch(evalue):
                return "message", m.text
    return "error", ename if ename in BUILTIN_ERRORS else "another error"


# ---------------------------------------------------------------- the report's data
def _when(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else None


def _histogram(values: list[float], top: float, bins: int) -> list[dict]:
    """Counts in ``bins`` equal bins over [0, top] (the last one closed)."""
    if top <= 0:
        return [{"from": 0.0, "to": 0.0, "count": len(values)}] if values else []
    width = top / bins
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, max(0, int(v / width)))] += 1
    return [{"from": round(i * width, 4), "to": round((i + 1) * width, 4), "count": c}
            for i, c in enumerate(counts)]


def _score_histogram(scores: list[float], top: float) -> list[dict]:
    """One bar per score when every score is a whole number of at most 20 points, else 10 bins."""
    if top <= 20 and float(top).is_integer() and all(float(v).is_integer() for v in scores):
        return [{"from": float(p), "to": float(p), "count": sum(1 for v in scores if v == p)}
                for p in range(int(top) + 1)]
    return _histogram(scores, top, 10)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def build_report(course: Course, lab: str) -> dict:
    """The report's data (what ``--json`` writes and the page draws)."""
    rec = read_lab(course, lab)
    plugin = configured_plugin(course)
    source = {(nb, c.grade_id): c for nb, cells in course.source_cells(lab).items() for c in cells}
    students = rec.students
    found = Counter(s.status for s in students)
    counts = {status: found.get(status, 0) for status in STATUSES} | dict(found)
    auto_cells = [c for c in rec.cells if c.auto]
    max_auto = sum(c.max_points for c in auto_cells)
    auto_scores = [s.auto_score or 0.0 for s in students if s.submitted and s.graded and s.status != UNGRADED]
    return {
        "lab": lab,
        "course_id": course.course_id,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "due": _when(rec.duedate),
        "late_policy": describe(plugin),
        "max_score": rec.max_score,
        "max_auto_score": max_auto,
        "students": {"roster_and_submitted": len(students), "submitted": sum(s.submitted for s in students)},
        "status_counts": counts,
        "auto_scores": {
            "students": len(auto_scores),
            "mean": round(statistics.fmean(auto_scores), 3) if auto_scores else None,
            "median": statistics.median(auto_scores) if auto_scores else None,
            "full_marks": sum(1 for v in auto_scores if max_auto and v >= max_auto - 1e-9),
            "zero": sum(1 for v in auto_scores if v <= 1e-9),
            "histogram": _score_histogram(auto_scores, max_auto),
        },
        "cells": [_cell_summary(rec, c, source.get((c.notebook, c.grade_id))) for c in rec.cells],
        "tests_failed_most": _failed_most(rec, source),
        "grading_time": _grading_time(rec),
        "not_submitted": [s.student_id for s in students if s.status == MISSING],
        "manual_to_grade": _manual(rec),
        "late": [{"student_id": s.student_id, "submitted": _when(s.timestamp), "due": _when(s.due),
                  "hours_late": round(s.seconds_late / 3600, 2), "late_penalty": s.late_penalty,
                  "raw_score": s.raw_score, "score": s.score}
                 for s in students if s.late],
        "problems": [{"student_id": s.student_id, "status": s.status, "reason": s.reason[:300]}
                     for s in students if s.status not in ("graded", MISSING)],
    }


def _cell_summary(rec: LabRecords, cell: Cell, src: SourceCell | None) -> dict:
    key = (cell.notebook, cell.grade_id)
    out = {"notebook": cell.notebook, "grade_id": cell.grade_id, "max_points": cell.max_points,
           "auto": cell.auto, "description": src.description if src and cell.auto else "",
           "hidden": bool(src and src.hidden)}
    if cell.auto:
        verdicts = [s.verdicts[key].get("status") for s in rec.students if key in s.verdicts]
        tally = {v: verdicts.count(v) for v in ("passed", "partial", "failed", "not run")}
        out.update(tally, students=len(verdicts),
                   pass_share=round(tally["passed"] / len(verdicts), 4) if verdicts else None)
    else:
        name = f"{cell.notebook}/{cell.grade_id}"
        submitted = [s for s in rec.students if s.submitted]
        graded = [p for s in submitted if name not in s.needs_manual and (p := s.points.get(key)) is not None]
        out.update(to_grade=sum(name in s.needs_manual for s in submitted), graded=len(graded),
                   mean_points=round(statistics.fmean(graded), 3) if graded else None)
    return out


def _failed_most(rec: LabRecords, source: dict[tuple[str, str], SourceCell]) -> list[dict]:
    out = []
    for cell in (c for c in rec.cells if c.auto):
        key = (cell.notebook, cell.grade_id)
        src = source.get(key)
        messages = authored_messages(src.source) if src else []
        hidden_text = {m.text for m in messages if m.hidden}
        failures: dict[tuple[str, str], int] = {}
        ran = failed = not_run = 0
        for s in rec.students:
            verdict = s.verdicts.get(key)
            if not verdict:
                continue
            ran += 1
            status = verdict.get("status")
            if status == "not run":
                not_run += 1
            elif status in ("failed", "partial"):
                failed += 1
                kind = classify_failure(str(verdict.get("reason") or ""), messages)
                failures[kind] = failures.get(kind, 0) + 1
        if not failed:
            continue
        ranked = sorted(failures.items(), key=lambda kv: (-kv[1], kv[0]))
        out.append({
            "notebook": cell.notebook, "grade_id": cell.grade_id, "max_points": cell.max_points,
            "description": src.description if src else "", "hidden": bool(src and src.hidden),
            "failed": failed, "students": ran, "not_run": not_run,
            "share": round(failed / ran, 4) if ran else None,
            "messages": [{"message": label, "part": "hidden" if label in hidden_text else "public",
                          "students": n} for (kind, label), n in ranked if kind == "message"],
            "errors": [{"error": label, "students": n} for (kind, label), n in ranked if kind == "error"],
        })
    return sorted(out, key=lambda t: (-t["failed"], not t["hidden"], t["grade_id"]))


def _grading_time(rec: LabRecords) -> dict:
    runs = [(s.student_id, nb, sec, s.status) for s in rec.students for nb, sec in s.seconds.items()
            if sec is not None]
    seconds = [r[2] for r in runs]
    if not seconds:
        return {"notebooks": 0, "median": None, "p90": None, "max": None, "total": 0.0, "histogram": [],
                "slowest": []}
    top = max(seconds)
    return {"notebooks": len(seconds), "median": round(statistics.median(seconds), 2),
            "p90": round(_percentile(seconds, 0.9), 2), "max": round(top, 2),
            "total": round(sum(seconds), 1), "histogram": _histogram(seconds, top, min(12, len(seconds))),
            "slowest": [{"student_id": sid, "notebook": nb, "seconds": round(sec, 2), "status": status}
                        for sid, nb, sec, status in sorted(runs, key=lambda r: -r[2])[:SLOWEST]]}


def _manual(rec: LabRecords) -> dict:
    waiting = [s for s in rec.students if s.needs_manual]
    per_cell: dict[str, int] = {}
    for s in waiting:
        for cell in s.needs_manual:
            per_cell[cell] = per_cell.get(cell, 0) + 1
    return {"total": sum(len(s.needs_manual) for s in waiting),
            "cells": [{"cell": c, "students": n} for c, n in sorted(per_cell.items())],
            "students": [{"student_id": s.student_id, "cells": sorted(s.needs_manual)} for s in waiting]}


# ---------------------------------------------------------------- the command
def report(course: Course, lab: str, out: str | Path | None = None, as_json: bool = False) -> Path:
    """Write the report of LAB (HTML, or JSON with ``as_json``); the file written."""
    data = build_report(course, lab)
    suffix = "json" if as_json else "html"
    path = Path(out) if out else course.root / "reports" / f"{lab}.{suffix}"
    if as_json:
        text = json.dumps(data, indent=1, ensure_ascii=False)
    else:
        from .report_html import render

        text = render(data)
    atomic_write(path.resolve(), text)
    return path
