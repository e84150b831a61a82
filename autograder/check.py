"""``check``: the properties every lab must have, proved with the grader itself.

For each lab, in a throw-away course directory: nbgrader generates the student version; the
solution (the source notebook) is graded twice and the student version once, in one class, by
the same sandboxed pool that grades students. The lab passes when

1. the solution scores every auto-graded point,
2. the student version scores zero auto-graded points (and is graded, not crashed),
3. the two gradings of the solution agree cell by cell,
4. the student version holds no nbgrader region marker, no line of solution code and no line
   of a hidden test (lines that also appear outside those regions, e.g. a signature, are allowed).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .course import Course
from .grade import grade

MARKERS = ["BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"]


@dataclass
class LabCheck:
    lab: str
    auto_max: float = 0.0
    solution: float = 0.0
    release: float = -1.0
    identical: bool = False
    leaks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        verdict = "OK" if self.ok else "FAIL: " + "; ".join(self.problems)
        return (f"{self.lab}: solution {self.solution:g}/{self.auto_max:g} auto points, release "
                f"{self.release:g}, two runs {'identical' if self.identical else 'DIFFER'}, "
                f"release {'clean' if not self.leaks else 'LEAKS'} ({self.seconds:.1f} s): {verdict}")


def _regions(source: str) -> tuple[list[str], list[str]]:
    """(lines inside solution or hidden-test regions, lines outside both), stripped."""
    inside, outside, depth = [], [], False
    for line in source.splitlines():
        if "BEGIN SOLUTION" in line or "BEGIN HIDDEN TESTS" in line:
            depth = True
            continue
        if "END SOLUTION" in line or "END HIDDEN TESTS" in line:
            depth = False
            continue
        (inside if depth else outside).append(line.strip())
    return inside, outside


def leaks(source_nb: Path, release_nb: Path) -> list[str]:
    src = json.loads(source_nb.read_text())
    rel_text = release_nb.read_text()
    rel = json.loads(rel_text)
    released = "\n".join("".join(c.get("source", "")) for c in rel.get("cells", []))
    found = [f"marker {m!r}" for m in MARKERS if m in released]
    secret, public = [], set()
    for cell in src.get("cells", []):
        inside, outside = _regions("".join(cell.get("source", "")))
        secret += inside
        public.update(outside)
    released_lines = {line.strip() for line in released.splitlines()}
    for line in secret:
        if len(line) >= 12 and line in released_lines and line not in public and not line.startswith("#"):
            found.append(f"line {line!r}")
    return found


def check_labs(labs: list[str] | None = None, labs_source: str | Path | None = None,
               workers: int | None = None, keep: str | Path | None = None, stream=None) -> list[LabCheck]:
    import time

    probe = Course(Path(tempfile.mkdtemp(prefix="autograder-check-")), labs_source)
    labs = labs or probe.available_labs()
    shutil.rmtree(probe.root, ignore_errors=True)
    results = []
    for lab in labs:
        t0 = time.monotonic()
        root = Path(keep) / lab if keep else Path(tempfile.mkdtemp(prefix=f"autograder-check-{lab}-"))
        res = LabCheck(lab)
        try:
            course = Course(root, labs_source)
            source_dir = course.lab_source(lab)
            release_dir = course.release(lab, force=True)
            subs = root / "_submissions"
            for student, folder in (("solution", source_dir), ("solution-again", source_dir),
                                    ("release", release_dir)):
                dest = subs / student / lab
                dest.mkdir(parents=True, exist_ok=True)
                for nb in folder.glob("*.ipynb"):
                    shutil.copyfile(nb, dest / nb.name)
            for nb in sorted(source_dir.glob("*.ipynb")):
                res.leaks += [f"{nb.name}: {x}" for x in leaks(nb, release_dir / nb.name)]
            summary = grade(course, lab, subs, workers=workers, force=True, stream=stream)
            rows = {r["student_id"]: r for r in summary.rows}
            with course.gradebook() as gb:
                assignment = gb.find_assignment(lab)
                res.auto_max = float(sum(c.max_score for nb in assignment.notebooks for c in nb.grade_cells
                                         if c.cell_type == "code" and not _is_solution(nb, c)))

                def per_cell(student, lab=lab):
                    sub = gb.find_submission(lab, student)
                    return {(nb.name, g.name): g.auto_score for nb in sub.notebooks for g in nb.grades}

                res.identical = per_cell("solution") == per_cell("solution-again")
            res.solution = rows["solution"]["auto_score"]
            res.release = rows["release"]["auto_score"]
            for student in ("solution", "solution-again", "release"):
                if rows[student]["status"] != "graded":
                    res.problems.append(f"{student} was not graded cleanly: {rows[student]['status']} "
                                        f"{rows[student]['reason']}")
            if abs(res.solution - res.auto_max) > 1e-9:
                res.problems.append(f"the solution scores {res.solution:g} of {res.auto_max:g} "
                                    "auto-graded points")
            if res.release != 0:
                res.problems.append(f"the student version scores {res.release:g} auto-graded points, not 0")
            if not res.identical:
                res.problems.append("two gradings of the solution differ")
            if res.leaks:
                res.problems.append("the student version leaks: " + "; ".join(res.leaks[:5]))
        except Exception as exc:  # noqa: BLE001 - report the lab as failing, check the others
            res.problems.append(f"{type(exc).__name__}: {exc}")
        finally:
            res.seconds = time.monotonic() - t0
            if not keep:
                shutil.rmtree(root, ignore_errors=True)
        results.append(res)
    return results


def _is_solution(nb, grade_cell) -> bool:
    return any(s.name == grade_cell.name for s in nb.solution_cells)
