"""The folders a course on the hub needs, made (idempotently) before the hub starts.

::

    STATE/
      homes/<user>/             each user's server starts here
      exchange/                 nbgrader's exchange: world-writable, sticky (mode 1777)
      course/                   the instructors' nbgrader course directory
        source -> <repo>/labs/source
        nbgrader_config.py
      config/students/          JUPYTER_CONFIG_PATH of a student's server
        nbgrader_config.py      course id, exchange, student id = hub user name
        jupyter_server_config.json, labconfig/page_config.json   instructor tools off
      config/instructors/       JUPYTER_CONFIG_PATH of an instructor's server
        nbgrader_config.py      course id, exchange, course directory
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

INSTRUCTOR_ONLY_SERVER = ("nbgrader.server_extensions.formgrader",
                          "nbgrader.server_extensions.course_list")
INSTRUCTOR_ONLY_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                       "@jupyter/nbgrader:create-assignment")


class CoursePaths(NamedTuple):
    state: Path
    homes: Path
    exchange: Path
    course: Path
    config: Path


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def nbgrader_config(course_id: str, exchange: Path, course: Path | None) -> str:
    """An nbgrader_config.py: a student's (no course directory) or an instructor's."""
    lines = ["# Written by deploy/course_layout.py", "import os", "", "c = get_config()  # noqa: F821",
             f"c.CourseDirectory.course_id = {course_id!r}",
             f"c.Exchange.root = {str(exchange)!r}"]
    if course is None:
        lines += ["# a student's nbgrader id is their hub user name",
                  "c.CourseDirectory.student_id = os.environ.get('JUPYTERHUB_USER', '')"]
    else:
        lines += [f"c.CourseDirectory.root = {str(course)!r}",
                  "# every server runs as one OS user in the trial hub: submissions are told",
                  "# apart by the student id nbgrader records, not by file owner",
                  "c.CollectApp.check_owner = False"]
    return "\n".join(lines) + "\n"


def prepare_state(state: Path, *, course_id: str, repo: Path) -> CoursePaths:
    paths = CoursePaths(state, state / "homes", state / "exchange", state / "course", state / "config")
    for p in (paths.homes, paths.course, paths.config):
        p.mkdir(parents=True, exist_ok=True)
    paths.exchange.mkdir(parents=True, exist_ok=True)
    os.chmod(paths.exchange, 0o1777)
    source = paths.course / "source"
    if not source.exists():
        source.symlink_to(repo / "labs" / "source", target_is_directory=True)
    _write(paths.course / "nbgrader_config.py", nbgrader_config(course_id, paths.exchange, paths.course))

    students = paths.config / "students"
    _write(students / "nbgrader_config.py", nbgrader_config(course_id, paths.exchange, None))
    _write(students / "jupyter_server_config.json", json.dumps(
        {"ServerApp": {"jpserver_extensions": {e: False for e in INSTRUCTOR_ONLY_SERVER}}}, indent=2))
    _write(students / "labconfig" / "page_config.json", json.dumps(
        {"disabledExtensions": {e: True for e in INSTRUCTOR_ONLY_LAB}}, indent=2))

    instructors = paths.config / "instructors"
    _write(instructors / "nbgrader_config.py", nbgrader_config(course_id, paths.exchange, paths.course))
    return paths
