"""The warm executor that runs inside the sandbox (never imported by the coordinator's grading path).

One server process per worker slot. It imports torch and cnnlib once, then, for every
notebook, forks a fresh child that runs the notebook's code cells one at a time in an IPython
shell (the same `InteractiveShell` that ipykernel builds on, so outputs, tracebacks, `sys.exit()`
and partial-credit `execute_result`s are what a kernel would give). Kernel start and the torch
import are paid once per worker instead of once per submission.

Protocol on the server's original stdin/stdout: frames of a 4-byte big-endian length and UTF-8
JSON. Request: ``{"cells": [source, ...], "files": {name: base64}, "timeout": s, "memory_mb": m,
"env": {...}}``. Reply: ``{"status": "ok"|"died"|"timeout"|"error", "reason": str,
"cells": [{"outputs": [...], "execution_count": n}, ...], "elapsed": s}`` with one entry per
cell that finished (cells after a death or a timeout are absent).

The child gets the next cell only after it reported the previous one, so code in an answer
cell never has the later (hidden) test cells in its memory or in a pipe it could read.
"""

from __future__ import annotations

import base64
import ctypes
import io
import json
import os
import resource
import select
import shutil
import signal
import struct
import sys
import time

MAX_CELL_OUTPUT = 1_000_000  # characters of text kept per cell (the rest is counted, not kept)
MAX_REPLY = 64_000_000  # bytes a child may send for one cell before it is killed
FILE_SIZE_LIMIT = 256 * 1024 * 1024  # RLIMIT_FSIZE of the child: no file may grow past this
PR_SET_DUMPABLE = 4
PR_SET_PDEATHSIG = 1


# ---------------------------------------------------------------- framing
def send(fd: int, obj) -> None:
    data = json.dumps(obj, default=str).encode()
    buf = struct.pack(">I", len(data)) + data
    view = memoryview(buf)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _read_exact(fd: int, n: int, deadline: float | None) -> bytes | None:
    chunks, got = [], 0
    while got < n:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def recv(fd: int, deadline: float | None = None, limit: int = 1 << 31):
    """One frame, or None at end of file. TimeoutError past the deadline, ValueError if too big."""
    head = _read_exact(fd, 4, deadline)
    if head is None:
        return None
    (n,) = struct.unpack(">I", head)
    if n > limit:
        raise ValueError(f"a reply of {n} bytes is over the limit of {limit}")
    data = _read_exact(fd, n, deadline)
    if data is None:
        return None
    return json.loads(data)


