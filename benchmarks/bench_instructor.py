"""After grading: how long `report` and `export` take for a class of 200 (and how long grading it took).

One synthetic class of one lab (default: the first lab in labs/source; the autograder's fixture
lab when there is none), on nbgrader's roster, with a due date and a per-day late policy: in
turn a correct student (the solution's answers), a partly correct one (every other answer), a
blank one (the student version), a broken one (a syntax error in one answer, a kernel that
dies in another), a correct one collected two days late, and one who never submits. Every
submission sits in COURSE/submitted/ with the timestamp.txt that `nbgrader collect` leaves.
The class is graded by `python -m autograder grade`; then each command below runs as an
instructor runs it (a new interpreter: its imports count) and in this process (the work alone):

    report LAB             the HTML page          report LAB --json     the same data
    export                 grades.csv             export --per-cell     one column per cell
    export --format canvas --roster R             (R: a Canvas gradebook export naming every student)

    python benchmarks/bench_instructor.py [--lab LAB] [--n 200] [--workers 2] [--labs DIR] [--keep]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench_autograder import answers_from_source  # noqa: E402  (benchmarks/ is this script's folder)

from autograder.cli import main as autograder_main  # noqa: E402
from autograder.course import Course  # noqa: E402

KINDS = ["correct", "partial", "blank", "broken", "late", "missing"]
LATE_POLICY = ('c.AssignLatePenalties.plugin_class = "autograder.late.LatePenalty"\n'
               'c.LatePenalty.penalty_method = "per_day"\nc.LatePenalty.penalty_per_period = 0.1\n'
               "c.LatePenalty.max_penalty = 0.5\n")


def make_class(course: Course, lab: str, n: int, due: datetime) -> dict[str, str]:
    """n students in COURSE/submitted/ (the missing ones only on the roster): student -> kind."""
    source_nb = nbformat.read(str(next((course.root / "source" / lab).glob("*.ipynb"))), as_version=4)
    release_path = next((course.root / "release" / lab).glob("*.ipynb"))
    answers = answers_from_source(source_nb)
    ids = sorted(answers)
    kinds = {}
    for i in range(n):
        sid, kind = f"student{i:03d}", KINDS[i % len(KINDS)]
        kinds[sid] = kind
        if kind == "missing":
            continue
        nb = nbformat.read(str(release_path), as_version=4)
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid not in answers:
                continue
            if kind in ("correct", "late") or (kind == "partial" and ids.index(gid) % 2 == 0):
                cell.source = answers[gid]
            elif kind == "broken" and gid == ids[0]:
                cell.source = "def broken(:\n    pass\n"
            elif kind == "broken" and gid == ids[-1] and len(ids) > 1:
                cell.source = "import os\nos._exit(1)\n"
        d = course.root / "submitted" / sid / lab
        d.mkdir(parents=True)
        nbformat.write(nb, str(d / release_path.name))
        when = due + timedelta(hours=47) if kind == "late" else due - timedelta(hours=3)
        (d / "timestamp.txt").write_text(when.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))
    with course.gradebook() as gb:
        for sid in kinds:
            gb.update_or_create_student(sid)
        gb.update_or_create_assignment(lab, duedate=due.strftime("%Y-%m-%d %H:%M:%S UTC"))
    return kinds


def canvas_roster(path: Path, lab: str, students: list[str]) -> None:
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", f"{lab} (1001)"])
        w.writerow(["    Points Possible", "", "", "", "", "10.00"])
        for i, sid in enumerate(students):
            w.writerow([f"Student, {i:03d}", str(5000 + i), f"S{i:05d}", sid, f"Section {i % 4}", ""])


def timed(label: str, args: list[str], extra: list[str]) -> tuple[float, float]:
    """(seconds as a new interpreter, seconds in this process) of one autograder command."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "autograder", *args, *extra], cwd=REPO, capture_output=True,
                          text=True)
    fresh = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{label} failed:\n{proc.stdout}\n{proc.stderr}")
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = autograder_main([*args, *extra])
    inside = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"{label} failed in this process (exit {code})")
    return fresh, inside


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", default=None)
    ap.add_argument("--labs", default=None, help="lab sources (default: labs/source)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--keep", action="store_true", help="keep the course directory and print its path")
    args = ap.parse_args()
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    labs = args.labs
    work = Path(tempfile.mkdtemp(prefix="bench-instructor-"))
    probe = Course(work / "probe", labs)
    if not args.lab and not probe.available_labs():
        labs = str(REPO / "tests" / "data" / "autograder" / "source")
        probe = Course(probe.root, labs)
    lab = args.lab or probe.available_labs()[0]
    shutil.rmtree(probe.root, ignore_errors=True)
    try:
        course = Course(work / "course", labs)
        course.release(lab)
        with (course.root / "nbgrader_config.py").open("a") as f:
            f.write(LATE_POLICY)
        due = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)
        kinds = make_class(course, lab, args.n, due)
        submitted = sum(k != "missing" for k in kinds.values())
        print(f"lab {lab}: {args.n} students ({submitted} submissions: "
              + ", ".join(f"{sum(v == k for v in kinds.values())} {k}" for k in KINDS)
              + f"), {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at the start")

        course_args = ["--course", str(course.root)] + (["--labs", labs] if labs else [])
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autograder", "grade", lab, *course_args,
                               "--workers", str(args.workers)], cwd=REPO, capture_output=True, text=True)
        t_grade = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr[-3000:])
            return 1
        print(proc.stdout.strip())
        print(f"grade --workers {args.workers}: {t_grade:.1f} s for {submitted} submissions "
              f"({submitted / t_grade:.2f} per second)")

        roster = work / "canvas-roster.csv"
        canvas_roster(roster, lab, sorted(kinds))
        runs = [("report (HTML)", ["report", lab, "--out", str(work / "report.html")]),
                ("report --json", ["report", lab, "--json", "--out", str(work / "report.json")]),
                ("export (generic)", ["export", "--out", str(work / "grades.csv")]),
                ("export --per-cell", ["export", "--per-cell", "--lab", lab,
                                       "--out", str(work / "cells.csv")]),
                ("export --format canvas", ["export", "--format", "canvas", "--roster", str(roster),
                                            "--out", str(work / "canvas.csv")])]
        print(f"{'command':26s} {'new interpreter':>16s} {'in process':>11s}   (target: under 10 s)")
        worst = 0.0
        for label, cmd in runs:
            fresh, inside = timed(label, cmd, course_args)
            worst = max(worst, fresh)
            print(f"{label:26s} {fresh:14.2f} s {inside:9.2f} s")
        size = (work / "report.html").stat().st_size
        print(f"report page: {size / 1024:.0f} KiB; load average {os.getloadavg()[0]:.2f} at the end")
        if args.keep:
            print(f"course kept in {course.root}")
        return 0 if worst < 10 else 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
