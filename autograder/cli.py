"""The command line: release, grade, feedback, export, check."""

from __future__ import annotations

import argparse
import sys
import warnings

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

    sp = sub.add_parser("export", help="grades of every lab -> CSV")
    course_arg(sp)
    sp.add_argument("--out", default=None, help="output CSV (default: COURSE/grades.csv)")

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
    if args.command == "export":
        from .feedback import export

        path = export(course, args.out)
        print(f"grades -> {path}")
        return 0
    raise AssertionError(args.command)
