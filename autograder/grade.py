"""Grade a class: collect, sanitise (nbgrader), execute (sandboxed pool), save grades (nbgrader).

The coordinating process does everything that touches the course directory, serially:
copying submissions into ``submitted/``, nbgrader's sanitising preprocessors (``ClearOutput``,
``DeduplicateIds``, ``OverwriteKernelspec``, ``OverwriteCells`` with deleted test cells added
back, ``CheckCellMetadata``), and, when a notebook's outputs come back, nbgrader's
``IgnorePattern``, ``LimitOutput``, ``SaveAutoGrades``, ``AssignLatePenalties`` and
``CheckCellMetadata`` before writing ``autograded/``. Only this process opens the gradebook.
The pool only executes code cells and returns their outputs (``autograder.pool``).

Each student's outcome is written last, atomically, to ``COURSE/autograder/LAB/STUDENT.json``
with a key (a hash of the submission, the lab source and the limits); a run that finds a
result with the same key skips that student, so a run killed at any point and started again
finishes the class with every grade exactly once.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import shutil
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .course import Course, UsageError, atomic_write, tree_hash

MAX_EXTRA_FILES_BYTES = 50 * 1024 * 1024
MAX_ZIP_BYTES = 2 * 1024 * 1024 * 1024
ALLOWED_OUTPUTS = {"stream", "display_data", "execute_result", "error"}


# ---------------------------------------------------------------- collecting submissions
def _safe_extract(zip_path: Path, dest: Path) -> None:
    total = 0
    with zipfile.ZipFile(zip_path) as zf:
        for info in zf.infolist():
            name = info.filename
            target = (dest / name).resolve()
            if not str(target).startswith(str(dest.resolve()) + os.sep) and target != dest.resolve():
                raise UsageError(f"{zip_path}: member {name!r} would be written outside the folder")
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            total += info.file_size
            if total > MAX_ZIP_BYTES:
                raise UsageError(f"{zip_path} unpacks to more than {MAX_ZIP_BYTES >> 20} MB")
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)


def _find_root(folder: Path, lab: str) -> Path:
    """The folder whose children are student folders (a zip may add one or two levels)."""
    for candidate in [folder, *sorted(p for p in folder.iterdir() if p.is_dir()),
                      *sorted(q for p in folder.iterdir() if p.is_dir() for q in p.iterdir() if q.is_dir())]:
        if any((s / lab).is_dir() for s in candidate.iterdir() if s.is_dir()):
            return candidate
    return folder


def collect(course: Course, lab: str, submissions: str | Path, tmp: Path) -> list[str]:
    """Copy SUBDIR/<student>/<LAB>/ into COURSE/submitted/<student>/<LAB>/; the students found."""
    src = Path(submissions)
    if not src.exists():
        raise UsageError(f"--submissions {src} does not exist")
    if src.is_file():
        if not zipfile.is_zipfile(src):
            raise UsageError(f"--submissions {src} is neither a folder nor a zip file")
        unpacked = tmp / "unzipped"
        unpacked.mkdir()
        _safe_extract(src, unpacked)
        src = unpacked
    root = _find_root(src, lab)
    students = []
    from nbgrader.coursedir import CourseDirectory

    for student_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        sid = student_dir.name
        try:
            CourseDirectory(student_id=sid)
        except Exception:  # noqa: BLE001 - nbgrader refuses some ids (e.g. with '+'): skip, loudly
            print(f"skipping {student_dir}: {sid!r} is not a valid nbgrader student id", file=sys.stderr)
            continue
        students.append(sid)
        dest = course.path("submitted", lab, sid)
        sub = student_dir / lab
        staged = Path(tempfile.mkdtemp(dir=course.root, prefix=".collect-"))
        if sub.is_dir():
            shutil.copytree(sub, staged / lab, symlinks=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        else:  # a misnamed or missing lab folder: keep what was handed in, graded as missing
            shutil.copytree(student_dir, staged / lab, symlinks=True,
                            ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
            atomic_write(staged / lab / ".autograder-misplaced",
                         f"no folder {lab}/ in the submission; found: "
                         + ", ".join(sorted(p.name for p in student_dir.iterdir())[:10]))
        if dest.exists() and tree_hash(dest) == tree_hash(staged / lab):
            shutil.rmtree(staged)
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        os.replace(staged / lab, dest)
        shutil.rmtree(staged, ignore_errors=True)
    return students


# ---------------------------------------------------------------- preparing one notebook
@dataclass
class Prepared:
    student: str
    notebook: str
    nb: NotebookNode | None = None
    resources: dict = field(default_factory=dict)
    job: dict | None = None
    note: str = ""
    failure: str = ""


def _resources(course: Course, lab: str, student: str, notebook: str) -> dict:
    return {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
            "nbgrader": {"student": student, "assignment": lab, "notebook": notebook,
                         "db_url": course.db_url}}


def _preprocessors(course: Course, names: list):
    out = []
    for cls in names:
        out.append(cls(config=course.config))
    return out


def _extra_files(course: Course, lab: str, subdir: Path) -> dict[str, str]:
    """The submission's own non-notebook files, then the lab's (which win), base64, capped."""
    files: dict[str, bytes] = {}
    total = 0
    for base in (subdir, course.root / "source" / lab):
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb":
                continue
            rel = str(path.relative_to(base))
            if rel in ("timestamp.txt", ".autograder-misplaced") or ".ipynb_checkpoints" in rel:
                continue
            size = path.stat().st_size
            if total + size > MAX_EXTRA_FILES_BYTES:
                continue
            total += size
            files[rel] = path.read_bytes()
    return {k: base64.b64encode(v).decode() for k, v in files.items()}


def prepare(course: Course, lab: str, student: str, notebook: str, limits: dict) -> Prepared:
    from nbconvert.preprocessors import ClearOutputPreprocessor  # noqa: F401 - nbconvert present
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        DeduplicateIds,
        OverwriteCells,
        OverwriteKernelspec,
    )

    prep = Prepared(student, notebook)
    subdir = course.path("submitted", lab, student)
    path = subdir / f"{notebook}.ipynb"
    misplaced = subdir / ".autograder-misplaced"
    if misplaced.exists():
        prep.failure = misplaced.read_text()
        return prep
    if not path.exists():
        others = sorted(p for p in subdir.glob("*.ipynb"))
        if len(others) == 1:
            prep.note = f"graded {others[0].name} as {notebook}.ipynb (misnamed)"
            path = others[0]
        else:
            found = ", ".join(p.name for p in others) or "no notebook"
            prep.failure = f"{notebook}.ipynb is missing from the submission (found: {found})"
            return prep
    try:
        raw = path.read_bytes()
        if not raw.strip():
            raise ValueError("the file is empty")
        nb = nbformat.reads(raw.decode("utf-8"), as_version=4)
        if not isinstance(nb.get("cells"), list):
            raise ValueError("it has no list of cells")
    except Exception as exc:  # noqa: BLE001
        prep.failure = f"{path.name} is not a readable notebook ({type(exc).__name__}: {str(exc)[:200]})"
        return prep
    resources = _resources(course, lab, student, notebook)
    try:
        for pp in _preprocessors(course, [ClearOutput, DeduplicateIds, OverwriteKernelspec, OverwriteCells,
                                          CheckCellMetadata]):
            nb, resources = pp(nb, resources)
    except Exception as exc:  # noqa: BLE001 - nbgrader refuses it (e.g. broken cell metadata)
        prep.failure = (f"nbgrader could not read the notebook's cells "
                        f"({type(exc).__name__}: {str(exc)[:300]})")
        return prep
    prep.nb, prep.resources = nb, resources
    cells = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    prep.job = {"id": f"{student}-{notebook}"[:60], "cells": cells,
                "files": _extra_files(course, lab, subdir),
                "timeout": limits["timeout"], "memory_mb": limits["memory_mb"],
                "env": {"NBGRADER_EXECUTION": "autograde"}}
    return prep


# ---------------------------------------------------------------- saving one notebook
def _clean_output(out) -> dict:
    """An output from the sandbox, checked: nothing but nbformat's output types and plain data."""
    if not isinstance(out, dict) or out.get("output_type") not in ALLOWED_OUTPUTS:
        return {"output_type": "error", "ename": "InvalidOutput",
                "evalue": "an output the grader cannot read", "traceback": []}
    kind = out["output_type"]
    if kind == "stream":
        return {"output_type": "stream", "name": "stderr" if out.get("name") == "stderr" else "stdout",
                "text": str(out.get("text", ""))}
    if kind == "error":
        tb = out.get("traceback")
        return {"output_type": "error", "ename": str(out.get("ename", "Error")),
                "evalue": str(out.get("evalue", "")),
                "traceback": [str(x) for x in tb] if isinstance(tb, list) else []}
    data = out.get("data") if isinstance(out.get("data"), dict) else {}
    data = {str(k): (v if isinstance(v, (str, dict, list)) else str(v)) for k, v in data.items()}
    meta = out.get("metadata") if isinstance(out.get("metadata"), dict) else {}
    clean = {"output_type": kind, "data": data, "metadata": meta}
    if kind == "execute_result":
        count = out.get("execution_count")
        clean["execution_count"] = count if isinstance(count, int) else None
    return clean


