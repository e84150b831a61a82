"""One command to try the whole course on one machine: ``python deploy/local_hub.py``.

Starts a real JupyterHub with the course's configuration (``deploy/jupyterhub_config.py``) and
the real configurable-http-proxy (installed from the npm registry into ``deploy/proxy/`` on first
use), listening on 127.0.0.1 only. It must run as root: every hub user is an OS account of the
same name, made here when missing (``useradd``), with a password (``chpasswd``) that the hub's
login checks. Log in at http://127.0.0.1:8000 as ``instructor`` or as ``student1`` /
``student2`` with the password printed at start (random per user, kept in
``STATE/private/passwords.txt``; ``--password`` gives everyone one password instead). Ctrl-C stops
it; the course's state (submissions, gradebook, homes) stays in ``--state`` for the next start.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
PROXY_DIR = HERE / "proxy"
PROXY = PROXY_DIR / "node_modules" / ".bin" / "configurable-http-proxy"

sys.path.insert(0, str(HERE))
from course_accounts import AccountError, ensure_account, set_password  # noqa: E402  (deploy/, beside this file)


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
                    **extra: str) -> dict[str, str]:
    """The environment that ``deploy/jupyterhub_config.py`` reads."""
    return {**os.environ, "COURSE_STATE": str(state), "HUB_PORT": str(port), "HUB_API_PORT": str(api_port),
            "HUB_PROXY_API_PORT": str(proxy_api_port), "COURSE_STUDENTS": students,
            "COURSE_INSTRUCTORS": instructors,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}", **extra}


def prepare_accounts(state: Path, users: list[str], password: str | None = None) -> dict[str, str]:
    """Make the users' OS accounts and set their passwords: ``password`` for all, or each user's
    own random one, kept (root only) in STATE/private/passwords.txt across restarts."""
    private = state / "private"
    private.mkdir(parents=True, exist_ok=True)
    os.chmod(private, 0o700)
    kept = private / "passwords.txt"
    known = dict(line.split(":", 1) for line in kept.read_text().splitlines() if ":" in line) \
        if kept.exists() else {}
    passwords = {user: password or known.get(user) or secrets.token_urlsafe(9) for user in users}
    for user in users:
        ensure_account(user, state / "homes" / user)
        set_password(user, passwords[user])
    if password is None:
        kept.write_text("".join(f"{u}:{p}\n" for u, p in passwords.items()))
        os.chmod(kept, 0o600)
    return passwords


def hub_command() -> list[str]:
    return [str(Path(sys.executable).with_name("jupyterhub")), "-f", str(HERE / "jupyterhub_config.py")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python deploy/local_hub.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--state", type=Path, default=HERE.parent / ".hub",
                        help="folder for the hub's database, homes, exchange and course (default: .hub)")
    parser.add_argument("--port", type=int, default=8000, help="port on 127.0.0.1 (default: 8000)")
    parser.add_argument("--students", default="student1,student2", help="comma-separated user names")
    parser.add_argument("--instructors", default="instructor", help="comma-separated user names")
    parser.add_argument("--password", help="one password for every account (default: a random "
                                           "password per user, printed below and kept in STATE/private)")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("error: the course hub runs every user as their own OS account: start it as root "
              "(sudo make hub)", file=sys.stderr)
        return 2
    try:
        ensure_proxy()
        if not shutil.which("bwrap"):
            raise HubSetupError("every server runs in a bubblewrap sandbox, and bwrap is not installed "
                                "(Debian: apt-get install bubblewrap)")
    except HubSetupError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    state = args.state.resolve()
    users = [u for u in f"{args.instructors},{args.students}".split(",") if u]
    try:
        passwords = prepare_accounts(state, users, args.password)
    except AccountError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    env = hub_environment(state, port=args.port, api_port=args.port + 81, proxy_api_port=args.port + 1,
                          students=args.students, instructors=args.instructors)
    print(f"Course hub on http://127.0.0.1:{args.port}  (state in {args.state}; Ctrl-C stops it)")
    for user in users:
        print(f"  {user:<16} password {passwords[user]}")
    try:
        return subprocess.call(hub_command(), env=env, cwd=state)
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
