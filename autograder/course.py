"""The instructor's course directory, in nbgrader 0.9's layout, and the lab sources it grades against.

``COURSE/``
  ``nbgrader_config.py``      the course's nbgrader configuration (written once; loads the labs')
  ``gradebook.db``            nbgrader's sqlite gradebook (only the coordinating process writes it)
  ``source/LAB/``             a copy of ``labs/source/LAB`` (nbgrader and its formgrader expect it here)
  ``release/LAB/``            the student version
  ``submitted/STUDENT/LAB/``  the collected submissions
  ``autograded/STUDENT/LAB/`` graded notebooks, with outputs
  ``feedback/STUDENT/LAB/``   HTML feedback (hidden tests removed)
  ``autograder/LAB/``         this tool's state: one JSON per student (status, reason, what was graded)
  ``exchange/``               nbgrader's exchange, unless the course hub names its own (COURSE_EXCHANGE)
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

REPO = Path(__file__).resolve().parent.parent
LABS_SOURCE = REPO / "labs" / "source"
DEFAULT_COURSE = REPO / "course"
CONFIG_CANDIDATES = [REPO / "labs" / "nbgrader_config.py", REPO / "nbgrader_config.py"]

log = logging.getLogger("autograder")


class UsageError(Exception):
    """A mistake of the instructor's (unknown lab, missing submissions...): printed, exit 2."""


def _ensure_alembic_on_path() -> None:
    """nbgrader runs ``alembic`` by name when it creates a gradebook: put the venv's bin on PATH."""
    import sys

    bindir = str(Path(sys.executable).parent)
    if bindir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bindir + os.pathsep + os.environ.get("PATH", "")


def tree_hash(path: Path, skip=(".ipynb_checkpoints", "__pycache__"), ignore=()) -> str:
    """A hash of every file's relative name and bytes under ``path`` (``ignore``: top-level names
    left out). A symbolic link counts as its target's name: it is never followed."""
    h = hashlib.sha256()
    if path.is_file() and not path.is_symlink():
        h.update(path.read_bytes())
        return h.hexdigest()
    entries = []
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        dirnames[:] = [d for d in dirnames if d not in skip]
        for name in dirnames + filenames:
            full = Path(dirpath) / name
            rel = full.relative_to(path)
            if str(rel) in ignore:
                continue
            if full.is_symlink():
                entries.append((str(rel), b"link:" + os.readlink(full).encode()))
            elif full.is_file():
                entries.append((str(rel), hashlib.sha256(full.read_bytes()).digest()))
    for name, digest in sorted(entries):
        h.update(name.encode() + b"\0")
        h.update(digest)
    return h.hexdigest()


def atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as f:
        f.write(data.encode() if isinstance(data, str) else data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


class Course:
    def __init__(self, root: str | Path | None = None, labs_source: str | Path | None = None):
        _ensure_alembic_on_path()
        self.root = Path(root or DEFAULT_COURSE).resolve()
        self.labs_source = Path(labs_source or LABS_SOURCE).resolve()
        if self.root.exists() and not self.root.is_dir():
            raise UsageError(f"--course {self.root} is a file, not a directory")
        if self.root == self.labs_source or self.labs_source in self.root.parents:
            raise UsageError("--course must not be inside the lab sources")
        self.root.mkdir(parents=True, exist_ok=True)
        self.config = self._load_config()
        from nbgrader.coursedir import CourseDirectory

        self.coursedir = CourseDirectory(config=self.config)
        self._write_course_config()

    # ------------------------------------------------------------ configuration
    def _load_config(self) -> Config:
        cfg = Config()
        for path in CONFIG_CANDIDATES:
            if path.exists():
                cfg.merge(PyFileConfigLoader(path.name, path=str(path.parent)).load_config())
                break
        own = self.root / "nbgrader_config.py"
        if own.exists():  # the course's own settings (course_id, exchange...) win; its paths do not
            cfg.merge(PyFileConfigLoader(own.name, path=str(self.root)).load_config())
        cd = cfg.CourseDirectory
        cd.root = str(self.root)
        cd.source_directory = "source"
        cd.release_directory = "release"
        cd.submitted_directory = "submitted"
        cd.autograded_directory = "autograded"
        cd.feedback_directory = "feedback"
        cd.db_url = f"sqlite:///{self.root / 'gradebook.db'}"
        if "course_id" not in cd:
            cd.course_id = "popular-dnn-models"
        # deleted test cells come back (with their hidden tests) instead of being skipped
        cfg.OverwriteCells.add_missing_cells = True
        return cfg

    def _write_course_config(self) -> None:
        path = self.root / "nbgrader_config.py"
        if path.exists():
            return
        labs_cfg = next((p for p in CONFIG_CANDIDATES if p.exists()), None)
        lines = ['"""nbgrader configuration of this course directory (written by `python -m autograder`)."""',
                 "import os", "", "c = get_config()  # noqa: F821"]
        if labs_cfg:
            lines.append(f"load_subconfig({str(labs_cfg)!r})  # noqa: F821 - the labs' settings")
        lines += ["c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))",
                  f"c.CourseDirectory.course_id = {self.course_id!r}",
                  'c.CourseDirectory.source_directory = "source"',
                  'c.CourseDirectory.release_directory = "release"',
                  "c.OverwriteCells.add_missing_cells = True",
                  "# nbgrader's exchange (release_assignment, collect, release_feedback): the course hub's",
                  "# (its servers set COURSE_EXCHANGE), else the folder exchange/ in this course directory",
                  'c.Exchange.root = os.environ.get("COURSE_EXCHANGE") or '
                  'os.path.join(c.CourseDirectory.root, "exchange")', ""]
        atomic_write(path, "\n".join(lines))

    @property
    def course_id(self) -> str:
        return self.config.CourseDirectory.course_id

    @property
    def db_url(self) -> str:
        return self.config.CourseDirectory.db_url

    def gradebook(self):
        from nbgrader.api import Gradebook

        return Gradebook(self.db_url, self.course_id)

    # ------------------------------------------------------------ labs
    def available_labs(self) -> list[str]:
        if not self.labs_source.is_dir():
            return []
        return sorted(p.name for p in self.labs_source.iterdir() if p.is_dir() and any(p.glob("*.ipynb")))

    def lab_source(self, lab: str) -> Path:
        path = self.labs_source / lab
        if not lab or "/" in lab or lab.startswith(".") or not path.is_dir() or not any(path.glob("*.ipynb")):
            labs = ", ".join(self.available_labs()) or "none"
            raise UsageError(f"no lab named {lab!r} in {self.labs_source} (labs: {labs})")
        return path

    def path(self, step: str, lab: str, student: str = ".") -> Path:
        return Path(self.coursedir.format_path(step, student, lab))

    def state_dir(self, lab: str) -> Path:
        return self.root / "autograder" / lab

    def sync_source(self, lab: str) -> bool:
        """Copy labs/source/LAB into COURSE/source/LAB when it changed. True if it changed."""
        src = self.lab_source(lab)
        dst = self.root / "source" / lab
        if dst.exists() and tree_hash(dst) == tree_hash(src):
            return False
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".source-"))
        shutil.copytree(src, tmp / lab, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
        if dst.exists():
            shutil.rmtree(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(tmp / lab, dst)
        shutil.rmtree(tmp, ignore_errors=True)
        return True

    def release(self, lab: str, force: bool = False) -> Path:
        """nbgrader's generate_assignment into COURSE/release/LAB, recording the lab in the gradebook."""
        from nbgrader.apps import NbGraderAPI

        changed = self.sync_source(lab)
        release = self.root / "release" / lab
        stamp = self.state_dir(lab) / "released-from.txt"
        current = tree_hash(self.root / "source" / lab)
        if not force and not changed and release.is_dir() and stamp.exists() and stamp.read_text() == current:
            return release
        api = NbGraderAPI(coursedir=self.coursedir, config=self.config)
        result = api.generate_assignment(lab, force=True, create=True)
        if not result.get("success"):
            raise UsageError(f"nbgrader could not generate the student version of {lab}:\n"
                             f"{result.get('error') or ''}\n{result.get('log') or ''}")
        atomic_write(stamp, current)
        return release

    def notebook_names(self, lab: str) -> list[str]:
        with self.gradebook() as gb:
            return sorted(nb.name for nb in gb.find_assignment(lab).notebooks)

    def source_cells(self, lab: str) -> dict[str, list[SourceCell]]:
        """{notebook: its nbgrader cells, in order} from the course's copy of the lab source."""
        out: dict[str, list[SourceCell]] = {}
        for path in sorted((self.root / "source" / lab).glob("*.ipynb")):
            cells = []
            for cell in json.loads(path.read_text()).get("cells", []):
                meta = cell.get("metadata", {}).get("nbgrader")
                if isinstance(meta, dict) and meta.get("grade_id"):
                    cells.append(SourceCell(meta["grade_id"], cell.get("cell_type", "code"), meta,
                                            "".join(cell.get("source", ""))))
            out[path.stem] = cells
        return out


@dataclass
class SourceCell:
    """One nbgrader cell of a lab's source, as the lab's author wrote it."""

    grade_id: str
    cell_type: str
    nbgrader: dict  # its nbgrader metadata
    source: str  # with solutions and hidden tests: never shown to a student

    @property
    def is_test(self) -> bool:
        meta = self.nbgrader
        return bool(meta.get("grade")) and not meta.get("solution") and self.cell_type == "code"

    @property
    def hidden(self) -> bool:
        return "BEGIN HIDDEN TESTS" in self.source

    @property
    def points(self) -> float:
        return float(self.nbgrader.get("points") or 0)

    @property
    def description(self) -> str:
        """What the test checks, as the lab's first line says it (a docstring or a comment)."""
        first = next((line.strip() for line in self.source.splitlines() if line.strip()), "")
        for quote in ('"""', "'''"):
            if first.startswith(quote):
                return first.strip(quote).strip()
        return first.lstrip("#").strip() if first.startswith("#") else ""