def _not_run(reason: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename="NotRun", evalue=reason,
                                  traceback=[f"NotRun: this cell did not run: {reason}"])


def save(course: Course, lab: str, prep: Prepared, reply: dict) -> tuple[str, str]:
    """Merge outputs into the sanitised notebook, run nbgrader's saving preprocessors. (status, reason)."""
    from nbconvert.preprocessors import ClearMetadataPreprocessor
    from nbgrader import utils
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        CheckCellMetadata,
        IgnorePattern,
        LimitOutput,
    )

    status = {"ok": "graded", "timeout": "timeout", "died": "died"}.get(
        reply.get("status"), "died")
    reason = str(reply.get("reason") or "")
    if reply.get("status") == "error":
        reason = reason or "the grading worker failed"
    results = reply.get("cells") if isinstance(reply.get("cells"), list) else []
    nb = prep.nb
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code_cells):
        if i < len(results) and isinstance(results[i], dict):
            outs = results[i].get("outputs") if isinstance(results[i].get("outputs"), list) else []
            cell.outputs = [nbformat.from_dict(_clean_output(o)) for o in outs]
            count = results[i].get("execution_count")
            cell.execution_count = count if isinstance(count, int) else None
        else:
            cell.outputs = []
            cell.execution_count = None
            if utils.is_grade(cell):
                cell.outputs = [_not_run(reason or "the notebook stopped before it")]
    resources = prep.resources
    for pp in _preprocessors(course, [IgnorePattern, ClearMetadataPreprocessor, LimitOutput,
                                      _SaveAutoGradesOnce, AssignLatePenalties, CheckCellMetadata]):
        nb, resources = pp(nb, resources)
    prep.nb = nb
    return status, reason


