"""Per-notebook limits across all of a notebook's processes: one control group per worker slot.

Where the grader may create control groups (as root, or in a delegated subtree), each warm
worker runs in a group of its own that holds the whole sandbox (bubblewrap, the server, the
notebook and every process it starts). While a notebook runs, the group's memory limit is the
server's own size plus ``--memory``, and its process limit the server's threads plus
``PROCESSES``; the notebook's processes carry the highest OOM score, so when the group is full
the kernel's OOM killer takes the notebook, never the server. cgroup v2 is used where the
machine has it with the ``memory`` and ``pids`` controllers, else cgroup v1's ``memory`` and
``pids`` hierarchies. Where neither is writable, the limits are per process (``RLIMIT_AS``,
and ``RLIMIT_NPROC`` counted in the notebook's own user namespace): ``kind`` says which ran,
and the summary of a class prints it.

Groups are named ``autograder-<pid>-<slot>-<random>`` under the grader's own group (other
programs may create groups on the same machine at the same time), removed when the worker
stops, and groups left by a grader that was killed are removed by the next one.
"""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")
PROCESSES = 256  # tasks (processes and threads) a notebook may have at once
PER_PROCESS = "per-process limits (no writable cgroup)"


def _own_paths(root: Path) -> dict[str, str]:
    """{controller or "" for v2: path of this process's group}, from /proc/self/cgroup."""
    out: dict[str, str] = {}
    try:
        lines = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return out
    for line in lines:
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        for controller in parts[1].split(",") if parts[1] else [""]:
            out[controller] = parts[2]
    return out


def _write(path: Path, value: str) -> None:
    with open(path, "w") as f:
        f.write(value)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _remove_stale(parent: Path) -> None:
    """Groups of graders that were killed before they could remove theirs (only if empty)."""
    try:
        children = list(parent.glob("autograder-*-*-*"))
    except OSError:
        return
    for child in children:
        try:
            pid = int(child.name.split("-")[1])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            try:
                child.rmdir()
            except OSError:
                pass


class Cgroup:
    """The control group(s) of one worker slot."""

    def __init__(self, kind: str, dirs: dict[str, Path]):
        self.kind = kind  # "cgroup v2" or "cgroup v1"
        self.dirs = dirs  # v2: {"": dir}; v1: {"memory": dir, "pids": dir}
        self.base_memory = 0
        self.base_tasks = 0

    # ------------------------------------------------------------ making one
    @classmethod
    def create(cls, slot: str, root: Path = ROOT) -> Cgroup | None:
        """A new group for a worker slot, or None where no cgroup can be made."""
        name = f"autograder-{os.getpid()}-{slot}-{secrets.token_hex(4)}"
        own = _own_paths(root)
        v2 = cls._create_v2(root, own.get(""), name)
        if v2 is not None:
            return v2
        return cls._create_v1(root, own, name)

    @classmethod
    def _create_v2(cls, root: Path, own: str | None, name: str) -> Cgroup | None:
        if own is None or not (root / "cgroup.controllers").exists():
            return None
        base = root / own.lstrip("/")
        # a group that holds processes may not give controllers to its children: try our own
        # group, then its parent (the usual delegated layout)
        for parent in (base, base.parent):
            try:
                if not str(parent).startswith(str(root)):
                    continue
                enabled = (parent / "cgroup.subtree_control").read_text().split()
                missing = [c for c in ("memory", "pids") if c not in enabled]
                if missing:
                    _write(parent / "cgroup.subtree_control", " ".join(f"+{c}" for c in missing))
                _remove_stale(parent)
                group = parent / name
                group.mkdir()
            except OSError:
                continue
            if (group / "memory.max").exists() and (group / "pids.max").exists():
                return cls("cgroup v2", {"": group})
            group.rmdir()
        return None

    @classmethod
    def _create_v1(cls, root: Path, own: dict[str, str], name: str) -> Cgroup | None:
        dirs: dict[str, Path] = {}
        for controller in ("memory", "pids"):
            hierarchy = root / controller
            if controller not in own or not hierarchy.is_dir():
                break
            parent = hierarchy / own[controller].lstrip("/")
            try:
                _remove_stale(parent)
                (parent / name).mkdir()
            except OSError:
                break
            dirs[controller] = parent / name
        if len(dirs) == 2:
            return cls("cgroup v1", dirs)
        for path in dirs.values():
            path.rmdir()
        return None

    # ------------------------------------------------------------ using it
    def procs_files(self) -> list[str]:
        """The files a process writes ``0`` into to join this group (before it starts bwrap)."""
        return [str(d / "cgroup.procs") for d in self.dirs.values()]

    def _file(self, v2: str, v1: tuple[str, str]) -> Path:
        if "" in self.dirs:
            return self.dirs[""] / v2
        return self.dirs[v1[0]] / v1[1]

    def memory_held(self) -> int:
        """Memory the group's processes hold and the kernel cannot reclaim: anonymous memory, mapped
        files (the loaded libraries) and tmpfs. Its page cache is not counted: it is reclaimed."""
        v2 = "" in self.dirs
        stat = self._file("memory.stat", ("memory", "memory.stat")).read_text().split("\n")
        values = dict(line.split(" ", 1) for line in stat if " " in line)
        keys = ("anon", "file_mapped", "shmem") if v2 else ("total_rss", "total_mapped_file", "total_shmem")
        return sum(int(values.get(k, 0)) for k in keys)

    def tasks(self) -> int:
        return int(self._file("pids.current", ("pids", "pids.current")).read_text())

    def oom_kills(self) -> int:
        path = self._file("memory.events", ("memory", "memory.oom_control"))
        for line in path.read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0

    def record_baseline(self) -> None:
        """The warm server's own memory and tasks: a notebook's limits come on top of them."""
        self.base_memory = self.memory_held()
        self.base_tasks = self.tasks()

    def limit(self, memory_mb: int, processes: int = PROCESSES) -> None:
        """Limits for the notebook about to run."""
        extra = memory_mb * 1024 * 1024
        try:
            self._memory_limit(self.base_memory + extra)
        except OSError:  # the kernel could not reclaim the group's cache down to it: count that too
            self._memory_limit(int(self._file("memory.current", ("memory", "memory.usage_in_bytes"))
                                   .read_text()) + extra)
        tasks = str(self.base_tasks + processes + 4)  # + the notebook's pid 1 and its maker, and slack
        _write(self._file("pids.max", ("pids", "pids.max")), tasks)

    def _memory_limit(self, memory: int) -> None:
        if "" in self.dirs:
            _write(self.dirs[""] / "memory.max", str(memory))
            swap = self.dirs[""] / "memory.swap.max"
            if swap.exists():
                _write(swap, "0")
            return
        mem = self.dirs["memory"]
        limit, memsw = mem / "memory.limit_in_bytes", mem / "memory.memsw.limit_in_bytes"
        # memsw (memory + swap) may never be below the memory limit: change them in a safe order
        order = [limit, memsw] if memory <= int(limit.read_text()) else [memsw, limit]
        for path in order:
            if path.exists():
                _write(path, str(memory))

    def remove(self) -> None:
        """Remove the group once its processes are gone (they were killed just before)."""
        for path in self.dirs.values():
            for _ in range(200):
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.01)
