"""A lab's self-check: run the public tests of the saved notebook and say which pass.

A lab (``labs/source/<lab>/<lab>.ipynb``) ends with one call::

    from cnnlib.selfcheck import self_check
    self_check()

It reads the *saved* notebook (the kernel's working directory is the notebook's folder), runs
its code cells in a fresh kernel of the current Python environment (setup, answers and graded
test cells; hidden-test regions removed; the self-check cell itself skipped) and prints one line
per graded test cell: ``PASS`` or ``FAIL``, its ``grade_id``, its points and, for a failure, the
assertion's message. While nbgrader grades or validates a notebook it sets ``NBGRADER_EXECUTION``
in the kernel's environment; the self-check then does nothing but print a note, and it sets
``CNNLIB_SELFCHECK`` in the kernel it starts so that it never runs itself again.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from cnnlib.errors import CnnlibError

#: Set by nbgrader while it executes a notebook (``autograde`` or ``validate``).
NBGRADER_ENV = "NBGRADER_EXECUTION"
#: Set in the kernel a self-check starts, so that a self-check inside it does nothing.
SELFCHECK_ENV = "CNNLIB_SELFCHECK"

_HIDDEN = re.compile(r"^[ \t]*### BEGIN HIDDEN TESTS.*?^[ \t]*### END HIDDEN TESTS[^\n]*\n?",
                     re.MULTILINE | re.DOTALL)
_UNANSWERED = "YOUR ANSWER HERE"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CellResult:
    """The outcome of one graded test cell (``passed``) or one answer cell that raised."""

    grade_id: str
    points: float
    passed: bool
    message: str = ""
    kind: str = "test"          # "test": a graded test cell; "answer": an answer cell that raised


@dataclass
class SelfCheckReport:
    notebook: Path
    tests: list[CellResult] = field(default_factory=list)
    answers_raising: list[CellResult] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)   # written answers still "YOUR ANSWER HERE"
    setup_error: str = ""

    @property
    def points(self) -> float:
        return sum(t.points for t in self.tests if t.passed)

    @property
    def max_points(self) -> float:
        return sum(t.points for t in self.tests)

    def format(self) -> str:
        lines = [f"Self-check of {self.notebook.name} (the saved file), public tests only:"]
        if self.setup_error:
            lines.append(f"  {self.setup_error}")
        for a in self.answers_raising:
            lines.append(f"  answer cell {a.grade_id!r} raised {a.message}")
        width = max((len(t.grade_id) for t in self.tests), default=0)
        for t in self.tests:
            pts = f"{_fmt(t.points)} pt" + ("" if t.points == 1 else "s")
            line = f"  {'PASS' if t.passed else 'FAIL'}  {t.grade_id:<{width}}  {pts}"
            if not t.passed:
                line += f"  -- {t.message}"
            lines.append(line)
        lines.append(f"Public tests: {_fmt(self.points)} / {_fmt(self.max_points)} points.")
        if self.unanswered:
            lines.append("Written answers not yet answered: " + ", ".join(self.unanswered) + ".")
        lines.append("Hidden tests run at grading check more cases: passing these is necessary, "
                     "not sufficient. Written answers are graded by hand.")
        return "\n".join(lines)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


def self_check(notebook: str | os.PathLike | None = None, *, timeout: int = 120) -> None:
    """Run the saved notebook's public tests in a fresh kernel and print PASS/FAIL per test cell.

    ``notebook``: the lab's ``.ipynb``; by default the one notebook in the current directory
    (the notebook's folder, in Jupyter). ``timeout``: seconds allowed per cell.
    Save the notebook first: the check reads the file, not the cells on screen.
    """
    if os.environ.get(NBGRADER_ENV):
        print(f"Self-check skipped: nbgrader is running this notebook ({os.environ[NBGRADER_ENV]}).")
        return
    if os.environ.get(SELFCHECK_ENV):
        print("Self-check skipped: already inside a self-check.")
        return
    path = find_notebook(notebook)
    stale = _unsaved_cells(path)
    if stale:
        print("Warning: code you ran last is not in the saved notebook; save it (Ctrl+S / "
              "File > Save) and run the self-check again. Not saved: "
              + "; ".join(repr(s) for s in stale[:3]))
    print(f"Running the public tests of {path.name} in a fresh kernel...", flush=True)
    print(run_self_check(path, timeout=timeout).format())


def find_notebook(notebook: str | os.PathLike | None = None) -> Path:
    """The notebook to check: the given path, Jupyter's session path, or the one in cwd."""
    if notebook is not None:
        path = Path(notebook)
        if not path.is_file():
            raise CnnlibError(f"self_check: no notebook at {str(path)!r}")
        return path
    session = os.environ.get("JPY_SESSION_NAME", "")    # set by jupyter_server 2 for a kernel
    if session.endswith(".ipynb") and Path(session).is_file():
        return Path(session)
    here = Path.cwd()
    found = sorted(p for p in here.glob("*.ipynb") if not p.name.startswith("."))
    if len(found) == 1:
        return found[0]
    named = here / f"{here.name}.ipynb"       # nbgrader's layout: <lab>/<lab>.ipynb
    if named in found:
        return named
    if not found:
        raise CnnlibError(f"self_check: no .ipynb file in {str(here)!r}; pass the notebook's path, "
                          "e.g. self_check('lab1_counting.ipynb')")
    raise CnnlibError(f"self_check: several notebooks in {str(here)!r} "
                      f"({', '.join(p.name for p in found)}); pass the lab's path")


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _is_self_check(cell) -> bool:
    return cell.cell_type == "code" and "self_check(" in cell.source and "selfcheck" in cell.source


def _norm(source: str) -> str:
    return "\n".join(line.rstrip() for line in source.strip().splitlines())


def _unsaved_cells(path: Path, last: int = 5) -> list[str]:
    """First lines of the cells this kernel ran last that are not in the saved notebook."""
    try:
        from IPython import get_ipython
    except ImportError:  # pragma: no cover - the self-check runs in Jupyter
        return []
    ip = get_ipython()
    if ip is None or not hasattr(ip, "history_manager"):
        return []
    import nbformat

    saved = {_norm(c.source) for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"}
    ran = [s for s in ip.history_manager.input_hist_raw[1:] if s.strip()]
    recent = [s for s in ran[-(last + 1):] if "self_check(" not in s]
    return [_norm(s).splitlines()[0][:60] for s in recent if _norm(s) not in saved]


def run_self_check(path: str | os.PathLike, *, timeout: int = 120) -> SelfCheckReport:
    """Execute the notebook's code cells in a fresh kernel and collect the graded test results."""
    import ipykernel.kernelspec
    import nbformat
    from jupyter_client.kernelspec import KernelSpecManager
    from jupyter_client.manager import AsyncKernelManager
    from nbclient import NotebookClient

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook: say so plainly
        raise CnnlibError(f"self_check: cannot read {str(path)!r} as a notebook: {exc}") from exc
    report = SelfCheckReport(notebook=path)
    cells = []
    for cell in nb.cells:
        meta = _nbgrader(cell)
        if cell.cell_type == "markdown":
            if meta.get("solution") and meta.get("grade") and _UNANSWERED in cell.source:
                report.unanswered.append(meta.get("grade_id", "?"))
            continue
        if cell.cell_type != "code" or _is_self_check(cell):
            continue
        cell.outputs, cell.execution_count = [], None
        if meta.get("grade") and not meta.get("solution"):
            cell.source = _HIDDEN.sub("", cell.source)
        cells.append(cell)
    nb.cells = cells

    class _CurrentEnv(KernelSpecManager):
        """The kernel runs the Python of this process (as nbval's --nbval-current-env)."""

        def get_kernel_spec(self, kernel_name):
            return self.kernel_spec_class(resource_dir=ipykernel.kernelspec.RESOURCES,
                                          **ipykernel.kernelspec.get_kernel_dict())

    class _CurrentEnvKernel(AsyncKernelManager):
        def __init__(self, **kwargs):
            super().__init__(kernel_spec_manager=_CurrentEnv(), **kwargs)

    env = dict(os.environ, **{SELFCHECK_ENV: "1"})
    env.pop(NBGRADER_ENV, None)
    env.pop("JPY_SESSION_NAME", None)
    # The new kernel inherits this kernel's stdout and stderr, which Jupyter shows in the
    # student's notebook: its start-up log (ipykernel's "running over TCP without encryption"
    # warning) would land there. It goes to a file, read only if the kernel dies.
    kernel_log = tempfile.TemporaryFile(mode="w+")
    client = NotebookClient(
        nb, kernel_manager_class=_CurrentEnvKernel, kernel_name="python3", timeout=timeout,
        allow_errors=True,          # a failing cell is a result: run the next ones
        interrupt_on_timeout=True,  # a cell over the timeout is interrupted; the next ones still run
        error_on_timeout={"ename": "TimeoutError", "traceback": [],
                          "evalue": f"the cell ran longer than {timeout} s (an endless loop?)"},
        resources={"metadata": {"path": str(path.parent.resolve())}})
    with kernel_log:
        try:
            # passed on to KernelManager.start_kernel and the kernel's Popen
            client.execute(env=env, stdout=subprocess.DEVNULL, stderr=kernel_log)
        except Exception as exc:  # a dead kernel or a cell over the timeout stops the run
            report.setup_error = f"the run stopped: {type(exc).__name__}: {_first_line(str(exc))}"
            kernel_log.seek(0)
            last = [line for line in kernel_log.read().splitlines() if line.strip()][-1:]
            if last:
                report.setup_error += f" (the kernel's last words: {_first_line(last[0])})"

    for cell in nb.cells:
        meta = _nbgrader(cell)
        error = _error_of(cell)
        if error.startswith("KeyboardInterrupt"):
            error = f"TimeoutError: the cell ran longer than {timeout} s (an endless loop?)"
        ran = cell.get("execution_count") is not None or cell.outputs
        if meta.get("grade") and not meta.get("solution"):
            if not ran and not error:
                error = "not run (the kernel stopped before this cell)"
            report.tests.append(CellResult(meta.get("grade_id", "?"), float(meta.get("points", 0)),
                                           passed=not error, message=error))
        elif error and meta.get("solution"):
            report.answers_raising.append(CellResult(meta.get("grade_id", "?"), 0.0, False, error,
                                                     kind="answer"))
        elif error and not report.setup_error:
            report.setup_error = f"cell {meta.get('grade_id', '(no grade_id)')!r} raised {error}"
    return report


def _first_line(text: str) -> str:
    text = _ANSI.sub("", text).strip()
    return text.splitlines()[0] if text else ""


def _error_of(cell) -> str:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            value = _ANSI.sub("", out.get("evalue", "")).strip()
            if out.get("ename") == "NotImplementedError" and not value:
                value = "an answer is not written yet"
            return f"{out.get('ename', 'Error')}: {value}" if value else out.get("ename", "Error")
    return ""


if __name__ == "__main__":  # python -m cnnlib.selfcheck LAB.ipynb
    if len(sys.argv) != 2:
        sys.exit("usage: python -m cnnlib.selfcheck NOTEBOOK.ipynb")
    print(run_self_check(sys.argv[1]).format())
