"""Start and drive one warm executor (``autograder._server``), inside bubblewrap when it exists.

The sandbox (``bwrap``) gives the executor, and every student notebook it forks:
- new user, PID, network, IPC, UTS and cgroup namespaces: uid 65534 with no capabilities, no
  network interface but loopback, no view of the host's processes;
- a file system made only of read-only binds of what Python needs (``/usr``, the Python
  installation, the virtual environment, the ``cnnlib`` and ``autograder`` packages and a few
  files of ``/etc``) and a private ``/tmp`` (memory-backed, limited in size). The course
  directory, the lab sources with hidden tests, the gradebook, other submissions, exports and
  the rest of the repository are not mounted: they do not exist inside.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from . import _server

REPO = Path(__file__).resolve().parent.parent
PRELOAD = "numpy,torch,cnnlib,matplotlib,matplotlib.pyplot,matplotlib_inline.backend_inline,IPython"
ETC_FILES = ["ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
             "localtime", "mime.types", "fonts", "ssl/openssl.cnf"]
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


class SandboxUnavailable(RuntimeError):
    pass


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
        try:
            r = subprocess.run(bwrap_command(["/bin/true"]), capture_output=True, timeout=20)
            _BWRAP_OK = r.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _BWRAP_OK = False
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


def bwrap_command(argv: list[str], tmp_size_mb: int = 1024) -> list[str]:
    cmd = [bwrap_path() or "bwrap", "--unshare-all", "--unshare-user", "--uid", "65534", "--gid", "65534",
           "--die-with-parent", "--new-session", "--cap-drop", "ALL",
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
    # writable: /tmp, /home/grader (the warm worker's caches) and /dev; the worker puts all
    # three back as they were after every notebook. Everything else is read-only. The private
    # /tmp is mounted before the read-only binds, so that a venv or repository that lives
    # under /tmp (a CI clone, say) is bound on top of it instead of hidden by it.
    cmd += ["--proc", "/proc", "--dev", "/dev",
            "--size", str(tmp_size_mb * 1024 * 1024), "--tmpfs", "/tmp",
            "--size", str(64 * 1024 * 1024), "--tmpfs", "/home/grader"]
    bound = [*_python_roots(), *(str(REPO / package) for package in ("cnnlib", "autograder"))]
    for path in bound:
        cmd += ["--ro-bind", path, path]
    cmd += ["--remount-ro", "/", "--chdir", "/tmp", "--clearenv"]
    for key, value in SANDBOX_ENV.items():
        cmd += ["--setenv", key, value]
    cmd += ["--setenv", "AUTOGRADER_BOUND", os.pathsep.join(bound)]
    cmd += ["--setenv", "AUTOGRADER_PRELOAD", os.environ.get("AUTOGRADER_PRELOAD", PRELOAD),
            "--setenv", "AUTOGRADER_SANDBOXED", "1"]
    return cmd + ["--"] + argv


def server_argv() -> list[str]:
    boot = (f"import sys; sys.path.insert(0, {str(REPO)!r}); "
            "from autograder._server import main; main()")
    return [sys.executable, "-c", boot]


class Executor:
    """One warm server process: ``run(job)`` sends a notebook's cells, returns its reply.

    Anything the server does wrong (dies, hangs past the job's timeout, garbles a reply) costs
    only that job: the server is killed and started again for the next one.
    """

    def __init__(self, sandbox: str = "bwrap", log_path: str | None = None):
        self.sandbox = sandbox
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.lock = threading.Lock()

    def start(self) -> None:
        argv = server_argv()
        if self.sandbox == "bwrap":
            cmd, env = bwrap_command(argv), None
        else:
            cmd = argv
            env = {**os.environ, **SANDBOX_ENV,
                   "AUTOGRADER_PRELOAD": os.environ.get("AUTOGRADER_PRELOAD", PRELOAD),
                   "HOME": os.environ.get("HOME", "/tmp")}
            env.pop("MPLCONFIGDIR", None)
            env.pop("IPYTHONDIR", None)
        log = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        try:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log,
                                         env=env, start_new_session=True,
                                         cwd="/tmp" if self.sandbox == "none" else None)
        finally:
            if log is not subprocess.DEVNULL:
                log.close()
        try:
            self.info = _server.recv(self.proc.stdout.fileno(), deadline=time.monotonic() + 180,
                                     limit=1 << 20) or {}
        except (TimeoutError, ValueError, OSError) as exc:
            self.stop()
            raise RuntimeError(f"the grading worker did not start: {exc}") from exc
        if not self.info.get("ready"):
            self.stop()
            raise RuntimeError(f"the grading worker did not start (see {self.log_path or 'its log'})")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.kill()
        except OSError:
            pass
        proc.wait()
        for stream in (proc.stdin, proc.stdout):
            try:
                stream.close()
            except OSError:
                pass

    def run(self, job: dict) -> dict:
        with self.lock:
            if self.proc is None or self.proc.poll() is not None:
                self.stop()
                self.start()
            grace = 30.0
            try:
                _server.send(self.proc.stdin.fileno(), job)
                reply = _server.recv(self.proc.stdout.fileno(),
                                     deadline=time.monotonic() + float(job.get("timeout", 300)) + grace,
                                     limit=len(job.get("cells", ())) * _server.MAX_REPLY + (1 << 20))
            except (TimeoutError, ValueError, OSError) as exc:
                reply = {"status": "error", "cells": [], "reason": "the grading worker stopped answering "
                         f"({type(exc).__name__}); it was restarted"}
                self.stop()
                return reply
            if reply is None:
                self.stop()
                return {"status": "error", "cells": [],
                        "reason": "the grading worker died (the notebook killed it); it was restarted"}
            return reply
