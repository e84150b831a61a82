"""Start one warm worker (``autograder._server``) inside bubblewrap, and drive one notebook at a time on it.

The sandbox (``bwrap``, started with an empty environment) gives the server:
- new user, PID, network, IPC, UTS and cgroup namespaces; in its user namespace the server
  keeps only ``CAP_SYS_ADMIN``, ``CAP_SYS_CHROOT``, ``CAP_SYS_PTRACE`` and ``CAP_SETPCAP``, to
  build each notebook's own namespaces and join them (``autograder._server``); a notebook's
  process has no capability at all;
- a file system made only of read-only binds of what Python needs (``/usr``, the Python
  installation, the virtual environment, the ``cnnlib`` and ``autograder`` packages, a few files
  of ``/etc``; ``passwd``, ``group`` and ``hosts`` are the sandbox's own). The course directory,
  the lab sources with hidden tests, the gradebook, other submissions, exports and the rest of
  the repository are not mounted: they do not exist inside.

``Executor.run(job)`` is the coordinator's side of one notebook: it asks the server for a fresh
notebook process, sends the files and then each code cell over that process's own socket,
checks every answer against the job it sent, and returns what happened. A failure of the
worker (not of the notebook) is returned as ``{"infra": True, ...}`` and the worker is stopped,
so the caller can run the notebook again on a fresh one.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import channel
from .limits import PER_PROCESS, PROCESSES, Cgroup
from .outputs import NOTEBOOK_CHARS

REPO = Path(__file__).resolve().parent.parent
PRELOAD = "numpy,torch,cnnlib,matplotlib,matplotlib.pyplot,matplotlib_inline.backend_inline,IPython"
ETC_FILES = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "localtime", "mime.types",
             "fonts", "ssl/openssl.cnf"]
ETC_OWN = {
    "passwd": "root:x:0:0:root:/root:/usr/sbin/nologin\ngrader:x:65534:65534:grader:/home/grader:/bin/sh\n",
    "group": "root:x:0:\ngrader:x:65534:\n",
    "hosts": "127.0.0.1 localhost autograder\n::1 localhost\n",
}
SANDBOX_ENV = {
    "HOME": "/home/grader",
    "LANG": "C.UTF-8",
    "PATH": "/usr/local/bin:/usr/bin:/bin",
    "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    "MPLCONFIGDIR": "/home/grader/.matplotlib",
    "IPYTHONDIR": "/home/grader/.ipython",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONHASHSEED": "0",
    "NBGRADER_EXECUTION": "autograde",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "TQDM_DISABLE": "1",
}
SERVER_TMP_MB = 64  # the server's own /tmp; every notebook gets a new one of its own
HOME_MB = 64
SHM_MB = 64
START_TIMEOUT = 180.0
CONTROL_TIMEOUT = 30.0  # the server answers a spawn or reap within this, or it is broken
INTERRUPT_GRACE = 2.0  # a cell past ExecutePreprocessor.timeout gets this long to stop after SIGINT
CELL_FRAME_LIMIT = 8 * 1024 * 1024  # bytes of one cell's answer
NOTEBOOK_FRAME_LIMIT = 6 * NOTEBOOK_CHARS + 8 * 1024 * 1024  # bytes of all of a notebook's answers


class SandboxUnavailable(RuntimeError):
    pass


class WorkerFailure(RuntimeError):
    """The worker (not the notebook) broke: it is stopped, and the notebook may run again on a fresh one."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


def choose_sandbox(requested: str | None = None) -> str:
    """'bwrap' where bubblewrap is installed and works, else 'none' (with a warning upstream)."""
    requested = requested or os.environ.get("AUTOGRADER_SANDBOX", "auto")
    if requested not in ("auto", "bwrap", "none"):
        raise ValueError(f"sandbox must be auto, bwrap or none, not {requested!r}")
    if requested == "none":
        return "none"
    if bwrap_path() and _bwrap_works():
        return "bwrap"
    if requested == "bwrap":
        raise SandboxUnavailable(
            "bubblewrap is not usable here: install it (apt-get install -y bubblewrap) and make sure "
            "user namespaces are allowed")
    return "none"


