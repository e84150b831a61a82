"""One command to try the whole course on one machine: ``python deploy/local_hub.py``.

Starts a real JupyterHub with the course's configuration (``deploy/jupyterhub_config.py``) and
the real configurable-http-proxy (installed from the npm registry into ``deploy/proxy/`` on first
use), listening on 127.0.0.1 only. Log in at http://127.0.0.1:8000 as ``instructor`` or as
``student1`` / ``student2`` (any password, or ``--password``). Ctrl-C stops it; the course's state
(submissions, gradebook, home folders) stays in ``--state`` for the next start.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROXY_DIR = HERE / "proxy"
PROXY = PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"


class HubSetupError(RuntimeError):
    """Something the hub needs is missing; the message says what to install."""


def ensure_proxy() -> Path:
    """The proxy's executable, installed with npm into deploy/proxy/ if it is not there yet."""
    if PROXY.exists():
        return PROXY
    npm = shutil.which("npm")
    if npm is None:
        raise HubSetupError("JupyterHub needs configurable-http-proxy from the npm registry, and npm "
                            "is not installed (Debian: apt-get install nodejs npm)")
    # deploy/proxy/ has its own package.json, so npm does not walk up to another project's
    result = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--loglevel=error"],
                            cwd=PROXY_DIR, capture_output=True, text=True)
    if result.returncode != 0 or not PROXY.exists():
        raise HubSetupError(f"npm could not install configurable-http-proxy:\n{result.stderr[-2000:]}")
    return PROXY


def hub_environment(state: Path, *, port: int = 8000, api_port: int = 8081, proxy_api_port: int = 8001,
                    students: str = "student1,student2", instructors: str = "instructor",
                    password: str | None = None, **extra: str) -> dict[str, str]:
    """The environment that ``deploy/jupyterhub_config.py`` reads."""
    env = {**os.environ, "COURSE_STATE": str(state), "HUB_PORT": str(port), "HUB_API_PORT": str(api_port),
           "HUB_PROXY_API_PORT": str(proxy_api_port), "COURSE_STUDENTS": students,
           "COURSE_INSTRUCTORS": instructors,
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra}
    if password:
        env["COURSE_PASSWORD"] = password
    return env


def hub_command() -> list[str]:
    return [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(HERE / "jupyterhub_config.py")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/local_hub.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, default=HERE.parent / ".hub",
                        help="folder for the hub's database, homes, exchange and course (default: .hub)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    parser.add_argument("--students", default="student1,student2", help="comma-separated user names")
    parser.add_argument("--instructors", default="instructor", help="comma-separated user names")
    parser.add_argument("--password", help="shared password (default: any password is accepted)")
    args = parser.parse_args(argv)
    try:
        ensure_proxy()
    except HubSetupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    args.state.mkdir(parents=True, exist_ok=True)
    env = hub_environment(args.state.resolve(), port=args.port, api_port=args.port + 81,
                          proxy_api_port=args.port + 1, students=args.students,
                          instructors=args.instructors, password=args.password)
    print(f"Course hub on http://127.0.0.1:{args.port}  (state in {args.state}; Ctrl-C stops it)")
    print(f"  students: {args.students}   instructors: {args.instructors}")
    try:
        return subprocess.call(hub_command(), env=env, cwd=args.state)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
