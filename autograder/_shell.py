"""The notebook's process: an IPython shell that runs one notebook's code cells, one at a time.

It is the same ``InteractiveShell`` that ipykernel builds on, so outputs, tracebacks,
``sys.exit()`` and partial-credit ``execute_result``s are what a kernel would give. The shell is
built once in the warm server (``autograder._server``); each notebook runs in a forked copy.

Protocol on the notebook's own channel (``autograder.channel`` frames), driven by the
coordinator: first ``{"files": {relative name: base64}}`` (written into the working folder),
then ``{"cell": i, "code": source}`` for each code cell, each answered by ``{"cell": i,
"outputs": [...], "execution_count": n}``, then ``{"stop": true}``. The next cell is sent only
after the previous one was answered, so an answer cell never has a later (hidden) test cell in
its memory or in a descriptor it could read.
"""

from __future__ import annotations

import base64
import io
import os
import sys

from . import channel
from .outputs import CELL_CHARS, OutputBudget

FILES_LIMIT = 128 * 1024 * 1024  # bytes of the first frame (the submission's and lab's files, base64)
CELL_LIMIT = 16 * 1024 * 1024  # bytes of one cell's source frame


class _Stream(io.TextIOBase):
    def __init__(self, budget: OutputBudget, name: str):
        self._budget, self.name = budget, name

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._budget.stream(self.name, text)
        return len(text)

    def isatty(self):
        return False

    @property  # io.TextIOBase's encoding is read-only at run time (typeshed calls it an attribute)
    def encoding(self):  # type: ignore[override]
        return "utf-8"


def make_shell(budget: OutputBudget):
    """The IPython shell whose displays, results and tracebacks go into ``budget``."""
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            budget.add({"output_type": "execute_result", "data": format_dict,
                        "metadata": md_dict or {}, "execution_count": self.prompt_count})

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
            budget.add({"output_type": "display_data", "data": data, "metadata": metadata or {}})

        def clear_output(self, wait=False):
            budget.clear()

    class Shell(InteractiveShell):
        def init_displayhook(self):
            from IPython.core.display_trap import DisplayTrap

            self.displayhook = Hook(shell=self, cache_size=self.cache_size)
            self.configurables.append(self.displayhook)  # type: ignore[arg-type]  # IPython types it a shell list
            self.display_trap = DisplayTrap(hook=self.displayhook)

        def init_display_pub(self):
            self.display_pub = Publisher(shell=self, parent=self)
            self.configurables.append(self.display_pub)  # type: ignore[arg-type]  # (any Configurable goes)

        def _showtraceback(self, etype, evalue, stb):
            budget.add({"output_type": "error", "ename": str(getattr(etype, "__name__", etype)),
                        "evalue": str(evalue), "traceback": list(stb)})

    cfg = Config()
    cfg.HistoryManager.enabled = False
    cfg.InteractiveShell.colors = "Linux"
    cfg.InteractiveShell.xmode = "Context"
    return Shell.instance(config=cfg)


def _fd_reader(path: str):
    """Bytes written to a file descriptor (C code, os.write, subprocesses) since the last call."""
    pos = [0]

    def read() -> str:
        try:
            with open(path, "rb") as f:
                f.seek(pos[0])
                data = f.read(CELL_CHARS)
                pos[0] = os.fstat(f.fileno()).st_size
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    return read


def _write_files(files: dict) -> None:
    here = os.getcwd()
    for rel, b64 in files.items():
        path = os.path.normpath(os.path.join(here, str(rel)))
        if not path.startswith(here + os.sep):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(b64))


def run_notebook(conn: int, shell, budget: OutputBudget) -> None:
    """Serve one notebook on ``conn`` until told to stop or the channel closes."""
    first = channel.recv(conn, limit=FILES_LIMIT)
    if not isinstance(first, dict) or not isinstance(first.get("files"), dict):
        return
    _write_files(first["files"])
    del first
    # file-descriptor level output (C libraries, os.write, subprocesses) lands in files read after each cell
    fd_dir = "/tmp/.autograder-fd"
    os.makedirs(fd_dir, exist_ok=True)
    out_path, err_path = os.path.join(fd_dir, "1"), os.path.join(fd_dir, "2")
    for fd, path in ((1, out_path), (2, err_path)):
        opened = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(opened, fd)
        os.close(opened)
    read_out, read_err = _fd_reader(out_path), _fd_reader(err_path)
    sys.stdout, sys.stderr = _Stream(budget, "stdout"), _Stream(budget, "stderr")
    sys.stdin = open(os.devnull)
    while True:
        msg = channel.recv(conn, limit=CELL_LIMIT)
        if not isinstance(msg, dict) or not isinstance(msg.get("code"), str):
            return
        count = shell.execution_count
        result = shell.run_cell(msg["code"], store_history=True, silent=False)
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except Exception:  # noqa: BLE001 - student code may have replaced them
            pass
        if not isinstance(sys.stdout, _Stream):
            sys.stdout = _Stream(budget, "stdout")
        if not isinstance(sys.stderr, _Stream):
            sys.stderr = _Stream(budget, "stderr")
        budget.stream("stdout", read_out())
        budget.stream("stderr", read_err())
        error = result.error_in_exec or result.error_before_exec
        if error is not None and not budget.has_error():
            # as nbgrader does from the kernel's reply: a cell that raised always ends with its error
            budget.add({"output_type": "error", "ename": type(error).__name__, "evalue": str(error),
                        "traceback": []})
        # exit() only asks the front end to close, as in ipykernel: the next cells still run
        shell.exit_now = False
        channel.send(conn, {"cell": msg.get("cell"), "outputs": budget.take(), "execution_count": count})