# ---------------------------------------------------------------- the child: an IPython shell
class _Capture:
    """Outputs of the cell being run, in nbformat v4 form, with a cap on the text kept."""

    def __init__(self):
        self.outputs: list[dict] = []
        self.chars = 0
        self.dropped = 0

    def stream(self, name: str, text: str) -> None:
        if not text:
            return
        room = MAX_CELL_OUTPUT - self.chars
        if room <= 0:
            self.dropped += len(text)
            return
        if len(text) > room:
            self.dropped += len(text) - room
            text = text[:room]
        self.chars += len(text)
        last = self.outputs[-1] if self.outputs else None
        if last and last["output_type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"output_type": "stream", "name": name, "text": text})

    def add(self, output: dict) -> None:
        size = len(json.dumps(output, default=str))
        if self.chars + size > MAX_CELL_OUTPUT:
            self.dropped += size
            return
        self.chars += size
        self.outputs.append(output)

    def take(self) -> list[dict]:
        if self.dropped:
            self.outputs.append({"output_type": "stream", "name": "stdout",
                                 "text": f"\n[autograder: {self.dropped} more characters dropped]\n"})
        out, self.outputs, self.chars, self.dropped = self.outputs, [], 0, 0
        return out


class _Stream(io.TextIOBase):
    def __init__(self, capture: _Capture, name: str):
        self._capture, self.name = capture, name

    def writable(self):
        return True

    def write(self, text):
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        self._capture.stream(self.name, text)
        return len(text)

    def isatty(self):
        return False

    @property
    def encoding(self):
        return "utf-8"


def _make_shell(capture: _Capture):
    from IPython.core.displayhook import DisplayHook
    from IPython.core.displaypub import DisplayPublisher
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    class Hook(DisplayHook):
        def write_output_prompt(self):
            pass

        def write_format_data(self, format_dict, md_dict=None):
            capture.add({"output_type": "execute_result", "data": format_dict,
                         "metadata": md_dict or {}, "execution_count": self.prompt_count})

    class Publisher(DisplayPublisher):
        def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **kw):
            capture.add({"output_type": "display_data", "data": data, "metadata": metadata or {}})

        def clear_output(self, wait=False):
            capture.outputs.clear()
            capture.chars = 0

    class Shell(InteractiveShell):
        def init_displayhook(self):
            from IPython.core.display_trap import DisplayTrap

            self.displayhook = Hook(shell=self, cache_size=self.cache_size)
            self.configurables.append(self.displayhook)
            self.display_trap = DisplayTrap(hook=self.displayhook)

        def init_display_pub(self):
            self.display_pub = Publisher(shell=self, parent=self)
            self.configurables.append(self.display_pub)

        def _showtraceback(self, etype, evalue, stb):
            capture.add({"output_type": "error", "ename": str(getattr(etype, "__name__", etype)),
                         "evalue": str(evalue), "traceback": list(stb)})

    cfg = Config()
    cfg.HistoryManager.enabled = False
    cfg.InteractiveShell.colors = "Linux"
    cfg.InteractiveShell.xmode = "Context"
    return Shell.instance(config=cfg)


def _fd_reader(path: str):
    """Bytes written to a file descriptor (C code, os.write) since the last call."""
    pos = [0]

    def read() -> str:
        try:
            with open(path, "rb") as f:
                f.seek(pos[0])
                data = f.read(MAX_CELL_OUTPUT)
                pos[0] = os.path.getsize(path)
        except OSError:
            return ""
        return data.decode("utf-8", "replace")

    return read