_BWRAP_OK: bool | None = None


def _bwrap_works() -> bool:
    global _BWRAP_OK
    if _BWRAP_OK is None:
        fds = _etc_fds()
        try:
            r = subprocess.run(bwrap_command(["/bin/true"], fds), capture_output=True, timeout=20, env={},
                               pass_fds=list(fds.values()))
            _BWRAP_OK = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _BWRAP_OK = False
        finally:
            for fd in fds.values():
                os.close(fd)
    return _BWRAP_OK


def _python_roots() -> list[str]:
    """Directories the sandboxed Python needs, read-only: its installation and environment."""
    roots = {sys.base_prefix, sys.prefix, os.path.realpath(sys.base_prefix), os.path.realpath(sys.prefix)}
    exe = os.path.realpath(sys.executable)
    roots.add(os.path.dirname(os.path.dirname(exe)))
    for entry in sys.path:
        if not entry or not os.path.isdir(entry):
            continue
        real = os.path.realpath(entry)
        if real == str(REPO) or str(REPO).startswith(real + os.sep) or real == "/":
            continue  # never the repository root (labs/source is in it) nor a parent of it
        if any(real == r or real.startswith(r + os.sep) for r in roots):
            continue
        roots.add(real)
    return sorted(r for r in roots if r and not r.startswith("/usr/") and r != "/usr")


def _etc_fds() -> dict[str, int]:
    """The sandbox's own /etc/passwd, group and hosts, as memory files bubblewrap reads."""
    fds = {}
    for name, text in ETC_OWN.items():
        fd = os.memfd_create(f"autograder-{name}", 0)
        os.write(fd, text.encode())
        os.lseek(fd, 0, os.SEEK_SET)
        fds[name] = fd
    return fds


def bwrap_command(argv: list[str], etc_fds: dict[str, int]) -> list[str]:
    cmd = [bwrap_path() or "bwrap", "--unshare-all", "--unshare-user", "--uid", "0", "--gid", "0",
           "--die-with-parent", "--new-session", "--cap-drop", "ALL",
           "--cap-add", "CAP_SYS_ADMIN", "--cap-add", "CAP_SYS_CHROOT", "--cap-add", "CAP_SYS_PTRACE",
           "--cap-add", "CAP_SETPCAP",
           "--ro-bind", "/usr", "/usr"]
    for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/") / top
        if path.is_symlink():
            cmd += ["--symlink", os.readlink(path), str(path)]
        elif path.is_dir():
            cmd += ["--ro-bind", str(path), str(path)]
    for name in ETC_FILES:
        path = Path("/etc") / name
        if path.exists():
            cmd += ["--ro-bind", str(path), str(path)]
    for name, fd in etc_fds.items():
        cmd += ["--ro-bind-data", str(fd), f"/etc/{name}"]
    # the private /tmp is mounted before the read-only binds, so that a venv or repository that
    # lives under /tmp (a CI clone, say) is bound on top of it instead of hidden by it
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--size", str(SERVER_TMP_MB * 1024 * 1024), "--tmpfs", "/tmp",
            "--size", str(HOME_MB * 1024 * 1024), "--tmpfs", "/home/grader"]
    for root in [*_python_roots(), *(str(REPO / package) for package in ("cnnlib", "autograder"))]:
        cmd += ["--ro-bind", root, root]
    cmd += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for key, value in SANDBOX_ENV.items():
        cmd += ["--setenv", key, value]
    return cmd + ["--"] + argv


def server_argv(sandboxed: bool) -> list[str]:
    boot = (f"import sys; sys.path.insert(0, {str(REPO)!r}); "
            "from autograder._server import main; main(sys.argv[1:])")
    preload = os.environ.get("AUTOGRADER_PRELOAD", PRELOAD)
    return [sys.executable, "-c", boot, f"--preload={preload}", *(["--sandboxed"] if sandboxed else [])]


