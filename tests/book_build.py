"""Build the book once per test session, the way the README's book command does."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def build_book(out: Path) -> subprocess.CompletedProcess:
    """What ``make book`` does, into ``out``: the labs' student versions, then ``jupyter-book build``
    with warnings as errors."""
    jb = Path(sys.executable).with_name("jupyter-book")
    if not jb.exists():
        jb = Path(shutil.which("jupyter-book") or "jupyter-book")
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    release = ["nbgrader", "generate_assignment", "lab*", "--no-db", "--force", "--log-level=WARN"]
    labs = subprocess.run(release, cwd=ROOT / "labs", capture_output=True, text=True, timeout=600, env=env)
    if labs.returncode != 0:
        return labs
    return subprocess.run([str(jb), "build", str(ROOT), "--path-output", str(out), "-W", "-n",
                           "--keep-going"], capture_output=True, text=True, timeout=1800, env=env)