def _child(conn_r: int, conn_w: int, memory_mb: int, env: dict, shell_box: list) -> None:
    """Runs in the forked child: limits, then cells until told to stop. Never returns."""
    try:
        os.setsid()
        ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)
        for key, value in env.items():
            os.environ[key] = value
        base = _vm_size()
        limit = base + memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        # file-descriptor level output (C libraries, os.write) lands in files read after each cell
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        fd_dir = os.path.join("/tmp", f".fd-{os.getpid()}")
        os.makedirs(fd_dir, exist_ok=True)
        out_path, err_path = os.path.join(fd_dir, "1"), os.path.join(fd_dir, "2")
        os.dup2(os.open(out_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 1)
        os.dup2(os.open(err_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), 2)
        read_out, read_err = _fd_reader(out_path), _fd_reader(err_path)

        shell, capture = shell_box  # made before the fork: its hooks write into this capture
        sys.stdout, sys.stderr = _Stream(capture, "stdout"), _Stream(capture, "stderr")
        sys.stdin = open(os.devnull)
        while True:
            msg = recv(conn_r)
            if msg is None or "code" not in msg:
                break
            count = shell.execution_count
            shell.run_cell(msg["code"], store_history=True, silent=False)
            try:
                sys.stdout.flush()
                sys.stderr.flush()
            except Exception:  # noqa: BLE001 - student code may have replaced them
                pass
            if not isinstance(sys.stdout, _Stream):
                sys.stdout = _Stream(capture, "stdout")
            if not isinstance(sys.stderr, _Stream):
                sys.stderr = _Stream(capture, "stderr")
            capture.stream("stdout", read_out())
            capture.stream("stderr", read_err())
            # exit() only asks the front end to close, as in ipykernel: the next cells still run
            shell.exit_now = False
            send(conn_w, {"outputs": capture.take(), "execution_count": count})
    except BaseException as exc:  # noqa: BLE001 - report anything, then die
        try:
            send(conn_w, {"crash": f"{type(exc).__name__}: {exc}"})
        except Exception:  # noqa: BLE001
            pass
    finally:
        os._exit(0)


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- the server
def _kill_others(child: int) -> None:
    """Kill what the notebook left behind. In the sandbox's own PID namespace: every process but
    this server and bwrap's pid 1. Without a sandbox: only the child's session (setsid)."""
    if os.environ.get("AUTOGRADER_SANDBOXED") != "1":
        try:
            os.killpg(child, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return
    me, parent = os.getpid(), os.getppid()
    for _ in range(3):
        found = False
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid in (me, parent, 1):
                continue
            try:
                os.kill(pid, signal.SIGKILL)
                found = True
            except (ProcessLookupError, PermissionError):
                pass
        while True:
            try:
                pid, _ = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
        if not found:
            break
        time.sleep(0.01)


def _snapshot(root: str) -> dict[str, tuple[int, bytes | None]]:
    """Every path under root: (mode, bytes) for files, (mode, None) for folders."""
    snap = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            if os.path.isdir(path) and not os.path.islink(path):
                snap[path] = (st.st_mode, None)
            elif os.path.isfile(path) and not os.path.islink(path):
                with open(path, "rb") as f:
                    snap[path] = (st.st_mode, f.read())
    return snap


def _remove(path: str) -> None:
    try:
        if os.path.isdir(path) and not os.path.islink(path):
            for dirpath, dirnames, _ in os.walk(path):
                for d in dirnames:
                    try:
                        os.chmod(os.path.join(dirpath, d), 0o700)
                    except OSError:
                        pass
            os.chmod(path, 0o700)
            shutil.rmtree(path, ignore_errors=True)
        else:
            os.unlink(path)
    except OSError:
        pass


def _holds_a_binding(path: str) -> bool:
    """Is ``path`` a read-only binding of the sandbox (the venv, cnnlib) or on the way to one?"""
    bound = [b for b in os.environ.get("AUTOGRADER_BOUND", "").split(os.pathsep) if b]
    return any(b == path or b.startswith(path + os.sep) for b in bound)


class _Writable:
    """The sandbox's writable places, put back after every notebook: a notebook cannot leave
    anything (files, a planted configuration) for the next one."""

    def __init__(self):
        self.home = os.environ.get("HOME", "/home/grader")
        self.home_snapshot = _snapshot(self.home)
        self.dev = set(os.listdir("/dev"))

    def reset(self) -> None:
        for root in ("/tmp", "/dev/shm"):
            if os.path.isdir(root):
                try:
                    os.chmod(root, 0o1777 if root == "/tmp" else 0o755)
                except OSError:
                    pass
                for name in os.listdir(root):
                    path = os.path.join(root, name)
                    if not _holds_a_binding(path):
                        _remove(path)
        for name in set(os.listdir("/dev")) - self.dev:
            _remove(os.path.join("/dev", name))
        current = _snapshot(self.home)
        for path in sorted(set(current) - set(self.home_snapshot), reverse=True):
            _remove(path)
        for path, (mode, data) in sorted(self.home_snapshot.items()):
            if current.get(path) == (mode, data):
                continue
            if data is None:
                if not os.path.isdir(path):
                    _remove(path)
                    os.makedirs(path, exist_ok=True)
                os.chmod(path, mode & 0o7777)
            else:
                if os.path.isdir(path) and not os.path.islink(path):
                    _remove(path)
                with open(path, "wb") as f:
                    f.write(data)
                os.chmod(path, mode & 0o7777)


def run_job(job: dict, shell_box: list, writable: _Writable | None = None) -> dict:
    start = time.monotonic()
    scratch = os.path.join("/tmp", f"job-{job.get('id', 'x')}-{os.getpid()}-{int(start * 1000)}")
    os.makedirs(scratch, mode=0o700)
    for rel, b64 in (job.get("files") or {}).items():
        path = os.path.normpath(os.path.join(scratch, rel))
        if not path.startswith(scratch + os.sep):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(base64.b64decode(b64))
    cells = list(job["cells"])
    timeout = float(job.get("timeout", 300))
    deadline = start + timeout
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(to_child_w)
        os.close(from_child_r)
        os.chdir(scratch)
        _child(to_child_r, from_child_w, int(job.get("memory_mb", 2048)), job.get("env") or {}, shell_box)
    os.close(to_child_r)
    os.close(from_child_w)
    results: list[dict] = []
    status, reason = "ok", ""
    try:
        for index, code in enumerate(cells):
            try:
                send(to_child_w, {"code": code})
            except (BrokenPipeError, OSError):
                status, reason = "died", ""
                break
            try:
                reply = recv(from_child_r, deadline=deadline, limit=MAX_REPLY)
            except TimeoutError:
                status = "timeout"
                reason = f"the notebook ran over its time limit of {timeout:g} s in code cell {index + 1}"
                break
            except (ValueError, json.JSONDecodeError) as exc:
                status, reason = "died", f"code cell {index + 1} sent output the grader cannot read ({exc})"
                break
            if reply is None:
                status, reason = "died", ""
                break
            if "crash" in reply:
                status, reason = "died", f"the executor failed: {reply['crash']}"
                break
            results.append({"outputs": reply.get("outputs", []),
                            "execution_count": reply.get("execution_count")})
        else:
            try:
                send(to_child_w, {"stop": True})
            except OSError:
                pass
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            _, wstatus = os.waitpid(pid, 0)
        except ChildProcessError:
            wstatus = 0
        if status == "died" and not reason:
            where = f"while code cell {len(results) + 1} ran" if len(results) < len(cells) else "at the end"
            if os.WIFSIGNALED(wstatus) and os.WTERMSIG(wstatus) != signal.SIGKILL:
                sig = signal.Signals(os.WTERMSIG(wstatus)).name
                reason = f"the kernel died {where} (signal {sig})"
            elif os.WIFEXITED(wstatus):
                reason = f"the kernel died {where} (it exited with status {os.WEXITSTATUS(wstatus)})"
            else:
                reason = f"the kernel died {where} (killed: out of memory?)"
        os.close(to_child_w)
        os.close(from_child_r)
        _kill_others(pid)
        if writable is not None:
            writable.reset()
        shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(os.path.join("/tmp", f".fd-{pid}"), ignore_errors=True)
    return {"status": status, "reason": reason, "cells": results, "elapsed": time.monotonic() - start}


def main() -> None:
    proto_in = os.dup(0)
    proto_out = os.dup(1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # stray prints of imported modules go to the log, not the protocol
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # children cannot ptrace or open our fds
    os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    t0 = time.monotonic()
    preload = [m for m in os.environ.get("AUTOGRADER_PRELOAD", "").split(",") if m]
    for name in preload:
        try:
            __import__(name)
        except Exception as exc:  # noqa: BLE001 - a missing optional module only costs speed
            print(f"autograder server: could not preload {name}: {exc}", file=sys.stderr)
    capture = _Capture()
    shell_box = [_make_shell(capture), capture]
    writable = _Writable() if os.environ.get("AUTOGRADER_SANDBOXED") == "1" else None
    if writable is not None:
        writable.reset()
    send(proto_out, {"ready": True, "pid": os.getpid(), "uid": os.getuid(),
                     "warmup": time.monotonic() - t0})
    while True:
        job = recv(proto_in)
        if job is None:
            break
        try:
            reply = run_job(job, shell_box, writable)
        except Exception as exc:  # noqa: BLE001
            reply = {"status": "error", "reason": f"the grading worker failed: {exc}", "cells": []}
        send(proto_out, reply)


if __name__ == "__main__":
    main()
