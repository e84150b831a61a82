"""The labs' cases (labs/cases/<lab>/*.md): cheaters earn at most 20%, one slip costs only its cells.

`python -m autograder check` grades every case of a lab beside the solution and the student
version, and fails the lab when a case scores outside what its file expects. The fast tests
here check the case files and the judging; the slow ones grade the fixture lab with cases that
must fail, and every real lab (as `make test` does through `test_check_every_lab` too).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import nbformat
import pytest

from autograder.check import Case, case_notebook, cases_folder, check_labs, judge_cases, load_cases
from autograder.sandbox import choose_sandbox

REPO = Path(__file__).resolve().parents[1]
SOURCE = REPO / "labs" / "source"
LABS = sorted(p.name for p in SOURCE.iterdir() if p.is_dir())
FIXTURE = REPO / "tests" / "data" / "autograder" / "source" / "fixture_lab"

try:
    SANDBOX = choose_sandbox()
except Exception:  # noqa: BLE001
    SANDBOX = "none"
needs_bwrap = pytest.mark.skipif(SANDBOX != "bwrap", reason="bubblewrap (bwrap) is not installed: "
                                 "`apt-get install -y bubblewrap` (the Makefile's test target does)")


def _answer_cells(lab: str) -> set[str]:
    nb = nbformat.read(SOURCE / lab / f"{lab}.ipynb", as_version=4)
    return {c.metadata["nbgrader"]["grade_id"] for c in nb.cells
            if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"}


@pytest.mark.parametrize("lab", LABS)
def test_every_lab_has_two_cheaters_and_a_one_slip_student(lab):
    cases = {c.name: c for c in load_cases(cases_folder(SOURCE / lab))}
    assert set(cases) == {"wrapping_cheater", "literal_cheater", "one_slip"}, sorted(cases)
    for name in ("wrapping_cheater", "literal_cheater"):
        assert cases[name].base == "release" and cases[name].at_most == 0.2, name
        assert set(cases[name].answers) == _answer_cells(lab), f"{name} answers every answer cell"
    slip = cases["one_slip"]
    assert slip.base == "solution" and slip.exactly is not None and len(slip.answers) == 1
    nb = case_notebook(slip, SOURCE / lab / f"{lab}.ipynb")   # the edit names a real answer cell
    assert sum("### BEGIN SOLUTION" not in c.source for c in nb.cells
               if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code") == 1


def test_cases_live_outside_the_released_folders_and_the_book():
    assert cases_folder(SOURCE / "lab1_counting") == REPO / "labs" / "cases" / "lab1_counting"
    assert not list(SOURCE.rglob("*.md")), "nbgrader releases every file of labs/source/<lab>/"
    toc = (REPO / "_toc.yml").read_text()
    assert "labs/cases" not in toc


def test_case_files_are_read_strictly(tmp_path):
    (tmp_path / "good.md").write_text("# A case\n\nbase: release\nexpect: at most 20%\n\n"
                                      "```python add\ndef add(a, b):\n    return 0\n```\n")
    (tmp_path / "exact.md").write_text("base: solution\nexpect: 3\n")
    good, exact = sorted(load_cases(tmp_path), key=lambda c: c.name, reverse=True)
    assert (good.base, good.at_most, good.exactly) == ("release", 0.2, None)
    assert good.answers == {"add": "def add(a, b):\n    return 0\n"}
    assert (exact.base, exact.at_most, exact.exactly) == ("solution", None, 3.0)
    (tmp_path / "bad.md").write_text("base: mine\nexpect: a lot\n")
    with pytest.raises(ValueError, match="base: solution"):
        load_cases(tmp_path)
    (tmp_path / "bad.md").write_text("base: release\nexpect: a lot\n")
    with pytest.raises(ValueError, match="cannot read 'expect: a lot'"):
        load_cases(tmp_path)
    with pytest.raises(ValueError, match="no answer cell 'nope'"):
        case_notebook(Case("x", "release", {"nope": "pass"}), FIXTURE / "fixture_lab.ipynb")


def _autograded(folder: Path, error: bool) -> None:
    """An autograded notebook whose answer cell raised (a broken case file) or ran."""
    cell = nbformat.v4.new_code_cell("def add(a, b) return 0", metadata={
        "nbgrader": {"solution": True, "grade": False, "grade_id": "add"}})
    if error:
        cell.outputs = [nbformat.v4.new_output("error", ename="SyntaxError", evalue="invalid syntax")]
    folder.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), folder / "lab.ipynb")


def test_judging_cases(tmp_path):
    course = SimpleNamespace(path=lambda step, lab, student: tmp_path / student)
    cases = [Case("cheater", "release", {}, at_most=0.2), Case("slip", "solution", {}, exactly=15),
             Case("broken", "release", {}, at_most=0.2)]
    for student, error in (("case-cheater", False), ("case-slip", False), ("case-broken", True)):
        _autograded(tmp_path / student, error)

    def rows(cheater, slip):
        return {"case-cheater": {"auto_score": cheater, "status": "graded", "reason": ""},
                "case-slip": {"auto_score": slip, "status": "graded", "reason": ""},
                "case-broken": {"auto_score": 0, "status": "graded", "reason": ""}}

    cheater, slip, broken = judge_cases(cases, rows(3.4, 15), 17, course, "lab")
    assert not cheater.problem and cheater.text() == "cheater 3.4 (<= 3.4)"
    assert not slip.problem and slip.text() == "slip 15 (= 15)"
    assert "is broken: answer cell 'add' raised SyntaxError" in broken.problem
    cheater, slip, _ = judge_cases(cases, rows(4, 14), 17, course, "lab")
    assert "more than 20% of 17" in cheater.problem and "OUT OF BOUNDS" in cheater.text()
    assert "scores 14 auto-graded points, not the 15 it should" in slip.problem


@pytest.mark.slow
@needs_bwrap
def test_check_fails_a_lab_whose_cheater_scores_too_much_or_whose_case_is_broken(tmp_path):
    labs = tmp_path / "labs" / "source"
    shutil.copytree(FIXTURE, labs / "fixture_lab")
    cases = tmp_path / "labs" / "cases" / "fixture_lab"
    cases.mkdir(parents=True)
    (cases / "honest_cheater.md").write_text(   # not a cheater at all: it scores everything
        "base: release\nexpect: at most 20%\n\n```python add\ndef add(a, b):\n    return a + b\n```\n")
    (cases / "typo.md").write_text(
        "base: release\nexpect: at most 20%\n\n```python add\ndef add(a, b) return 0\n```\n")
    (cases / "one_slip.md").write_text(
        "base: solution\nexpect: 3\n\n```python add\ndef add(a, b):\n    return int(a) + int(b)\n```\n")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run([sys.executable, "-m", "autograder", "check", "fixture_lab", "--labs", str(labs)],
                          cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("fixture_lab:"))
    assert "one_slip 3 (= 3)" in line, line               # add fails only its hidden floats: 5 - 2
    assert "case honest_cheater scores 2 auto-graded points, more than 20% of 5" in line, line
    assert "case typo is broken: answer cell 'add' raised SyntaxError" in line, line


@pytest.mark.slow
@needs_bwrap
@pytest.mark.parametrize("lab", LABS)
def test_check_grades_each_labs_cases_within_bounds(lab, tmp_path):
    """Solution full, release 0, both cheaters at most 20%, the one-slip student exactly its points."""
    (result,) = check_labs([lab], keep=tmp_path)
    assert result.ok, result.line()
    assert {c.name for c in result.cases} == {"wrapping_cheater", "literal_cheater", "one_slip"}
    for case in result.cases:
        assert not case.problem, case.problem
    summary = json.dumps({c.name: c.score for c in result.cases})
    assert result.solution == result.auto_max and result.release == 0, summary


@pytest.mark.parametrize("lab", LABS)
def test_the_labs_readme_states_each_labs_points_and_cases(lab):
    """labs/README.md's tables agree with the notebooks' points and the case files."""
    readme = (REPO / "labs" / "README.md").read_text()
    nb = nbformat.read(SOURCE / lab / f"{lab}.ipynb", as_version=4)
    graded = [c.metadata["nbgrader"] for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
    auto = sum(m["points"] for m in graded if not m.get("solution"))
    by_hand = sum(m["points"] for m in graded if m.get("solution"))
    rows = [line for line in readme.splitlines() if line.startswith(f"| `{lab}` |")]
    assert len(rows) == 2, rows
    assert rows[0].endswith(f"| {auto} + {by_hand} |"), rows[0]
    slip = next(c for c in load_cases(cases_folder(SOURCE / lab)) if c.name == "one_slip")
    cells = [cell.strip() for cell in rows[1].strip("|").split("|")]
    assert cells[1] == str(auto) and cells[4].startswith(f"{slip.exactly:g} ("), cells
