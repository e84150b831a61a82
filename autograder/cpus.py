"""How many CPUs this process may use: the container's CPU limit, not the node's core count.

In a Kubernetes pod (or any cgroup with a CPU quota) ``os.cpu_count()`` reports the node's cores,
say 64, while the pod may use 2: sixty-four grading workers would share two CPUs' worth of time
and each notebook would run past its timeout. The quota is in the cgroup: ``cpu.max`` ("QUOTA
PERIOD" or "max PERIOD") under cgroup v2, ``cpu.cfs_quota_us`` / ``cpu.cfs_period_us`` under v1.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _quota_v2(root: Path, relative: str) -> float | None:
    """The tightest ``cpu.max`` on the way from this process's cgroup up to the root."""
    limits = []
    path = root / relative.lstrip("/")
    while True:
        try:
            quota, period = (path / "cpu.max").read_text().split()[:2]
            if quota != "max":
                limits.append(int(quota) / int(period))
        except (OSError, ValueError):
            pass
        if path == root or root not in path.parents:
            break
        path = path.parent
    return min(limits) if limits else None


def _quota_v1(root: Path, relative: str) -> float | None:
    for controller in ("cpu", "cpu,cpuacct", "cpuacct,cpu"):
        for path in (root / controller / relative.lstrip("/"), root / controller):
            try:
                quota = int((path / "cpu.cfs_quota_us").read_text())
                period = int((path / "cpu.cfs_period_us").read_text())
            except (OSError, ValueError):
                continue
            return quota / period if quota > 0 and period > 0 else None
    return None


def cgroup_cpu_limit(root: Path = CGROUP_ROOT, proc_cgroup: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPU quota of this process's cgroup in CPUs (e.g. 2.0, 0.5), or None when there is none."""
    try:
        lines = proc_cgroup.read_text().splitlines()
    except OSError:
        lines = []
    v2, v1 = "/", "/"
    for line in lines:
        hierarchy, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if hierarchy == "0" and controllers == "":
            v2 = path or "/"
        elif "cpu" in controllers.split(","):
            v1 = path or "/"
    if (root / "cgroup.controllers").exists():
        return _quota_v2(root, v2)
    return _quota_v1(root, v1)


def available_cpus() -> int:
    """CPUs this process may use: the cgroup's quota (rounded down, at least 1) where there is one,
    and never more than the cores it may be scheduled on."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    limit = cgroup_cpu_limit()
    if limit is not None:
        cores = min(cores, max(1, math.floor(limit)))
    return max(1, cores)
