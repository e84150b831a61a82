"""The command line: release, grade, feedback, report, export, check."""

from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path

from .course import DEFAULT_COURSE, Course, UsageError
from .cpus import available_cpus


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, not {value:g}")
    return value


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m autograder",
        description="Grade a class's nbgrader labs: isolated, parallel, resumable. Lab sources are read "
                    "from the repository's labs/source/; everything else lives in the course directory.")
    sub = p.add_subparsers(dest="command", required=True)

    def course_arg(sp):
        sp.add_argument("--course", default=str(DEFAULT_COURSE),
                        help=f"the instructor's course directory (default: {DEFAULT_COURSE}, the "
                             "repository's course/ folder, gitignored); created if missing")
        sp.add_argument("--labs", default=None, help=argparse.SUPPRESS)  # other lab sources: tests only

    sp = sub.add_parser("release", help="the student version of LAB -> COURSE/release/LAB/")
    sp.add_argument("lab")
    course_arg(sp)

    sp = sub.add_parser("grade", help="autograde every submission of LAB")
    sp.add_argument("lab")
    sp.add_argument("--submissions", required=False, default=None,
                    help="folder (or zip of it) with SUBDIR/<student_id>/<LAB>/*.ipynb; default: what was "
                         "already collected into COURSE/submitted/")
    course_arg(sp)
    sp.add_argument("--workers", type=_positive_int, default=available_cpus(),
                    help="notebooks graded at once (default: the CPUs this process may use: the "
                         "container's CPU limit where there is one, else the cores; here %(default)s)")
    sp.add_argument("--timeout", type=_positive_float, default=300.0,
                    help="wall-clock seconds per notebook (default %(default)s)")
    sp.add_argument("--memory", type=_positive_int, default=2048,
                    help="memory limit per notebook in MB, on top of the warm worker (default %(default)s)")
    sp.add_argument("--scheduler", default=None,
                    help="address of a Dask distributed scheduler (tcp://host:8786): run the notebooks there")
    sp.add_argument("--force", action="store_true",
                    help="grade again students whose submission was already graded unchanged")
    sp.add_argument("--student", action="append", default=None, help="grade only this student (repeatable)")

    sp = sub.add_parser("feedback", help="HTML feedback per student -> COURSE/feedback/<student>/LAB/")
    sp.add_argument("lab")
    course_arg(sp)
    sp.add_argument("--student", action="append", default=None, help="only this student (repeatable)")

    sp = sub.add_parser("report", help="what the class did in LAB: one HTML page with plots (or --json)")
    sp.add_argument("lab")
    course_arg(sp)
    sp.add_argument("--out", default=None,
                    help="the file to write (default: COURSE/reports/LAB.html, or LAB.json)")
    sp.add_argument("--json", action="store_true", help="the report's data as JSON instead of the page")

    sp = sub.add_parser("export", help="grades -> CSV: one row per student and lab, per cell, or for Canvas")
    course_arg(sp)
    sp.add_argument("--out", default=None,
                    help="output CSV (default: COURSE/grades.csv; grades-LAB.csv with --per-cell; "
                         "grades-canvas.csv with --format canvas)")
    sp.add_argument("--format", dest="fmt", choices=("generic", "canvas"), default="generic",
                    help="generic: one row per student and lab (default); canvas: the layout of Canvas's "
                         "gradebook import, students mapped through --roster")
    sp.add_argument("--per-cell", action="store_true",
                    help="one column per graded cell of one lab (--lab), then the totals")
    sp.add_argument("--lab", action="append", default=None, help="only this lab (repeatable; default: all)")
    sp.add_argument("--roster", default=None,
                    help="with --format canvas: your Canvas course's gradebook export (Grades > Export)")
    sp.add_argument("--roster-key", default="SIS Login ID",
                    help="the roster column that holds the nbgrader student ids (default: %(default)s); "
                         "a student's nbgrader lms_user_id, where set, is matched to the roster's ID first")

    sp = sub.add_parser("check", help="prove each lab's properties (full, zero, stable, no leaks)")
    sp.add_argument("labs", nargs="*", metavar="LAB",
                    help="labs to check (default: every lab in labs/source)")
    sp.add_argument("--labs", dest="labs_dir", default=None, help=argparse.SUPPRESS)
    sp.add_argument("--workers", type=_positive_int, default=None)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # nbgrader 0.9's gradebook trips SQLAlchemy 2's autoflush warnings: noise for an instructor
    warnings.filterwarnings("ignore", module="nbgrader")
    warnings.filterwarnings("ignore", message=".*not in session.*")
    try:
        return _run(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: run the same command again to finish (graded students are kept)", file=sys.stderr)
        return 130


def _run(args) -> int:
    if args.command == "check":
        from .check import check_labs

        results = check_labs(args.labs or None, args.labs_dir, workers=args.workers)
        if not results:
            print("no labs to check", file=sys.stderr)
            return 1
        for r in results:
            print(r.line())
        failed = [r.lab for r in results if not r.ok]
        print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
        return 1 if failed else 0

    if args.command in ("report", "export") and not (Path(args.course) / "gradebook.db").is_file():
        raise UsageError(f"no gradebook in {Path(args.course).resolve()}: grade a lab there first "
                         "(python -m autograder grade LAB --course DIR)")
    course = Course(args.course, args.labs)
    if args.command == "release":
        path = course.release(args.lab, force=True)
        print(f"released {args.lab} -> {path}")
        return 0
    if args.command == "grade":
        from .grade import INFRA, grade

        summary = grade(course, args.lab, args.submissions, workers=args.workers, timeout=args.timeout,
                        memory_mb=args.memory, scheduler=args.scheduler, force=args.force,
                        students=args.student)
        print(summary.text())
        return 1 if summary.counts()[INFRA] else 0
    if args.command == "feedback":
        from .feedback import feedback

        files = feedback(course, args.lab, args.student)
        print(f"feedback for {len(files)} notebooks -> {course.root / 'feedback'}")
        return 0
    if args.command == "report":
        from .report import report

        path = report(course, args.lab, args.out, as_json=args.json)
        print(f"report of {args.lab} -> {path}")
        return 0
    if args.command == "export":
        from .export import export

        done = export(course, args.out, fmt=args.fmt, cells=args.per_cell, labs=args.lab, roster=args.roster,
                      roster_key=args.roster_key)
        print(f"grades ({done.rows} rows) -> {done.path}")
        if done.not_on_roster:
            print(f"warning: {len(done.not_on_roster)} students submitted but are not on the roster, so "
                  f"their grades are not in {done.path.name}: {', '.join(done.not_on_roster)}",
                  file=sys.stderr)
        if done.unknown:
            print(f"warning: {len(done.unknown)} roster students are not in the gradebook (no submission, "
                  f"not on nbgrader's roster): their cells are left empty: {', '.join(done.unknown)}",
                  file=sys.stderr)
        return 0
    raise AssertionError(args.command)
