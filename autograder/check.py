"""``check``: the properties every lab must have, proved with the grader itself.

For each lab, in a throw-away course directory: nbgrader generates the student version; the
solution (the source notebook) is graded twice and the student version once, in one class, by
the same sandboxed pool that grades students. The lab passes when

1. the solution scores every auto-graded point,
2. the student version scores zero auto-graded points (and is graded, not crashed),
3. the two gradings of the solution agree cell by cell,
4. the student version holds no nbgrader region marker, no line of solution code and no line
   of a hidden test (lines that also appear outside those regions, e.g. a signature, are allowed),
5. every *case* of the lab scores what its file expects. A case (``labs/cases/<lab>/<name>.md``,
   beside ``labs/source/`` and never released) is a submission written as edits of the
   solution or of the student version: a cheater who wraps ``cnnlib`` or pastes the public
   values (at most a share of the auto-graded points), a student with one plausible slip
   (exactly the points the other cells deserve). See :func:`load_cases` for the format.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

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
    cases: list[CaseResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def line(self) -> str:
        verdict = "OK" if self.ok else "FAIL: " + "; ".join(self.problems)
        cases = "".join(f", {c.text()}" for c in self.cases)
        return (f"{self.lab}: solution {self.solution:g}/{self.auto_max:g} auto points, release "
                f"{self.release:g}, two runs {'identical' if self.identical else 'DIFFER'}, "
                f"release {'clean' if not self.leaks else 'LEAKS'}{cases} ({self.seconds:.1f} s): {verdict}")


def _regions(source: str) -> tuple[list[str], list[str]]:
    """(lines inside solution or hidden-test regions, lines outside both), stripped."""
    inside: list[str] = []
    outside: list[str] = []
    depth = False
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
            cases = load_cases(cases_folder(source_dir))
            write_case_submissions(cases, lab, source_dir, release_dir, subs)
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
            res.cases = judge_cases(cases, rows, res.auto_max, course, lab)
            res.problems += [c.problem for c in res.cases if c.problem]
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


# ---------------------------------------------------------------- cases: cheaters and one-slip students
#: The student id a case is graded under (nbgrader accepts letters, digits, "-" and "_").
CASE_PREFIX = "case-"
_BLOCK = re.compile(r"^```python[ \t]+(\S+)[ \t]*\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
_AT_MOST = re.compile(r"at most (\d+(?:\.\d+)?)\s*%")
_EXACTLY = re.compile(r"(?:exactly )?(\d+(?:\.\d+)?)")


@dataclass
class Case:
    """A submission written as edits: ``answers`` replace answer cells (by grade_id) of ``base``."""

    name: str
    base: str                       # "solution" (the source notebook) or "release" (the student version)
    answers: dict[str, str]
    at_most: float | None = None    # a share of the auto-graded points (0.2: at most 20%)
    exactly: float | None = None    # auto-graded points

    def expectation(self, auto_max: float) -> str:
        if self.at_most is not None:
            return f"<= {self.at_most * auto_max:g}"
        return f"= {self.exactly:g}"


@dataclass
class CaseResult:
    name: str
    score: float
    expected: str
    problem: str = ""

    def text(self) -> str:
        return f"{self.name} {self.score:g} ({self.expected}{'' if not self.problem else ': OUT OF BOUNDS'})"


def cases_folder(source_dir: Path) -> Path:
    """``labs/cases/<lab>`` for the lab ``labs/source/<lab>``."""
    return source_dir.parent.parent / "cases" / source_dir.name


def load_cases(folder: Path) -> list[Case]:
    """The cases of one lab: every ``*.md`` file of ``folder`` (none if it does not exist).

    A case file is Markdown that says what the case is and why it scores what it scores, with
    two lines ``base: solution`` or ``base: release`` and ``expect: at most 20%`` or
    ``expect: 15`` (auto-graded points), and one fenced block per replaced answer cell,
    opened by a line ```` ```python GRADE_ID ````.
    """
    cases = []
    for path in sorted(folder.glob("*.md")) if folder.is_dir() else []:
        text = path.read_text(encoding="utf-8")
        fields = dict(re.findall(r"^(base|expect):[ \t]*(.+?)[ \t]*$", text, re.MULTILINE))
        if fields.get("base") not in ("solution", "release") or "expect" not in fields:
            raise ValueError(f"{path}: needs a line 'base: solution' or 'base: release' and a line "
                             "'expect: at most N%' or 'expect: N'")
        case = Case(path.stem, fields["base"], {gid: code for gid, code in _BLOCK.findall(text)})
        if m := _AT_MOST.fullmatch(fields["expect"]):
            case.at_most = float(m.group(1)) / 100
        elif m := _EXACTLY.fullmatch(fields["expect"]):
            case.exactly = float(m.group(1))
        else:
            raise ValueError(f"{path}: cannot read 'expect: {fields['expect']}'")
        cases.append(case)
    return cases


def case_notebook(case: Case, base_nb: Path) -> nbformat.NotebookNode:
    """``base_nb`` with the case's answer cells put in (each must name an answer cell)."""
    nb = nbformat.read(base_nb, as_version=4)
    answers = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("solution")}
    for grade_id, code in case.answers.items():
        if grade_id not in answers:
            raise ValueError(f"case {case.name}: {base_nb.name} has no answer cell {grade_id!r}")
        answers[grade_id].source = code.rstrip("\n")
    return nb


def write_case_submissions(cases: list[Case], lab: str, source_dir: Path, release_dir: Path,
                           submissions: Path) -> None:
    for case in cases:
        dest = submissions / f"{CASE_PREFIX}{case.name}" / lab
        dest.mkdir(parents=True, exist_ok=True)
        for nb in sorted((source_dir if case.base == "solution" else release_dir).glob("*.ipynb")):
            nbformat.write(case_notebook(case, nb), dest / nb.name)


def judge_cases(cases: list[Case], rows: dict[str, dict], auto_max: float, course: Course,
                lab: str) -> list[CaseResult]:
    """Each case's auto-graded score against its expectation (a problem when out of bounds).

    A case whose answer cells raise is a broken case file, not a result: a cheater that scores
    nothing because of a typo proves nothing.
    """
    results = []
    for case in cases:
        student = f"{CASE_PREFIX}{case.name}"
        row = rows[student]
        result = CaseResult(case.name, row["auto_score"], case.expectation(auto_max))
        broken = _answer_errors(course.path("autograded", lab, student))
        if row["status"] != "graded":
            result.problem = f"case {case.name} was not graded cleanly: {row['status']} {row['reason']}"
        elif broken:
            result.problem = f"case {case.name} is broken: " + "; ".join(broken[:3])
        elif case.at_most is not None and row["auto_score"] > case.at_most * auto_max + 1e-9:
            result.problem = (f"case {case.name} scores {row['auto_score']:g} auto-graded points, more than "
                              f"{case.at_most:.0%} of {auto_max:g}")
        elif case.exactly is not None and abs(row["auto_score"] - case.exactly) > 1e-9:
            result.problem = (f"case {case.name} scores {row['auto_score']:g} auto-graded points, "
                              f"not the {case.exactly:g} it should")
        results.append(result)
    return results


def _answer_errors(autograded: Path) -> list[str]:
    """'<grade_id> raised <error>' for every answer cell of the autograded notebooks that raised."""
    found = []
    for path in sorted(autograded.glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            meta = cell.metadata.get("nbgrader", {})
            if cell.cell_type != "code" or not meta.get("solution"):
                continue
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    found.append(f"answer cell {meta.get('grade_id')!r} raised {out.get('ename')}: "
                                 f"{out.get('evalue', '')[:200]}")
    return found
