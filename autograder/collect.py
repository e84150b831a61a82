"""Collecting submissions from a folder or a zip into ``COURSE/submitted/``: nothing is ever followed.

A student's folder may hold anything its author wanted, so: symbolic links (to the lab sources,
to a classmate's folder, anywhere) are never followed, in a folder or in a zip; the student's
submission is refused with a reason the instructor reads in ``grades.csv``, and the rest of
the class is collected. The same for anything that is neither a folder nor a regular file (a
FIFO would block a reader). A file the grader itself writes (``timestamp.txt``,
``.autograder-*``) is never taken from a student: the submission time of a collected folder is
the grader's clock when it collected a new or changed submission.
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

from .course import Course, UsageError, atomic_write, tree_hash

MAX_ZIP_BYTES = 2 * 1024 * 1024 * 1024
REFUSED = ".autograder-refused"  # in COURSE/submitted/STUDENT/LAB: why the submission cannot be graded
GRADER_FILES = ("timestamp.txt",)


def _is_grader_file(name: str) -> bool:
    return name in GRADER_FILES or name.startswith(".autograder-")


def _safe_extract(zip_path: Path, dest: Path) -> set[str]:
    """Unpack ``zip_path`` into ``dest``; the members that are symbolic links are not unpacked,
    their names are returned (their students' submissions are refused)."""
    total, links = 0, set()
    root = dest.resolve()
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            target = (dest / name).resolve()
            if not str(target).startswith(str(root) + os.sep) and target != root:
                raise UsageError(f"{zip_path}: member {name!r} would be written outside the folder")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):  # not unpacked; its folders are, so its student is found and refused
                links.add(name.rstrip("/"))
                target.parent.mkdir(parents=True, exist_ok=True)
                continue
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise UsageError(f"{zip_path} unpacks to more than {MAX_ZIP_BYTES >> 20} MB")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
    return links


def _find_root(folder: Path, lab: str) -> Path:
    """The folder whose children are student folders (a zip may add one or two levels)."""
    def dirs(p: Path) -> list[Path]:
        return sorted(q for q in p.iterdir() if q.is_dir() and not q.is_symlink())

    for candidate in [folder, *dirs(folder), *(q for p in dirs(folder) for q in dirs(p))]:
        if any((s / lab).is_dir() and not (s / lab).is_symlink() for s in dirs(candidate)):
            return candidate
    return folder


def refusal(folder: Path) -> str | None:
    """Why a student's folder cannot be graded (a link, a special file), or None. Never follows links."""
    if folder.is_symlink():
        return (f"the submission folder {folder.name}/ is a symbolic link (to {os.readlink(folder)}): "
                "links are never followed; hand in the files themselves")
    for dirpath, dirnames, filenames in os.walk(folder, followlinks=False):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            st = path.lstat()
            rel = path.relative_to(folder)
            if stat.S_ISLNK(st.st_mode):
                return (f"the submission contains a symbolic link, {rel} -> {os.readlink(path)}: links are "
                        "never followed; hand in the file itself")
            if not (stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode)):
                return f"the submission contains {rel}, which is neither a file nor a folder"
    return None


def _stage(course: Course, lab: str, student_dir: Path, links: set[Path]) -> Path:
    """A copy of what the student handed in for LAB, in a temporary folder of the course."""
    staged = Path(tempfile.mkdtemp(dir=course.root, prefix=".collect-")) / lab
    sub = student_dir / lab
    why = refusal(student_dir)
    linked = sorted(p for p in links if p.is_relative_to(student_dir))
    if why is None and linked:
        why = (f"the submission contains a symbolic link, {linked[0].relative_to(student_dir)}: "
               "links are never followed; hand in the file itself")
    if why is not None:
        staged.mkdir()
        atomic_write(staged / REFUSED, why)
        return staged
    ignore = shutil.ignore_patterns(".ipynb_checkpoints", *GRADER_FILES, ".autograder-*")
    if sub.is_dir():
        shutil.copytree(sub, staged, symlinks=True, ignore=ignore)
    else:  # a misnamed or missing lab folder: keep what was handed in, graded as missing
        shutil.copytree(student_dir, staged, symlinks=True, ignore=ignore)
        found = ", ".join(sorted(p.name for p in student_dir.iterdir())[:10])
        atomic_write(staged / REFUSED, f"no folder {lab}/ in the submission; found: {found}")
    return staged


def collect(course: Course, lab: str, submissions: str | Path, tmp: Path) -> list[str]:
    """Copy SUBDIR/<student>/<LAB>/ into COURSE/submitted/<student>/<LAB>/; the students found."""
    from nbgrader.coursedir import CourseDirectory

    src = Path(submissions)
    if not src.exists():
        raise UsageError(f"--submissions {src} does not exist")
    links: set[Path] = set()
    if src.is_file():
        if not zipfile.is_zipfile(src):
            raise UsageError(f"--submissions {src} is neither a folder nor a zip file")
        unpacked = tmp / "unzipped"
        unpacked.mkdir()
        links = {unpacked / name for name in _safe_extract(src, unpacked)}
        src = unpacked
    root = _find_root(src, lab)
    students = []
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    for student_dir in sorted(p for p in root.iterdir() if not p.name.startswith(".")
                              and (p.is_dir() or p.is_symlink())):
        sid = student_dir.name
        try:
            CourseDirectory(student_id=sid)
        except Exception:  # noqa: BLE001 - nbgrader refuses some ids (e.g. with '+'): skip, loudly
            print(f"skipping {student_dir}: {sid!r} is not a valid nbgrader student id", file=sys.stderr)
            continue
        students.append(sid)
        dest = course.path("submitted", lab, sid)
        staged = _stage(course, lab, student_dir, links)
        try:
            unchanged = dest.exists() and tree_hash(dest, ignore=GRADER_FILES) == tree_hash(
                staged, ignore=GRADER_FILES)
            if unchanged:
                continue  # unchanged: keeps its collection time, and its grade
            atomic_write(staged / "timestamp.txt", now)
            dest.parent.mkdir(parents=True, exist_ok=True)
            if dest.exists():
                shutil.rmtree(dest)
            os.replace(staged, dest)
        finally:
            shutil.rmtree(staged.parent, ignore_errors=True)
    return students
