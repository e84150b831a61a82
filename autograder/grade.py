"""Grade a class: collect, sanitise (nbgrader), execute (sandboxed pool), save grades (nbgrader).

The coordinating process does everything that touches the course directory, serially:
collecting submissions (``autograder.collect``), nbgrader's configured sanitising steps and the
configured autograde steps around execution (``autograder.steps``), writing ``autograded/`` and
the gradebook. Only this process opens the gradebook. The pool only executes code cells and
returns their outputs (``autograder.pool``), and nothing it returns is trusted: every output is
checked, and a worker that failed is never a student's grade.

Before nbgrader's steps, each notebook's nbgrader cells are matched to the lab's, cell by cell,
so that one odd cell never costs the whole notebook: a cell whose grade_id the lab does not
have, or a second copy of a cell (pasted), is graded as an ordinary cell; a deleted test cell
is put back from the lab (as nbgrader's ``add_missing_cells`` does); a deleted answer cell is
said in the reason (the tests that need it fail on their own).

Each student's outcome is written last, atomically, to ``COURSE/autograder/LAB/STUDENT.json``
with a key (a hash of the submission, the lab source and the limits) and the result of every
graded cell; a run that finds a result with the same key skips that student, unless it records
a failure of the grader (status ``error``), which is graded again.
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
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat import NotebookNode

from .collect import REFUSED, collect, refusal
from .course import Course, SourceCell, UsageError, atomic_write, tree_hash
from .steps import Steps, autograde_steps

MAX_EXTRA_FILES_BYTES = 50 * 1024 * 1024
MAX_NOTEBOOK_BYTES = 32 * 1024 * 1024
MAX_CODE_CELLS = 2000
ALLOWED_OUTPUTS = {"stream", "display_data", "execute_result", "error"}
INFRA = "error"  # the status of a notebook the grader could not run: never a grade, graded again


# ---------------------------------------------------------------- preparing one notebook
@dataclass
class Prepared:
    student: str
    notebook: str
    nb: NotebookNode | None = None
    resources: dict = field(default_factory=dict)
    job: dict | None = None
    notes: list[str] = field(default_factory=list)
    failure: str = ""


def _resources(course: Course, lab: str, student: str, notebook: str) -> dict:
    return {"unique_key": notebook, "output_files_dir": f"{notebook}_files",
            "nbgrader": {"student": student, "assignment": lab, "notebook": notebook,
                         "db_url": course.db_url}}


def _extra_files(course: Course, lab: str, subdir: Path, steps: Steps) -> dict[str, str]:
    """The submission's own non-notebook files, then the lab's (which win, except those the
    course's Autograde.exclude_overwriting keeps), base64, capped."""
    files: dict[str, bytes] = {}
    keep = set(steps.exclude_overwriting.get(lab, []))
    total = 0
    for base in (subdir, course.root / "source" / lab):
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.is_symlink() or not path.is_file() or path.suffix == ".ipynb":
                continue
            rel = str(path.relative_to(base))
            if rel in ("timestamp.txt", REFUSED) or ".ipynb_checkpoints" in rel:
                continue
            if base != subdir and rel in files and rel in keep:
                continue
            size = path.stat().st_size
            if total + size > MAX_EXTRA_FILES_BYTES:
                continue
            total += size
            files[rel] = path.read_bytes()
    return {k: base64.b64encode(v).decode() for k, v in files.items()}


def _missing_cell(course: Course, lab: str, notebook: str, gid: str) -> NotebookNode:
    """A deleted graded cell, as nbgrader's OverwriteCells puts it back (solutions cleared)."""
    from nbgrader.preprocessors import OverwriteCells

    with course.gradebook() as gb:
        source = gb.find_source_cell(gid, notebook, lab)
        record = gb.find_notebook(notebook, lab)
        graded = {c.name: c for c in [*record.grade_cells, *record.task_cells]}
        solutions = {c.name for c in record.solution_cells}
        tasks = {c.name for c in record.task_cells}
        cell = OverwriteCells(config=course.config).missing_cell_transform(
            source, graded[gid].max_score, is_solution=gid in solutions, is_task=gid in tasks)
    return nbformat.from_dict(cell)


def match_cells(course: Course, lab: str, notebook: str, nb: NotebookNode, cells: list[SourceCell],
                notes: list[str]) -> None:
    """Give each of the submission's nbgrader cells the lab's metadata, one cell at a time."""
    by_id = {c.grade_id: c for c in cells}
    seen: set[str] = set()
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader")
        if meta is None:
            continue
        gid = meta.get("grade_id") if isinstance(meta, dict) else None
        where = f"{cell.get('cell_type', 'a')} cell {index + 1}"
        if not isinstance(gid, str) or gid not in by_id:
            del cell.metadata["nbgrader"]
            if gid:
                notes.append(f"{where} has grade_id {str(gid)[:60]!r}, which the lab does not have: "
                             "graded as an ordinary cell")
            continue
        if gid in seen:
            del cell.metadata["nbgrader"]
            notes.append(f"{where} is a second copy of cell {gid!r}: the copy was not graded")
            continue
        seen.add(gid)
        cell.metadata["nbgrader"] = copy.deepcopy(by_id[gid].nbgrader)
    for position, source in enumerate(cells):
        if source.grade_id in seen:
            continue
        meta = source.nbgrader
        if not (meta.get("grade") or meta.get("task")):
            notes.append(f"the answer cell {source.grade_id!r} was deleted: the tests that need it fail")
            continue
        index = 0
        for earlier in reversed(cells[:position]):
            found = [i for i, c in enumerate(nb.cells)
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == earlier.grade_id]
            if found:
                index = found[0] + 1
                break
        nb.cells.insert(index, _missing_cell(course, lab, notebook, source.grade_id))
        seen.add(source.grade_id)
        kind = "test cell" if source.is_test else "cell"
        notes.append(f"the {kind} {source.grade_id!r} was deleted: put back from the lab")


def prepare(course: Course, lab: str, student: str, notebook: str, limits: dict, steps: Steps,
            cells: list[SourceCell]) -> Prepared:
    prep = Prepared(student, notebook)
    subdir = course.path("submitted", lab, student)
    refused = subdir / REFUSED
    if refused.is_file() and not refused.is_symlink():
        prep.failure = refused.read_text()[:1000]
        return prep
    why = refusal(subdir)
    if why:
        prep.failure = why
        return prep
    path = subdir / f"{notebook}.ipynb"
    if not path.exists():
        others = sorted(p for p in subdir.glob("*.ipynb"))
        if len(others) == 1:
            prep.notes.append(f"graded {others[0].name} as {notebook}.ipynb (misnamed)")
            path = others[0]
        else:
            found = ", ".join(p.name for p in others) or "no notebook"
            prep.failure = f"{notebook}.ipynb is missing from the submission (found: {found})"
            return prep
    try:
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            raise ValueError(f"it is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
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
        match_cells(course, lab, notebook, nb, cells, prep.notes)
        for pp in steps.sanitize + steps.before:
            nb, resources = pp(nb, resources)
    except Exception as exc:  # noqa: BLE001 - nbgrader refuses it (e.g. broken cell metadata)
        prep.failure = (f"nbgrader could not read the notebook's cells "
                        f"({type(exc).__name__}: {str(exc)[:300]})")
        return prep
    code = [cell.source for cell in nb.cells if cell.cell_type == "code"]
    if len(code) > MAX_CODE_CELLS:
        prep.failure = f"the notebook has {len(code)} code cells, more than the {MAX_CODE_CELLS} graded"
        return prep
    prep.nb, prep.resources = nb, resources
    prep.job = {"cells": code, "files": _extra_files(course, lab, subdir, steps),
                "timeout": limits["timeout"], "memory_mb": limits["memory_mb"],
                "cell_timeout": steps.cell_timeout, "timeout_error": steps.timeout_error,
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
    raw_data, raw_meta = out.get("data"), out.get("metadata")
    data = {str(k): (v if isinstance(v, (str, dict, list)) else str(v))
            for k, v in (raw_data.items() if isinstance(raw_data, dict) else ())}
    meta = raw_meta if isinstance(raw_meta, dict) else {}
    clean = {"output_type": kind, "data": data, "metadata": meta}
    if kind == "execute_result":
        count = out.get("execution_count")
        clean["execution_count"] = count if isinstance(count, int) else None
    return clean


def _not_run(reason: str) -> NotebookNode:
    return nbformat.v4.new_output("error", ename="NotRun", evalue=reason,
                                  traceback=[f"NotRun: this cell did not run: {reason}"])


def save(course: Course, lab: str, prep: Prepared, reply: dict, steps: Steps) -> tuple[str, str]:
    """Merge outputs into the sanitised notebook, run the configured steps after execution
    (nbgrader's: saving the grades among them). (status, reason)."""
    from nbgrader import utils

    status = {"ok": "graded", "timeout": "timeout", "died": "died"}.get(str(reply.get("status")), "died")
    reason = str(reply.get("reason") or "")
    cells = reply.get("cells")
    results: list = cells if isinstance(cells, list) else []
    nb = prep.nb
    if nb is None:   # only a notebook that was read and sanitised has a job, and so a reply
        raise ValueError(f"{prep.student}/{prep.notebook}: a reply for a notebook that was never prepared")
    code_cells = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code_cells):
        if i < len(results) and isinstance(results[i], dict):
            outputs = results[i].get("outputs")
            outs = outputs if isinstance(outputs, list) else []
            cell.outputs = [nbformat.from_dict(_clean_output(o)) for o in outs]
            count = results[i].get("execution_count")
            cell.execution_count = count if isinstance(count, int) else None
        else:
            cell.outputs = []
            cell.execution_count = None
            if utils.is_grade(cell):
                cell.outputs = [_not_run(reason or "the notebook stopped before it")]
    resources = prep.resources
    for pp in steps.after:
        nb, resources = pp(nb, resources)
    prep.nb = nb
    return status, reason


def cell_results(nb: NotebookNode, notebook: str) -> list[dict]:
    """Every graded cell of an autograded notebook: what it scored and why."""
    from nbgrader import utils

    out = []
    for cell in nb.cells:
        if not utils.is_grade(cell):
            continue
        meta = cell.metadata.nbgrader
        max_points = float(meta.get("points") or 0)
        if utils.is_solution(cell) or (cell.cell_type != "code"):
            out.append({"notebook": notebook, "grade_id": meta["grade_id"], "points": None,
                        "max_points": max_points, "passed": None, "status": "manual", "reason": ""})
            continue
        points, _ = utils.determine_grade(cell)
        errors = [o for o in cell.outputs if o.output_type == "error"]
        reason = ""
        if errors:
            reason = f"{errors[0].ename}: {errors[0].evalue}"[:300]
        elif any(o.output_type == "stream" and o.get("name") == "stderr" for o in cell.outputs):
            reason = "it wrote to stderr"
        status = ("not run" if errors and errors[0].ename == "NotRun" else
                  "passed" if points == max_points else "failed" if not points else "partial")
        out.append({"notebook": notebook, "grade_id": meta["grade_id"], "points": points,
                    "max_points": max_points, "passed": points == max_points, "status": status,
                    "reason": reason})
    return out


# ---------------------------------------------------------------- per-student bookkeeping
def _zero_notebook(course: Course, lab: str, student: str, notebook: str) -> None:
    """What nbgrader does for a missing notebook: every grade of it scores 0, no manual grading."""
    with course.gradebook() as gb:
        sub = gb.find_submission_notebook(notebook, lab, student)
        for grade in sub.grades:
            grade.auto_score = 0
            grade.needs_manual_grade = False
        gb.db.commit()


def _open_submission(course: Course, lab: str, student: str, steps: Steps) -> str:
    """The student's submission in the gradebook, with the collection's time; '' or why not."""
    from nbgrader.api import MissingEntry

    with course.gradebook() as gb:
        if steps.create_student:
            gb.update_or_create_student(student)
        else:
            try:
                gb.find_student(student)
            except MissingEntry:
                return (f"no student {student!r} in the gradebook, and the course's configuration "
                        "(Autograde.create_student = False) does not add them")
        try:
            timestamp = course.coursedir.get_existing_timestamp(str(course.path("submitted", lab, student)))
        except Exception:  # noqa: BLE001 - nbgrader fails on an unreadable timestamp: no time, then
            timestamp = None
        if timestamp:
            gb.update_or_create_submission(lab, student, timestamp=timestamp)
        else:
            gb.update_or_create_submission(lab, student)
    return ""


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
            if ".ipynb_checkpoints" in rel.parts or rel.name == REFUSED:
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


def submission_key(course: Course, lab: str, student: str, limits: dict, deadline: str = "") -> str:
    """What a grade depends on: the submission (its collection time too), the lab source, the
    limits, and ``deadline`` (the student's due date and the late policy)."""
    h = hashlib.sha256()
    h.update(tree_hash(course.path("submitted", lab, student)).encode())
    h.update(tree_hash(course.root / "source" / lab).encode())
    h.update(json.dumps(limits, sort_keys=True).encode())
    h.update(deadline.encode())
    return h.hexdigest()


def scores(course: Course, lab: str, student: str) -> dict:
    """The student's scores from the gradebook, manual grades included; ``score`` is net of the
    late penalty (as nbgrader's own export computes it), ``raw_score`` before it."""
    with course.gradebook() as gb:
        sub = gb.find_submission(lab, student)
        auto = sum((g.auto_score or 0) for nb in sub.notebooks for g in nb.grades)
        raw, penalty = float(sub.score), float(sub.late_submission_penalty or 0)
        return {"score": max(0.0, raw - penalty), "max_score": float(sub.max_score),
                "auto_score": float(auto), "raw_score": raw, "late_penalty": penalty,
                "seconds_late": float(sub.total_seconds_late)}


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
        self.counts = {"graded": 0, "died": 0, "timeout": 0, "failed": 0, INFRA: 0, "skipped": 0}
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
    limits: str = ""

    def counts(self) -> dict[str, int]:
        out = {"graded": 0, "died": 0, "timeout": 0, "failed": 0, INFRA: 0}
        for row in self.rows:
            out[row["status"]] = out.get(row["status"], 0) + 1
        return out

    def text(self) -> str:
        c = self.counts()
        scored = [r for r in self.rows if r["status"] != INFRA]
        mean = sum(r["score"] for r in scored) / len(scored) if scored else 0.0
        max_score = max((r["max_score"] for r in scored), default=0.0)
        limits = f", limits: {self.limits}" if self.limits else ""
        text = (f"{self.lab}: {len(self.rows)} submissions in {self.elapsed:.1f} s "
                f"({self.workers} workers, sandbox {self.sandbox}{limits}): graded {c['graded']}, "
                f"kernel died {c['died']}, timed out {c['timeout']}, failed {c['failed']}; "
                f"mean score {mean:.2f} / {max_score:g}")
        if c[INFRA]:
            text += (f"\n{c[INFRA]} not graded because the grader failed (see grades.csv's reason): "
                     "run the same command again to grade them")
        return text


def grade(course: Course, lab: str, submissions: str | Path | None, *, workers: int | None = None,
          timeout: float = 300.0, memory_mb: int = 2048, scheduler: str | None = None,
          sandbox: str | None = None, force: bool = False, students: list[str] | None = None,
          stream=None) -> Summary:
    from .late import configured_plugin
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
    steps = autograde_steps(course)
    late_plugin = configured_plugin(course)  # a late policy that cannot be made: exit 2, before any grading
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
        return _grade_students(course, lab, found, notebooks, limits, steps, workers, scheduler, sandbox,
                               force, start, stream, late_plugin)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _grade_students(course, lab, students, notebooks, limits, steps, workers, scheduler, sandbox, force,
                    start, stream, late_plugin):
    from .late import deadline_key, due_dates

    state = course.state_dir(lab)
    state.mkdir(parents=True, exist_ok=True)
    progress = Progress(len(students), stream)
    rows: list[dict] = []
    todo: dict[str, dict] = {}  # student -> {"key", "preps": {notebook: Prepared}, "replies": {}}
    due = due_dates(course, lab)
    keys = {sid: submission_key(course, lab, sid, limits, deadline_key(late_plugin, due, sid))
            for sid in students}
    pending = []
    for sid in students:
        old = read_result(course, lab, sid)
        if not force and old and old.get("key") == keys[sid] and old.get("status") != INFRA:
            rows.append(old)
            progress.update(sid, old["status"], "(already graded)")
        else:
            pending.append(sid)
    source = course.source_cells(lab)
    # the workers warm up (torch import) while the coordinator sanitises the notebooks
    pool = _make_pool(course, lab, workers, scheduler, sandbox) if pending else None
    try:
        for sid in pending:
            why = _open_submission(course, lab, sid, steps)
            preps = {nb: prepare(course, lab, sid, nb, limits, steps, source.get(nb, [])) for nb in notebooks}
            if why:
                for prep in preps.values():
                    prep.failure, prep.job = why, None
            todo[sid] = {"key": keys[sid], "preps": preps, "replies": {}}
    except BaseException:
        if pool is not None:
            pool.close()
        raise

    def finish(sid: str) -> None:
        entry = todo[sid]
        statuses, reasons, graded, cells = [], [], {}, []
        timing: dict[str, dict] = {}  # notebook -> its status and grading time (seconds in the sandbox)
        infra = [r for r in entry["replies"].values() if r.get("infra")]
        if infra:  # the grader failed, not the student: no grade is written; graded again next run
            reason = f"the grader failed, not the notebook ({infra[0].get('reason', '')}); run grade again"
            row = {"student_id": sid, "assignment": lab, "score": None, "max_score": None, "auto_score": None,
                   "status": INFRA, "reason": reason, "key": entry["key"], "cells": [],
                   "graded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            atomic_write(course.state_dir(lab) / f"{sid}.json", json.dumps(row, indent=1))
            rows.append(row)
            progress.update(sid, INFRA, reason)
            return
        for name, prep in entry["preps"].items():
            if prep.failure:
                _zero_notebook(course, lab, sid, name)
                statuses.append("failed")
                reasons.append(prep.failure)
                timing[name] = {"status": "failed", "seconds": None}
                continue
            reply = entry["replies"][name]
            try:
                status, reason = save(course, lab, prep, reply, steps)
            except Exception as exc:  # noqa: BLE001 - never let one notebook stop the class
                _zero_notebook(course, lab, sid, name)
                status, reason = "failed", f"could not save the grades ({type(exc).__name__}: {exc})"
            else:
                graded[name] = prep.nb
                cells += cell_results(prep.nb, name)
            statuses.append(status)
            elapsed = reply.get("elapsed")
            timing[name] = {"status": status,
                            "seconds": round(float(elapsed), 3) if isinstance(elapsed, int | float) else None}
            reasons += [r for r in (reason, str(reply.get("note") or "")) if r] + prep.notes
        if graded:
            _write_autograded(course, lab, sid, graded)
        order = ["failed", "timeout", "died", "graded"]
        status = next(s for s in order if s in statuses) if statuses else "failed"
        if status == "failed" and any(s != "failed" for s in statuses):
            status = "died"  # some notebook graded, another could not be: partly graded
        row = {"student_id": sid, "assignment": lab, **scores(course, lab, sid), "status": status,
               "reason": "; ".join(reasons), "key": entry["key"], "cells": cells, "notebooks": timing,
               "graded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        atomic_write(course.state_dir(lab) / f"{sid}.json", json.dumps(row, indent=1))
        rows.append(row)
        late = f", late penalty {row['late_penalty']:g}" if row["late_penalty"] else ""
        detail = f"{row['score']:g}/{row['max_score']:g}{late}"
        if row["reason"]:
            detail += f" ({row['reason']})"
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
        if jobs and pool is not None:   # a pool is made whenever a student is pending
            for key, reply in pool.run(jobs):
                sid, name = key.split("\0", 1)
                todo[sid]["replies"][name] = reply if isinstance(reply, dict) else {
                    "status": INFRA, "infra": True, "reason": "the pool returned no reply"}
                waiting[sid] -= 1
                if waiting[sid] == 0:
                    finish(sid)
    finally:
        if pool is not None:
            pool.close()
    rows.sort(key=lambda r: r["student_id"])
    return Summary(lab, rows, time.monotonic() - start, workers if not scheduler else 0, sandbox,
                   pool.limits if pool is not None else "")


def _make_pool(course, lab, workers, scheduler, sandbox):
    from .pool import DaskPool, LocalPool

    if scheduler:
        return DaskPool(scheduler, sandbox)
    log_dir = course.root / "autograder" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    return LocalPool(min(workers, 64), sandbox, str(log_dir))
