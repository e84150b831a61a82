"""The folders a course on the hub needs, made (idempotently) by the hub at every start.

::

    STATE/
      private/                 root only (0700): the hub's database, cookie secret, pid file and
                               the trial's passwords; no user's server ever sees it
      homes/<user>/            each user's home (0700, their own); /home/<user> in their server
      exchange/                nbgrader's exchange: world-writable, sticky (1777), as nbgrader asks
        <course>/              the instructor's, made here so that no student can claim it first:
          outbound/ (0755)  inbound/ (2733: write-only for students)  feedback/ (0711)
      course/                  the instructors' nbgrader course directory (the first instructor's,
                               0700); ~/course in an instructor's server
        source -> <repo>/labs/source
        nbgrader_config.py     course id, exchange, owner-checked collect
        students.csv           the roster, for `nbgrader db student import students.csv`
      config/students/         JUPYTER_CONFIG_PATH of a student's server
        nbgrader_config.py     course id and exchange (the student id is the OS account's name)
        jupyter_server_config.json, labconfig/page_config.json   instructor tools off
      config/instructors/      JUPYTER_CONFIG_PATH of an instructor's server
        nbgrader_config.py     course id, exchange, ~/course, owner-checked collect
      config/profile.sh        /etc/profile.d/ in every server: the venv first on a terminal's PATH
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import NamedTuple

HERE = Path(__file__).resolve().parent
INSTRUCTOR_ONLY_SERVER = ("nbgrader.server_extensions.formgrader",
                          "nbgrader.server_extensions.course_list")
INSTRUCTOR_ONLY_LAB = ("@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:course-list",
                       "@jupyter/nbgrader:create-assignment")
# nbgrader 0.9's modes for an exchange course folder (release_assignment, release_feedback)
EXCHANGE_MODES = {"": 0o755, "outbound": 0o755, "inbound": 0o2733, "feedback": 0o711}


class CoursePaths(NamedTuple):
    state: Path
    private: Path
    homes: Path
    exchange: Path
    course: Path
    config: Path


def _write(path: Path, text: str, mode: int = 0o644) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    os.chmod(path, mode)


def nbgrader_config(course_id: str, exchange: Path, role: str) -> str:
    """An nbgrader_config.py: a student's, an instructor's server's (the course directory is
    ~/course there) or the course directory's own (found beside the file, wherever it is seen)."""
    lines = ["# Written by deploy/course_layout.py", "import os", "import sys", "",
             "c = get_config()  # noqa: F821",
             f"c.CourseDirectory.course_id = {course_id!r}",
             f"c.Exchange.root = {str(exchange)!r}"]
    if role == "students":
        return "\n".join(lines) + "\n"
    root = ('os.path.expanduser("~/course")' if role == "instructors"
            else "os.path.dirname(os.path.abspath(__file__))")
    lines += [f"c.CourseDirectory.root = {root}",
              "# a submission not owned by the student it names is refused at collect, with the reason",
              f"sys.path.insert(0, {str(HERE)!r})  # course_exchange",
              'c.ExchangeFactory.collect = "course_exchange.OwnerCheckedCollect"']
    return "\n".join(lines) + "\n"


def terminal_profile(venv_bin: Path) -> str:
    """A profile.d script: JupyterLab's terminals run `bash -l`, and Debian's /etc/profile resets
    PATH, which would hide the course's python, jupyter and nbgrader."""
    return ("# Written by deploy/course_layout.py: the course's Python, jupyter and nbgrader first on PATH\n"
            f'case ":$PATH:" in *":{venv_bin}:"*) ;; *) PATH="{venv_bin}:$PATH"; export PATH ;; esac\n')


def _own(path: Path, uid: int, gid: int, mode: int) -> None:
    os.chown(path, uid, gid)
    os.chmod(path, mode)


def prepare_state(state: Path, *, course_id: str, repo: Path, venv_bin: Path,
                  students: list[str], instructor: tuple[int, int]) -> CoursePaths:
    """Make STATE's folders and configuration files. ``instructor`` is the (uid, gid) that owns
    the course directory and the exchange's course folder."""
    paths = CoursePaths(state, state / "private", state / "homes", state / "exchange", state / "course",
                        state / "config")
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o755)
    paths.private.mkdir(exist_ok=True)
    os.chmod(paths.private, 0o700)
    for p in (paths.homes, paths.config):
        p.mkdir(exist_ok=True)
        os.chmod(p, 0o755)
    paths.exchange.mkdir(exist_ok=True)
    os.chmod(paths.exchange, 0o1777)
    for sub, mode in EXCHANGE_MODES.items():
        folder = paths.exchange / course_id / sub
        folder.mkdir(parents=True, exist_ok=True)
        _own(folder, *instructor, mode)

    paths.course.mkdir(exist_ok=True)
    source = paths.course / "source"
    if not source.is_symlink():
        source.symlink_to(repo / "labs" / "source", target_is_directory=True)
    _write(paths.course / "nbgrader_config.py", nbgrader_config(course_id, paths.exchange, "course"))
    _write(paths.course / "students.csv", "id\n" + "".join(f"{s}\n" for s in students))
    # the course belongs to the instructor, even after root worked in it from a plain shell
    for folder, dirs, files in os.walk(paths.course):
        for name in [*dirs, *files]:
            os.lchown(Path(folder) / name, *instructor)
    _own(paths.course, *instructor, 0o700)

    roles = paths.config / "students"
    _write(roles / "nbgrader_config.py", nbgrader_config(course_id, paths.exchange, "students"))
    _write(roles / "jupyter_server_config.json", json.dumps(
        {"ServerApp": {"jpserver_extensions": {e: False for e in INSTRUCTOR_ONLY_SERVER}}}, indent=2))
    _write(roles / "labconfig" / "page_config.json", json.dumps(
        {"disabledExtensions": {e: True for e in INSTRUCTOR_ONLY_LAB}}, indent=2))
    _write(paths.config / "instructors" / "nbgrader_config.py",
           nbgrader_config(course_id, paths.exchange, "instructors"))
    _write(paths.config / "profile.sh", terminal_profile(venv_bin))
    return paths
