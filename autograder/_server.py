"""The warm server that runs inside the sandbox: one per worker slot, a fresh sealed process per notebook.

The server imports torch, numpy, cnnlib and matplotlib once and builds an IPython shell; then,
for each notebook, it forks a copy of itself that becomes the notebook's process. It never sees
a notebook's code, files or outputs: the coordinator sends those straight to the notebook's
process over a socket of its own, which the server hands on without reading. So the memory a
notebook's process starts from holds nothing of any student.

Per notebook:

- the **helper** (a small process forked from the server before the big imports, so forking it
  is cheap) makes the notebook's namespaces: its child enters new mount, PID, IPC, network and
  UTS namespaces and forks **B**, pid 1 there, which mounts what is the notebook's alone (a new
  ``/proc`` with the kernel's settings read-only, sized memory-backed ``/tmp``, ``/dev/shm`` and
  home; ``/dev`` read-only), drops every capability and only reaps. When B is killed the kernel
  kills every process of the notebook;
- the **server** forks **C** into B's PID namespace (``setns``: the one big fork per notebook);
  C joins B's other namespaces and, before any student code runs, closes every descriptor but
  its own channel, takes the notebook's limits (memory, file size, processes, an OOM score that
  makes the kernel pick it rather than the server), enters a user namespace of its own, drops
  every capability, sets no-new-privileges and a clean environment, then runs the cells
  (``autograder._shell``).

Nothing is shared with the next notebook: everything writable was mounted for this one and
disappears with it. Control protocol on the server's stdin, a Unix socket (``autograder.channel``
frames): ``{"spawn": nonce, ...limits}`` with the notebook's socket attached -> ``{"spawned":
nonce}``; ``{"interrupt": nonce}`` (SIGINT to the running cell, no answer); ``{"reap": nonce}``
-> ``{"reaped": nonce, "exit": code|None, "signal": number|None}`` once every process of the
notebook is gone. Anything else ends the server.
"""

from __future__ import annotations

import ctypes
import os
import re
import resource
import select
import signal
import socket
import sys
import time

from . import channel

libc = ctypes.CDLL(None, use_errno=True)

CLONE_NEWNS, CLONE_NEWUTS, CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP = 1, 4, 24
PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL = 38, 47, 4
KEYCTL_JOIN_SESSION_KEYRING = 1
SYS_KEYCTL = {"x86_64": 250, "aarch64": 219}.get(os.uname().machine)
FILE_SIZE_LIMIT = 256 * 1024 * 1024  # RLIMIT_FSIZE of the notebook: no file may grow past this
NOTEBOOK_DIR = "/tmp/notebook"
HOME = "/home/grader"
# /proc entries that change the host when written (the sandbox's user is the grader's user,
# often root, on the host) or that reveal it: read-only, or hidden, as container runtimes do
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus", "fs")
PROC_HIDDEN = ("kcore", "keys", "timer_list", "sched_debug", "latency_stats", "acpi", "scsi", "asound",
               "kmsg", "kallsyms", "kpagecount", "kpageflags", "kpagecgroup")
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")


