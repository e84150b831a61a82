"""Grading throughput: plain serial `nbgrader autograde` against `python -m autograder grade --workers 2`.

One synthetic class of one lab (default: 40 submissions of the first lab in labs/source, or of
the autograder's fixture lab when there is none): a third correct (the solution), a third
partly correct (the student version with every other answer filled in from the solution), and
broken ones (the unanswered student version, a syntax error, a kernel that dies part-way).
Both graders start from identical course directories; the script prints each one's wall time
and throughput, their ratio, and whether every cell got the same score.

    python benchmarks/bench_autograder.py [--lab LAB] [--n 40] [--workers 2] [--labs DIR]
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.course import Course  # noqa: E402

SOLUTION = re.compile(r"^[ \t]*### BEGIN SOLUTION\n(.*?)^[ \t]*### END SOLUTION\n?", re.S | re.M)


def answers_from_source(source_nb) -> dict[str, str]:
    """grade_id -> the answer cell's source with the solution markers removed."""
    out = {}
    for cell in source_nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("solution") and not meta.get("grade"):
            out[meta["grade_id"]] = SOLUTION.sub(lambda m: m.group(1), cell.source)
    return out


def make_class(course: Course, lab: str, n: int, dest: Path) -> None:
    source_nb = nbformat.read(str(next((course.root / "source" / lab).glob("*.ipynb"))), as_version=4)
    release_path = next((course.root / "release" / lab).glob("*.ipynb"))
    answers = answers_from_source(source_nb)
    ids = sorted(answers)
    for i in range(n):
        nb = nbformat.read(str(release_path), as_version=4)
        kind = i % 6
        for cell in nb.cells:
            gid = cell.metadata.get("nbgrader", {}).get("grade_id")
            if gid not in answers:
                continue
            if kind in (0, 1) or (kind in (2, 3) and ids.index(gid) % 2 == (kind % 2)):
                cell.source = answers[gid]  # correct (0, 1) or partly correct (2, 3)
        if kind == 5 and ids:  # broken: a syntax error in one answer, a kernel death in another
            for cell in nb.cells:
                gid = cell.metadata.get("nbgrader", {}).get("grade_id")
                if gid == ids[0]:
                    cell.source = "def broken(:\n    pass\n"
                elif gid == ids[-1] and len(ids) > 1:
                    cell.source = "import os\nos._exit(1)\n"
        # kind 4: the unanswered student version
        d = dest / f"student{i:03d}" / lab
        d.mkdir(parents=True)
        nbformat.write(nb, str(d / release_path.name))


def cell_scores(course: Course, lab: str) -> dict:
    with course.gradebook() as gb:
        return {(s.student.id, nb.name, g.name): g.auto_score
                for s in gb.find_assignment(lab).submissions for nb in s.notebooks for g in nb.grades}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lab", default=None)
    ap.add_argument("--labs", default=None, help="lab sources (default: labs/source)")
    ap.add_argument("--n", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"
    labs = args.labs
    probe = Course(tempfile.mkdtemp(prefix="bench-probe-"), labs)
    if not args.lab and not probe.available_labs():
        labs = str(REPO / "tests" / "data" / "autograder" / "source")
        probe = Course(probe.root, labs)
    lab = args.lab or probe.available_labs()[0]
    shutil.rmtree(probe.root, ignore_errors=True)

    work = Path(tempfile.mkdtemp(prefix="bench-autograder-"))
    try:
        plain, ours = Course(work / "plain", labs), Course(work / "ours", labs)
        plain.release(lab)
        ours.release(lab)
        subs = work / "submissions"
        make_class(plain, lab, args.n, subs)
        shutil.copytree(subs, plain.root / "submitted")
        print(f"lab {lab}: {args.n} submissions, {os.cpu_count()} cores")

        t0 = time.perf_counter()
        proc = subprocess.run(["nbgrader", "autograde", lab, "--force"], cwd=plain.root,
                              capture_output=True, text=True)
        t_plain = time.perf_counter() - t0
        if proc.returncode != 0:
            print(f"(nbgrader autograde exited {proc.returncode}: it leaves a submission whose kernel died "
                  "ungraded; the others are graded)")
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "autograder", "grade", lab, "--course", str(ours.root),
                               "--submissions", str(subs), "--workers", str(args.workers)]
                              + (["--labs", labs] if labs else []),
                              cwd=REPO, capture_output=True, text=True)
        t_ours = time.perf_counter() - t0
        if proc.returncode != 0:
            print(proc.stdout, proc.stderr)
            return 1
        print(proc.stdout.strip())

        a, b = cell_scores(plain, lab), cell_scores(ours, lab)
        # plain nbgrader leaves a notebook whose kernel died without scores (None): compare the rest
        died = {k[0] for k, v in a.items() if v is None}
        kept_a = {k: v for k, v in a.items() if k[0] not in died}
        same = kept_a == {k: v for k, v in b.items() if k[0] not in died}
        print(f"plain nbgrader autograde (serial): {t_plain:7.1f} s  {args.n / t_plain:6.2f} submissions/s")
        print(f"autograder grade --workers {args.workers}:     {t_ours:7.1f} s  "
              f"{args.n / t_ours:6.2f} submissions/s")
        print(f"speed-up: {t_plain / t_ours:.2f}x")
        print(f"identical scores: {'yes' if same else 'NO'} ({len(kept_a)} cell grades "
              f"compared; {len(died)} submissions whose kernel died are left ungraded by plain nbgrader"
              f"{'' if not died else ' and graded here'})")
        return 0 if same else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