def _join_cgroup_prefix(files: list[str]) -> list[str]:
    """A shell that moves itself into the worker's control group, then becomes bubblewrap."""
    script = ('for f in "$@"; do [ "$f" = -- ] && break; echo 0 > "$f" || exit 97; shift; done; '
              'shift; exec "$@"')
    return ["/bin/sh", "-c", script, "sh", *files, "--"]


class Executor:
    """One warm server process and its control group; ``run(job)`` grades one notebook on it."""

    def __init__(self, sandbox: str = "bwrap", log_path: str | None = None, slot: str = "0"):
        self.sandbox = sandbox
        self.log_path = log_path
        self.slot = slot
        self.proc: subprocess.Popen | None = None
        self.ctrl: socket.socket | None = None
        self.cgroup: Cgroup | None = None
        self.info: dict = {}
        self.kind = ""
        self.student_ran = False
        self.lock = threading.Lock()

    @property
    def limits_kind(self) -> str:
        """Which per-notebook limits the last started worker had (see ``autograder.limits``)."""
        return self.kind

    # ------------------------------------------------------------ the worker
    def start(self) -> None:
        sandboxed = self.sandbox == "bwrap"
        argv = server_argv(sandboxed)
        fds = _etc_fds() if sandboxed else {}
        self.cgroup = Cgroup.create(self.slot)
        cmd = bwrap_command(argv, fds) if sandboxed else argv
        if self.cgroup is not None:
            cmd = _join_cgroup_prefix(self.cgroup.procs_files()) + cmd
        env = {} if sandboxed else {**SANDBOX_ENV, "HOME": os.environ.get("HOME", "/tmp")}
        if not sandboxed:
            env.pop("MPLCONFIGDIR", None)
            env.pop("IPYTHONDIR", None)
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, stdin=theirs.fileno(), stdout=log, stderr=log, env=env,
                                         start_new_session=True, pass_fds=list(fds.values()),
                                         cwd="/tmp" if not sandboxed else None)
        finally:
            theirs.close()
            for fd in fds.values():
                os.close(fd)
            if not isinstance(log, int):   # an open log file, not subprocess.DEVNULL
                log.close()
        self.ctrl = ours
        try:
            self.info = channel.recv(ours.fileno(), deadline=time.monotonic() + START_TIMEOUT) or {}
        except (TimeoutError, channel.FrameError, OSError) as exc:
            self.stop()
            raise WorkerFailure(f"the grading worker did not start: {type(exc).__name__} {exc}") from exc
        if not self.info.get("ready"):
            self.stop()
            raise WorkerFailure(f"the grading worker did not start (see {self.log_path or 'its log'})")
        if self.cgroup is not None:
            self.cgroup.record_baseline()
        self.kind = self.cgroup.kind if self.cgroup else PER_PROCESS

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if self.ctrl is not None:
            self.ctrl.close()
            self.ctrl = None
        if proc is not None:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            proc.wait()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def _send(self, msg: dict, fds: list[int] | None = None) -> socket.socket:
        """Send a control frame to the worker's server; its control socket, for the answer."""
        ctrl = self.ctrl
        if ctrl is None:
            raise WorkerFailure("the grading worker is not running")
        if fds:
            channel.send_with_fds(ctrl, msg, fds)
        else:
            channel.send(ctrl.fileno(), msg)
        return ctrl

    def _tell(self, msg: dict) -> None:
        """Send a control frame that has no answer."""
        try:
            self._send(msg)
        except (channel.FrameError, OSError) as exc:
            raise WorkerFailure(f"the grading worker stopped answering ({type(exc).__name__})") from exc

    def _control(self, msg: dict, fds: list[int] | None = None, *, answer: str) -> dict:
        """Send a control frame; read and check the server's answer (same nonce)."""
        try:
            ctrl = self._send(msg, fds)
            reply = channel.recv(ctrl.fileno(), deadline=time.monotonic() + CONTROL_TIMEOUT,
                                 limit=1 << 16)
        except (TimeoutError, channel.FrameError, OSError) as exc:
            raise WorkerFailure(f"the grading worker stopped answering ({type(exc).__name__})") from exc
        nonce = next(iter(msg.values()))
        if not isinstance(reply, dict) or reply.get(answer) != nonce:
            raise WorkerFailure(f"the grading worker answered out of turn ({str(reply)[:100]!r})")
        return reply

    # ------------------------------------------------------------ one notebook
    def run(self, job: dict) -> dict:
        """Grade one notebook. The reply: status ok|died|timeout, reason, cells (one entry per code
        cell that finished), elapsed; or ``infra: True`` when the worker broke (it is then stopped;
        ``started``: whether the notebook's own code had started to run)."""
        with self.lock:
            start = time.monotonic()
            self.student_ran = False
            try:
                if self.proc is None or self.proc.poll() is not None:
                    self.stop()
                    self.start()
                reply = self._run(job)
            except WorkerFailure as exc:
                self.stop()
                return {"status": "error", "infra": True, "started": self.student_ran, "cells": [],
                        "reason": str(exc), "elapsed": time.monotonic() - start}
            reply["elapsed"] = time.monotonic() - start
            return reply

    def _run(self, job: dict) -> dict:
        nonce = secrets.token_hex(16)
        memory_mb = int(job["memory_mb"])
        if self.cgroup is not None:
            self.cgroup.limit(memory_mb)
            oom_before = self.cgroup.oom_kills()
        spawn = {"spawn": nonce, "memory_mb": memory_mb, "processes": PROCESSES,
                 "tmp_mb": max(64, memory_mb), "shm_mb": SHM_MB, "home_mb": HOME_MB,
                 "env": job.get("env") or {}}
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            spawned = self._control(spawn, [theirs.fileno()], answer="spawned")
            if spawned.get("error"):
                raise WorkerFailure(str(spawned["error"])[:500])
            theirs.close()
            notebook = _Notebook(ours.fileno(), nonce, job, self._interrupt(nonce))
            try:
                outcome = notebook.run()
            finally:
                self.student_ran = notebook.started
        finally:
            ours.close()
            theirs.close()
        reaped = self._control({"reap": nonce, "ended": outcome.get("status") in ("ok", "died")},
                               answer="reaped")
        if outcome.get("infra") or reaped.get("error"):
            raise WorkerFailure(outcome.get("reason") or f"the notebook's sandbox failed: {reaped['error']}")
        oom = self.cgroup is not None and self.cgroup.oom_kills() > oom_before
        if outcome["status"] == "died" and not outcome.get("reason"):
            outcome["reason"] = _death_reason(outcome, reaped, oom, memory_mb)
        elif oom:
            killed = f"a process of the notebook was killed: out of memory (over {memory_mb} MB)"
            outcome["note"] = "; ".join(n for n in (outcome.get("note"), killed) if n)
        return outcome

    def _interrupt(self, nonce: str):
        def interrupt() -> None:
            self._tell({"interrupt": nonce})

        return interrupt