class SetupError(RuntimeError):
    """The server could not build a notebook's sandbox: the grader's failure, never the student's."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(err)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    _check(libc.mount(source.encode() if source else None, target.encode(),
                      fstype.encode() if fstype else None, flags, data.encode() if data else None),
           f"mount {target}")


def _read_only(path: str, extra: int = 0) -> None:
    """Bind ``path`` on itself and make that binding read-only (only in this mount namespace)."""
    _mount(path, path, None, MS_BIND | MS_REC)
    _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | extra)


def cover_proc(root: str = "/proc") -> None:
    for name in PROC_READ_ONLY:
        path = os.path.join(root, name)
        if os.path.exists(path):
            _read_only(path, MS_NOSUID | MS_NODEV | MS_NOEXEC)
    for name in PROC_HIDDEN:
        path = os.path.join(root, name)
        if os.path.isdir(path):
            _mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k,mode=555")
        elif os.path.exists(path):
            _mount("/dev/null", path, None, MS_BIND)
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC)


def _close_fds_except(keep: set[int]) -> None:
    low = 0
    for fd in sorted(keep) + [2**31 - 1]:
        if fd > low:
            os.closerange(low, fd)
        low = fd + 1


def _std_to_devnull() -> None:
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        if fd != null:
            os.dup2(null, fd)
    if null > 2:
        os.close(null)


def _drop_capabilities() -> None:
    """No capability in any set, none obtainable again (bounding set emptied, no-new-privileges)."""
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    try:
        with open("/proc/sys/kernel/cap_last_cap") as f:
            last = int(f.read())
    except (OSError, ValueError):
        last = 63
    for cap in range(last + 1):
        libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0)  # fails without CAP_SETPCAP (no sandbox): nothing to drop

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    header, data = Header(0x20080522, 0), (Data * 2)()
    _check(libc.capset(ctypes.byref(header), data), "capset")
    _check(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def _vm_size() -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    return 0


# ---------------------------------------------------------------- the helper: namespaces, and B
def _bindings_under(root: str) -> list[str]:
    """Mount points below ``root`` (the read-only bindings of a venv or repository under /tmp)."""
    found = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            point = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), line.split()[4])  # \040: space
            if point.startswith(root + "/"):
                found.append(point)
    return sorted(set(found))


def _mount_notebook_places(req: dict) -> None:
    """Everything the notebook may write, new and sized; the rest read-only."""
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    cover_proc("/proc")
    # a venv or repository under /tmp (a CI clone) is bound into the sandbox's /tmp: bound again
    # on top of the notebook's new /tmp, so the notebook still sees it
    kept = {path: os.open(path, os.O_PATH) for path in _bindings_under("/tmp")}
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(req['tmp_mb'])}m,mode=1777")
    for path, fd in kept.items():
        os.makedirs(path, exist_ok=True)
        _mount(f"/proc/self/fd/{fd}", path, None, MS_BIND | MS_REC)
        _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
        os.close(fd)
    _mount("tmpfs", HOME, "tmpfs", MS_NOSUID | MS_NODEV, f"size={int(req['home_mb'])}m,mode=755")
    for name in DEVICES:
        path = f"/dev/{name}"
        if os.path.exists(path):
            _mount(None, path, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID)
    _mount(None, "/dev", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    _mount("tmpfs", "/dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
           f"size={int(req['shm_mb'])}m,mode=1777")
    libc.sethostname(b"autograder", len(b"autograder"))


def _pid_one(report: int) -> None:
    """B: pid 1 of a notebook's PID namespace. Reaps orphans until killed. Never returns."""
    try:
        signal.signal(signal.SIGCHLD, lambda *_: None)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1):
            signal.signal(sig, signal.SIG_IGN)
        _close_fds_except({report})
        _std_to_devnull()
        libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
        _drop_capabilities()
        channel.send(report, {"ready": True})
        os.close(report)
    except BaseException as exc:  # noqa: BLE001
        try:
            channel.send(report, {"error": f"{type(exc).__name__}: {exc}"})
        except Exception:  # noqa: BLE001
            pass
        os._exit(1)
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            signal.pause()
        except InterruptedError:
            pass


def _make_namespaces(req: dict) -> dict:
    """In the helper: new namespaces and their pid 1 (B), mounted. {"b": pid} or {"error": why}."""
    report_r, report_w = os.pipe()
    a = os.fork()
    if a == 0:  # A: enters the namespaces; its first child is their pid 1
        code = 1
        try:
            os.close(report_r)
            _check(libc.unshare(CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWUTS),
                   "unshare")
            b = os.fork()
            if b == 0:
                try:
                    _mount_notebook_places(req)
                except BaseException as exc:  # noqa: BLE001
                    channel.send(report_w, {"error": f"{type(exc).__name__}: {exc}"})
                    os._exit(1)
                _pid_one(report_w)
            channel.send(report_w, {"b": b})
            code = 0
        except BaseException as exc:  # noqa: BLE001
            try:
                channel.send(report_w, {"error": f"{type(exc).__name__}: {exc}"})
            except Exception:  # noqa: BLE001
                pass
        finally:
            os._exit(code)  # B is left to bubblewrap's pid 1, which reaps it when it is killed
    os.close(report_w)
    out: dict = {}
    try:
        while "error" not in out and not ("b" in out and "ready" in out):
            frame = channel.recv(report_r, deadline=time.monotonic() + 20, limit=4096)
            if not isinstance(frame, dict):
                out.setdefault("error", "the notebook's namespaces were not made")
                break
            out.update(frame)
    except (TimeoutError, channel.FrameError) as exc:
        out.setdefault("error", f"the notebook's namespaces were not made ({type(exc).__name__})")
    finally:
        os.close(report_r)
        os.waitpid(a, 0)
    return {"error": out["error"]} if "error" in out else {"b": out["b"]}


