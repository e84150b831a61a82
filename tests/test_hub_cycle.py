"""The README's instructor cycle runs as written from a plain shell, on a course it starts empty.

The commands are read from the README's "For instructors: grading a class" block and run one by
one in bash, ``~/dnn-course`` replaced by a fresh folder; between the release to the exchange and
the collect, a student (the account running the test, as nbgrader names it) fetches and submits
the lab through the same exchange. The course directory is the autograder's own (its
``nbgrader_config.py`` names the exchange): no hub is involved. The hub's terminal runs the same
cycle in ``tests/test_hub_e2e.py``.
"""

from __future__ import annotations

import csv
import getpass
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LAB = "lab1_counting"
ABSENT = "cnnhub-absent"

pytestmark = pytest.mark.slow


def readme_cycle() -> list[str]:
    """The commands of the README's grading cycle, comments removed."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index("## For instructors: grading a class"):]
    start = section.index("```bash\n") + len("```bash\n")
    block = section[start:section.index("```", start)]
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def test_the_readme_cycle_is_complete():
    steps = " ; ".join(readme_cycle())
    for step in ("autograder release", "db student import", "nbgrader release_assignment", "nbgrader collect",
                 "autograder grade", "autograder feedback", "nbgrader release_feedback", "autograder export"):
        assert step in steps, step


def test_the_readme_cycle_runs_as_written_from_a_plain_shell(tmp_path):
    course, student = tmp_path / "dnn-course", tmp_path / "student"
    student.mkdir()
    me = getpass.getuser()
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "JUPYTER_CONFIG_PATH": ""}
    env.pop("COURSE_EXCHANGE", None)

    def run(command: str, cwd: Path) -> str:
        out = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True,
                             timeout=900)
        assert out.returncode == 0, f"{command}:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
        text = out.stdout + out.stderr
        assert "check_owner" not in text and "deprecated" not in text.lower(), text[-2000:]
        return text

    shell = ROOT
    for command in readme_cycle():
        command = command.replace("~/dnn-course", str(course))
        if command.startswith("cd "):
            shell = Path(command[3:].strip())
            continue
        if "db student import" in command:
            (shell / "students.csv").write_text(f"id\n{me}\n{ABSENT}\n")
        if "nbgrader collect" in command:   # a student fetches and submits through the exchange
            (student / "nbgrader_config.py").write_text(
                f"c = get_config()\nc.CourseDirectory.course_id = 'popular-dnn-models'\n"
                f"c.Exchange.root = {str(course / 'exchange')!r}\n")
            run(f"nbgrader fetch_assignment {LAB} && nbgrader submit {LAB}", student)
        run(command, shell)

    rows = {r["student_id"]: r for r in csv.DictReader((course / "grades.csv").open())}
    assert rows[me]["status"] == "graded" and rows[me]["assignment"] == LAB
    assert rows[ABSENT]["status"] == "missing" and float(rows[ABSENT]["score"]) == 0
    assert float(rows[ABSENT]["max_score"]) == float(rows[me]["max_score"]) > 0
    feedback = list((course / "exchange" / "popular-dnn-models" / "feedback").glob("*.html"))
    assert len(feedback) == 1 and "BEGIN HIDDEN TESTS" not in feedback[0].read_text()
