"""cnnlib.selfcheck on small generated nbgrader notebooks: pass, fail, skip under nbgrader, no recursion."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from cnnlib import CnnlibError, selfcheck
from cnnlib.selfcheck import find_notebook, run_self_check, self_check

pytestmark = pytest.mark.slow   # every test starts a Python kernel

SOLUTION = "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION\n"
STUDENT = "def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()\n"
WRONG = "def double(x):\n    return x + 2\n"
SELF_CHECK = "from cnnlib.selfcheck import self_check\nself_check()"


def _meta(**nbgrader):
    return {"nbgrader": {"schema_version": 3, **nbgrader}}


def make_lab(folder, answer=SOLUTION, written="A model answer.", name=None, self_check_cell=SELF_CHECK):
    """A tiny lab in nbgrader's layout: setup, answer, two graded tests, a written answer."""
    name = name or folder.name
    cells = [
        new_code_cell("import math\nFACTOR = 2", metadata=_meta(grade=False, solution=False,
                                                                 locked=True, grade_id="setup")),
        new_code_cell(answer, metadata=_meta(grade=False, solution=True, locked=False,
                                             grade_id="double")),
        new_code_cell('"""double: small integers"""\n'
                      'assert double(3) == 6, f"double(3) should be 6, got {double(3)}"',
                      metadata=_meta(grade=True, solution=False, locked=True, points=2,
                                     grade_id="test_double")),
        new_code_cell('"""double: a hidden case"""\nassert double(0) == 0, "double(0) should be 0"\n'
                      "### BEGIN HIDDEN TESTS\nassert False, 'the hidden region ran'\n"
                      "### END HIDDEN TESTS\n",
                      metadata=_meta(grade=True, solution=False, locked=True, points=1,
                                     grade_id="test_double_zero")),
        new_markdown_cell(written, metadata=_meta(grade=True, solution=True, task=False, points=3,
                                                  grade_id="written_why", locked=False)),
    ]
    if self_check_cell:
        cells.append(new_code_cell(self_check_cell, metadata=_meta(grade=False, solution=False,
                                                                   locked=True, grade_id="self_check")))
    nb = new_notebook(cells=cells, metadata={"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                            "language": "python"}})
    path = folder / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def _by_id(report):
    return {t.grade_id: t for t in report.tests}


def test_solution_passes_every_public_test_and_hidden_tests_are_not_run(tmp_path):
    report = run_self_check(make_lab(tmp_path))
    tests = _by_id(report)
    assert set(tests) == {"test_double", "test_double_zero"}
    assert all(t.passed for t in tests.values()), report.format()   # the hidden `assert False` was cut
    assert (report.points, report.max_points) == (3, 3)
    assert report.unanswered == [] and report.answers_raising == [] and not report.setup_error
    assert "PASS  test_double " in report.format()


def test_student_stub_fails_with_a_reason(tmp_path):
    report = run_self_check(make_lab(tmp_path, answer=STUDENT, written="YOUR ANSWER HERE"))
    assert not any(t.passed for t in report.tests)
    assert report.points == 0 and report.max_points == 3
    assert report.answers_raising == []          # defining the stub function raises nothing
    assert "not written yet" in _by_id(report)["test_double"].message
    assert report.unanswered == ["written_why"]
    text = report.format()
    assert "FAIL  test_double" in text and "0 / 3 points" in text and "written_why" in text


def test_an_answer_cell_that_raises_is_named(tmp_path):
    report = run_self_check(make_lab(tmp_path, answer="# YOUR CODE HERE\nraise NotImplementedError()"))
    assert [a.grade_id for a in report.answers_raising] == ["double"]
    assert "NameError" in _by_id(report)["test_double"].message
    assert "answer cell 'double' raised NotImplementedError" in report.format()


def test_wrong_answer_reports_the_assertion_message(tmp_path):
    report = run_self_check(make_lab(tmp_path, answer=WRONG))
    tests = _by_id(report)
    assert not tests["test_double"].passed
    assert tests["test_double"].message == "AssertionError: double(3) should be 6, got 5"
    assert not tests["test_double_zero"].passed
    assert "double(0) should be 0" in tests["test_double_zero"].message
    assert report.points == 0


def test_a_cell_over_the_timeout_is_interrupted_and_the_rest_still_runs(tmp_path):
    path = make_lab(tmp_path, answer="import time\ntime.sleep(60)\n" + SOLUTION)
    report = run_self_check(path, timeout=3)
    assert [a.grade_id for a in report.answers_raising] == ["double"]
    assert "longer than 3 s" in report.answers_raising[0].message
    assert report.points == 0 and all("NameError" in t.message for t in report.tests), report.format()


def test_a_kernel_that_dies_is_reported(tmp_path):
    report = run_self_check(make_lab(tmp_path, answer="import os\nos._exit(3)"))
    assert "the run stopped: DeadKernelError" in report.setup_error, report.format()
    assert report.points == 0 and all("not run" in t.message for t in report.tests)


def test_self_check_cell_inside_a_kernel_reports_and_does_not_recurse(tmp_path):
    """The real use: the student's kernel runs the self-check cell (which the check then skips)."""
    path = make_lab(tmp_path, answer=WRONG)
    nb = nbformat.read(path, as_version=4)
    # as in Jupyter: ipykernel shows what the process writes to its file descriptors 1 and 2
    # (it does not while pytest runs, which it tells by this variable)
    env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    NotebookClient(nb, timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute(env=env)
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert "FAIL  test_double " in out and "got 5" in out and "0 / 3 points" in out, out
    assert out.count("Self-check of") == 1
    assert "Warning" not in out                  # what ran is what is saved
    # the new kernel's start-up log (ipykernel's "running over TCP without encryption") stays out
    assert [o.name for o in nb.cells[-1].outputs if o.output_type == "stream"] == ["stdout"] * 2, out


def test_warns_when_the_notebook_is_not_saved(tmp_path):
    path = make_lab(tmp_path, answer=WRONG)      # saved: the wrong answer
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].source = SOLUTION                # on screen and run: the fixed one, not saved
    NotebookClient(nb, timeout=120, allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    out = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    assert "not in the saved notebook" in out and "'def double(x):'" in out, out
    assert "got 5" in out                        # the check ran the saved file


@pytest.mark.parametrize("mode", ["autograde", "validate"])
def test_does_nothing_under_nbgrader(tmp_path, monkeypatch, capsys, mode):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("NBGRADER_EXECUTION", mode)
    monkeypatch.setattr(selfcheck, "run_self_check", lambda *a, **k: pytest.fail("must not run"))
    self_check()                                  # no notebook here, and no error either
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "nbgrader" in out


def test_nested_self_check_does_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CNNLIB_SELFCHECK", "1")
    monkeypatch.setattr(selfcheck, "run_self_check", lambda *a, **k: pytest.fail("must not run"))
    self_check(make_lab(tmp_path))
    assert "already inside a self-check" in capsys.readouterr().out


def test_finds_the_labs_notebook(tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    lab = tmp_path / "lab9_demo"
    lab.mkdir()
    monkeypatch.chdir(lab)
    with pytest.raises(CnnlibError, match="no .ipynb"):
        find_notebook()
    only = make_lab(lab, name="renamed")
    assert find_notebook() == only
    main = make_lab(lab)                           # lab9_demo.ipynb beside another notebook
    assert find_notebook() == main
    main.unlink()
    make_lab(lab, name="scratch")
    with pytest.raises(CnnlibError, match="several notebooks"):
        find_notebook()
    with pytest.raises(CnnlibError, match="no notebook at"):
        find_notebook(lab / "missing.ipynb")
    (lab / "broken.ipynb").write_text("{not json")
    with pytest.raises(CnnlibError, match="cannot read"):
        run_self_check(lab / "broken.ipynb")


def test_command_line(tmp_path):
    import subprocess

    out = subprocess.run([sys.executable, "-m", "cnnlib.selfcheck", str(make_lab(tmp_path))],
                         capture_output=True, text=True, timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    assert "3 / 3 points" in out.stdout


def test_a_real_lab_passes_its_own_public_tests():
    """Lab 1's solution notebook: every graded test cell found, all public points obtained."""
    path = Path(__file__).parents[1] / "labs/source/lab1_counting/lab1_counting.ipynb"
    graded = [c.metadata["nbgrader"] for c in nbformat.read(path, as_version=4).cells
              if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    report = run_self_check(path)
    assert [t.grade_id for t in report.tests] == [m["grade_id"] for m in graded]
    assert report.points == report.max_points == sum(m["points"] for m in graded), report.format()
    assert not report.answers_raising and not report.setup_error