def helper_loop(sock: socket.socket) -> None:
    """The helper: answers {"new": limits} with {"b": pid} (or {"error": why}). Never returns."""
    try:
        _close_fds_except({sock.fileno(), 2})
        null = os.open(os.devnull, os.O_RDWR)  # fds 0 and 1 stay taken: pipes made later are above 2
        for fd in (0, 1):
            if fd != null:
                os.dup2(null, fd)
        while True:
            req = channel.recv(sock.fileno(), limit=1 << 16)
            if not isinstance(req, dict):
                break
            channel.send(sock.fileno(), _make_namespaces(req))
    finally:
        os._exit(0)


# ---------------------------------------------------------------- C: the notebook's process
def _own_user_namespace() -> None:
    """A user namespace of the notebook's own, below the server's: no capability there reaches the
    server, B or the sandbox's mounts. Its gid is mapped (65534 inside); its uid stays unmapped
    (the kernel refuses to map the sandbox's uid 0 from inside), so the notebook runs as the
    overflow uid 65534 and cannot create user namespaces of its own."""
    gid = os.getgid()
    _check(libc.unshare(CLONE_NEWUSER), "unshare user")
    with open("/proc/self/setgroups", "w") as f:
        f.write("deny")
    with open("/proc/self/gid_map", "w") as f:
        f.write(f"65534 {gid} 1")


def _stage_c(conn: int, namespaces: dict[int, int], req: dict, shell, budget, env: dict) -> None:
    """The notebook's process: sealed, then the student's cells. Never returns."""
    from ._shell import run_notebook

    try:
        _close_fds_except({conn, *namespaces.values()})
        for kind, fd in namespaces.items():  # B's namespaces (the PID one came with the fork)
            _check(libc.setns(fd, kind), "setns")
            os.close(fd)
        _std_to_devnull()
        os.setsid()
        os.makedirs(NOTEBOOK_DIR, exist_ok=True)
        os.chdir(NOTEBOOK_DIR)
        limit = _vm_size() + int(req["memory_mb"]) * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_SIZE_LIMIT, FILE_SIZE_LIMIT))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        processes = int(req["processes"])
        resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write("1000")  # the kernel's OOM killer takes the notebook, never the server
        if SYS_KEYCTL is not None:
            libc.syscall(SYS_KEYCTL, KEYCTL_JOIN_SESSION_KEYRING, None)  # not the server's keyring
        libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # the server's was not: its /proc files are its own
        if namespaces:
            _own_user_namespace()
        _drop_capabilities()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGUSR1, signal.SIGPIPE, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.environ.clear()
        os.environ.update(env)
        os.environ.update({str(k): str(v) for k, v in (req.get("env") or {}).items()})
        channel.send(conn, {"ready": req["spawn"]})
    except BaseException as exc:  # noqa: BLE001 - no student code ran yet: this is the grader's failure
        try:
            channel.send(conn, {"setup_error": f"{type(exc).__name__}: {exc}"})
        except Exception:  # noqa: BLE001
            pass
        os._exit(0)
    try:
        run_notebook(conn, shell, budget)
    finally:
        os._exit(0)


# ---------------------------------------------------------------- the server
NAMESPACES = {"mnt": CLONE_NEWNS, "ipc": CLONE_NEWIPC, "net": CLONE_NEWNET, "uts": CLONE_NEWUTS}