def _save_autograde_cls():
    from nbgrader.api import Gradebook
    from nbgrader.preprocessors import NbGraderPreprocessor, SaveAutoGrades

    class SaveAutoGradesOnce(SaveAutoGrades):
        """nbgrader's SaveAutoGrades, committed once per notebook (atomic, and much faster)."""

        def preprocess(self, nb, resources):
            self.notebook_id = resources["nbgrader"]["notebook"]
            self.assignment_id = resources["nbgrader"]["assignment"]
            self.student_id = resources["nbgrader"]["student"]
            self.db_url = resources["nbgrader"]["db_url"]
            self.gradebook = Gradebook(self.db_url)
            with self.gradebook:
                session = self.gradebook.db
                real_commit = session.commit
                session.commit = lambda: None
                try:
                    nb, resources = NbGraderPreprocessor.preprocess(self, nb, resources)
                finally:
                    del session.commit
                real_commit()
            return nb, resources

    return SaveAutoGradesOnce


class _Lazy:
    def __init__(self, factory):
        self.factory, self.cls = factory, None

    def __call__(self, *args, **kwargs):
        if self.cls is None:
            self.cls = self.factory()
        return self.cls(*args, **kwargs)


_SaveAutoGradesOnce = _Lazy(_save_autograde_cls)


# ---------------------------------------------------------------- per-student bookkeeping
def _zero_notebook(course: Course, lab: str, student: str, notebook: str) -> None:
    """What nbgrader does for a missing notebook: every grade of it scores 0, no manual grading."""
    with course.gradebook() as gb:
        sub = gb.find_submission_notebook(notebook, lab, student)
        for grade in sub.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()