def _death_reason(outcome: dict, reaped: dict, oom: bool, memory_mb: int) -> str:
    where = outcome.get("where", "")
    if oom:
        return f"the kernel died {where} (out of memory: the notebook used more than {memory_mb} MB)"
    sig = reaped.get("signal")
    if isinstance(sig, int) and sig != signal.SIGKILL:
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"the kernel died {where} (signal {name})"
    if isinstance(reaped.get("exit"), int):
        return f"the kernel died {where} (it exited with status {reaped['exit']})"
    return f"the kernel died {where} (killed)"


class _Notebook:
    """The coordinator's conversation with one notebook's process, every answer checked."""

    def __init__(self, conn: int, nonce: str, job: dict, interrupt):
        self.conn, self.nonce, self.job, self.interrupt = conn, nonce, job, interrupt
        self.started = False  # the notebook's own code got its first cell
        self.cells: list[dict] = []
        self.notes: list[str] = []
        self.received = 0

    def _recv(self, deadline: float, limit: int):
        frame, size = channel.recv_counted(self.conn, deadline=deadline,
                                           limit=min(limit, NOTEBOOK_FRAME_LIMIT - self.received))
        self.received += size
        return frame

    def run(self) -> dict:
        job = self.job
        timeout = float(job["timeout"])
        cell_timeout = job.get("cell_timeout")
        deadline = time.monotonic() + timeout
        try:
            ready = channel.recv(self.conn, deadline=time.monotonic() + CONTROL_TIMEOUT, limit=4096)
        except (TimeoutError, channel.FrameError, OSError) as exc:
            return {"infra": True, "reason": f"the notebook's sandbox did not start ({type(exc).__name__})"}
        if not isinstance(ready, dict) or ready.get("ready") != self.nonce:
            error = ready.get("setup_error") if isinstance(ready, dict) else None
            why = f": {str(error)[:300]}" if error else ""
            return {"infra": True, "reason": f"the notebook's sandbox did not start{why}"}
        self.started = True
        try:
            channel.send(self.conn, {"files": job.get("files") or {}})
        except OSError:
            return {"status": "died", "cells": [], "where": "before its first cell"}
        cells = list(job["cells"])
        for index, code in enumerate(cells):
            where = f"while code cell {index + 1} ran"
            try:
                channel.send(self.conn, {"cell": index, "code": code})
            except OSError:
                return {"status": "died", "cells": self.cells, "where": where}
            reply, note = self._answer(index, deadline, cell_timeout)
            if isinstance(reply, dict) and "status" in reply:
                reply.setdefault("cells", self.cells)
                reply.setdefault("where", where)
                reply["note"] = "; ".join(self.notes)
                return reply
            self.cells.append(reply)
            if note:
                reply["outputs"].append(note)
        try:
            channel.send(self.conn, {"stop": True})
        except OSError:
            pass
        return {"status": "ok", "cells": self.cells, "reason": "", "note": "; ".join(self.notes)}

    def _answer(self, index: int, deadline: float, cell_timeout: float | None):
        """(the cell's checked answer, an extra output or None), or a final reply (died, timeout)."""
        timed_out = None
        cell_deadline = deadline
        if cell_timeout:
            cell_deadline = min(deadline, time.monotonic() + cell_timeout)
        while True:
            try:
                frame = self._recv(cell_deadline, CELL_FRAME_LIMIT)
                break
            except TimeoutError:
                if cell_deadline >= deadline or timed_out is not None:
                    if cell_deadline >= deadline:
                        limit = f"its time limit of {float(self.job['timeout']):g} s"
                    else:
                        limit = f"the per-cell limit of {cell_timeout:g} s and did not stop when interrupted"
                    return {"status": "timeout",
                            "reason": f"the notebook ran over {limit} in code cell {index + 1}"}, None
                # nbgrader's Execute: interrupt the kernel, record the timeout as the cell's error, go on
                self.interrupt()
                timed_out = dict(self.job.get("timeout_error") or {})
                cell_deadline = min(deadline, time.monotonic() + INTERRUPT_GRACE)
            except channel.FrameError as exc:
                return {"status": "died", "reason": f"code cell {index + 1} sent output the grader cannot "
                        f"accept ({exc})"}, None
            except OSError:
                frame = None
                break
        if frame is None:
            return {"status": "died"}, None
        outputs = frame.get("outputs") if isinstance(frame, dict) else None
        if not isinstance(outputs, list) or frame.get("cell") != index:
            return {"status": "died", "reason": f"code cell {index + 1} answered out of turn"}, None
        count = frame.get("execution_count")
        answer = {"outputs": outputs,
                  "execution_count": count if isinstance(count, int) else None}
        if timed_out is not None:
            self.notes.append(f"code cell {index + 1} ran over ExecutePreprocessor.timeout "
                              f"({cell_timeout:g} s) and was interrupted, as nbgrader does")
            return answer, {"output_type": "error", "ename": str(timed_out.get("ename", "CellTimeoutError")),
                            "evalue": str(timed_out.get("evalue", "")),
                            "traceback": [str(t) for t in timed_out.get("traceback", [])]}
        return answer, None