class Server:
    def __init__(self, helper: socket.socket | None, shell, budget):
        self.helper, self.shell, self.budget = helper, shell, budget
        self.env = dict(os.environ)
        self.own_pid_ns = os.open("/proc/self/ns/pid", os.O_RDONLY) if helper else None
        self.notebook: dict | None = None  # nonce, pid of C, pidfd of B

    def spawn(self, req: dict, fds: list[int]) -> dict:
        if self.notebook is not None or len(fds) != 1:
            raise channel.FrameError("a notebook is already running or no channel came with the request")
        conn = fds[0]
        b_fd, namespaces = None, {}
        try:
            if self.helper is not None:
                channel.send(self.helper.fileno(), {k: req[k] for k in ("tmp_mb", "home_mb", "shm_mb")})
                made = channel.recv(self.helper.fileno(), deadline=time.monotonic() + 30, limit=4096)
                if not isinstance(made, dict) or "b" not in made:
                    why = made.get("error") if isinstance(made, dict) else "no answer"
                    return {"spawned": req["spawn"], "error": f"the notebook's namespaces: {why}"}
                b = int(made["b"])
                b_fd = os.pidfd_open(b)
                namespaces = {kind: os.open(f"/proc/{b}/ns/{name}", os.O_RDONLY)
                              for name, kind in NAMESPACES.items()}
                pid_ns = os.open(f"/proc/{b}/ns/pid", os.O_RDONLY)
                try:
                    _check(libc.setns(pid_ns, CLONE_NEWPID), "setns pid")  # our next child is born there
                finally:
                    os.close(pid_ns)
            try:
                c = os.fork()
                if c == 0:
                    _stage_c(conn, namespaces, req, self.shell, self.budget, self.env)
            finally:
                if self.own_pid_ns is not None:
                    _check(libc.setns(self.own_pid_ns, CLONE_NEWPID), "setns back")
        except BaseException:
            if b_fd is not None:
                signal.pidfd_send_signal(b_fd, signal.SIGKILL)
                os.close(b_fd)
            raise
        finally:
            os.close(conn)
            for fd in namespaces.values():
                os.close(fd)
        self.notebook = {"nonce": req["spawn"], "c": c, "b": b_fd}
        return {"spawned": req["spawn"]}

    def interrupt(self) -> None:
        if self.notebook is not None:
            try:
                os.kill(self.notebook["c"], signal.SIGINT)
            except ProcessLookupError:
                pass

    def reap(self, ended: bool) -> dict:
        """Kill what is left of the notebook; how C ended. ``ended``: the coordinator saw its
        channel close or told it to stop, so C is given a moment to exit by itself."""
        nb, self.notebook = self.notebook, None
        if nb is None:
            raise channel.FrameError("no notebook to reap")
        c = nb["c"]
        if ended:
            c_fd = os.pidfd_open(c)
            select.select([c_fd], [], [], 5)
            os.close(c_fd)
        pid, wstatus = os.waitpid(c, os.WNOHANG)  # how it ended, if it ended by itself
        if nb["b"] is not None:
            # pid 1 of the notebook: killing it kills every process of the notebook
            try:
                signal.pidfd_send_signal(nb["b"], signal.SIGKILL)
            except ProcessLookupError:
                pass
        else:
            try:
                os.killpg(c, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        killed = pid == 0
        if killed:  # still running: it dies with its namespace, which waits for us to reap it
            try:
                os.kill(c, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(c, 0)
        if nb["b"] is not None:
            select.select([nb["b"]], [], [], 30)  # readable once B, so the whole namespace, is gone
            os.close(nb["b"])
        if killed:
            return {"reaped": nb["nonce"], "exit": None, "signal": None}
        return {"reaped": nb["nonce"],
                "exit": os.WEXITSTATUS(wstatus) if os.WIFEXITED(wstatus) else None,
                "signal": os.WTERMSIG(wstatus) if os.WIFSIGNALED(wstatus) else None}


def main(argv: list[str]) -> None:
    sandboxed = "--sandboxed" in argv
    preload = next((a.split("=", 1)[1] for a in argv if a.startswith("--preload=")), "")
    ctrl = socket.socket(fileno=0)
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # nothing of the same user may ptrace or read it
    helper = None
    if sandboxed:
        cover_proc("/proc")
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        if os.fork() == 0:  # small now, before the imports: cheap to fork for every notebook
            ours.close()
            ctrl.close()
            helper_loop(theirs)
        theirs.close()
        helper = ours
    t0 = time.monotonic()
    for name in [m for m in preload.split(",") if m]:
        try:
            __import__(name)
        except Exception as exc:  # noqa: BLE001 - a missing optional module only costs speed
            print(f"autograder server: could not preload {name}: {exc}", file=sys.stderr)
    from ._shell import make_shell
    from .outputs import OutputBudget

    budget = OutputBudget()
    server = Server(helper, make_shell(budget), budget)
    channel.send(ctrl.fileno(), {"ready": True, "pid": os.getpid(), "warmup": time.monotonic() - t0})
    while True:
        msg, fds = channel.recv_with_fds(ctrl, limit=1 << 16)
        if not isinstance(msg, dict):
            break
        if "spawn" in msg:
            channel.send(ctrl.fileno(), server.spawn(msg, fds))
        elif "interrupt" in msg:
            server.interrupt()
        elif "reap" in msg:
            channel.send(ctrl.fileno(), server.reap(bool(msg.get("ended"))))
        else:
            break


if __name__ == "__main__":
    main(sys.argv[1:])