def _open_submission(course: Course, lab: str, student: str) -> None:
    with course.gradebook() as gb:
        gb.update_or_create_student(student)
        timestamp = course.coursedir.get_existing_timestamp(str(course.path("submitted", lab, student)))
        if timestamp:
            gb.update_or_create_submission(lab, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(lab, student)


def _write_autograded(course: Course, lab: str, student: str, notebooks: dict[str, NotebookNode]) -> None:
    """COURSE/autograded/STUDENT/LAB: the submission's files, the lab's files, the graded notebooks."""
    dest = course.path("autograded", lab, student)
    dest.parent.mkdir(parents=True, exist_ok=True)
    staged = Path(tempfile.mkdtemp(dir=dest.parent, prefix=f".{lab}-"))
    sub = course.path("submitted", lab, student)
    for base in (sub, course.root / "source" / lab):
        for path in base.rglob("*"):
            if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb":
                continue
            rel = path.relative_to(base)
            if ".ipynb_checkpoints" in rel.parts or rel.name == ".autograder-misplaced":
                continue
            (staged / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, staged / rel)
    for name, nb in notebooks.items():
        nbformat.write(nb, str(staged / f"{name}.ipynb"))
    if dest.exists():
        old = dest.with_name(f".{lab}-old-{os.getpid()}")
        os.replace(dest, old)
        os.replace(staged, dest)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(staged, dest)


def submission_key(course: Course, lab: str, student: str, limits: dict) -> str:
    h = hashlib.sha256()
    h.update(tree_hash(course.path("submitted", lab, student)).encode())
    h.update(tree_hash(course.root / "source" / lab).encode())
    h.update(json.dumps(limits, sort_keys=True).encode())
    return h.hexdigest()


def scores(course: Course, lab: str, student: str) -> tuple[float, float, float]:
    """(score, max_score, auto_score) from the gradebook: manual grades included."""
    with course.gradebook() as gb:
        sub = gb.find_submission(lab, student)
        auto = sum((g.auto_score or 0) for nb in sub.notebooks for g in nb.grades)
        return float(sub.score), float(sub.max_score), float(auto)


def read_result(course: Course, lab: str, student: str) -> dict | None:
    path = course.state_dir(lab) / f"{student}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


# ---------------------------------------------------------------- progress on the terminal
class Progress:
    def __init__(self, total: int, stream=None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.counts = {"graded": 0, "died": 0, "timeout": 0, "failed": 0, "skipped": 0}
        self.start = time.monotonic()

    def update(self, student: str, status: str, detail: str) -> None:
        self.done += 1
        self.counts[status] = self.counts.get(status, 0) + 1
        if self.tty:
            width = 30
            filled = int(width * self.done / max(self.total, 1))
            bar = "#" * filled + "." * (width - filled)
            line = (f"\r[{bar}] {self.done}/{self.total}  graded {self.counts['graded']}"
                    f"  died {self.counts['died']}  timeout {self.counts['timeout']}"
                    f"  failed {self.counts['failed']}  {time.monotonic() - self.start:.0f} s")
            self.stream.write(line)
            if self.done == self.total:
                self.stream.write("\n")
        else:
            self.stream.write(f"[{self.done}/{self.total}] {student}: {status} {detail}\n")
        self.stream.flush()


# ---------------------------------------------------------------- the whole class
@dataclass
class Summary:
    lab: str
    rows: list[dict]
    elapsed: float
    workers: int
    sandbox: str

    def counts(self) -> dict[str, int]:
        out = {"graded": 0, "died": 0, "timeout": 0, "failed": 0}
        for row in self.rows:
            out[row["status"]] = out.get(row["status"], 0) + 1
        return out

    def text(self) -> str:
        c = self.counts()
        mean = sum(r["score"] for r in self.rows) / len(self.rows) if self.rows else 0.0
        max_score = max((r["max_score"] for r in self.rows), default=0.0)
        return (f"{self.lab}: {len(self.rows)} submissions in {self.elapsed:.1f} s "
                f"({self.workers} workers, sandbox {self.sandbox}): graded {c['graded']}, "
                f"kernel died {c['died']}, timed out {c['timeout']}, failed {c['failed']}; "
                f"mean score {mean:.2f} / {max_score:g}")


def grade(course: Course, lab: str, submissions: str | Path | None, *, workers: int | None = None,
          timeout: float = 300.0, memory_mb: int = 2048, scheduler: str | None = None,
          sandbox: str | None = None, force: bool = False, students: list[str] | None = None,
          stream=None) -> Summary:
    from .sandbox import SandboxUnavailable, choose_sandbox

    start = time.monotonic()
    if timeout <= 0 or memory_mb < 64:
        raise UsageError("--timeout must be positive and --memory at least 64 MB")
    workers = workers or os.cpu_count() or 1
    if workers < 1:
        raise UsageError("--workers must be at least 1")
    course.lab_source(lab)
    if submissions is not None and not Path(submissions).exists():
        raise UsageError(f"--submissions {submissions} does not exist")
    try:
        sandbox = choose_sandbox(sandbox)
    except SandboxUnavailable as exc:
        raise UsageError(str(exc)) from exc
    if sandbox == "none":
        if os.geteuid() == 0 and os.environ.get("AUTOGRADER_SANDBOX") != "none":
            raise UsageError("refusing to run students' code as root without a sandbox: install bubblewrap "
                             "(apt-get install -y bubblewrap), or set AUTOGRADER_SANDBOX=none if you must")
        print("warning: bubblewrap (bwrap) not found: notebooks run without the namespace sandbox "
              "(no network, file-system or user isolation; only limits and a scratch folder)",
              file=sys.stderr)
    course.release(lab)
    notebooks = course.notebook_names(lab)
    limits = {"timeout": float(timeout), "memory_mb": int(memory_mb)}
    tmp = Path(tempfile.mkdtemp(prefix=".grade-", dir=course.root))
    try:
        if submissions is not None:
            found = collect(course, lab, submissions, tmp)
        else:
            sub_root = course.root / "submitted"
            found = sorted(p.name for p in sub_root.iterdir() if (p / lab).is_dir()) if sub_root.is_dir() \
                else []
        if students:
            found = [s for s in found if s in set(students)]
        if not found:
            where = submissions if submissions is not None else f"{course.root}/submitted"
            raise UsageError(f"no submissions of {lab} found in {where}")
        return _grade_students(course, lab, found, notebooks, limits, workers, scheduler, sandbox, force,
                               start, stream)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _grade_students(course, lab, students, notebooks, limits, workers, scheduler, sandbox, force, start,
                    stream):
    state = course.state_dir(lab)
    state.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(students), stream)
    rows: list[dict] = []
    todo: dict[str, dict] = {}  # student -> {"key", "preps": {notebook: Prepared}, "replies": {}}
    keys = {sid: submission_key(course, lab, sid, limits) for sid in students}
    pending = []
    for sid in students:
        old = read_result(course, lab, sid)
        if not force and old and old.get("key") == keys[sid]:
            rows.append(old)
            progress.update(sid, old["status"], "(already graded)")
        else:
            pending.append(sid)
    # the workers warm up (torch import) while the coordinator sanitises the notebooks
    pool = _make_pool(course, lab, workers, scheduler, sandbox) if pending else None
    try:
        for sid in pending:
            _open_submission(course, lab, sid)
            preps = {nb: prepare(course, lab, sid, nb, limits) for nb in notebooks}
            todo[sid] = {"key": keys[sid], "preps": preps, "replies": {}}
    except BaseException:
        if pool is not None:
            pool.close()
        raise

    def finish(sid: str) -> None:
        entry = todo[sid]
        statuses, reasons, graded = [], [], {}
        for name, prep in entry["preps"].items():
            if prep.failure:
                _zero_notebook(course, lab, sid, name)
                statuses.append("failed")
                reasons.append(prep.failure)
                continue
            try:
                status, reason = save(course, lab, prep, entry["replies"][name])
            except Exception as exc:  # noqa: BLE001 - never let one notebook stop the class
                _zero_notebook(course, lab, sid, name)
                status, reason = "failed", f"could not save the grades ({type(exc).__name__}: {exc})"
            else:
                graded[name] = prep.nb
            statuses.append(status)
            if reason:
                reasons.append(reason)
            if prep.note:
                reasons.append(prep.note)
        if graded:
            _write_autograded(course, lab, sid, graded)
        order = ["failed", "timeout", "died", "graded"]
        status = next(s for s in order if s in statuses) if statuses else "failed"
        if status == "failed" and any(s != "failed" for s in statuses):
            status = "died"  # some notebook graded, another could not be: partly graded
        score, max_score, auto = scores(course, lab, sid)
        row = {"student_id": sid, "assignment": lab, "score": score, "max_score": max_score,
               "auto_score": auto, "status": status, "reason": "; ".join(reasons), "key": entry["key"],
               "graded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write(course.state_dir(lab) / f"{sid}.json", json.dumps(row, indent=1))
        rows.append(row)
        detail = f"{score:g}/{max_score:g}" + (f" ({row['reason']})" if row["reason"] else "")
        progress.update(sid, status, detail)

    jobs = []
    waiting: dict[str, int] = {}
    for sid, entry in todo.items():
        n = 0
        for name, prep in entry["preps"].items():
            if prep.job is not None:
                jobs.append((f"{sid}\0{name}", prep.job))
                n += 1
        waiting[sid] = n
        if n == 0:
            finish(sid)
    try:
        if jobs:
            for key, reply in pool.run(jobs):
                sid, name = key.split("\0", 1)
                todo[sid]["replies"][name] = reply
                waiting[sid] -= 1
                if waiting[sid] == 0:
                    finish(sid)
    finally:
        if pool is not None:
            pool.close()
    rows.sort(key=lambda r: r["student_id"])
    summary = Summary(lab, rows, time.monotonic() - start, workers if not scheduler else 0, sandbox)
    return summary


def _make_pool(course, lab, workers, scheduler, sandbox):
    from .pool import DaskPool, LocalPool

    if scheduler:
        return DaskPool(scheduler, sandbox)
    log_dir = course.root / "autograder" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return LocalPool(min(workers, 64), sandbox, str(log_dir))


def copy_nb(nb: NotebookNode) -> NotebookNode:
    return copy.deepcopy(nb)
